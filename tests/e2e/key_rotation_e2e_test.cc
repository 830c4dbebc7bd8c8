// Re-wrapping and destroying a tenant's earlier key pair (docs/retention.md, "Rotation"),
// against the real notaryd, PostgreSQL, swaks and notaryctl: a copy of an erased message's
// sealed row, taken before its erasure as a backup would, opens while the pair that wrapped
// it exists and no longer once it is destroyed; the other mail, re-wrapped for the new pair,
// still reads and verifies; the tables take no other update, and nothing is stored for a
// retired pair, even by a notaryd still holding its public key.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <regex>

#include "common/bytes.h"
#include "notaryd_process.h"
#include "sealed_for_erasure.h"
#include "support/test_support.h"
#include "vault/key_wrapper.h"

namespace {

using testsupport::Psql;
using testsupport::RunCommand;

class KeyRotationTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> extra) {
    dir_ = testsupport::MakeTempDir("key-rotation");
    node_ = std::make_unique<e2e::NotarydProcess>(db_.AppUrl(), db_.OwnerUrl(), dir_ + "/data",
                                                  std::move(extra));
    ASSERT_TRUE(node_->ready()) << node_->Log();
    key_ = e2e::MakeKey(db_.AppUrl(), "default", "ingest,read,admin");
  }

  testsupport::CommandResult Send(const std::string& marker) {
    return RunCommand({"swaks", "--server", "127.0.0.1:" + std::to_string(node_->smtp_port()),
                       "--from", "a@example.com", "--to", "b@example.org", "--header",
                       "Subject: " + marker, "--body", "the contract says " + marker});
  }

  std::string Notarised(const testsupport::CommandResult& r) {
    std::smatch m;
    EXPECT_TRUE(std::regex_search(r.out, m, std::regex("notarised id=([0-9a-f-]{36})"))) << r.out;
    return m.empty() ? std::string() : std::string(m[1]);
  }

  testsupport::CommandResult Ctl(std::vector<std::string> args) {
    std::vector<std::string> argv = {e2e::NotaryctlBinary(), "--database-url", db_.AppUrl(),
                                     "--owner-database-url", db_.OwnerUrl(),   "--data-dir",
                                     dir_ + "/data"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  }

  std::string KekOfBlob(const std::string& id) {
    return Psql(db_.SuperUrl(),
                "SELECT kek_id FROM sealed_blobs WHERE sha256 = (SELECT raw_sha256 FROM receipts"
                " WHERE id = '" +
                    id + "')");
  }

  testsupport::TestDatabase db_;
  std::string dir_, key_;
  std::unique_ptr<e2e::NotarydProcess> node_;
};

