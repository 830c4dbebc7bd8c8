// Cases (docs/cases.md) against the real notaryd and PostgreSQL, with curl: a case opened,
// messages added by list and by search and removed with a reason, each change recorded as an
// action record the log seals and `notaryctl audit` checks; GET /v1/messages?case= lists
// exactly the case's messages; one tenant never sees, changes or fills another's case.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "json_call.h"
#include "notaryd_process.h"
#include "support/test_support.h"

namespace {

using nlohmann::json;
using testsupport::Psql;
using testsupport::RunCommand;

using Reply = e2e::JsonReply;
using e2e::Call;

class CasesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = std::make_unique<e2e::NotarydProcess>(db_.AppUrl(), db_.OwnerUrl(), dir_ + "/data");
    ASSERT_TRUE(node_->ready()) << node_->Log();
    lawyer_ = e2e::MakeKey(db_.AppUrl(), "default", "ingest,read,cases");
    ASSERT_FALSE(lawyer_.empty());
  }

  // Ingests a message over HTTP; returns its receipt id.
  std::string Send(const std::string& key, const std::string& subject) {
    auto r = RunCommand(
        {"curl", "-s", "-H", "Authorization: Bearer " + key, "-H", "Content-Type: message/rfc822",
         "-H", "X-Envelope-From: a@example.com", "-H", "X-Envelope-To: b@example.org",
         "--data-binary",
         "From: a@example.com\r\nTo: b@example.org\r\nSubject: " + subject + "\r\n\r\nbody\r\n",
         node_->Http("/v1/messages")});
    auto j = json::parse(r.out, nullptr, false);
    EXPECT_TRUE(j.contains("id")) << r.out;
    return j.value("id", "");
  }

  Reply Open(const std::string& key, const json& body) {
    return Call("POST", node_->Http("/v1/cases"), key, body.dump());
  }
  Reply Add(const std::string& key, const std::string& c, const json& body) {
    return Call("POST", node_->Http("/v1/cases/" + c + "/messages"), key, body.dump());
  }
  Reply Remove(const std::string& key, const std::string& c, const json& body) {
    return Call("DELETE", node_->Http("/v1/cases/" + c + "/messages"), key, body.dump());
  }

  // The ids GET /v1/messages?case= lists, sorted.
  std::vector<std::string> Listed(const std::string& key, const std::string& c) {
    auto r = Call("GET", node_->Http("/v1/messages?case=" + c), key);
    EXPECT_EQ(r.status, 200) << r.body.dump();
    std::vector<std::string> out;
    for (const auto& item : r.body["items"]) out.push_back(item["id"]);
    std::sort(out.begin(), out.end());
    return out;
  }

  static std::vector<std::string> Sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  }

  testsupport::TestDatabase db_;
  std::string dir_ = testsupport::MakeTempDir("cases");
  std::unique_ptr<e2e::NotarydProcess> node_;
  std::string lawyer_;
};

