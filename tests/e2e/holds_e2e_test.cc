// Legal holds (docs/retention.md) against the real notaryd and PostgreSQL: placed by list or
// by search, released once, each recorded as an action record the log seals and
// `notaryctl audit` checks; one tenant's admin never sees or holds another's mail.
#include <gtest/gtest.h>

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

class HoldsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = std::make_unique<e2e::NotarydProcess>(db_.AppUrl(), db_.OwnerUrl(), dir_ + "/data");
    ASSERT_TRUE(node_->ready()) << node_->Log();
    admin_ = e2e::MakeKey(db_.AppUrl(), "default", "ingest,read,admin");
    ASSERT_FALSE(admin_.empty());
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

  std::vector<std::string> HoldsOn(const std::string& key, const std::string& receipt) {
    auto r = Call("GET", node_->Http("/v1/messages/" + receipt), key);
    EXPECT_EQ(r.status, 200) << r.body.dump();
    std::vector<std::string> out;
    for (const auto& h : r.body["holds"]) out.push_back(h["name"]);
    return out;
  }

  Reply Place(const std::string& key, const json& body) {
    return Call("POST", node_->Http("/v1/holds"), key, body.dump());
  }

  bool Sealed(const std::string& key, const std::string& hold, const char* record) {
    auto r = Call("GET", node_->Http("/v1/holds/" + hold), key);
    return r.status == 200 && r.body.contains(record) && !r.body[record]["leaf_index"].is_null();
  }

  testsupport::TestDatabase db_;
  std::string dir_ = testsupport::MakeTempDir("holds");
  std::unique_ptr<e2e::NotarydProcess> node_;
  std::string admin_;
};

TEST_F(HoldsTest, HoldAndReleaseAreSealedInTheLogAndAudited) {
  const std::string held = Send(admin_, "contract draft");
  const std::string other = Send(admin_, "lunch");
  auto placed = Place(admin_, {{"name", "Acme v. Widget"},
                               {"reason", "litigation reasonably anticipated"},
                               {"receipt_ids", {held}}});
  ASSERT_EQ(placed.status, 201) << placed.body.dump();
  const std::string id = placed.body["id"];
  EXPECT_EQ(placed.body["status"], "active");
  EXPECT_EQ(placed.body["messages"], 1);
  EXPECT_EQ(HoldsOn(admin_, held), std::vector<std::string>{"Acme v. Widget"});
  EXPECT_TRUE(HoldsOn(admin_, other).empty());

  // The hold's record is sealed like any leaf.
  ASSERT_TRUE(testsupport::WaitUntil([&] { return Sealed(admin_, id, "record"); },
                                     std::chrono::seconds(30)));

  auto missing_reason = Call("DELETE", node_->Http("/v1/holds/" + id), admin_);
  EXPECT_EQ(missing_reason.status, 400);
  auto released =
      Call("DELETE", node_->Http("/v1/holds/" + id), admin_, json{{"reason", "settled"}}.dump());
  ASSERT_EQ(released.status, 200) << released.body.dump();
  EXPECT_EQ(released.body["status"], "released");
  EXPECT_EQ(released.body["release_reason"], "settled");
  EXPECT_TRUE(HoldsOn(admin_, held).empty());
  auto again =
      Call("DELETE", node_->Http("/v1/holds/" + id), admin_, json{{"reason", "settled"}}.dump());
  EXPECT_EQ(again.status, 409) << again.body.dump();
  ASSERT_TRUE(testsupport::WaitUntil([&] { return Sealed(admin_, id, "release_record"); },
                                     std::chrono::seconds(30)));

  // Two action leaves; the record's leaf hash is what the tree holds.
  EXPECT_EQ(Psql(db_.SuperUrl(), "SELECT count(*) FROM leaves WHERE action_of IS NOT NULL"), "2");
  auto listed = Call("GET", node_->Http("/v1/holds"), admin_);
  ASSERT_EQ(listed.status, 200);
  ASSERT_EQ(listed.body["items"].size(), 1u);
  EXPECT_EQ(Psql(db_.SuperUrl(),
                 "SELECT encode(l.leaf_hash, 'hex') FROM leaves l WHERE "
                 "l.leaf_index = " +
                     listed.body["items"][0]["record"]["leaf_index"].dump()),
            listed.body["items"][0]["record"]["leaf_hash"]);

  auto audit = RunCommand({e2e::NotaryctlBinary(), "--database-url", db_.AppUrl(), "audit",
                           "--data-dir", dir_ + "/data"});
  EXPECT_EQ(audit.exit_code, 0) << audit.out;

  // An attacker with the database rewrites what the hold was about: the audit names it.
  Psql(db_.SuperUrl(),
       "SET session_replication_role = replica; UPDATE actions SET subject = "
       "'00000000-0000-7000-8000-000000000000' WHERE action = 'hold'");
  audit = RunCommand({e2e::NotaryctlBinary(), "--database-url", db_.AppUrl(), "audit", "--data-dir",
                      dir_ + "/data"});
  EXPECT_EQ(audit.exit_code, 1) << audit.out;
  EXPECT_NE(audit.out.find("does not describe its row"), std::string::npos) << audit.out;
}

