// Retention periods against a real database and sealer: the sweeper erases exactly the
// messages older than the tenant's period that no legal hold covers, each with its own
// erasure record, leaves other tenants' mail alone, goes on once a hold is released, and stops
// when the period is removed. Every change of a period is an action record of its own.
#include "pipeline/retention.h"

#include <gtest/gtest.h>

#include "common/sha256.h"
#include "pipeline/holds.h"
#include "pipeline/sealer.h"
#include "pipeline/tsa_service.h"
#include "storage/migrations.h"
#include "support/test_support.h"

namespace {

constexpr int64_t kNow = 1796378400000000;  // 2026-12-04T10:00:00Z
constexpr int64_t kDay = int64_t{86400} * 1000000;

class RetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(storage::Migrate(tdb_.OwnerUrl(), storage::BuiltinMigrations()).ok());
    auto db = storage::Database::Open({tdb_.AppUrl(), 8});
    ASSERT_TRUE(db.ok()) << db.error().ToString();
    db_ = std::move(*db);
    chain_ = std::make_unique<storage::ChainStore>(*db_);
    receipts_ = std::make_unique<storage::ReceiptStore>(*db_);
    admin_ = std::make_unique<storage::AdminStore>(*db_);
    ASSERT_TRUE(admin_->CreateTenant("other").ok());
    auto tsa = pipeline::TsaService::Create({dir_ + "/data", "", "", "", "", {}});
    ASSERT_TRUE(tsa.ok()) << tsa.error().ToString();
    tsa_ = std::move(*tsa);
    pipeline::SealerOptions so;
    so.database_url = tdb_.AppUrl();
    so.data_dir = dir_ + "/data";
    so.origin = "notary.test/log";
    so.node = "test";
    so.seal = false;  // sealed by hand
    auto s = pipeline::Sealer::Create(so, *chain_, *admin_, *tsa_, metrics_);
    ASSERT_TRUE(s.ok()) << s.error().ToString();
    sealer_ = std::move(*s);
  }

  // A receipt of `tenant` received `age` before kNow; its id.
  std::string Store(const std::string& tenant, int64_t age, int n) {
    storage::NewReceipt r;
    r.receipt.id = "0190a5d8-0000-7000-8000-00000000" + std::to_string(1000 + n);
    r.receipt.tenant = tenant;
    r.receipt.received_at_us = kNow - age;
    r.receipt.provenance.node = "test";
    r.receipt.provenance.source = "smtp";
    r.receipt.envelope.mail_from = "a@example.com";
    r.receipt.envelope.recipients = {"b@example.org"};
    r.receipt.metadata.subject = "message " + std::to_string(n);
    r.raw = "Subject: message " + std::to_string(n) + "\r\n\r\nbody\r\n";
    r.receipt.raw_sha256 = common::Sha256Of(r.raw);
    r.receipt.canonical_sha256 = common::Sha256Of("canonical");
    r.receipt.canon_version = 1;
    r.receipt.parts_root = common::Sha256Of("parts");
    r.receipt.envelope_digest = common::Sha256Of("envelope");
    r.receipt.salt = common::Sha256Of("salt");
    std::vector<const storage::NewReceipt*> ptrs = {&r};
    auto ins = receipts_->Insert(ptrs);
    EXPECT_TRUE(ins.ok()) << ins.error().ToString();
    return r.receipt.id;
  }

  void Seal() {
    auto block = sealer_->SealOnce();
    ASSERT_TRUE(block.ok()) << block.error().ToString();
  }

  std::string Sql(const std::string& sql) { return testsupport::Psql(tdb_.SuperUrl(), sql); }

  testsupport::TestDatabase tdb_;
  std::string dir_ = testsupport::MakeTempDir("retention");
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<storage::ChainStore> chain_;
  std::unique_ptr<storage::AdminStore> admin_;
  std::unique_ptr<pipeline::TsaService> tsa_;
  common::Metrics metrics_;
  std::unique_ptr<pipeline::Sealer> sealer_;
  std::unique_ptr<storage::ReceiptStore> receipts_;
};

