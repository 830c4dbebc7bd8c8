// Where a case export has got (migration 0020), kept in PostgreSQL so that any node answers a
// poll: a token is found only by the tenant and case that started it, is refused while in use,
// ends as ready or failed with its reason, is forgotten 10 minutes after it ends; a tenant's
// exports still being built fill its share (ended ones make room, another tenant's do not);
// an export its node went silent on is reported failed, naming the node.
#include "storage/export_progress_store.h"

#include <gtest/gtest.h>

#include <string>

#include "storage/migrations.h"
#include "support/test_support.h"

namespace {

using storage::ExportProgressStore;
using Begun = ExportProgressStore::Begun;
using State = ExportProgressStore::State;
constexpr int64_t kT0 = 1'765'000'000'000'000;
// Case ids as cases have them (the store does not look cases up).
const std::string kCase1 = "01930000-0000-7000-8000-000000000001";
const std::string kCase2 = "01930000-0000-7000-8000-000000000002";
const std::string kCase9 = "01930000-0000-7000-8000-000000000009";
const std::string kC = "01930000-0000-7000-8000-00000000000c";

std::string Token(int i) { return "0123456789abcdef" + std::to_string(i); }

class ExportProgressStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(storage::Migrate(tdb_.OwnerUrl(), storage::BuiltinMigrations()).ok());
    testsupport::Psql(tdb_.OwnerUrl(), "INSERT INTO tenants (name) VALUES ('acme'), ('other')");
    auto db = storage::Database::Open({tdb_.AppUrl(), 2});
    ASSERT_TRUE(db.ok()) << db.error().ToString();
    db_ = std::move(*db);
    a_ = std::make_unique<ExportProgressStore>(*db_, "node-a");
    b_ = std::make_unique<ExportProgressStore>(*db_, "node-b");
  }

  Begun BeginOk(ExportProgressStore& s, const std::string& tenant, const std::string& c,
                const std::string& token, int64_t now) {
    auto r = s.Begin(tenant, c, token, now);
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    return r.ok() ? *r : Begun::kFull;
  }
  std::optional<ExportProgressStore::Snapshot> FindOk(ExportProgressStore& s,
                                                      const std::string& tenant,
                                                      const std::string& c,
                                                      const std::string& token, int64_t now) {
    auto r = s.Find(tenant, c, token, now);
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    return r.ok() ? *r : std::nullopt;
  }

  testsupport::TestDatabase tdb_;
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<ExportProgressStore> a_, b_;  // two nodes on one database
};

TEST_F(ExportProgressStoreTest, TokensAreTheirTenantsAndCasesAndEndWithTheirOutcome) {
  EXPECT_TRUE(ExportProgressStore::ValidToken("0123456789abcdef"));
  EXPECT_FALSE(ExportProgressStore::ValidToken("0123456789abcde"));   // 15
  EXPECT_FALSE(ExportProgressStore::ValidToken("0123456789ABCDEF"));  // upper case
  EXPECT_FALSE(ExportProgressStore::ValidToken(std::string(65, 'a')));
  EXPECT_FALSE(a_->Begin("acme", kCase1, "not hex at all!!", kT0).ok());
  // An id no case can have, bytes that are not UTF-8 among them: no such case, not a server
  // error.
  for (const std::string& not_a_case :
       {std::string(65, 'c'), std::string("\xff\xfe"), std::string("case-1")}) {
    auto begun = a_->Begin("acme", not_a_case, Token(9), kT0);
    ASSERT_FALSE(begun.ok());
    EXPECT_EQ(begun.error().code(), common::ErrorCode::kNotFound);
    EXPECT_FALSE(FindOk(*a_, "acme", not_a_case, Token(9), kT0));
  }

  ASSERT_EQ(BeginOk(*a_, "acme", kCase1, Token(1), kT0), Begun::kStarted);
  // The token is taken on every node, for every tenant.
  EXPECT_EQ(BeginOk(*b_, "other", kCase9, Token(1), kT0), Begun::kInUse);
  // The other node answers the poll.
  auto building = FindOk(*b_, "acme", kCase1, Token(1), kT0);
  ASSERT_TRUE(building);
  EXPECT_EQ(building->state, State::kBuilding);
  EXPECT_EQ(building->total, -1);
  ASSERT_TRUE(a_->Update(Token(1), 3, 10, kT0 + 1).ok());
  auto moved = FindOk(*b_, "acme", kCase1, Token(1), kT0 + 1);
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->done, 3);
  EXPECT_EQ(moved->total, 10);
  EXPECT_FALSE(FindOk(*a_, "other", kCase1, Token(1), kT0));
  EXPECT_FALSE(FindOk(*a_, "acme", kCase2, Token(1), kT0));

  const std::string why = "no such case \xea\xb3\x84";  // UTF-8 kept whole
  ASSERT_TRUE(a_->End(Token(1), false, why, kT0 + 1).ok());
  // Ended: no later update or end changes it.
  ASSERT_TRUE(a_->Update(Token(1), 9, 10, kT0 + 2).ok());
  ASSERT_TRUE(a_->End(Token(1), true, "", kT0 + 2).ok());
  auto failed = FindOk(*b_, "acme", kCase1, Token(1), kT0 + 2);
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->state, State::kFailed);
  EXPECT_EQ(failed->error, why);
  EXPECT_EQ(failed->done, 3);
  // Kept for 10 minutes after its end, then forgotten, and the token is free again.
  EXPECT_TRUE(
      FindOk(*a_, "acme", kCase1, Token(1), kT0 + 1 + ExportProgressStore::kKeepAfterEndUs));
  const int64_t later = kT0 + 2 + ExportProgressStore::kKeepAfterEndUs;
  EXPECT_FALSE(FindOk(*a_, "acme", kCase1, Token(1), later));
  EXPECT_EQ(BeginOk(*a_, "other", kCase9, Token(1), later), Begun::kStarted);

  // A long reason is cut at a character, within the column's bound.
  ASSERT_EQ(BeginOk(*a_, "acme", kCase1, Token(2), later), Begun::kStarted);
  std::string longer = "x";
  while (longer.size() < 2 * ExportProgressStore::kMaxErrorBytes) longer += "\xea\xb3\x84";
  ASSERT_TRUE(a_->End(Token(2), false, longer, later).ok());
  auto cut = FindOk(*a_, "acme", kCase1, Token(2), later);
  ASSERT_TRUE(cut);
  EXPECT_LE(cut->error.size(), ExportProgressStore::kMaxErrorBytes);
  EXPECT_EQ((cut->error.size() - 1) % 3, 0u) << "cut inside a character";
}