TEST_F(HoldsTest, AHoldBySearchCatchesLaterMailOnlyWhenAsked) {
  const std::string before = Send(admin_, "Merger plans");
  Send(admin_, "Quarterly numbers");
  auto future = Place(admin_, {{"name", "future"},
                               {"reason", "regulator's request"},
                               {"query", {{"subject", "merger"}}},
                               {"include_future", true}});
  ASSERT_EQ(future.status, 201) << future.body.dump();
  auto now_only = Place(
      admin_,
      {{"name", "now only"}, {"reason", "internal review"}, {"query", {{"subject", "merger"}}}});
  ASSERT_EQ(now_only.status, 201) << now_only.body.dump();
  EXPECT_EQ(now_only.body["messages"], 1);
  EXPECT_EQ(now_only.body["query"]["subject"], "merger");

  const std::string after = Send(admin_, "Re: Merger plans");
  EXPECT_EQ(HoldsOn(admin_, before), (std::vector<std::string>{"future", "now only"}));
  EXPECT_EQ(HoldsOn(admin_, after), std::vector<std::string>{"future"});
  auto f = Call("GET", node_->Http("/v1/holds/" + future.body["id"].get<std::string>()), admin_);
  EXPECT_EQ(f.body["messages"], 2);
}

// The search index is filled after commit (migration 0015). With this node's indexer off, what
// must see a message through the index indexes it first: an erasure weighs a hold by search
// against a message the index does not show yet and is refused naming the hold, and a search
// and a hold's count find a message just received.
class UnindexedHoldsTest : public HoldsTest {
 protected:
  void SetUp() override {
    node_ =
        std::make_unique<e2e::NotarydProcess>(db_.AppUrl(), db_.OwnerUrl(), dir_ + "/data",
                                              std::vector<std::string>{"--index-interval-ms", "0"});
    ASSERT_TRUE(node_->ready()) << node_->Log();
    admin_ = e2e::MakeKey(db_.AppUrl(), "default", "ingest,read,admin");
    ASSERT_FALSE(admin_.empty());
  }

  std::string Queued(const std::string& id) {
    return Psql(db_.SuperUrl(),
                "SELECT count(*) FROM index_pending WHERE receipt_id = '" + id + "'");
  }
};

