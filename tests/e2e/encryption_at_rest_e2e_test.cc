// Encryption at rest (docs/retention.md) against the real notaryd, PostgreSQL and swaks: a
// message's body is nowhere in a dump of the whole database, yet its evidence bundle carries
// it and verifies; the key pair is a 0600 file of the data folder.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <regex>

#include "notaryd_process.h"
#include "support/test_support.h"

namespace {

using testsupport::RunCommand;

TEST(EncryptionAtRestTest, ABodyIsNowhereInADumpOfTheDatabaseAndItsBundleStillVerifies) {
  testsupport::TestDatabase db;
  const std::string dir = testsupport::MakeTempDir("at-rest");
  e2e::NotarydProcess node(db.AppUrl(), db.OwnerUrl(), dir + "/data");
  ASSERT_TRUE(node.ready()) << node.Log();
  const std::string key = e2e::MakeKey(db.AppUrl(), "default", "ingest,read");
  const std::string marker = "ZQX-body-marker-5531";
  auto r = RunCommand({"swaks", "--server", "127.0.0.1:" + std::to_string(node.smtp_port()),
                       "--from", "a@example.com", "--to", "b@example.org", "--body",
                       "the contract says " + marker});
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex("notarised id=([0-9a-f-]{36})"))) << r.out;
  const std::string id = m[1];

  // The bundle carries the bytes (opened with the tenant's key) and verifies.
  auto got = RunCommand({"curl", "-s", "-o", dir + "/e.zip", "-w", "%{http_code}", "-H",
                         "Authorization: Bearer " + key,
                         node.Http("/v1/messages/" + id + "/evidence?wait=30")});
  ASSERT_EQ(got.out, "200");
  auto eml = RunCommand({"unzip", "-p", dir + "/e.zip", "message.eml"});
  EXPECT_NE(eml.out.find(marker), std::string::npos);
  auto v = RunCommand({testsupport::BinaryDir() + "/cli/notary-verify", dir + "/e.zip"});
  EXPECT_NE(v.out.find("VALID"), std::string::npos) << v.out;

  // The whole database, as a backup would take it, has the ciphertext only.
  auto dump = RunCommand({"/usr/lib/postgresql/15/bin/pg_dump", "-d", db.SuperUrl()}, "", 120);
  ASSERT_EQ(dump.exit_code, 0) << dump.out.substr(0, 500);
  EXPECT_NE(dump.out.find("sealed_blobs"), std::string::npos);
  EXPECT_EQ(dump.out.find(marker), std::string::npos);
  EXPECT_EQ(testsupport::Psql(db.SuperUrl(), "SELECT count(*) FROM message_blobs"), "0");
  EXPECT_EQ(testsupport::Psql(db.SuperUrl(), "SELECT count(*) FROM sealed_blobs"), "1");

  struct stat st {};
  ASSERT_EQ(::stat((dir + "/data/keks.d/default.kek.1").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // The audit opens and hashes the sealed bytes with the data folder's key pair; without it,
  // it says what it left unopened.
  auto audit = RunCommand({e2e::NotaryctlBinary(), "--database-url", db.AppUrl(), "audit",
                           "--data-dir", dir + "/data"});
  EXPECT_EQ(audit.exit_code, 0) << audit.out;
  EXPECT_EQ(audit.out.find("not opened"), std::string::npos) << audit.out;
  auto blind = RunCommand({e2e::NotaryctlBinary(), "--database-url", db.AppUrl(), "audit"});
  EXPECT_EQ(blind.exit_code, 0) << blind.out;
  EXPECT_NE(blind.out.find("1 blobs sealed at rest present but not opened"), std::string::npos)
      << blind.out;
}

// A rotation of the tenant's key pair by notaryctl while notaryd runs: mail before it stays
// wrapped for the first pair, mail after it is wrapped for the new one, and both read back,
// in their bundles and in the audit.
TEST(EncryptionAtRestTest, MailAfterARotationIsWrappedForTheNewPairAndBothReadBack) {
  testsupport::TestDatabase db;
  const std::string dir = testsupport::MakeTempDir("rotate");
  e2e::NotarydProcess node(db.AppUrl(), db.OwnerUrl(), dir + "/data",
                           {"--tenant-key-refresh-ms", "0"});
  ASSERT_TRUE(node.ready()) << node.Log();
  const std::string key = e2e::MakeKey(db.AppUrl(), "default", "ingest,read");
  auto send = [&](const std::string& marker) {
    auto r = RunCommand({"swaks", "--server", "127.0.0.1:" + std::to_string(node.smtp_port()),
                         "--from", "a@example.com", "--to", "b@example.org", "--body", marker});
    std::smatch m;
    EXPECT_TRUE(std::regex_search(r.out, m, std::regex("notarised id=([0-9a-f-]{36})"))) << r.out;
    return m.empty() ? std::string() : std::string(m[1]);
  };
  auto notaryctl = [&](std::vector<std::string> args) {
    std::vector<std::string> cmd = {e2e::NotaryctlBinary(), "--database-url", db.AppUrl(),
                                    "--data-dir", dir + "/data"};
    cmd.insert(cmd.end(), args.begin(), args.end());
    return RunCommand(cmd);
  };
  const std::string first = send("before-rotation-7731");

  auto rotated = notaryctl({"tenant", "rotate-key", "--tenant", "default"});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(rotated.out, m, std::regex("key pair (file/2/[0-9a-f]{16})")))
      << rotated.out;
  const std::string new_kek = m[1];
  struct stat st {};
  ASSERT_EQ(::stat((dir + "/data/keks.d/default.kek.2").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto unknown = notaryctl({"tenant", "rotate-key", "--tenant", "nosuch"});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.out.find("no such tenant"), std::string::npos) << unknown.out;

  const std::string second = send("after-rotation-7732");
  ASSERT_FALSE(first.empty() || second.empty());
  auto kek_of = [&](const std::string& table, const std::string& where) {
    return testsupport::Psql(db.SuperUrl(), "SELECT kek_id FROM " + table + " WHERE " + where);
  };
  const std::string blob = "sha256 = (SELECT raw_sha256 FROM receipts WHERE id = '";
  EXPECT_EQ(kek_of("sealed_blobs", blob + first + "')").substr(0, 7), "file/1/");
  EXPECT_EQ(kek_of("sealed_blobs", blob + second + "')"), new_kek);
  EXPECT_EQ(kek_of("receipt_fields", "receipt_id = '" + first + "'").substr(0, 7), "file/1/");
  EXPECT_EQ(kek_of("receipt_fields", "receipt_id = '" + second + "'"), new_kek);

  for (const auto& [id, marker] :
       {std::pair{first, "before-rotation-7731"}, std::pair{second, "after-rotation-7732"}}) {
    const std::string zip = dir + "/" + id + ".zip";
    auto got = RunCommand({"curl", "-s", "-o", zip, "-w", "%{http_code}", "-H",
                           "Authorization: Bearer " + key,
                           node.Http("/v1/messages/" + id + "/evidence?wait=30")});
    ASSERT_EQ(got.out, "200") << id;
    EXPECT_NE(RunCommand({"unzip", "-p", zip, "message.eml"}).out.find(marker), std::string::npos);
    auto v = RunCommand({testsupport::BinaryDir() + "/cli/notary-verify", zip});
    EXPECT_NE(v.out.find("VALID"), std::string::npos) << v.out;
  }
  auto audit = notaryctl({"audit", "--data-dir", dir + "/data"});
  EXPECT_EQ(audit.exit_code, 0) << audit.out;
  EXPECT_EQ(audit.out.find("not opened"), std::string::npos) << audit.out;
}

}  // namespace
