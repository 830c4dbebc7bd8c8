// The registry behind GET /v1/cases/{id}/export/progress: a token is found only by the tenant
// and case that started it, is refused while in use, ends as ready or failed with its reason,
// is forgotten 10 minutes after it ends, and the registry refuses new tokens only while
// kMaxEntries exports are still being built (ended ones make room).
#include "http/export_progress.h"

#include <gtest/gtest.h>

#include <string>

namespace {

using http::ExportProgress;
constexpr int64_t kT0 = 1'765'000'000'000'000;

std::string Token(int i) { return "0123456789abcdef" + std::to_string(i); }

TEST(ExportProgressTest, TokensAreTheirTenantsAndCasesAndEndWithTheirOutcome) {
  EXPECT_TRUE(ExportProgress::ValidToken("0123456789abcdef"));
  EXPECT_FALSE(ExportProgress::ValidToken("0123456789abcde"));   // 15
  EXPECT_FALSE(ExportProgress::ValidToken("0123456789ABCDEF"));  // upper case
  EXPECT_FALSE(ExportProgress::ValidToken(std::string(65, 'a')));

  ExportProgress p;
  ASSERT_EQ(p.Begin("acme", "case-1", Token(1), kT0), ExportProgress::Begun::kStarted);
  EXPECT_EQ(p.Begin("other", "case-9", Token(1), kT0), ExportProgress::Begun::kInUse);
  auto building = p.Find("acme", "case-1", Token(1), kT0);
  ASSERT_TRUE(building);
  EXPECT_EQ(building->state, ExportProgress::State::kBuilding);
  EXPECT_EQ(building->total, -1);
  p.Update(Token(1), 3, 10);
  EXPECT_EQ(p.Find("acme", "case-1", Token(1), kT0)->done, 3);
  EXPECT_FALSE(p.Find("other", "case-1", Token(1), kT0));
  EXPECT_FALSE(p.Find("acme", "case-2", Token(1), kT0));

  p.End(Token(1), false, "no such case", kT0 + 1);
  auto failed = p.Find("acme", "case-1", Token(1), kT0 + 2);
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->state, ExportProgress::State::kFailed);
  EXPECT_EQ(failed->error, "no such case");
  // Kept for 10 minutes after its end, then forgotten.
  EXPECT_TRUE(p.Find("acme", "case-1", Token(1), kT0 + 1 + ExportProgress::kKeepAfterEndUs));
  EXPECT_FALSE(p.Find("acme", "case-1", Token(1), kT0 + 2 + ExportProgress::kKeepAfterEndUs));
}

TEST(ExportProgressTest, OnlyExportsStillBuildingFillTheRegistry) {
  ExportProgress p;
  for (size_t i = 0; i < ExportProgress::kMaxEntries; ++i) {
    ASSERT_EQ(p.Begin("acme", "c", Token(static_cast<int>(i)), kT0),
              ExportProgress::Begun::kStarted);
  }
  EXPECT_EQ(p.Begin("acme", "c", Token(1000), kT0), ExportProgress::Begun::kFull);
  // One ends: the oldest ended entry makes room, even within its 10 minutes.
  p.End(Token(0), true, "", kT0 + 1);
  EXPECT_EQ(p.Begin("acme", "c", Token(1000), kT0 + 2), ExportProgress::Begun::kStarted);
  EXPECT_FALSE(p.Find("acme", "c", Token(0), kT0 + 3));
  EXPECT_EQ(p.Begin("acme", "c", Token(1001), kT0 + 3), ExportProgress::Begun::kFull);
}

}  // namespace
