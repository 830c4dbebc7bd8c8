// Erasure (docs/retention.md) against the real notaryd, PostgreSQL, swaks and pg_dump: a
// message carrying a marker in its body, subject, recipient address and attachment name is
// erased; a dump of the whole database then holds the marker nowhere, the erasure is a sealed
// record of its own, every other message still verifies and `notaryctl audit` passes. A legal
// hold stops the erasure (409 naming it), another tenant's admin cannot touch the message, and
// the database refuses every change an erasure does not make, for every role. Retention periods
// are set per tenant over the API and with notaryctl, each change a sealed record (the sweeper
// that erases by them is tested against a sealer in tests/pipeline/retention_test.cc).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "json_call.h"
#include "notaryd_process.h"
#include "sealed_for_erasure.h"
#include "support/test_support.h"

namespace {

using nlohmann::json;
using testsupport::Psql;
using testsupport::RunCommand;

using Reply = e2e::JsonReply;
using e2e::Call;

// What psql says when the statement fails; "" when it succeeds.
std::string Refusal(const std::string& url, const std::string& sql) {
  try {
    Psql(url, sql);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

class ErasureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = std::make_unique<e2e::NotarydProcess>(db_.AppUrl(), db_.OwnerUrl(), dir_ + "/data");
    ASSERT_TRUE(node_->ready()) << node_->Log();
    admin_ = e2e::MakeKey(db_.AppUrl(), "default", "ingest,read,admin");
    ASSERT_FALSE(admin_.empty());
  }

  // Sends over SMTP with swaks; returns the receipt id.
  std::string Swaks(const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {"swaks", "--server",
                                     "127.0.0.1:" + std::to_string(node_->smtp_port())};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto r = RunCommand(argv);
    std::smatch m;
    EXPECT_TRUE(std::regex_search(r.out, m, std::regex("notarised id=([0-9a-f-]{36})"))) << r.out;
    return m.empty() ? "" : m[1].str();
  }

  // Sealed, with its sender evidence (when checked) too: what an erasure waits for.
  void WaitSealed(const std::string& id) {
    ASSERT_TRUE(testsupport::WaitUntil([&] { return e2e::SealedForErasure(db_.SuperUrl(), id); },
                                       std::chrono::seconds(30)));
  }

  Reply Erase(const std::string& key, const std::string& id, const std::string& reason) {
    return Call("POST", node_->Http("/v1/messages/" + id + "/erase"), key,
                json{{"reason", reason}}.dump());
  }

  // Downloads the evidence bundle of `id` (waiting for its seal) to dir_ + `name`; the status.
  std::string Download(const std::string& id, const std::string& name) {
    return RunCommand({"curl", "-s", "-o", dir_ + name, "-w", "%{http_code}", "-H",
                       "Authorization: Bearer " + admin_,
                       node_->Http("/v1/messages/" + id + "/evidence?wait=30")},
                      "", 60)
        .out;
  }

  std::string Audit(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {e2e::NotaryctlBinary(), "--database-url",
                                     db_.AppUrl(),           "audit",
                                     "--data-dir",           dir_ + "/data"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto r = RunCommand(argv, "", 120);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    return r.out;
  }

  testsupport::TestDatabase db_;
  std::string dir_ = testsupport::MakeTempDir("erasure");
  std::unique_ptr<e2e::NotarydProcess> node_;
  std::string admin_;
};

TEST_F(ErasureTest, AnErasedMessageIsNowhereInADumpAndEverythingElseStillVerifies) {
  const std::string marker = "qzxmarker7741";
  const std::string attachment = dir_ + "/notes.txt";
  ASSERT_EQ(RunCommand({"sh", "-c", "printf 'attached words\\n' > " + attachment}).exit_code, 0);
  const std::string erased =
      Swaks({"--from", "alice@example.com", "--to", marker + "@example.org", "--header",
             "Subject: about " + marker, "--body", "the deal is " + marker, "--attach-name",
             marker + "-terms.txt", "--attach", "@" + attachment});
  const std::string kept = Swaks({"--from", "alice@example.com", "--to", "bob@example.org",
                                  "--header", "Subject: lunch", "--body", "at noon"});
  ASSERT_FALSE(erased.empty());
  ASSERT_FALSE(kept.empty());
  WaitSealed(erased);
  WaitSealed(kept);
  // Its personal fields are sealed at rest (migration 0016), and searchable in the index.
  ASSERT_EQ(Psql(db_.SuperUrl(),
                 "SELECT count(*) FROM receipt_fields WHERE receipt_id = '" + erased + "'"),
            "1");
  ASSERT_TRUE(testsupport::WaitUntil(
      [&] {
        return Psql(db_.SuperUrl(), "SELECT count(*) FROM receipt_index WHERE '" + marker +
                                        "-terms.txt' = ANY(attachment_names)") != "0";
      },
      std::chrono::seconds(30)));

  // Someone keeps a copy of the original (here: from its bundle, before the erasure).
  ASSERT_EQ(Download(erased, "/before.zip"), "200");
  ASSERT_EQ(RunCommand({"sh", "-c",
                        "unzip -p '" + dir_ + "/before.zip' message.eml > '" + dir_ + "/copy.eml'"})
                .exit_code,
            0);

  // Held: refused, naming the hold; released: erased.
  auto hold =
      Call("POST", node_->Http("/v1/holds"), admin_,
           json{{"name", "Board inquiry"}, {"reason", "r"}, {"receipt_ids", {erased}}}.dump());
  ASSERT_EQ(hold.status, 201) << hold.body.dump();
  auto refused = Erase(admin_, erased, "subject's request under GDPR art. 17");
  EXPECT_EQ(refused.status, 409) << refused.body.dump();
  EXPECT_NE(refused.body["error"]["message"].get<std::string>().find("Board inquiry"),
            std::string::npos)
      << refused.body.dump();
  ASSERT_EQ(Call("DELETE", node_->Http("/v1/holds/" + hold.body["id"].get<std::string>()), admin_,
                 json{{"reason", "closed"}}.dump())
                .status,
            200);
  auto done = Erase(admin_, erased, "subject's request under GDPR art. 17");
  ASSERT_EQ(done.status, 200) << done.body.dump();
  EXPECT_EQ(done.body["status"], "erased");
  EXPECT_EQ(done.body["stored_copies_removed"], 1);
  EXPECT_EQ(Erase(admin_, erased, "again").status, 409);

  // The receipt says what happened, with the erasure's own sealed record.
  ASSERT_TRUE(testsupport::WaitUntil(
      [&] {
        auto r = Call("GET", node_->Http("/v1/messages/" + erased), admin_);
        return r.status == 200 && r.body.contains("erasure") &&
               !r.body["erasure"]["record"]["leaf_index"].is_null();
      },
      std::chrono::seconds(30)));
  auto got = Call("GET", node_->Http("/v1/messages/" + erased), admin_);
  EXPECT_EQ(got.body["status"], "erased");
  EXPECT_EQ(got.body["erasure"]["reason"], "subject's request under GDPR art. 17");
  EXPECT_EQ(got.body["envelope_to"], json::array());
  EXPECT_EQ(got.body["metadata"]["subject"], "");
  EXPECT_FALSE(got.body["raw_sha256"].get<std::string>().empty());
  // Its bundle holds nothing of it, verifies, names the erasure, and matches the copy.
  EXPECT_EQ(Call("GET", node_->Http("/v1/messages/" + erased + "/evidence?part=1"), admin_).status,
            410);
  ASSERT_EQ(Download(erased, "/erased.zip"), "200");
  auto contents = RunCommand({"unzip", "-p", dir_ + "/erased.zip"});
  ASSERT_EQ(contents.exit_code, 0);
  EXPECT_EQ(contents.out.find(marker), std::string::npos);
  EXPECT_EQ(contents.out.find("alice@example.com"), std::string::npos);
  EXPECT_NE(contents.out.find("subject's request under GDPR art. 17"), std::string::npos);
  auto verified = RunCommand({testsupport::BinaryDir() + "/cli/notary-verify", dir_ + "/erased.zip",
                              "--eml", dir_ + "/copy.eml"});
  EXPECT_EQ(verified.exit_code, 0) << verified.out;
  EXPECT_NE(verified.out.find("MATCHED  the file given with --eml"), std::string::npos)
      << verified.out;
  EXPECT_NE(verified.out.find("ERASED "), std::string::npos) << verified.out;
  EXPECT_NE(verified.out.find("VERDICT: VALID"), std::string::npos) << verified.out;
  // The console's message page (Chromium), in Korean, says so instead of offering a download.
  auto page = RunCommand({"node", testsupport::SourceDir() + "/tests/e2e/console_sender_page.mjs",
                          node_->Http(""), admin_, erased, "ko"},
                         "", 120);
  const json ko = json::parse(page.out, nullptr, false);
  ASSERT_TRUE(ko.is_object() && ko["erased"].is_string()) << page.out;
  EXPECT_EQ(ko["status"], "삭제됨");
  EXPECT_EQ(ko["erased_download"], "남은 증거와 삭제 기록 번들 내려받기");
  EXPECT_NE(ko["erased"].get<std::string>().find("subject's request under GDPR art. 17"),
            std::string::npos)
      << ko.dump();
  EXPECT_EQ(Psql(db_.SuperUrl(),
                 "SELECT action FROM actions a JOIN leaves l ON l.action_of = a.id"
                 " WHERE a.subject = '" +
                     erased + "'"),
            "erasure");

  // Its sealed fields went with it, wrapped data key and all.
  EXPECT_EQ(Psql(db_.SuperUrl(),
                 "SELECT count(*) FROM receipt_fields WHERE receipt_id = '" + erased + "'"),
            "0");
  EXPECT_EQ(
      Psql(db_.SuperUrl(), "SELECT count(*) FROM receipt_fields WHERE receipt_id = '" + kept + "'"),
      "1");

  // Nothing of it is left anywhere a backup would take.
  auto dump = RunCommand({"/usr/lib/postgresql/15/bin/pg_dump", "-d", db_.SuperUrl()}, "", 120);
  ASSERT_EQ(dump.exit_code, 0) << dump.out.substr(0, 500);
  EXPECT_NE(dump.out.find("erasures"), std::string::npos);
  EXPECT_EQ(dump.out.find(marker), std::string::npos)
      << dump.out.substr(dump.out.find(marker) > 300 ? dump.out.find(marker) - 300 : 0, 600);

  // The other message is whole and verifies; the audit passes, opening what is left.
  ASSERT_EQ(Download(kept, "/kept.zip"), "200");
  auto v = RunCommand({testsupport::BinaryDir() + "/cli/notary-verify", dir_ + "/kept.zip"});
  EXPECT_NE(v.out.find("VALID"), std::string::npos) << v.out;
  EXPECT_NE(Audit().find("erased by design"), std::string::npos);
  EXPECT_NE(Audit({"--canonical"}).find("erased by design"), std::string::npos);
}

TEST_F(ErasureTest, TheDatabaseRefusesEveryChangeAnErasureDoesNotMake) {
  const std::string a = Swaks({"--from", "a@example.com", "--to", "b@example.org"});
  const std::string b = Swaks({"--from", "a@example.com", "--to", "c@example.org"});
  WaitSealed(a);
  WaitSealed(b);
  const std::string super = db_.SuperUrl();
  // Not erased: no column of a receipt changes, and no bytes go, even for a superuser.
  EXPECT_NE(Refusal(super, "UPDATE receipts SET subject = '' WHERE id = '" + a + "'"), "");
  EXPECT_NE(Refusal(super, "DELETE FROM sealed_blobs"), "");
  EXPECT_NE(Refusal(super, "UPDATE message_parts SET filename = ''"), "");
  // The application role cannot blank fields or write an erasure itself.
  EXPECT_NE(Refusal(db_.AppUrl(), "UPDATE receipts SET subject = '' WHERE id = '" + a + "'"), "");
  EXPECT_NE(Refusal(db_.AppUrl(),
                    "INSERT INTO erasures SELECT id, tenant_id, 0, 'x', 'r', 1"
                    " FROM receipts WHERE id = '" +
                        a + "'"),
            "");
  // notary_erase needs an erasure action record of the receipt's own.
  EXPECT_NE(Refusal(db_.AppUrl(), "SELECT notary_erase('" + a + "', 1, 'r')"), "");

  ASSERT_EQ(Erase(admin_, a, "retention over").status, 200);
  // Erased: its erased form, and nothing else.
  EXPECT_NE(Refusal(super, "UPDATE receipts SET node = 'elsewhere' WHERE id = '" + a + "'"), "");
  EXPECT_NE(Refusal(super, "UPDATE receipts SET subject = 'back' WHERE id = '" + a + "'"), "");
  EXPECT_NE(Refusal(super, "DELETE FROM receipts WHERE id = '" + a + "'"), "");
  EXPECT_NE(Refusal(super, "DELETE FROM erasures"), "");
  // The other message's bytes stay.
  EXPECT_EQ(Psql(super, "SELECT count(*) FROM sealed_blobs"), "1");
  EXPECT_EQ(Audit().find("1 leaves of erased messages") != std::string::npos, true);

  // Someone with the database erases the other message behind the log's back (triggers off):
  // the audit names it.
  Psql(super,
       "SET session_replication_role = replica; INSERT INTO erasures SELECT id, tenant_id,"
       " 0, 'intruder', 'r', 999999 FROM receipts WHERE id = '" +
           b +
           "'; UPDATE receipts"
           " SET envelope_to = '{}', envelope_from = '' WHERE id = '" +
           b + "'");
  auto caught = RunCommand({e2e::NotaryctlBinary(), "--database-url", db_.AppUrl(), "audit"});
  EXPECT_EQ(caught.exit_code, 1) << caught.out;
  EXPECT_NE(caught.out.find("receipt " + b + " is erased, but no erasure record"),
            std::string::npos)
      << caught.out;

  // A database the audit cannot read is said so (exit 2), whichever of its readers meets it.
  Psql(super, "REVOKE SELECT ON erasures FROM notary_app");
  for (const char* mode : {"--quiet", "--canonical"}) {
    auto r = RunCommand({e2e::NotaryctlBinary(), "--database-url", db_.AppUrl(), "audit", mode});
    EXPECT_EQ(r.exit_code, 2) << mode << ": " << r.out;
    EXPECT_NE(r.out.find("cannot read the database"), std::string::npos) << r.out;
  }
}

TEST_F(ErasureTest, OnlyTheTenantsAdminErasesAndBadRequestsSayWhy) {
  ASSERT_EQ(RunCommand({e2e::NotaryctlBinary(), "--database-url", db_.AppUrl(), "tenant", "create",
                        "other"})
                .exit_code,
            0);
  const std::string other = e2e::MakeKey(db_.AppUrl(), "other", "ingest,read,admin");
  const std::string reader = e2e::MakeKey(db_.AppUrl(), "default", "read");
  const std::string id = Swaks({"--from", "a@example.com", "--to", "b@example.org"});
  WaitSealed(id);
  EXPECT_EQ(Erase(other, id, "x").status, 404);
  EXPECT_EQ(Erase(reader, id, "x").status, 403);
  EXPECT_EQ(Erase(admin_, id, "").status, 400);
  EXPECT_EQ(Erase(admin_, id, std::string("bell\a")).status, 400);
  EXPECT_EQ(Erase(admin_, id, std::string(2001, 'x')).status, 400);
  EXPECT_EQ(Call("POST", node_->Http("/v1/messages/" + id + "/erase"), admin_, "{}").status, 400);
  EXPECT_EQ(Erase(admin_, "00000000-0000-7000-8000-000000000000", "x").status, 404);
  EXPECT_EQ(Psql(db_.SuperUrl(), "SELECT count(*) FROM erasures"), "0");
  EXPECT_EQ(Psql(db_.SuperUrl(), "SELECT count(*) FROM actions"), "0");

  // A hold by search that covers later mail stops the erasure of a message arriving after it.
  auto hold = Call("POST", node_->Http("/v1/holds"), admin_,
                   json{{"name", "all future"},
                        {"reason", "r"},
                        {"query", json::object()},
                        {"include_future", true}}
                       .dump());
  ASSERT_EQ(hold.status, 201) << hold.body.dump();
  const std::string later = Swaks({"--from", "a@example.com", "--to", "d@example.org"});
  WaitSealed(later);
  auto r = Erase(admin_, later, "x");
  EXPECT_EQ(r.status, 409) << r.body.dump();
  EXPECT_NE(r.body.dump().find("all future"), std::string::npos);

  // notaryctl erases by receipt id alone, naming the operating-system user in the record.
  auto ctl = RunCommand({e2e::NotaryctlBinary(), "--database-url", db_.AppUrl(), "erase",
                         "--receipt", id, "--reason", "retention period over"});
  EXPECT_EQ(ctl.exit_code, 1) << ctl.out;  // the hold on all mail covers it too
  EXPECT_NE(ctl.out.find("all future"), std::string::npos) << ctl.out;
  ASSERT_EQ(Call("DELETE", node_->Http("/v1/holds/" + hold.body["id"].get<std::string>()), admin_,
                 json{{"reason", "done"}}.dump())
                .status,
            200);
  ctl = RunCommand({e2e::NotaryctlBinary(), "--database-url", db_.AppUrl(), "erase", "--receipt",
                    id, "--reason", "retention period over"});
  EXPECT_EQ(ctl.exit_code, 0) << ctl.out;
  EXPECT_EQ(Psql(db_.SuperUrl(), "SELECT erased_by LIKE 'notaryctl:%' FROM erasures"), "t");
}

}  // namespace

namespace {

TEST_F(ErasureTest, ARetentionPeriodIsSetPerTenantOverTheApiAndNotaryctlAndRecorded) {
  ASSERT_EQ(RunCommand({e2e::NotaryctlBinary(), "--database-url", db_.AppUrl(), "tenant", "create",
                        "other"})
                .exit_code,
            0);
  const std::string other = e2e::MakeKey(db_.AppUrl(), "other", "ingest,read,admin");
  const std::string reader = e2e::MakeKey(db_.AppUrl(), "default", "read");
  const std::string url = node_->Http("/v1/retention");
  auto none = Call("GET", url, admin_);
  ASSERT_EQ(none.status, 200) << none.body.dump();
  EXPECT_TRUE(none.body["days"].is_null());

  auto set = Call("PUT", url, admin_, json{{"days", 3650}}.dump());
  ASSERT_EQ(set.status, 200) << set.body.dump();
  EXPECT_EQ(set.body["days"], 3650);
  for (const std::string& bad :
       {json{{"days", 0}}.dump(), json{{"days", 36601}}.dump(), json{{"days", "ten years"}}.dump(),
        std::string("{}"), json{{"days", 5}, {"why", "x"}}.dump(), std::string("nope")}) {
    auto r = Call("PUT", url, admin_, bad);
    EXPECT_EQ(r.status, 400) << bad << " -> " << r.body.dump();
  }
  EXPECT_EQ(Call("PUT", url, reader, json{{"days", 1}}.dump()).status, 403);
  EXPECT_EQ(Call("GET", url, reader).status, 403);

  // Another tenant's period is its own.
  auto ctl = RunCommand({e2e::NotaryctlBinary(), "--database-url", db_.AppUrl(), "tenant",
                         "set-retention", "--tenant", "other", "--days", "10"});
  ASSERT_EQ(ctl.exit_code, 0) << ctl.out;
  EXPECT_NE(ctl.out.find("mail erased 10 days after reception"), std::string::npos) << ctl.out;
  EXPECT_EQ(Call("GET", url, other).body["days"], 10);
  EXPECT_EQ(Call("GET", url, admin_).body["days"], 3650);
  auto shown = RunCommand(
      {e2e::NotaryctlBinary(), "--database-url", db_.AppUrl(), "tenant", "retention", "default"});
  EXPECT_NE(shown.out.find("3650 days"), std::string::npos) << shown.out;
  EXPECT_EQ(RunCommand({e2e::NotaryctlBinary(), "--database-url", db_.AppUrl(), "tenant",
                        "set-retention", "--tenant", "other", "--days", "0"})
                .exit_code,
            2);

  // Each change is sealed in the log as a record of its own.
  ASSERT_TRUE(testsupport::WaitUntil(
      [&] {
        return Psql(db_.SuperUrl(),
                    "SELECT count(*) FROM actions a JOIN leaves l ON"
                    " l.action_of = a.id WHERE a.action = 'retention'") == "2";
      },
      std::chrono::seconds(30)));
  EXPECT_FALSE(Call("GET", url, admin_).body["record"]["leaf_index"].is_null());
  Audit();
}

}  // namespace
