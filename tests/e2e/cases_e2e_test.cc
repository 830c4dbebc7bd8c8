// Cases (docs/cases.md) against the real notaryd and PostgreSQL, with curl: a case opened,
// messages added by list and by search and removed with a reason, each change recorded as an
// action record the log seals and `notaryctl audit` checks; GET /v1/messages?case= lists
// exactly the case's messages; one tenant never sees, changes or fills another's case.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

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

  // The operator's document key and certificate (EC P-256, self-signed) in dir_/document.
  std::string MakeDocumentKey() {
    const std::string keys = dir_ + "/document";
    std::filesystem::create_directories(keys);
    EXPECT_EQ(RunCommand({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                          "ec_paramgen_curve:P-256", "-nodes", "-keyout", keys + "/doc.key", "-out",
                          keys + "/doc.pem", "-days", "30", "-subj",
                          "/CN=ACME Notary GmbH/O=ACME Notary GmbH/C=DE"})
                  .exit_code,
              0);
    ::chmod((keys + "/doc.key").c_str(), 0600);
    return keys;
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

// A hold on a case (docs/cases.md, "A hold on a case"): it covers the case's messages when
// placed and each one added while it is in force; a removal from the case does not release a
// message; its release does. Its record binds the case and the members then; another tenant's
// admin cannot place one on the case.
TEST_F(CasesTest, AHoldOnACaseCoversWhatIsAddedAndOutlivesRemovals) {
  const std::string admin = e2e::MakeKey(db_.AppUrl(), "default", "admin");
  const std::string before = Send(lawyer_, "in the case before the hold");
  const std::string outside = Send(lawyer_, "never in the case");
  auto opened = Open(lawyer_, {{"name", "Acme v. Widget"}});
  ASSERT_EQ(opened.status, 201);
  const std::string id = opened.body["id"];
  ASSERT_EQ(Add(lawyer_, id, {{"receipt_ids", {before}}}).status, 201);

  auto hold = Call(
      "POST", node_->Http("/v1/holds"), admin,
      json{{"name", "Acme litigation hold"}, {"reason", "complaint served"}, {"case", id}}.dump());
  ASSERT_EQ(hold.status, 201) << hold.body.dump();
  EXPECT_EQ(hold.body["case"], id);
  EXPECT_EQ(hold.body["messages"], 1);
  const std::string hold_id = hold.body["id"];
  const json details = json::parse(Psql(db_.SuperUrl(),
                                        "SELECT convert_from(details, 'UTF8') FROM actions"
                                        " WHERE action = 'hold'"));
  EXPECT_EQ(details["case"], id);
  EXPECT_EQ(details["receipt_ids"], json({before}));

  // Added after the hold: covered from that commit on.
  const std::string after = Send(lawyer_, "added after the hold");
  ASSERT_EQ(Add(lawyer_, id, {{"receipt_ids", {after}}}).status, 201);
  EXPECT_EQ(Call("GET", node_->Http("/v1/holds/" + hold_id), admin).body["messages"], 2);
  // Removed from the case: still held.
  ASSERT_EQ(Remove(lawyer_, id, {{"receipt_ids", {before}}, {"reason", "not relevant"}}).status,
            200);
  auto Erase = [&](const std::string& r) {
    EXPECT_TRUE(testsupport::WaitUntil([&] { return e2e::SealedForErasure(db_.SuperUrl(), r); },
                                       std::chrono::seconds(30)));
    return Call("POST", node_->Http("/v1/messages/" + r + "/erase"), admin,
                json{{"reason", "data subject's request"}}.dump());
  };
  for (const std::string& r : {before, after}) {
    auto refused = Erase(r);
    EXPECT_EQ(refused.status, 409) << refused.body.dump();
    EXPECT_NE(refused.body.dump().find("Acme litigation hold"), std::string::npos)
        << refused.body.dump();
  }
  EXPECT_EQ(Erase(outside).status, 200);

  // Another tenant's admin: no such case.
  ASSERT_EQ(RunCommand({e2e::NotaryctlBinary(), "--database-url", db_.AppUrl(), "tenant", "create",
                        "other"})
                .exit_code,
            0);
  const std::string other = e2e::MakeKey(db_.AppUrl(), "other", "admin");
  auto foreign = Call("POST", node_->Http("/v1/holds"), other,
                      json{{"name", "n"}, {"reason", "r"}, {"case", id}}.dump());
  EXPECT_EQ(foreign.status, 404) << foreign.body.dump();
  // A hold names one of a list, a search or a case.
  auto both =
      Call("POST", node_->Http("/v1/holds"), admin,
           json{{"name", "n"}, {"reason", "r"}, {"case", id}, {"receipt_ids", {after}}}.dump());
  EXPECT_EQ(both.status, 400) << both.body.dump();

  // Released: neither is held any more, and what is added next is not held.
  ASSERT_EQ(
      Call("DELETE", node_->Http("/v1/holds/" + hold_id), admin, json{{"reason", "settled"}}.dump())
          .status,
      200);
  const std::string late = Send(lawyer_, "added after the release");
  ASSERT_EQ(Add(lawyer_, id, {{"receipt_ids", {late}}}).status, 201);
  EXPECT_EQ(Psql(db_.SuperUrl(), "SELECT count(*) FROM hold_receipts"), "2");
  EXPECT_EQ(Erase(before).status, 200);
  EXPECT_EQ(Erase(after).status, 200);
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

// GET /v1/cases pages newest first with a cursor: every case once, in order, across pages;
// a cursor that is not one, or a limit out of range, is a 400; the other tenant's pages hold
// none of them.
TEST_F(CasesTest, TheCasesListPagesNewestFirstWithACursor) {
  std::vector<std::string> opened;
  for (int i = 0; i < 5; ++i) {
    auto c = Open(lawyer_, {{"name", "matter " + std::to_string(i)}});
    ASSERT_EQ(c.status, 201) << c.body.dump();
    opened.push_back(c.body["id"]);
  }
  std::vector<std::string> listed;
  std::string next;
  int pages = 0;
  do {
    auto r = Call("GET", node_->Http("/v1/cases?limit=2" + (next.empty() ? "" : "&next=" + next)),
                  lawyer_);
    ASSERT_EQ(r.status, 200) << r.body.dump();
    EXPECT_LE(r.body["items"].size(), 2u);
    for (const auto& c : r.body["items"]) listed.push_back(c["id"]);
    next = r.body["next"].is_null() ? "" : r.body["next"].get<std::string>();
    ++pages;
  } while (!next.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(listed, std::vector<std::string>(opened.rbegin(), opened.rend()));
  // Without a limit: the first hundred, here all five, and no next page.
  auto whole = Call("GET", node_->Http("/v1/cases"), lawyer_);
  EXPECT_EQ(whole.body["items"].size(), 5u);
  EXPECT_TRUE(whole.body["next"].is_null());

  for (const char* bad : {"limit=0", "limit=1001", "limit=x", "next=12_notauuid",
                          "next=0190a5d8-0000-7000-8000-000000000a01", "next=%27%3B--_x"}) {
    auto r = Call("GET", node_->Http(std::string("/v1/cases?") + bad), lawyer_);
    EXPECT_EQ(r.status, 400) << bad << ": " << r.body.dump();
  }
  ASSERT_EQ(RunCommand({e2e::NotaryctlBinary(), "--database-url", db_.AppUrl(), "tenant", "create",
                        "other"})
                .exit_code,
            0);
  const std::string other = e2e::MakeKey(db_.AppUrl(), "other", "cases");
  auto first = Call("GET", node_->Http("/v1/cases?limit=1"), lawyer_);
  auto theirs =
      Call("GET", node_->Http("/v1/cases?next=" + first.body["next"].get<std::string>()), other);
  EXPECT_EQ(theirs.status, 200);
  EXPECT_TRUE(theirs.body["items"].empty()) << "a cursor is no way into another tenant's cases";
}

// The console's view of an export and of a message's custody (docs/cases.md, "Following an
// export"): the progress kept under the client's token, for that tenant and case only, with a
// refusal's reason, answered by any node on the database; the custody of a message in the
// case, with the export in it.
TEST_F(CasesTest, AnExportIsFollowedByItsTokenAndShowsInTheCustody) {
  ASSERT_EQ(RunCommand({e2e::NotaryctlBinary(), "--database-url", db_.AppUrl(), "tenant", "create",
                        "other"})
                .exit_code,
            0);
  const std::string other = e2e::MakeKey(db_.AppUrl(), "other", "ingest,read,cases");
  const std::string reader = e2e::MakeKey(db_.AppUrl(), "default", "read");
  const std::string a = Send(lawyer_, "first");
  const std::string b = Send(lawyer_, "second");
  const std::string outside = Send(lawyer_, "not in the case");
  auto opened = Open(lawyer_, {{"name", "followed"}});
  ASSERT_EQ(opened.status, 201);
  const std::string id = opened.body["id"];
  ASSERT_EQ(Add(lawyer_, id, {{"receipt_ids", {a, b}}}).status, 201);
  for (const std::string& r : {a, b}) {
    ASSERT_EQ(Call("GET", node_->Http("/v1/messages/" + r + "/evidence?wait=30"), lawyer_).status,
              200);
  }
  const std::string token = "00112233445566778899aabbccddeeff";
  auto Progress = [&](const std::string& key, const std::string& case_id, const std::string& t) {
    return Call("GET", node_->Http("/v1/cases/" + case_id + "/export/progress?progress=" + t), key);
  };
  EXPECT_EQ(Progress(lawyer_, id, token).status, 404);  // nothing under it yet
  EXPECT_EQ(Progress(lawyer_, id, "xyz").status, 400);
  EXPECT_EQ(Progress(lawyer_, id, "ABCDEF0123456789").status, 400);  // lower-case hex only

  auto zip = RunCommand({"curl", "-s", "-o", dir_ + "/followed.zip", "-w", "%{http_code}", "-H",
                         "Authorization: Bearer " + lawyer_,
                         node_->Http("/v1/cases/" + id + "/export?progress=" + token)});
  ASSERT_EQ(zip.out, "200");
  auto done = Progress(lawyer_, id, token);
  ASSERT_EQ(done.status, 200) << done.body.dump();
  EXPECT_EQ(done.body["state"], "ready");
  EXPECT_EQ(done.body["done"], 2);
  EXPECT_EQ(done.body["total"], 2);
  // Another node on the same database (behind the same load balancer) answers the poll alike,
  // and refuses the token as in use.
  std::filesystem::create_directories(dir_ + "/b");
  e2e::NotarydProcess node_b(db_.AppUrl(), db_.OwnerUrl(), dir_ + "/b", {}, "node-b");
  ASSERT_TRUE(node_b.ready()) << node_b.Log();
  auto elsewhere =
      Call("GET", node_b.Http("/v1/cases/" + id + "/export/progress?progress=" + token), lawyer_);
  ASSERT_EQ(elsewhere.status, 200) << elsewhere.body.dump();
  EXPECT_EQ(elsewhere.body, done.body);
  EXPECT_EQ(
      Call("GET", node_b.Http("/v1/cases/" + id + "/export?progress=" + token), lawyer_).status,
      409);
  node_b.Stop();
  // Another tenant, or another case, finds nothing under the same token.
  EXPECT_EQ(Progress(other, id, token).status, 404);
  auto their_case = Open(other, {{"name", "theirs"}});
  ASSERT_EQ(their_case.status, 201);
  EXPECT_EQ(Progress(other, their_case.body["id"], token).status, 404);
  // A token in use is refused; a refused export says why under its token.
  auto reused = Call("GET", node_->Http("/v1/cases/" + id + "/export?progress=" + token), lawyer_);
  EXPECT_EQ(reused.status, 409);
  const std::string bad = "ffeeddccbbaa99887766554433221100";
  EXPECT_EQ(Call("GET", node_->Http("/v1/cases/" + id + "/export?bates_width=13&progress=" + bad),
                 lawyer_)
                .status,
            400);
  auto failed = Progress(lawyer_, id, bad);
  ASSERT_EQ(failed.status, 200);
  EXPECT_EQ(failed.body["state"], "failed");
  EXPECT_NE(failed.body.value("error", "").find("bates_width"), std::string::npos)
      << failed.body.dump();
  // Without the read scope the export is refused, and that is what its token says.
  const std::string cases_only = e2e::MakeKey(db_.AppUrl(), "default", "cases");
  const std::string third = "0123456789abcdef0123456789abcdef";
  EXPECT_EQ(
      Call("GET", node_->Http("/v1/cases/" + id + "/export?progress=" + third), cases_only).status,
      403);
  EXPECT_EQ(Progress(cases_only, id, third).body["state"], "failed");

  // The custody of a message in the case: received, sealed, added, exported, oldest first.
  auto custody = Call("GET", node_->Http("/v1/cases/" + id + "/custody?receipt=" + a), lawyer_);
  ASSERT_EQ(custody.status, 200) << custody.body.dump();
  EXPECT_EQ(custody.body["receipt_id"], a);
  std::vector<std::string> events;
  for (const auto& e : custody.body["events"]) events.push_back(e["event"]);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front(), "received");
  for (const char* want : {"sealed", "case-add", "export"}) {
    EXPECT_NE(std::find(events.begin(), events.end(), want), events.end()) << want;
  }
  // Only a message in the case, only for the case's tenant, only with the read scope too.
  EXPECT_EQ(
      Call("GET", node_->Http("/v1/cases/" + id + "/custody?receipt=" + outside), lawyer_).status,
      404);
  EXPECT_EQ(Call("GET", node_->Http("/v1/cases/" + id + "/custody?receipt=" + a), other).status,
            404);
  EXPECT_EQ(
      Call("GET", node_->Http("/v1/cases/" + id + "/custody?receipt=" + a), cases_only).status,
      403);
  EXPECT_EQ(Call("GET", node_->Http("/v1/cases/" + id + "/custody?receipt=" + a), reader).status,
            403);
  EXPECT_EQ(Call("GET", node_->Http("/v1/cases/" + id + "/custody"), lawyer_).status, 400);
}

// The production (docs/cases.md): three messages, one with a Korean attachment name, exported
// with curl and unzipped with Info-ZIP: the index and the load file have one row per message
// whose hashes sha256sum and md5sum reproduce from the natives; each bundle verifies with
// notary-verify against its native; the mailbox holds the natives byte for byte; the export is
// recorded in the log and appears in every message's chain of custody, the next export's too.
// The certificate of a production, from a notary whose operator states who it is and signs with
// a document certificate: qpdf checks the file, pdfsig finds the signature valid over the
// whole document, pdftotext shows the operator, every message's hash and Bates number, the
// check at issue and the authority marked as the operator's own, and the hash of index.csv
// that sha256sum gives. A key readable by others, or one that is not the certificate's, stops
// notaryd at start.
// One message's bundle carries certificate.pdf beside certificate.html (docs/evidence-bundle.md
// §7a), when asked for (?certificate=pdf): the same facts in the bundle's language, signed by
// the operator's document key, archival; notary-verify passes the bundle, says the PDF's text
// is not read, checks its signature; without the parameter there is no PDF.
TEST_F(CasesTest, ABundleCarriesItsCertificateAsASignedPdf) {
  const std::string keys = MakeDocumentKey();
  // Without a document key, no document certificate is published.
  auto before =
      json::parse(RunCommand({"curl", "-s", node_->Http("/v1/keys")}).out, nullptr, false);
  ASSERT_TRUE(before.contains("document")) << before.dump();
  EXPECT_TRUE(before["document"].is_null()) << before.dump();
  node_->Stop();
  node_ = std::make_unique<e2e::NotarydProcess>(
      db_.AppUrl(), db_.OwnerUrl(), dir_ + "/data",
      std::vector<std::string>{"--operator-name", "ACME Notary GmbH", "--document-cert",
                               keys + "/doc.pem", "--document-key", keys + "/doc.key"});
  ASSERT_TRUE(node_->ready()) << node_->Log();
  const std::string id = Send(lawyer_, "=?UTF-8?B?6rOE7JW97ISc?= signed");
  auto message = Call("GET", node_->Http("/v1/messages/" + id), lawyer_);
  ASSERT_EQ(message.status, 200);
  const std::string raw = message.body.value("raw_sha256", "");
  ASSERT_EQ(raw.size(), 64u) << message.body.dump();

  auto Download = [&](const std::string& query, const std::string& zip) {
    return RunCommand({"curl", "-s", "-o", zip, "-w", "%{http_code}", "-H",
                       "Authorization: Bearer " + lawyer_,
                       node_->Http("/v1/messages/" + id + "/evidence?wait=30" + query)},
                      "", 60)
        .out;
  };
  const std::string zip = dir_ + "/bundle-ko.zip", out = dir_ + "/bundle-ko";
  ASSERT_EQ(Download("&certificate=pdf&lang=ko", zip), "200");
  ASSERT_EQ(RunCommand({"unzip", "-q", zip, "-d", out}).exit_code, 0);
  const std::string pdf = out + "/certificate.pdf";
  auto check = RunCommand({"qpdf", "--check", pdf});
  EXPECT_EQ(check.exit_code, 0) << check.out;
  auto sig = RunCommand({"pdfsig", pdf});
  EXPECT_NE(sig.out.find("Signature Validation: Signature is Valid."), std::string::npos)
      << sig.out;
  EXPECT_NE(sig.out.find("Total document signed"), std::string::npos) << sig.out;
  EXPECT_NE(sig.out.find("ACME Notary GmbH"), std::string::npos) << sig.out;
  EXPECT_NE(RunCommand({"pdfinfo", "-meta", pdf}).out.find("<pdfaid:part>2</pdfaid:part>"),
            std::string::npos);
  const std::string text = RunCommand({"pdftotext", pdf, "-"}).out;
  for (const std::string& want :
       {id, raw, std::string("ACME Notary GmbH"), std::string("운영자"),
        std::string("계약서 signed"), std::string("notary-verify의 모든 검사 통과")}) {
    EXPECT_NE(text.find(want), std::string::npos) << want << "\n" << text;
  }
  // notary-verify: the bundle is valid; the PDF's text is not read, its signature is intact
  // and names the operator's certificate.
  const std::string verify = testsupport::BinaryDir() + "/cli/notary-verify";
  auto verified = RunCommand({verify, zip});
  EXPECT_EQ(verified.exit_code, 0) << verified.out;
  EXPECT_NE(verified.out.find("NOTE: certificate.pdf is the operator's copy of certificate.html; "
                              "its text is not read here"),
            std::string::npos)
      << verified.out;
  EXPECT_NE(verified.out.find(
                "Its signature is intact: signed by C=DE,O=ACME Notary GmbH,CN=ACME Notary GmbH"),
            std::string::npos)
      << verified.out;
  auto as_json = json::parse(RunCommand({verify, zip, "--json"}).out, nullptr, false);
  EXPECT_EQ(as_json.value("certificate_pdf_unchecked", false), true);
  EXPECT_EQ(as_json["certificate_pdf"].value("signature", ""), "intact") << as_json.dump();
  // The signer's fingerprint is the operator's certificate's.
  const std::string fp =
      RunCommand({"sh", "-c",
                  "openssl x509 -in " + keys + "/doc.pem -outform DER | sha256sum | cut -c1-64"})
          .out;
  EXPECT_EQ(as_json["certificate_pdf"].value("signer_fingerprint", "") + "\n", fp);
  // ...and the operator publishes it, without a key, beside the notary's keys.
  auto published = RunCommand({"curl", "-s", node_->Http("/v1/keys")});
  auto keys_json = json::parse(published.out, nullptr, false);
  ASSERT_TRUE(keys_json.contains("document")) << published.out;
  EXPECT_EQ(keys_json["document"].value("fingerprint_sha256", "") + "\n", fp);
  EXPECT_EQ(keys_json["document"].value("subject", ""),
            as_json["certificate_pdf"].value("signer", ""));
  ASSERT_EQ(keys_json["document"]["certificates_pem"].size(), 1u);
  EXPECT_EQ(keys_json["document"]["certificates_pem"][0].get<std::string>(),
            testsupport::ReadFile(keys + "/doc.pem"));
  // One byte changed in the PDF: pdfsig no longer calls it valid, and notary-verify warns
  // that its signature is broken; the evidence itself stays valid (certificate.html binds).
  std::string bytes = testsupport::ReadFile(pdf);
  const size_t at = bytes.find("ACME Notary GmbH");
  ASSERT_NE(at, std::string::npos);
  bytes[at] = 'X';
  testsupport::WriteFile(pdf, bytes);
  EXPECT_EQ(RunCommand({"pdfsig", pdf}).out.find("Signature Validation: Signature is Valid."),
            std::string::npos);
  const std::string changed = dir_ + "/bundle-changed.zip";
  ASSERT_EQ(RunCommand({"sh", "-c", "cd " + out + " && zip -q -X -r " + changed + " ."}).exit_code,
            0);
  auto warned = RunCommand({verify, changed});
  EXPECT_EQ(warned.exit_code, 0) << warned.out;
  EXPECT_NE(warned.out.find("WARNING: certificate.pdf is the operator's copy of certificate.html"),
            std::string::npos)
      << warned.out;
  EXPECT_NE(warned.out.find("Its signature is BROKEN (the signature does not verify over the "
                            "file: it was changed after signing)"),
            std::string::npos)
      << warned.out;

  // Not asked for (or ?certificate=none): the bundle as before, without the PDF.
  const std::string plain = dir_ + "/bundle-plain.zip";
  ASSERT_EQ(Download("", plain), "200");
  EXPECT_EQ(RunCommand({"unzip", "-l", plain}).out.find("certificate.pdf"), std::string::npos);
  EXPECT_EQ(RunCommand({verify, plain}).out.find("certificate.pdf"), std::string::npos);
  EXPECT_EQ(Download("&certificate=html", dir_ + "/x.zip"), "400");
}

TEST_F(CasesTest, TheCertificateIsSignedArchivalAndNamesTheOperator) {
  const std::string keys = MakeDocumentKey();
  node_->Stop();
  const std::vector<std::string> flags = {"--operator-name",    "ACME Notary GmbH",
                                          "--operator-address", "Hauptstraße 1, 10115 Berlin",
                                          "--operator-contact", "legal@acme.example",
                                          "--document-cert",    keys + "/doc.pem",
                                          "--document-key",     keys + "/doc.key"};
  node_ =
      std::make_unique<e2e::NotarydProcess>(db_.AppUrl(), db_.OwnerUrl(), dir_ + "/data", flags);
  ASSERT_TRUE(node_->ready()) << node_->Log();

  const std::vector<std::string> ids = {Send(lawyer_, "=?UTF-8?B?6rOE7JW97ISc?="),
                                        Send(lawyer_, "second"), Send(lawyer_, "third")};
  auto opened = Open(lawyer_, {{"name", "Acme v. Widget"}});
  ASSERT_EQ(opened.status, 201);
  const std::string id = opened.body["id"];
  ASSERT_EQ(Add(lawyer_, id, {{"receipt_ids", ids}}).status, 201);
  for (const std::string& r : ids) {
    ASSERT_EQ(Call("GET", node_->Http("/v1/messages/" + r + "/evidence?wait=30"), lawyer_).status,
              200);
  }
  const std::string zip = dir_ + "/signed.zip", out = dir_ + "/signed";
  ASSERT_EQ(RunCommand({"curl", "-s", "-o", zip, "-w", "%{http_code}", "-H",
                        "Authorization: Bearer " + lawyer_,
                        node_->Http("/v1/cases/" + id + "/export?bates_prefix=ACME")})
                .out,
            "200");
  ASSERT_EQ(RunCommand({"unzip", "-q", zip, "-d", out}).exit_code, 0);
  const std::string pdf = out + "/certificate.pdf";

  auto check = RunCommand({"qpdf", "--check", pdf});
  EXPECT_EQ(check.exit_code, 0) << check.out;
  auto sig = RunCommand({"pdfsig", pdf});
  EXPECT_EQ(sig.exit_code, 0) << sig.out;
  EXPECT_NE(sig.out.find("Signature Validation: Signature is Valid."), std::string::npos)
      << sig.out;
  EXPECT_NE(sig.out.find("Total document signed"), std::string::npos) << sig.out;
  EXPECT_NE(sig.out.find("Signer Certificate Common Name: ACME Notary GmbH"), std::string::npos);
  EXPECT_NE(RunCommand({"pdfinfo", "-meta", pdf}).out.find("<pdfaid:part>2</pdfaid:part>"),
            std::string::npos);

  auto text = RunCommand({"pdftotext", "-enc", "UTF-8", pdf, "-"});
  ASSERT_EQ(text.exit_code, 0) << text.out;
  for (const char* shown : {"ACME Notary GmbH", "Hauptstraße 1, 10115 Berlin", "legal@acme.example",
                            "3 of 3 passed every check of notary-verify", "the operator's own",
                            "Acme v. Widget", "ACME000001 to ACME000003"}) {
    EXPECT_NE(text.out.find(shown), std::string::npos) << shown << "\n" << text.out;
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    const std::string raw = Psql(db_.SuperUrl(),
                                 "SELECT encode(raw_sha256, 'hex') FROM receipts"
                                 " WHERE id = '" +
                                     ids[i] + "'");
    EXPECT_NE(text.out.find(raw), std::string::npos) << raw << "\n" << text.out;
    EXPECT_NE(text.out.find("ACME00000" + std::to_string(i + 1)), std::string::npos);
  }
  auto index_sum = RunCommand({"sha256sum", out + "/index.csv"});
  ASSERT_EQ(index_sum.exit_code, 0);
  EXPECT_NE(text.out.find(index_sum.out.substr(0, 64)), std::string::npos) << text.out;
  // The production with its certificate still checks out whole.
  auto whole = RunCommand({testsupport::BinaryDir() + "/cli/notary-verify", zip});
  EXPECT_EQ(whole.exit_code, 0) << whole.out;

  // The jurisdiction templates: each signed, each with what its rule asks, in its language.
  auto Template = [&](const std::string& name) {
    const std::string t = dir_ + "/template-" + name;
    EXPECT_EQ(RunCommand({"curl", "-s", "-o", t + ".zip", "-w", "%{http_code}", "-H",
                          "Authorization: Bearer " + lawyer_,
                          node_->Http("/v1/cases/" + id + "/export?template=" + name)})
                  .out,
              "200")
        << name;
    EXPECT_EQ(RunCommand({"unzip", "-q", t + ".zip", "certificate.pdf", "-d", t}).exit_code, 0);
    auto signature = RunCommand({"pdfsig", t + "/certificate.pdf"});
    EXPECT_NE(signature.out.find("Signature is Valid."), std::string::npos) << signature.out;
    return RunCommand({"pdftotext", "-enc", "UTF-8", t + "/certificate.pdf", "-"}).out;
  };
  const std::string us = Template("us-fre-902");
  for (const char* shown : {"Certification of records under Federal Rules of Evidence",
                            "902(13) and 902(14)", "§ 1746", "3 of 3 passed", "ACME Notary GmbH"}) {
    EXPECT_NE(us.find(shown), std::string::npos) << shown << "\n" << us;
  }
  const std::string kr = Template("kr");
  for (const char* shown : {"전자문서 보관 사실 증명서", "제31조의7", "공인전자문서센터",
                            "a@example.com", "3건 중 3건", "운영자 자체"}) {
    EXPECT_NE(kr.find(shown), std::string::npos) << shown << "\n" << kr;
  }
  const std::string cn = Template("cn");
  for (const char* shown : {"电子数据存证证明", "哈希校验", "可信时间", "运营方与案件当事人的关系",
                            "http 3 封", "运营方自有"}) {
    EXPECT_NE(cn.find(shown), std::string::npos) << shown << "\n" << cn;
  }
  for (const std::string* shown : {&us, &kr, &cn}) {
    const std::string raw = Psql(db_.SuperUrl(),
                                 "SELECT encode(raw_sha256, 'hex') FROM receipts"
                                 " WHERE id = '" +
                                     ids[0] + "'");
    EXPECT_NE(shown->find(raw), std::string::npos) << *shown;
  }
  EXPECT_EQ(Call("GET", node_->Http("/v1/cases/" + id + "/export?template=fr"), lawyer_).status,
            400);

  // A key others may read, and a key that is not the certificate's: notaryd will not start.
  node_->Stop();
  std::vector<std::string> args = {e2e::NotarydBinary(),   "--database-url", db_.AppUrl(),
                                   "--owner-database-url", db_.OwnerUrl(),   "--data-dir",
                                   dir_ + "/data",         "--smtp-listen",  "127.0.0.1:0",
                                   "--http-listen",        "127.0.0.1:0"};
  ::chmod((keys + "/doc.key").c_str(), 0644);
  auto open_key = args;
  open_key.insert(open_key.end(), flags.begin(), flags.end());
  auto refused = RunCommand(open_key, "", 60);
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.out.find("readable by group or others"), std::string::npos) << refused.out;
  ASSERT_EQ(RunCommand({"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-out", keys + "/other.key"})
                .exit_code,
            0);
  ::chmod((keys + "/other.key").c_str(), 0600);
  auto wrong_key = args;
  wrong_key.insert(wrong_key.end(),
                   {"--document-cert", keys + "/doc.pem", "--document-key", keys + "/other.key"});
  auto wrong = RunCommand(wrong_key, "", 60);
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_NE(wrong.out.find("is not the key of"), std::string::npos) << wrong.out;
  // An operator field that is not one line of UTF-8 is refused before anything starts.
  auto two_lines = RunCommand({e2e::NotarydBinary(), "--database-url", db_.AppUrl(),
                               "--operator-name", "ACME\nForged line"},
                              "", 60);
  EXPECT_EQ(two_lines.exit_code, 2) << two_lines.out;
  EXPECT_NE(two_lines.out.find("UTF-8 text of one line"), std::string::npos) << two_lines.out;
}

TEST_F(CasesTest, ExportIsAProductionWhoseHashesAndBundlesCheckOut) {
  const std::string korean =
      "From: a@example.com\r\nTo: b@example.org\r\nSubject: =?UTF-8?B?6rOE7JW97ISc?=\r\n"
      "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\n"
      "Content-Type: text/plain\r\n\r\nsee attached\r\n--b1\r\n"
      "Content-Type: application/pdf\r\nContent-Disposition: attachment;"
      " filename*=UTF-8''%EA%B3%84%EC%95%BD%EC%84%9C.pdf\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b1--\r\n";
  auto sent = RunCommand({"curl", "-s", "-H", "Authorization: Bearer " + lawyer_, "-H",
                          "Content-Type: message/rfc822", "-H", "X-Envelope-From: a@example.com",
                          "-H", "X-Envelope-To: b@example.org", "--data-binary", korean,
                          node_->Http("/v1/messages")});
  const std::string k = json::parse(sent.out, nullptr, false).value("id", "");
  ASSERT_FALSE(k.empty()) << sent.out;
  const std::string a = Send(lawyer_, "=cmd|' /C calc'!A0");
  // A body line that starts with "From ", which the mailbox must quote.
  const std::string b = Send(lawyer_, "minutes\r\n\r\nFrom the board");
  auto opened = Open(lawyer_, {{"name", "Acme v. Widget"}, {"reference", "1:26-cv-00042"}});
  ASSERT_EQ(opened.status, 201);
  const std::string id = opened.body["id"];
  ASSERT_EQ(Add(lawyer_, id, {{"receipt_ids", {k, a, b}}}).status, 201);
  for (const std::string& r : {k, a, b}) {
    auto bundle = RunCommand({"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                              "Authorization: Bearer " + lawyer_,
                              node_->Http("/v1/messages/" + r + "/evidence?wait=30")});
    ASSERT_EQ(bundle.out, "200") << r;
  }

  const std::string out = dir_ + "/export";
  auto Export = [&](const std::string& zip, const std::string& query) {
    return RunCommand({"curl", "-s", "-o", zip, "-w", "%{http_code}", "-H",
                       "Authorization: Bearer " + lawyer_,
                       node_->Http("/v1/cases/" + id + "/export" + query)});
  };
  ASSERT_EQ(Export(dir_ + "/case.zip", "?bates_prefix=ACME&bates_start=7&custodian=J.%20Doe").out,
            "200");
  ASSERT_EQ(RunCommand({"unzip", "-q", dir_ + "/case.zip", "-d", out}).exit_code, 0);
  // Without --document-cert the certificate is there, archival, and says it is not signed;
  // without --operator-name it says the operator has not stated who it is.
  EXPECT_EQ(RunCommand({"qpdf", "--check", out + "/certificate.pdf"}).exit_code, 0);
  auto unsigned_text = RunCommand({"pdftotext", out + "/certificate.pdf", "-"});
  EXPECT_NE(
      unsigned_text.out.find("NOT signed: the operator has configured no document certificate"),
      std::string::npos)
      << unsigned_text.out;
  EXPECT_NE(unsigned_text.out.find("(not stated by the operator)"), std::string::npos);
  EXPECT_NE(RunCommand({"pdfsig", out + "/certificate.pdf"}).out.find("does not contain any"),
            std::string::npos);

  // index.csv: a header and three rows in Bates order (reception order); the formula in a
  // subject is defused.
  auto index = testsupport::ReadFile(out + "/index.csv");
  EXPECT_EQ(index.substr(0, 3), "\xEF\xBB\xBF");
  EXPECT_NE(index.find("\"'=cmd|' /C calc'!A0\""), std::string::npos) << index;
  auto sums = RunCommand({"sh", "-c", "cd " + out + " && sha256sum natives/*.eml"});
  ASSERT_EQ(sums.exit_code, 0) << sums.out;
  const std::vector<std::pair<std::string, std::string>> rows = {
      {"ACME000007", k}, {"ACME000008", a}, {"ACME000009", b}};
  const std::string dat = testsupport::ReadFile(out + "/loadfile.dat");
  EXPECT_NE(dat.find("\xC3\xBE"
                     "BEGBATES\xC3\xBE\x14"),
            std::string::npos);
  EXPECT_EQ(std::count(dat.begin(), dat.end(), '\n'), 4);
  EXPECT_EQ(std::count(index.begin(), index.end(), '\n'), 4);
  for (const auto& [bates, receipt] : rows) {
    const std::string raw = Psql(db_.SuperUrl(),
                                 "SELECT encode(raw_sha256, 'hex') FROM receipts"
                                 " WHERE id = '" +
                                     receipt + "'");
    EXPECT_NE(sums.out.find(raw + "  natives/" + bates + ".eml"), std::string::npos)
        << bates << "\n"
        << sums.out;
    EXPECT_NE(index.find("\"" + bates + "\",\"" + receipt + "\""), std::string::npos) << index;
    EXPECT_NE(index.find("\"" + raw + "\""), std::string::npos);
    // The load file's row: Bates, custodian, MD5 and SHA-256 of the native.
    auto md5sum = RunCommand({"md5sum", out + "/natives/" + bates + ".eml"});
    ASSERT_EQ(md5sum.exit_code, 0) << md5sum.out;
    const std::string md5 = md5sum.out.substr(0, 32);
    const std::string q = "\xC3\xBE";
    EXPECT_NE(dat.find(q + bates + q + "\x14" + q + bates + q + "\x14" + q + "J. Doe" + q),
              std::string::npos);
    EXPECT_NE(
        dat.find(q + md5 + q + "\x14" + q + raw + q + "\x14" + q + "natives/" + bates + ".eml" + q),
        std::string::npos)
        << bates;
    // The bundle verifies, and the native is the message it proves.
    auto verified = RunCommand({testsupport::BinaryDir() + "/cli/notary-verify",
                                out + "/bundles/evidence-" + receipt + ".zip", "--eml",
                                out + "/natives/" + bates + ".eml"});
    EXPECT_EQ(verified.exit_code, 0) << verified.out;
    EXPECT_NE(verified.out.find("MATCHED"), std::string::npos) << verified.out;
  }
  EXPECT_NE(dat.find("계약서"), std::string::npos);  // the subject, decoded
  // The mailbox: three messages, each the native byte for byte (mboxrd-quoted inside).
  const std::string mbox = testsupport::ReadFile(out + "/messages.mbox");
  EXPECT_NE(mbox.find("\n>From the board"), std::string::npos);
  EXPECT_EQ(mbox.find("\nFrom the board"), std::string::npos);

  // notary-verify checks the whole production: every bundle against its native, and the
  // index, load file, mailbox and custody against them; one line per message.
  const std::string verify = testsupport::BinaryDir() + "/cli/notary-verify";
  auto whole = RunCommand({verify, dir_ + "/case.zip"});
  EXPECT_EQ(whole.exit_code, 0) << whole.out;
  for (const auto& [bates, receipt] : rows) {
    EXPECT_NE(whole.out.find("PASS  " + bates + "  receipt " + receipt), std::string::npos)
        << whole.out;
  }
  EXPECT_NE(whole.out.find("VERDICT: VALID"), std::string::npos) << whole.out;
  // Unsigned (no --document-cert): said so.
  EXPECT_NE(whole.out.find("NOTE: certificate.pdf is the operator's statement about this "
                           "production; its text is not read here: check its hashes of "
                           "index.csv, loadfile.dat and messages.mbox with sha256sum. It is NOT "
                           "signed"),
            std::string::npos)
      << whole.out;
  auto whole_json = RunCommand({verify, dir_ + "/case.zip", "--json", "--threads", "1"});
  EXPECT_EQ(whole_json.exit_code, 0) << whole_json.out;
  const json report = json::parse(whole_json.out, nullptr, false);
  EXPECT_EQ(report.value("valid", false), true) << whole_json.out;
  EXPECT_EQ(report["messages"].size(), 3u) << whole_json.out;
  // Each tampering is a copy of the production with one entry replaced (Info-ZIP's zip); each
  // must fail, naming the message it touches.
  int copies = 0;
  auto Tampered = [&](const std::string& entry, const std::string& bytes) {
    const std::string t = dir_ + "/tampered" + std::to_string(++copies);
    std::filesystem::create_directories(std::filesystem::path(t + "/" + entry).parent_path());
    testsupport::WriteFile(t + "/" + entry, bytes);
    std::filesystem::copy_file(dir_ + "/case.zip", t + "/case.zip");
    EXPECT_EQ(
        RunCommand({"sh", "-c", "cd '" + t + "' && zip -q case.zip '" + entry + "'"}).exit_code, 0);
    return RunCommand({verify, t + "/case.zip"});
  };
  const std::string native8 = testsupport::ReadFile(out + "/natives/ACME000008.eml");
  auto changed = Tampered("natives/ACME000008.eml", native8 + " ");
  EXPECT_EQ(changed.exit_code, 1) << changed.out;
  EXPECT_NE(changed.out.find("FAIL  ACME000008  receipt " + a), std::string::npos) << changed.out;
  EXPECT_NE(changed.out.find("PASS  ACME000007"), std::string::npos) << changed.out;
  EXPECT_NE(changed.out.find("VERDICT: INVALID - 1 of 3 message(s) failed: ACME000008."),
            std::string::npos)
      << changed.out;
  // Another message's genuine bundle in place of ACME000009's.
  auto swapped = Tampered("bundles/evidence-" + b + ".zip",
                          testsupport::ReadFile(out + "/bundles/evidence-" + a + ".zip"));
  EXPECT_EQ(swapped.exit_code, 1) << swapped.out;
  EXPECT_NE(swapped.out.find("FAIL  ACME000009"), std::string::npos) << swapped.out;
  EXPECT_NE(swapped.out.find("PASS  ACME000008"), std::string::npos) << swapped.out;
  // A row whose hashes are right but whose subject is not the message's.
  std::string forged_index = index;
  const size_t calc = forged_index.find("calc");
  ASSERT_NE(calc, std::string::npos);
  forged_index.replace(calc, 4, "CALC");
  auto relabelled = Tampered("index.csv", forged_index);
  EXPECT_EQ(relabelled.exit_code, 1) << relabelled.out;
  EXPECT_NE(relabelled.out.find("FAIL  ACME000008  receipt " + a +
                                ": index.csv's subject is not what the bundle and the native show"),
            std::string::npos)
      << relabelled.out;
  // A mailbox without the last message, and a file nobody listed.
  const size_t last = mbox.rfind("\nFrom ");
  ASSERT_NE(last, std::string::npos);
  auto short_mbox = Tampered("messages.mbox", mbox.substr(0, last + 1));
  EXPECT_EQ(short_mbox.exit_code, 1) << short_mbox.out;
  EXPECT_NE(short_mbox.out.find("FAIL  production: messages.mbox holds 2 messages, not the 3 "
                                "natives\n\nVERDICT: INVALID - every message passed, but the "
                                "production itself has 1 problem(s)."),
            std::string::npos)
      << short_mbox.out;
  auto extra = Tampered("natives/ACME000010.eml", native8);
  EXPECT_EQ(extra.exit_code, 1) << extra.out;
  EXPECT_NE(extra.out.find("the zip holds natives/ACME000010.eml, which index.csv does not list"),
            std::string::npos)
      << extra.out;
  // A single bundle's options do not apply to a production.
  EXPECT_EQ(
      RunCommand({verify, dir_ + "/case.zip", "--eml", out + "/natives/ACME000008.eml"}).exit_code,
      2);

  // Recorded before it was built, and in every message's chain of custody.
  const json custody = json::parse(testsupport::ReadFile(out + "/custody.json"));
  ASSERT_EQ(custody["messages"].size(), 3u);
  for (const auto& m : custody["messages"]) {
    std::vector<std::string> events;
    for (const auto& e : m["events"]) events.push_back(e["event"]);
    EXPECT_EQ(events.front(), "received") << m.dump();
    EXPECT_NE(std::find(events.begin(), events.end(), "sealed"), events.end()) << m.dump();
    EXPECT_NE(std::find(events.begin(), events.end(), "case-add"), events.end()) << m.dump();
    EXPECT_NE(std::find(events.begin(), events.end(), "export"), events.end()) << m.dump();
    // The bundle download above is on the access trail.
    EXPECT_NE(std::find(events.begin(), events.end(), "access"), events.end()) << m.dump();
  }
  const std::string leaf = custody["export"]["record"]["leaf_hash"];
  EXPECT_EQ(Psql(db_.SuperUrl(),
                 "SELECT action FROM actions WHERE leaf_hash = decode('" + leaf + "', 'hex')"),
            "case-export");
  EXPECT_EQ(json::parse(Psql(db_.SuperUrl(),
                             "SELECT convert_from(details, 'UTF8') FROM actions WHERE"
                             " action = 'case-export'"))["receipt_ids"],
            json({k, a, b}));
  ASSERT_EQ(Export(dir_ + "/again.zip", "").out, "200");
  ASSERT_EQ(RunCommand({"unzip", "-q", dir_ + "/again.zip", "custody.json", "-d", dir_ + "/again"})
                .exit_code,
            0);
  const json again = json::parse(testsupport::ReadFile(dir_ + "/again/custody.json"));
  size_t exports = 0;
  for (const auto& e : again["messages"][0]["events"]) exports += e["event"] == "export";
  EXPECT_EQ(exports, 2u);
  EXPECT_EQ(again["messages"][0]["bates"], "000001");

  // Only a key that may also read exports; another tenant has no such case; bad options.
  const std::string cases_only = e2e::MakeKey(db_.AppUrl(), "default", "cases");
  EXPECT_EQ(Call("GET", node_->Http("/v1/cases/" + id + "/export"), cases_only).status, 403);
  ASSERT_EQ(RunCommand({e2e::NotaryctlBinary(), "--database-url", db_.AppUrl(), "tenant", "create",
                        "other"})
                .exit_code,
            0);
  const std::string other = e2e::MakeKey(db_.AppUrl(), "other", "read,cases");
  EXPECT_EQ(Call("GET", node_->Http("/v1/cases/" + id + "/export"), other).status, 404);
  EXPECT_EQ(
      Call("GET", node_->Http("/v1/cases/" + id + "/export?bates_prefix=a/b"), lawyer_).status,
      400);
  EXPECT_EQ(
      Call("GET", node_->Http("/v1/cases/" + id + "/export?bates_width=1&bates_start=8"), lawyer_)
          .status,
      400);
  EXPECT_EQ(
      Call("GET", node_->Http("/v1/cases/" + id + "/export?custodian=%FF%FE"), lawyer_).status,
      400);
  EXPECT_EQ(Psql(db_.SuperUrl(), "SELECT count(*) FROM case_exports"), "2");

  // notaryctl case export: the same route into a file, the key read from a file; a refusal
  // prints the notary's reason, exits 1 and leaves no file.
  testsupport::WriteFile(dir_ + "/lawyer.key", lawyer_ + "\n");
  auto ctl = RunCommand({e2e::NotaryctlBinary(), "case", "export", node_->Http("/"), "--case", id,
                         "--bates-prefix", "CTL", "--api-key-file", dir_ + "/lawyer.key", "--out",
                         dir_ + "/ctl.zip"});
  EXPECT_EQ(ctl.exit_code, 0) << ctl.out;
  auto ctl_verified = RunCommand({verify, dir_ + "/ctl.zip"});
  EXPECT_EQ(ctl_verified.exit_code, 0) << ctl_verified.out;
  EXPECT_NE(ctl_verified.out.find("PASS  CTL000001  receipt " + k), std::string::npos)
      << ctl_verified.out;
  // An existing file is never replaced.
  auto again_ctl =
      RunCommand({e2e::NotaryctlBinary(), "case", "export", node_->Http("/"), "--case", id,
                  "--api-key-file", dir_ + "/lawyer.key", "--out", dir_ + "/ctl.zip"});
  EXPECT_EQ(again_ctl.exit_code, 2) << again_ctl.out;
  EXPECT_NE(again_ctl.out.find("exists"), std::string::npos) << again_ctl.out;
  testsupport::WriteFile(dir_ + "/other.key", other);
  auto refused =
      RunCommand({e2e::NotaryctlBinary(), "case", "export", node_->Http(""), "--case", id,
                  "--api-key-file", dir_ + "/other.key", "--out", dir_ + "/refused.zip"});
  EXPECT_EQ(refused.exit_code, 1) << refused.out;
  EXPECT_NE(refused.out.find("the notary answered 404"), std::string::npos) << refused.out;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/refused.zip"));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/refused.zip.part"));
  EXPECT_EQ(Psql(db_.SuperUrl(), "SELECT count(*) FROM case_exports"), "3");
}

}  // namespace