TEST_F(CasesTest, ChangesAreRecordedSealedAndAudited) {
  const std::string a = Send(lawyer_, "Widget contract draft");
  const std::string b = Send(lawyer_, "Re: widget contract draft");
  const std::string c = Send(lawyer_, "lunch on friday");
  const std::string d = Send(lawyer_, "board minutes");

  auto opened = Open(lawyer_, {{"name", "Acme v. Widget"},
                               {"description", "supply dispute, 2026"},
                               {"reference", "1:26-cv-00042"}});
  ASSERT_EQ(opened.status, 201) << opened.body.dump();
  const std::string id = opened.body["id"];
  EXPECT_EQ(opened.body["messages"], 0);
  EXPECT_EQ(opened.body["reference"], "1:26-cv-00042");

  // By search: what it matches now, recorded with the query.
  auto by_search = Add(lawyer_, id, {{"query", {{"subject", "contract draft"}}}});
  ASSERT_EQ(by_search.status, 201) << by_search.body.dump();
  EXPECT_EQ(by_search.body["receipts"], 2);
  EXPECT_EQ(by_search.body["query"]["subject"], "contract draft");
  EXPECT_EQ(by_search.body["case"]["messages"], 2);
  EXPECT_EQ(Listed(lawyer_, id), Sorted({a, b}));

  // By list; an id in the case already changes nothing.
  auto by_list = Add(lawyer_, id, {{"receipt_ids", {d, a}}, {"reason", "custodian interview"}});
  ASSERT_EQ(by_list.status, 201) << by_list.body.dump();
  EXPECT_EQ(by_list.body["case"]["messages"], 3);
  EXPECT_EQ(Listed(lawyer_, id), Sorted({a, b, d}));

  // A removal needs a reason, and a message in the case.
  EXPECT_EQ(Remove(lawyer_, id, {{"receipt_ids", {b}}}).status, 400);
  auto outside = Remove(lawyer_, id, {{"receipt_ids", {c}}, {"reason", "not relevant"}});
  EXPECT_EQ(outside.status, 400) << outside.body.dump();
  auto removed = Remove(lawyer_, id, {{"receipt_ids", {b}}, {"reason", "privileged"}});
  ASSERT_EQ(removed.status, 200) << removed.body.dump();
  EXPECT_EQ(removed.body["case"]["messages"], 2);
  EXPECT_EQ(Listed(lawyer_, id), Sorted({a, d}));
  // Added again later: in the case again (the latest change decides).
  ASSERT_EQ(Add(lawyer_, id, {{"receipt_ids", {b}}}).status, 201);
  EXPECT_EQ(Listed(lawyer_, id), Sorted({a, b, d}));
  // Combined with another filter.
  auto narrowed = Call("GET", node_->Http("/v1/messages?case=" + id + "&subject=board"), lawyer_);
  ASSERT_EQ(narrowed.status, 200);
  ASSERT_EQ(narrowed.body["items"].size(), 1u);
  EXPECT_EQ(narrowed.body["items"][0]["id"], d);

  // The history: four changes, each an action record sealed like any leaf, whose details
  // name exactly the receipts it changed.
  ASSERT_TRUE(testsupport::WaitUntil(
      [&] {
        auto r = Call("GET", node_->Http("/v1/cases/" + id), lawyer_);
        if (r.status != 200 || r.body["record"]["leaf_index"].is_null()) return false;
        for (const auto& ch : r.body["changes"]) {
          if (ch["record"]["leaf_index"].is_null()) return false;
        }
        return true;
      },
      std::chrono::seconds(30)));
  auto got = Call("GET", node_->Http("/v1/cases/" + id), lawyer_);
  ASSERT_EQ(got.body["changes"].size(), 4u) << got.body.dump();
  EXPECT_EQ(got.body["changes"][0]["change"], "add");
  EXPECT_EQ(got.body["changes"][2]["change"], "remove");
  EXPECT_EQ(got.body["changes"][2]["reason"], "privileged");
  EXPECT_EQ(
      Psql(db_.SuperUrl(),
           "SELECT string_agg(action, ',' ORDER BY id) FROM actions WHERE subject = '" + id + "'"),
      "case,case-add,case-add,case-remove,case-add");
  const json details = json::parse(Psql(
      db_.SuperUrl(),
      "SELECT convert_from(details, 'UTF8') FROM actions WHERE action = 'case-add' ORDER BY id "
      "LIMIT 1"));
  EXPECT_EQ(details["receipt_ids"], json(Sorted({a, b})));
  EXPECT_EQ(details["query"]["subject"], "contract draft");
  EXPECT_EQ(details["case"], id);
  // The leaf the log holds for the removal is the record the API names.
  EXPECT_EQ(Psql(db_.SuperUrl(), "SELECT encode(leaf_hash, 'hex') FROM leaves WHERE leaf_index = " +
                                     got.body["changes"][2]["record"]["leaf_index"].dump()),
            got.body["changes"][2]["record"]["leaf_hash"]);

  auto audit = RunCommand({e2e::NotaryctlBinary(), "--database-url", db_.AppUrl(), "audit",
                           "--data-dir", dir_ + "/data"});
  EXPECT_EQ(audit.exit_code, 0) << audit.out;

  // Someone with the database rewrites which messages a change added: the record's digest of
  // its details no longer matches, and the audit names the row.
  Psql(db_.SuperUrl(),
       "ALTER TABLE actions DROP CONSTRAINT actions_record_binds_details;"
       " SET session_replication_role = replica; UPDATE actions SET details = "
       "convert_to(replace(convert_from(details, 'UTF8'), '" +
           a + "', '" + c + "'), 'UTF8') WHERE action = 'case-add'");
  audit = RunCommand({e2e::NotaryctlBinary(), "--database-url", db_.AppUrl(), "audit", "--data-dir",
                      dir_ + "/data"});
  EXPECT_EQ(audit.exit_code, 1) << audit.out;
  EXPECT_NE(audit.out.find("do not match the record's digest"), std::string::npos) << audit.out;
}