TEST_F(KeyRotationTest, ADestroyedPairOpensNoBackupAndTheRestIsReWrappedAndVerifies) {
  Start({"--tenant-key-refresh-ms", "0"});
  const std::string erased = Notarised(Send("ERASED-7741"));
  const std::string kept = Notarised(Send("KEPT-7742"));
  ASSERT_FALSE(erased.empty() || kept.empty());
  ASSERT_TRUE(testsupport::WaitUntil([&] { return e2e::SealedForErasure(db_.SuperUrl(), erased); },
                                     std::chrono::seconds(30)));

  // What a backup taken now keeps of the message to be erased: its sealed row.
  const std::string old_kek = KekOfBlob(erased);
  ASSERT_EQ(old_kek.substr(0, 7), "file/1/");
  const std::string backup_wrapped =
      common::FromHex(Psql(db_.SuperUrl(),
                           "SELECT encode(wrapped_key, 'hex') FROM sealed_blobs WHERE sha256 ="
                           " (SELECT raw_sha256 FROM receipts WHERE id = '" +
                               erased + "')"))
          .value_or("");
  ASSERT_EQ(backup_wrapped.size(), vault::kWrappedKeyBytes);
  auto opens_backup = [&] {
    auto holder = vault::FileKeyHolder::Open(dir_ + "/data/keks.d");
    EXPECT_TRUE(holder.ok());
    return (*holder)->Unwrap("default", old_kek, std::vector<std::string>{backup_wrapped});
  };
  ASSERT_TRUE(opens_backup().ok()) << "the threat this guards against: the pair opens the copy";

  auto erase = Ctl({"erase", "--receipt", erased, "--reason", "subject's request"});
  ASSERT_EQ(erase.exit_code, 0) << erase.out;
  // The pair in use cannot be destroyed; an unknown tenant is refused.
  auto refused = Ctl({"tenant", "destroy-key", "--tenant", "default", "--kek-id", old_kek});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.out.find("current key pair"), std::string::npos) << refused.out;
  EXPECT_NE(Ctl({"tenant", "rewrap-keys", "--tenant", "nosuch"}).exit_code, 0);
  // A folder without the tenant's pair (a notary whose pairs notary-signer holds) is refused,
  // not given a pair that would wrap nothing.
  auto elsewhere = RunCommand({e2e::NotaryctlBinary(), "--database-url", db_.AppUrl(), "--data-dir",
                               testsupport::MakeTempDir("no-keks"), "tenant", "rotate-key",
                               "--tenant", "default"});
  EXPECT_EQ(elsewhere.exit_code, 2) << elsewhere.out;
  EXPECT_NE(elsewhere.out.find("give --signer"), std::string::npos) << elsewhere.out;

  auto rotated = Ctl({"tenant", "rotate-key", "--tenant", "default"});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(rotated.out, m, std::regex("key pair (file/2/[0-9a-f]{16})")));
  const std::string new_kek = m[1];

  // Before the re-wrap, the earlier pair still wraps the kept message: not destroyed, but
  // retired from then on.
  auto early = Ctl({"tenant", "destroy-key", "--tenant", "default", "--kek-id", old_kek});
  EXPECT_NE(early.exit_code, 0);
  EXPECT_NE(early.out.find("still wrapped for " + old_kek), std::string::npos) << early.out;
  EXPECT_EQ(
      Psql(db_.SuperUrl(), "SELECT count(*) FROM retired_keks WHERE kek_id = '" + old_kek + "'"),
      "1");
  struct stat st {};
  EXPECT_EQ(::stat((dir_ + "/data/keks.d/default.kek.1").c_str(), &st), 0);

  auto rewrap = Ctl({"tenant", "rewrap-keys", "--tenant", "default"});
  ASSERT_EQ(rewrap.exit_code, 0) << rewrap.out;
  EXPECT_NE(rewrap.out.find("re-wrapped\tsealed_blobs\t1\n"), std::string::npos) << rewrap.out;
  EXPECT_NE(rewrap.out.find("re-wrapped\treceipt_fields\t1\n"), std::string::npos) << rewrap.out;
  EXPECT_NE(rewrap.out.find("wrapped for\t" + new_kek + "\t2\n"), std::string::npos) << rewrap.out;
  EXPECT_EQ(rewrap.out.find(old_kek), std::string::npos) << rewrap.out;
  EXPECT_EQ(KekOfBlob(kept), new_kek);
  // Again: nothing left to do.
  auto again = Ctl({"tenant", "rewrap-keys", "--tenant", "default"});
  EXPECT_NE(again.out.find("re-wrapped\tsealed_blobs\t0\n"), std::string::npos) << again.out;

  auto destroyed = Ctl({"tenant", "destroy-key", "--tenant", "default", "--kek-id", old_kek});
  ASSERT_EQ(destroyed.exit_code, 0) << destroyed.out;
  EXPECT_NE(::stat((dir_ + "/data/keks.d/default.kek.1").c_str(), &st), 0);
  EXPECT_EQ(opens_backup().error().code(), common::ErrorCode::kNotFound);

  // Each step is in the log, in order, by whoever ran notaryctl: the pair made current, the
  // keys moved to it, the earlier pair destroyed. The refused destructions and the re-wrap
  // that moved nothing are not.
  EXPECT_EQ(Psql(db_.SuperUrl(),
                 "SELECT string_agg(action || ' ' || subject || ' ' || (actor LIKE 'notaryctl:%')"
                 "::text, ',' ORDER BY id) FROM actions WHERE action LIKE 'key-%'"),
            "key-rotate " + new_kek + " true,key-rewrap " + new_kek + " true,key-destroy " +
                old_kek + " true");
  EXPECT_EQ(Psql(db_.SuperUrl(),
                 "SELECT convert_from(details, 'UTF8') FROM actions WHERE action = 'key-rewrap'"),
            "{\"kek_id\":\"" + new_kek +
                "\",\"rewrapped\":{\"authentications\":0,\"journal_reports\":0,"
                "\"receipt_fields\":1,\"sealed_blobs\":1}}");
  EXPECT_EQ(Psql(db_.SuperUrl(),
                 "SELECT convert_from(details, 'UTF8') FROM actions WHERE action = 'key-destroy'"),
            "{\"kek_id\":\"" + old_kek + "\"}");
  // Sealed as leaves of their own, which the audit below checks against their rows.
  ASSERT_TRUE(testsupport::WaitUntil(
      [&] {
        return Psql(db_.SuperUrl(), "SELECT count(*) FROM pending WHERE action_of IS NOT NULL") ==
               "0";
      },
      std::chrono::seconds(30)));
  EXPECT_EQ(Psql(db_.SuperUrl(),
                 "SELECT count(*) FROM leaves l JOIN actions a ON a.id = l.action_of"
                 " WHERE a.action LIKE 'key-%'"),
            "3");

  // The kept message reads back whole from its re-wrapped key, and verifies; so does the audit.
  const std::string zip = dir_ + "/kept.zip";
  auto got = RunCommand({"curl", "-s", "-o", zip, "-w", "%{http_code}", "-H",
                         "Authorization: Bearer " + key_,
                         node_->Http("/v1/messages/" + kept + "/evidence?wait=30")});
  ASSERT_EQ(got.out, "200");
  EXPECT_NE(RunCommand({"unzip", "-p", zip, "message.eml"}).out.find("KEPT-7742"),
            std::string::npos);
  auto v = RunCommand({testsupport::BinaryDir() + "/cli/notary-verify", zip});
  EXPECT_NE(v.out.find("VALID"), std::string::npos) << v.out;
  auto audit = Ctl({"audit", "--data-dir", dir_ + "/data"});
  EXPECT_EQ(audit.exit_code, 0) << audit.out;
  EXPECT_EQ(audit.out.find("not opened"), std::string::npos) << audit.out;

  // No other update: notaryd's role has none, and the owner outside a re-wrap, or changing
  // more than the wrapping in one, is refused.
  const std::string where =
      " WHERE sha256 = (SELECT raw_sha256 FROM receipts WHERE id = '" + kept + "')";
  EXPECT_THROW(Psql(db_.AppUrl(), "UPDATE sealed_blobs SET kek_id = kek_id" + where),
               std::exception);
  EXPECT_THROW(Psql(db_.OwnerUrl(), "UPDATE sealed_blobs SET kek_id = kek_id" + where),
               std::exception);
  EXPECT_THROW(Psql(db_.OwnerUrl(),
                    "BEGIN; SET LOCAL notary.rewrap = 'on'; UPDATE sealed_blobs"
                    " SET created_at = created_at - interval '1 day'" +
                        where + "; COMMIT"),
               std::exception);
  EXPECT_THROW(Psql(db_.OwnerUrl(),
                    "BEGIN; SET LOCAL notary.rewrap = 'on'; UPDATE receipt_fields"
                    " SET data = data || '\\x00'::bytea WHERE receipt_id = '" +
                        kept + "'; COMMIT"),
               std::exception);
  EXPECT_EQ(KekOfBlob(kept), new_kek);
}