TEST_F(UnindexedHoldsTest, ErasureSearchAndCountsIndexAMessageFirst) {
  auto hold = Place(admin_, {{"name", "merger inquiry"},
                             {"reason", "regulator's request"},
                             {"query", {{"subject", "merger"}}},
                             {"include_future", true}});
  ASSERT_EQ(hold.status, 201) << hold.body.dump();
  const std::string id = Send(admin_, "Merger plans");
  // Sealed (an erasure needs it), still waiting for the index.
  ASSERT_TRUE(testsupport::WaitUntil([&] { return e2e::SealedForErasure(db_.SuperUrl(), id); },
                                     std::chrono::seconds(30)));
  ASSERT_EQ(Queued(id), "1");
  EXPECT_EQ(Psql(db_.SuperUrl(), "SELECT count(*) FROM receipt_index"), "0");

  auto refused = Call("POST", node_->Http("/v1/messages/" + id + "/erase"), admin_,
                      json{{"reason", "subject's request"}}.dump());
  EXPECT_EQ(refused.status, 409) << refused.body.dump();
  EXPECT_NE(refused.body.dump().find("merger inquiry"), std::string::npos) << refused.body.dump();

  // A second message, found by a search and counted by the hold the moment it is stored.
  const std::string later = Send(admin_, "Merger: the numbers");
  ASSERT_EQ(Queued(later), "1");
  auto found = Call("GET", node_->Http("/v1/messages?subject=numbers"), admin_);
  ASSERT_EQ(found.status, 200) << found.body.dump();
  ASSERT_EQ(found.body["items"].size(), 1u) << found.body.dump();
  EXPECT_EQ(found.body["items"][0]["id"], later);
  auto counted =
      Call("GET", node_->Http("/v1/holds/" + hold.body["id"].get<std::string>()), admin_);
  EXPECT_EQ(counted.body["messages"], 2) << counted.body.dump();
  EXPECT_EQ(Psql(db_.SuperUrl(), "SELECT count(*) FROM index_pending"), "0");
}

TEST_F(HoldsTest, OneTenantsAdminNeverSeesNorHoldsAnothersMail) {
  ASSERT_EQ(RunCommand({e2e::NotaryctlBinary(), "--database-url", db_.AppUrl(), "tenant", "create",
                        "other"})
                .exit_code,
            0);
  const std::string other = e2e::MakeKey(db_.AppUrl(), "other", "ingest,read,admin");
  const std::string mine = Send(admin_, "board minutes");
  auto hold = Place(admin_, {{"name", "mine"}, {"reason", "audit"}, {"receipt_ids", {mine}}});
  ASSERT_EQ(hold.status, 201);
  const std::string hold_id = hold.body["id"];

  auto probe = Place(other, {{"name", "theirs"}, {"reason", "x"}, {"receipt_ids", {mine}}});
  EXPECT_EQ(probe.status, 404) << probe.body.dump();
  EXPECT_EQ(Call("GET", node_->Http("/v1/holds/" + hold_id), other).status, 404);
  EXPECT_EQ(Call("DELETE", node_->Http("/v1/holds/" + hold_id), other, json{{"reason", "x"}}.dump())
                .status,
            404);
  EXPECT_TRUE(Call("GET", node_->Http("/v1/holds"), other).body["items"].empty());
  // A hold on "all mail" of the other tenant covers none of this tenant's.
  auto all = Place(other, {{"name", "all"}, {"reason", "x"}, {"query", json::object()}});
  ASSERT_EQ(all.status, 201) << all.body.dump();
  EXPECT_EQ(all.body["messages"], 0);
  EXPECT_EQ(HoldsOn(admin_, mine), std::vector<std::string>{"mine"});
  // Still active after the other tenant's attempt to release it.
  EXPECT_EQ(Call("GET", node_->Http("/v1/holds/" + hold_id), admin_).body["status"], "active");
}