TEST_F(ExportProgressStoreTest, OnlyExportsStillBuildingFillATenantsShare) {
  for (int i = 0; i < ExportProgressStore::kMaxPerTenant; ++i) {
    ASSERT_EQ(BeginOk(i % 2 ? *a_ : *b_, "acme", kC, Token(i), kT0), Begun::kStarted) << i;
  }
  EXPECT_EQ(BeginOk(*a_, "acme", kC, Token(1000), kT0), Begun::kFull);
  // Another tenant has a share of its own.
  EXPECT_EQ(BeginOk(*a_, "other", kC, Token(2000), kT0), Begun::kStarted);
  // One ends: the oldest ended entry makes room, even within its 10 minutes.
  ASSERT_TRUE(b_->End(Token(0), true, "", kT0 + 1).ok());
  EXPECT_EQ(BeginOk(*a_, "acme", kC, Token(1000), kT0 + 2), Begun::kStarted);
  EXPECT_FALSE(FindOk(*a_, "acme", kC, Token(0), kT0 + 3));
  EXPECT_EQ(BeginOk(*a_, "acme", kC, Token(1001), kT0 + 3), Begun::kFull);
}

TEST_F(ExportProgressStoreTest, AnExportItsNodeWentSilentOnIsReportedFailed) {
  ASSERT_EQ(BeginOk(*a_, "acme", kC, Token(1), kT0), Begun::kStarted);
  ASSERT_TRUE(a_->Update(Token(1), 5, 10, kT0 + 1000).ok());
  const int64_t silent = kT0 + 1000 + ExportProgressStore::kSilentUs;
  auto still = FindOk(*b_, "acme", kC, Token(1), silent);
  ASSERT_TRUE(still);
  EXPECT_EQ(still->state, State::kBuilding) << "silent for exactly the limit is not yet failed";
  auto gone_quiet = FindOk(*b_, "acme", kC, Token(1), silent + 1);
  ASSERT_TRUE(gone_quiet);
  EXPECT_EQ(gone_quiet->state, State::kFailed);
  EXPECT_NE(gone_quiet->error.find("node-a"), std::string::npos) << gone_quiet->error;
  EXPECT_EQ(gone_quiet->done, 5);
  // Kept as failed for as long as an ended export is, then forgotten.
  const int64_t forgotten = silent + ExportProgressStore::kKeepAfterEndUs + 1;
  EXPECT_FALSE(FindOk(*b_, "acme", kC, Token(1), forgotten));
  EXPECT_EQ(BeginOk(*b_, "acme", kC, Token(1), forgotten), Begun::kStarted);
}

}  // namespace