TEST_F(CasesTest, RequestsThatBreakARuleAreRefusedAndChangeNothing) {
  const std::string a = Send(lawyer_, "x");
  EXPECT_EQ(Open(lawyer_, json::object()).status, 400);
  EXPECT_EQ(Open(lawyer_, {{"name", ""}}).status, 400);
  EXPECT_EQ(Open(lawyer_, {{"name", "n"}, {"judge", "j"}}).status, 400);
  EXPECT_EQ(Open(lawyer_, {{"name", std::string(201, 'n')}}).status, 400);
  EXPECT_EQ(Open(lawyer_, {{"name", "bad\x01name"}}).status, 400);
  auto opened = Open(lawyer_, {{"name", "n"}});
  ASSERT_EQ(opened.status, 201);
  const std::string id = opened.body["id"];
  // Neither, both, an empty list, a query with paging, an unknown search parameter, a
  // removal by search.
  EXPECT_EQ(Add(lawyer_, id, json::object()).status, 400);
  EXPECT_EQ(Add(lawyer_, id, {{"receipt_ids", {a}}, {"query", {{"subject", "x"}}}}).status, 400);
  EXPECT_EQ(Add(lawyer_, id, {{"receipt_ids", json::array()}}).status, 400);
  EXPECT_EQ(Add(lawyer_, id, {{"query", {{"limit", "5"}}}}).status, 400);
  EXPECT_EQ(Add(lawyer_, id, {{"query", {{"colour", "red"}}}}).status, 400);
  EXPECT_EQ(Add(lawyer_, id, {{"receipt_ids", {"not-a-uuid"}}}).status, 400);
  EXPECT_EQ(Remove(lawyer_, id, {{"query", {{"subject", "x"}}}, {"reason", "r"}}).status, 400);
  // An unknown case, or not a case id at all.
  EXPECT_EQ(Add(lawyer_, "00000000-0000-7000-8000-000000000000", {{"receipt_ids", {a}}}).status,
            404);
  EXPECT_EQ(Call("GET", node_->Http("/v1/cases/nope"), lawyer_).status, 404);
  EXPECT_EQ(Call("GET", node_->Http("/v1/messages?case=nope"), lawyer_).status, 400);
  // A hold cannot be a case's query: the case changes, a hold must not shrink with it.
  const std::string admin = e2e::MakeKey(db_.AppUrl(), "default", "admin");
  auto hold = Call("POST", node_->Http("/v1/holds"), admin,
                   json{{"name", "h"}, {"reason", "r"}, {"query", {{"case", id}}}}.dump());
  EXPECT_EQ(hold.status, 400) << hold.body.dump();
  // Without the cases scope.
  const std::string reader = e2e::MakeKey(db_.AppUrl(), "default", "read,admin");
  EXPECT_EQ(Open(reader, {{"name", "n"}}).status, 403);
  EXPECT_EQ(Call("GET", node_->Http("/v1/cases"), reader).status, 403);
  EXPECT_EQ(Add(reader, id, {{"receipt_ids", {a}}}).status, 403);

  EXPECT_EQ(Psql(db_.SuperUrl(), "SELECT count(*) FROM case_changes"), "0");
  EXPECT_EQ(Psql(db_.SuperUrl(), "SELECT count(*) FROM actions WHERE action LIKE 'case-%'"), "0");
}

TEST_F(CasesTest, OneTenantNeverSeesChangesNorFillsAnothersCase) {
  ASSERT_EQ(RunCommand({e2e::NotaryctlBinary(), "--database-url", db_.AppUrl(), "tenant", "create",
                        "other"})
                .exit_code,
            0);
  const std::string other = e2e::MakeKey(db_.AppUrl(), "other", "ingest,read,cases");
  const std::string mine = Send(lawyer_, "mine");
  const std::string theirs = Send(other, "theirs");
  auto opened = Open(lawyer_, {{"name", "ours"}});
  ASSERT_EQ(opened.status, 201);
  const std::string id = opened.body["id"];
  ASSERT_EQ(Add(lawyer_, id, {{"receipt_ids", {mine}}}).status, 201);

  // The other tenant: no such case, whatever it tries.
  EXPECT_EQ(Call("GET", node_->Http("/v1/cases/" + id), other).status, 404);
  EXPECT_TRUE(Call("GET", node_->Http("/v1/cases"), other).body["items"].empty());
  EXPECT_EQ(Add(other, id, {{"receipt_ids", {theirs}}}).status, 404);
  EXPECT_EQ(Remove(other, id, {{"receipt_ids", {mine}}, {"reason", "r"}}).status, 404);
  EXPECT_TRUE(Listed(other, id).empty());
  // Nor can a case take another tenant's message, by list or by search.
  auto theirs_case = Open(other, {{"name", "theirs"}});
  ASSERT_EQ(theirs_case.status, 201);
  const std::string their_id = theirs_case.body["id"];
  EXPECT_EQ(Add(other, their_id, {{"receipt_ids", {mine}}}).status, 404);
  auto all = Add(other, their_id, {{"query", json::object()}});
  ASSERT_EQ(all.status, 201) << all.body.dump();
  EXPECT_EQ(all.body["receipts"], 1);
  EXPECT_EQ(Listed(other, their_id), std::vector<std::string>{theirs});
  EXPECT_EQ(Listed(lawyer_, id), std::vector<std::string>{mine});

  // And the database refuses it even from notary_app's own SQL.
  const std::string change =
      Psql(db_.SuperUrl(), "SELECT c.id FROM case_changes c WHERE c.case_id = '" + their_id + "'");
  auto sneaked =
      RunCommand({"psql", db_.AppUrl(), "-v", "ON_ERROR_STOP=1", "-c",
                  "INSERT INTO case_change_receipts VALUES (" + change + ", '" + mine + "')"});
  EXPECT_NE(sneaked.exit_code, 0);
  EXPECT_NE(sneaked.out.find("not a message of the case's tenant"), std::string::npos)
      << sneaked.out;
}

}  // namespace