TEST_F(RetentionTest, TheSweeperErasesExactlyTheExpiredMessagesNoHoldCovers) {
  const std::string expired = Store("default", 40 * kDay, 1);
  const std::string held = Store("default", 35 * kDay, 2);
  const std::string young = Store("default", 29 * kDay, 3);
  const std::string others = Store("other", 400 * kDay, 4);
  Seal();
  storage::HoldStore holds(*db_);
  pipeline::HoldRequest h;
  h.name = "audit";
  h.reason = "tax audit";
  h.receipt_ids = {held};
  auto hold = pipeline::PlaceHold(holds, "default", "k1", h, kNow);
  ASSERT_TRUE(hold.ok()) << hold.error().ToString();

  storage::RetentionStore retention(*db_);
  storage::ErasureStore erasures(*db_);
  EXPECT_EQ(pipeline::SetRetention(retention, "default", 0, "k1", kNow).error().code(),
            common::ErrorCode::kInvalidInput);
  EXPECT_EQ(pipeline::SetRetention(retention, "default", 36601, "k1", kNow).error().code(),
            common::ErrorCode::kInvalidInput);
  auto set = pipeline::SetRetention(retention, "default", 30, "k1", kNow);
  ASSERT_TRUE(set.ok()) << set.error().ToString();
  EXPECT_EQ(set->days, std::optional<int>(30));
  Seal();  // the setting's and the hold's records

  pipeline::RetentionSweeper sweeper({}, retention, erasures);
  pipeline::SweepStats s = sweeper.SweepOnce(kNow);
  EXPECT_EQ(s.examined, 2u);
  EXPECT_EQ(s.erased, 1u);
  EXPECT_EQ(s.held, 1u);
  EXPECT_EQ(s.failed, 0u);
  EXPECT_EQ(Sql("SELECT string_agg(receipt_id::text || ' ' || erased_by || ' ' || reason, ',')"
                " FROM erasures"),
            expired + " retention retention period of 30 days ended");
  EXPECT_EQ(Sql("SELECT count(*) FROM actions WHERE action = 'erasure' AND actor = 'retention'"),
            "1");
  // Held: looked at again each sweep, erased once the hold is released.
  EXPECT_EQ(sweeper.SweepOnce(kNow).erased, 0u);
  ASSERT_TRUE(pipeline::ReleaseHold(holds, "default", hold->id, "k1", "closed", kNow).ok());
  Seal();
  s = sweeper.SweepOnce(kNow);
  EXPECT_EQ(s.erased, 1u);
  EXPECT_EQ(Sql("SELECT count(*) FROM erasures WHERE receipt_id = '" + held + "'"), "1");
  // The young message and the other tenant's (no period) stay.
  EXPECT_EQ(
      Sql("SELECT count(*) FROM erasures WHERE receipt_id IN ('" + young + "', '" + others + "')"),
      "0");
  // A day later the young one expires; with the period removed, nothing more goes.
  auto keep = pipeline::SetRetention(retention, "default", std::nullopt, "k2", kNow);
  ASSERT_TRUE(keep.ok());
  EXPECT_FALSE(keep->days.has_value());
  EXPECT_EQ(sweeper.SweepOnce(kNow + 2 * kDay).examined, 0u);
  EXPECT_EQ(Sql("SELECT count(*) FROM actions WHERE action = 'retention'"), "2");
  EXPECT_EQ(Sql("SELECT details FROM actions WHERE action = 'retention' ORDER BY id"),
            "\\x7b2264617973223a33307d\n\\x7b2264617973223a6e756c6c7d");  // {"days":30}, null
  EXPECT_EQ(sweeper.totals().erased, 2u);
}

TEST_F(RetentionTest, ASweepLooksAtABoundedBatchAndGoesOnFromWhereItEnded) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(Store("default", (50 - i) * kDay, 10 + i));
  Seal();
  storage::HoldStore holds(*db_);
  pipeline::HoldRequest h;
  h.name = "all";
  h.reason = "litigation";
  h.query = storage::SearchQuery{};
  auto hold = pipeline::PlaceHold(holds, "default", "k1", h, kNow);
  ASSERT_TRUE(hold.ok()) << hold.error().ToString();
  storage::RetentionStore retention(*db_);
  storage::ErasureStore erasures(*db_);
  ASSERT_TRUE(pipeline::SetRetention(retention, "default", 30, "k1", kNow).ok());
  Seal();
  pipeline::RetentionSweeper::Options o;
  o.batch = 2;
  pipeline::RetentionSweeper sweeper(o, retention, erasures);
  // Everything is held: each sweep looks at two, then the last one, then starts over.
  EXPECT_EQ(sweeper.SweepOnce(kNow).examined, 2u);
  EXPECT_EQ(sweeper.SweepOnce(kNow).examined, 2u);
  EXPECT_EQ(sweeper.SweepOnce(kNow).examined, 1u);
  EXPECT_EQ(sweeper.SweepOnce(kNow).examined, 2u);
  EXPECT_EQ(sweeper.totals().erased, 0u);
  EXPECT_EQ(sweeper.totals().held, 7u);
  EXPECT_EQ(Sql("SELECT count(*) FROM erasures"), "0");
}

TEST_F(RetentionTest, OneSweepErasesEveryExpiredMessagePageAfterPage) {
  for (int i = 0; i < 5; ++i) Store("default", (50 - i) * kDay, 20 + i);
  const std::string young = Store("default", kDay, 30);
  Seal();
  storage::RetentionStore retention(*db_);
  storage::ErasureStore erasures(*db_);
  ASSERT_TRUE(pipeline::SetRetention(retention, "default", 30, "k1", kNow).ok());
  pipeline::RetentionSweeper::Options o;
  o.batch = 2;
  pipeline::RetentionSweeper sweeper(o, retention, erasures);
  pipeline::SweepStats s = sweeper.SweepOnce(kNow);
  EXPECT_EQ(s.examined, 5u);
  EXPECT_EQ(s.erased, 5u);
  EXPECT_EQ(Sql("SELECT count(*) FROM erasures"), "5");
  EXPECT_EQ(Sql("SELECT count(*) FROM erasures WHERE receipt_id = '" + young + "'"), "0");
  EXPECT_EQ(sweeper.SweepOnce(kNow).examined, 0u);
}

}  // namespace
