// Message bytes sealed at rest (migration 0012, docs/retention.md): with a key holder, the
// database holds only ciphertext under a data key per blob, wrapped for the tenant; the bytes
// open for their tenant and hash only, each tenant's copies are their own rows, and a store
// without the holder cannot read them.
#include <gtest/gtest.h>

#include "common/sha256.h"
#include "storage/blob_scan.h"
#include "storage/migrations.h"
#include "storage/receipt_store.h"
#include "support/test_support.h"
#include "vault/key_wrapper.h"

namespace {

using testsupport::TestDatabase;

class SealedBlobsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(storage::Migrate(tdb_.OwnerUrl(), storage::BuiltinMigrations()).ok());
    auto db = storage::Database::Open({tdb_.AppUrl(), 4});
    ASSERT_TRUE(db.ok()) << db.error().ToString();
    db_ = std::move(*db);
    auto holder = vault::FileKeyHolder::Open(testsupport::MakeTempDir("keks"));
    ASSERT_TRUE(holder.ok());
    holder_ = std::move(*holder);
    wrapper_ = std::make_unique<vault::Wrapper>(*holder_);
    ASSERT_EQ(Sql("INSERT INTO tenants (name) VALUES ('other')"), "");
  }

  static storage::NewReceipt Make(const std::string& id, const std::string& tenant,
                                  const std::string& raw) {
    storage::NewReceipt r;
    r.receipt.id = id;
    r.receipt.tenant = tenant;
    r.receipt.received_at_us = 1764000000123456;
    r.receipt.provenance.node = "test";
    r.receipt.provenance.source = "smtp";
    r.receipt.envelope.mail_from = "alice@example.com";
    r.receipt.envelope.recipients = {"bob@example.org"};
    r.raw = raw;
    r.receipt.raw_sha256 = common::Sha256Of(raw);
    r.receipt.canon_version = 1;
    r.receipt.leaf_version = 1;
    return r;
  }

  std::string Sql(const std::string& sql) {
    auto r = testsupport::RunCommand({"psql", "-X", "-At", "-q", tdb_.SuperUrl(), "-c", sql});
    return r.out;
  }

  TestDatabase tdb_;
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<vault::FileKeyHolder> holder_;
  std::unique_ptr<vault::Wrapper> wrapper_;
};

TEST_F(SealedBlobsTest, TheDatabaseHoldsOnlyCiphertextThatOpensForItsTenant) {
  storage::ReceiptStore store(*db_, wrapper_.get());
  const std::string raw = "Subject: S3CR3T-MARKER\r\n\r\nthe S3CR3T-MARKER body\r\n";
  auto a = Make("0190a5d8-0000-7000-8000-000000000001", "default", raw);
  auto b = Make("0190a5d8-0000-7000-8000-000000000002", "default", raw);  // same bytes
  auto c = Make("0190a5d8-0000-7000-8000-000000000003", "other", raw);    // another tenant
  ASSERT_TRUE(store.Insert({&a, &b, &c}).ok());
  // One row per tenant, none in the clear, and no trace of the text anywhere in them.
  EXPECT_EQ(Sql("SELECT count(*) FROM sealed_blobs"), "2\n");
  EXPECT_EQ(Sql("SELECT count(*) FROM message_blobs"), "0\n");
  EXPECT_EQ(Sql("SELECT count(*) FROM sealed_blobs WHERE position(convert_to('S3CR3T', 'UTF8')"
                " in data) > 0 OR position(convert_to('S3CR3T', 'UTF8') in wrapped_key) > 0"),
            "0\n");
  EXPECT_EQ(Sql("SELECT count(DISTINCT data) FROM sealed_blobs"), "2\n");
  EXPECT_EQ(*store.GetRaw("default", a.receipt.raw_sha256), raw);
  EXPECT_EQ(*store.GetRaw("other", c.receipt.raw_sha256), raw);
  EXPECT_EQ(store.GetRaw("nobody", a.receipt.raw_sha256).error().code(),
            common::ErrorCode::kNotFound);

  // A store without the holder cannot read them.
  storage::ReceiptStore blind(*db_);
  EXPECT_EQ(blind.GetRaw("default", a.receipt.raw_sha256).error().code(),
            common::ErrorCode::kUnavailable);

  // Another tenant's ciphertext put in this tenant's row (an attacker with the database,
  // triggers off) does not open as this tenant's: a server error (500), not the caller's.
  Sql("SET session_replication_role = replica; UPDATE sealed_blobs d SET data = o.data,"
      " wrapped_key = o.wrapped_key FROM sealed_blobs o WHERE d.tenant_id = 1 AND"
      " o.tenant_id <> 1");
  auto moved = store.GetRaw("default", a.receipt.raw_sha256);
  ASSERT_FALSE(moved.ok());
  EXPECT_EQ(moved.error().code(), common::ErrorCode::kInternal);
  EXPECT_NE(moved.error().message().find("do not open"), std::string::npos);
}

TEST_F(SealedBlobsTest, LargeGroupsAreSealedInStatementsOfTheirOwn) {
  storage::ReceiptStore store(*db_, wrapper_.get());
  std::vector<storage::NewReceipt> group;
  for (int i = 0; i < 3; ++i) {
    std::string raw(7u << 20, static_cast<char>('a' + i));  // 21 MiB in all
    group.push_back(
        Make("0190a5d8-0000-7000-8000-00000000020" + std::to_string(i), "default", raw));
  }
  std::vector<const storage::NewReceipt*> ptrs;
  for (const auto& m : group) ptrs.push_back(&m);
  auto ins = store.Insert(ptrs);
  ASSERT_TRUE(ins.ok()) << ins.error().ToString();
  for (const auto& m : group) EXPECT_EQ(*store.GetRaw("default", m.receipt.raw_sha256), m.raw);
  EXPECT_EQ(Sql("SELECT count(*) || ',' || sum(size) FROM sealed_blobs"),
            "3," + std::to_string(3 * (7u << 20)) + "\n");
}

}  // namespace

// Regression: a scan stopped by its caller (the audit stops it on a read error elsewhere)
// closed its connection while the transaction on it was still open, and the transaction's
// abort then used the freed connection (a crash in `notaryctl audit`, seen under load).
TEST_F(SealedBlobsTest, AScanStoppedByItsCallerEndsCleanlyAndStaysStopped) {
  storage::ReceiptStore store(*db_, wrapper_.get());
  auto a = Make("0190a5d8-0000-7000-8000-000000000301", "default", "one");
  auto b = Make("0190a5d8-0000-7000-8000-000000000302", "default", "two");
  ASSERT_TRUE(store.Insert({&a, &b}).ok());
  auto scan = storage::SealedBlobScan::Open(*db_);
  ASSERT_TRUE(scan.ok()) << scan.error().ToString();
  int batches = 0;
  auto st = (*scan)->ForEachBatch(1, [&](std::vector<storage::SealedBlob>& rows) {
    EXPECT_EQ(rows.size(), 1u);
    ++batches;
    return false;
  });
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), common::ErrorCode::kUnavailable);
  EXPECT_EQ(batches, 1);
  auto again = (*scan)->ForEachBatch(1, [&](std::vector<storage::SealedBlob>&) { return true; });
  EXPECT_EQ(again.error().code(), common::ErrorCode::kUnavailable);
}