// A notaryd that keeps the tenant's public key for a minute (the default) still holds the
// earlier pair's after a rotation; once that pair is retired, its next group is refused and
// the sender told to retry, and the retry is wrapped for the current pair.
TEST_F(KeyRotationTest, AGroupForARetiredPairIsRefusedAndItsRetryUsesTheCurrentPair) {
  Start({});
  const std::string first = Notarised(Send("FIRST-7743"));
  ASSERT_FALSE(first.empty());
  const std::string old_kek = KekOfBlob(first);
  ASSERT_EQ(Ctl({"tenant", "rotate-key", "--tenant", "default"}).exit_code, 0);
  // Refused (the first message is still wrapped for it) but retired.
  ASSERT_NE(Ctl({"tenant", "destroy-key", "--tenant", "default", "--kek-id", old_kek}).exit_code,
            0);

  auto refused = Send("SECOND-7744");
  EXPECT_EQ(refused.out.find("notarised id="), std::string::npos) << refused.out;
  EXPECT_NE(refused.out.find("<** 4"), std::string::npos) << refused.out;
  EXPECT_EQ(Psql(db_.SuperUrl(), "SELECT count(*) FROM receipts"), "1");
  const std::string retried = Notarised(Send("SECOND-7744"));
  ASSERT_FALSE(retried.empty());
  const std::string current = KekOfBlob(retried);
  EXPECT_EQ(current.substr(0, 7), "file/2/");

  // A retirement is the tenant's own: the current pair's name retired for another tenant
  // (an operator's slip) stops nothing here.
  ASSERT_EQ(Ctl({"tenant", "create", "other"}).exit_code, 0);
  Psql(db_.OwnerUrl(), "INSERT INTO retired_keks (tenant_id, kek_id) SELECT id, '" + current +
                           "' FROM tenants WHERE name = 'other'");
  const std::string third = Notarised(Send("THIRD-7745"));
  ASSERT_FALSE(third.empty());
  EXPECT_EQ(KekOfBlob(third), current);
}

}  // namespace