TEST_F(HoldsTest, BadRequestsAreRefusedWithAReason) {
  const std::string reader = e2e::MakeKey(db_.AppUrl(), "default", "read");
  const std::string id = Send(admin_, "x");
  EXPECT_EQ(Place(reader, {{"name", "n"}, {"reason", "r"}, {"receipt_ids", {id}}}).status, 403);
  EXPECT_EQ(Call("POST", node_->Http("/v1/holds"), admin_, "not json").status, 400);
  for (const json& bad : {
           json{{"name", "n"}, {"reason", "r"}},  // neither list nor query
           json{{"name", "n"}, {"reason", "r"}, {"receipt_ids", {id}}, {"query", json::object()}},
           json{{"name", "n"}, {"reason", "r"}, {"receipt_ids", {id}}, {"include_future", true}},
           json{{"name", ""}, {"reason", "r"}, {"receipt_ids", {id}}},
           json{{"name", "n"}, {"reason", "r"}, {"receipt_ids", {"not-a-uuid"}}},
           json{{"name", "n"}, {"reason", "r"}, {"query", {{"limit", "5"}}}},
           json{{"name", "n"}, {"reason", "r"}, {"query", {{"since", "yesterday"}}}},
           json{{"name", "n"}, {"reason", "r"}, {"receipt_ids", {id}}, {"color", "red"}},
       }) {
    auto r = Place(admin_, bad);
    EXPECT_EQ(r.status, 400) << bad.dump() << " -> " << r.body.dump();
    EXPECT_FALSE(r.body["error"]["message"].get<std::string>().empty());
  }
  EXPECT_EQ(Call("GET", node_->Http("/v1/holds/nonsense"), admin_).status, 404);
  EXPECT_EQ(Psql(db_.SuperUrl(), "SELECT count(*) FROM holds"), "0");
}

// GET /v1/holds a page at a time: ?limit= and the `next` cursor walk every hold once, newest
// first; a limit out of range or a cursor the list did not give is a 400; another tenant's
// admin, given this tenant's cursor, sees none of its holds.
TEST_F(HoldsTest, TheHoldsListPagesNewestFirstWithACursor) {
  const std::string held = Send(admin_, "paged");
  std::vector<std::string> placed;
  for (int i = 0; i < 5; ++i) {
    auto h = Place(
        admin_,
        {{"name", "hold " + std::to_string(i)}, {"reason", "paging"}, {"receipt_ids", {held}}});
    ASSERT_EQ(h.status, 201) << h.body.dump();
    placed.push_back(h.body["id"]);
  }
  std::vector<std::string> seen;
  std::string next;
  int pages = 0;
  do {
    auto page = Call(
        "GET", node_->Http("/v1/holds?limit=2" + (next.empty() ? "" : "&next=" + next)), admin_);
    ASSERT_EQ(page.status, 200) << page.body.dump();
    ASSERT_LE(page.body["items"].size(), 2u);
    for (const auto& h : page.body["items"]) {
      seen.push_back(h["id"]);
      EXPECT_EQ(h["messages"], 1);
    }
    next = page.body["next"].is_null() ? "" : page.body["next"].get<std::string>();
    ++pages;
  } while (!next.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, std::vector<std::string>(placed.rbegin(), placed.rend()));
  // Without a limit, the first 100.
  auto all = Call("GET", node_->Http("/v1/holds"), admin_);
  ASSERT_EQ(all.status, 200);
  EXPECT_EQ(all.body["items"].size(), 5u);
  EXPECT_TRUE(all.body["next"].is_null());

  for (const std::string& bad :
       std::vector<std::string>{"limit=0", "limit=1001", "limit=x", "next=123",
                                "next=x_" + placed[0], "next=1234567890123456789_" + placed[0]}) {
    EXPECT_EQ(Call("GET", node_->Http("/v1/holds?" + bad), admin_).status, 400) << bad;
  }
  ASSERT_EQ(RunCommand({e2e::NotaryctlBinary(), "--database-url", db_.AppUrl(), "tenant", "create",
                        "other"})
                .exit_code,
            0);
  const std::string other = e2e::MakeKey(db_.AppUrl(), "other", "admin");
  auto first = Call("GET", node_->Http("/v1/holds?limit=1"), admin_);
  auto theirs =
      Call("GET", node_->Http("/v1/holds?next=" + first.body["next"].get<std::string>()), other);
  EXPECT_EQ(theirs.status, 200);
  EXPECT_TRUE(theirs.body["items"].empty()) << "a cursor is no way into another tenant's holds";
}

}  // namespace
