// Sealing from the queue: ingest queues each receipt with its leaf record; a block takes the
// queue's rows in order, records and all; rows queued without a record (by a notaryd older
// than migration 0004) are built from their receipts.
#include "storage/chain_store.h"

#include <gtest/gtest.h>

#include "common/rfc6962.h"
#include "common/sha256.h"
#include "storage/admin_store.h"
#include "storage/leaf_input.h"
#include "storage/migrations.h"
#include "storage/receipt_store.h"
#include "support/test_support.h"

namespace {

using testsupport::RunCommand;

class ChainStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(storage::Migrate(tdb_.OwnerUrl(), storage::BuiltinMigrations()).ok());
    auto db = storage::Database::Open({tdb_.AppUrl(), 4});
    ASSERT_TRUE(db.ok()) << db.error().ToString();
    db_ = std::move(*db);
    storage::KeyRow key;
    key.key_id = "k1";
    key.public_key = std::string(32, 'k');
    key.public_pem = "pem";
    key.fingerprint = "fp";
    ASSERT_TRUE(storage::AdminStore(*db_).InsertSigningKey(key).ok());
  }

  // Receipts `first`..`first + n - 1`, one group, in that order.
  std::vector<std::string> Ingest(int first, int n) {
    std::vector<storage::NewReceipt> ms;
    for (int i = first; i < first + n; ++i) {
      storage::NewReceipt r;
      char id[40];
      std::snprintf(id, sizeof id, "0190a5d8-0000-7000-8000-%012d", i);
      r.id = id;
      r.tenant = "default";
      r.received_at_us = 1764000000000000 + i;
      r.node = "test";
      r.source = "smtp";
      r.envelope_from = "a@example.com";
      r.envelope_to = {"b@example.org"};
      r.raw = "message " + std::to_string(i);
      r.raw_sha256 = common::Sha256Of(r.raw);
      r.canonical_sha256 = common::Sha256Of("canonical " + std::to_string(i));
      r.canon_version = 1;
      r.parts_root = common::Sha256Of("parts");
      r.envelope_digest = common::Sha256Of("envelope");
      r.salt = common::Sha256Of("salt " + std::to_string(i));
      ms.push_back(r);
    }
    std::vector<const storage::NewReceipt*> ptrs;
    for (auto& m : ms) ptrs.push_back(&m);
    auto ins = storage::ReceiptStore(*db_).Insert(ptrs);
    EXPECT_TRUE(ins.ok()) << ins.error().ToString();
    std::vector<std::string> ids;
    for (auto& m : ms) ids.push_back(m.id);
    return ids;
  }

  // Seals everything waiting as block `height`; returns the hashes the queue handed over.
  std::vector<common::Hash> SealAll(int64_t height, int64_t first_leaf) {
    std::vector<common::Hash> queued;
    auto sealed = storage::ChainStore(*db_).Seal(
        [&](storage::SealView& view) -> common::Result<std::optional<storage::NewBlock>> {
          auto q = view.Queue(1000);
          if (!q.ok()) return q.error();
          queued = *q;
          auto appended =
              notary::tlog::AppendTiles(static_cast<uint64_t>(first_leaf), queued, view.Tiles());
          if (!appended.ok()) return appended.error();
          storage::NewBlock nb;
          nb.tiles = std::move(appended->tiles);
          nb.block.tree_root = appended->root;
          nb.block.height = height;
          nb.block.first_leaf = first_leaf;
          nb.block.leaf_count = static_cast<int64_t>(queued.size());
          nb.block.tree_size = first_leaf + nb.block.leaf_count;
          nb.block.batch_root = common::MerkleRoot(queued);
          nb.block.block_hash = common::Sha256Of("block " + std::to_string(height));
          nb.block.key_id = "k1";
          nb.block.checkpoint = "checkpoint";
          return std::optional<storage::NewBlock>(std::move(nb));
        });
    EXPECT_TRUE(sealed.ok()) << sealed.error().ToString();
    return queued;
  }

  // What the audit rebuilds for a stored receipt.
  std::string RecordOf(const std::string& id) {
    auto row = storage::ReceiptStore(*db_).Get(id, std::nullopt);
    EXPECT_TRUE(row.ok() && row->has_value());
    const storage::ReceiptRow& r = **row;
    storage::PendingLeaf p;
    p.receipt_id = r.id;
    p.tenant = r.tenant;
    p.received_at_us = r.received_at_us;
    p.raw_sha256 = r.raw_sha256;
    p.canonical_sha256 = r.canonical_sha256;
    p.canon_version = r.canon_version;
    p.parts_root = r.parts_root;
    p.envelope_digest = r.envelope_digest;
    p.salt = r.salt;
    return *storage::LeafRecordOf(p).Encode();
  }

  void ExpectLeaves(const std::vector<std::string>& ids, int64_t first_leaf,
                    const std::vector<common::Hash>& queued) {
    storage::ChainStore chain(*db_);
    ASSERT_EQ(queued.size(), ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      const int64_t index = first_leaf + static_cast<int64_t>(i);
      auto leaf = chain.Leaf(index);
      ASSERT_TRUE(leaf.ok() && leaf->has_value()) << "leaf " << index;
      EXPECT_EQ((*leaf)->first, RecordOf(ids[i])) << "leaf " << index;
      EXPECT_EQ((*leaf)->second, common::HashLeaf((*leaf)->first)) << "leaf " << index;
      EXPECT_EQ((*leaf)->second, queued[i]) << "leaf " << index;
      auto row = storage::ReceiptStore(*db_).Get(ids[i], std::nullopt);
      ASSERT_TRUE(row.ok() && row->has_value());
      EXPECT_EQ((*row)->leaf_index, index);
    }
  }

  testsupport::TestDatabase tdb_;
  std::unique_ptr<storage::Database> db_;
};

TEST_F(ChainStoreTest, BlockTakesTheQueueInOrderWithTheRecordsIngestBuilt) {
  auto ids = Ingest(1, 5);
  auto queued = SealAll(0, 0);
  ExpectLeaves(ids, 0, queued);
  EXPECT_EQ(*storage::ReceiptStore(*db_).PendingCount(), 0);
  auto hashes = storage::ChainStore(*db_).BlockLeafHashes(0);
  ASSERT_TRUE(hashes.ok());
  EXPECT_EQ(*hashes, queued);

  auto more = Ingest(6, 3);  // the next block starts where this one ended
  auto queued2 = SealAll(1, 5);
  ExpectLeaves(more, 5, queued2);
  EXPECT_EQ(*storage::ChainStore(*db_).BlockLeafHashes(1), queued2);
  // The stored tiles hold the whole tree.
  std::vector<common::Hash> all = queued;
  all.insert(all.end(), queued2.begin(), queued2.end());
  storage::ChainStore chain(*db_);
  auto root = notary::tlog::TreeRoot(8, chain.Tiles());
  ASSERT_TRUE(root.ok()) << root.error().ToString();
  EXPECT_EQ(*root, common::MerkleRoot(all));
}

TEST_F(ChainStoreTest, RowsQueuedWithoutARecordAreBuiltFromTheirReceipts) {
  auto ids = Ingest(1, 4);
  // As a notaryd from before migration 0004 queued them: no record, no hash.
  auto r = RunCommand({"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", tdb_.SuperUrl(), "-c",
                       "UPDATE pending SET leaf_record = NULL, leaf_hash = NULL WHERE receipt_id IN"
                       " ('" +
                           ids[1] + "', '" + ids[3] + "')"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto queued = SealAll(0, 0);
  ExpectLeaves(ids, 0, queued);
  EXPECT_EQ(*storage::ReceiptStore(*db_).PendingCount(), 0);
}

TEST_F(ChainStoreTest, QueueRefusesAHashThatIsNotTheRecordsHash) {
  Ingest(1, 1);
  auto r = RunCommand({"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", tdb_.SuperUrl(), "-c",
                       "UPDATE pending SET leaf_hash = sha256('x'::bytea)"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("pending_leaf_hash_of_record"), std::string::npos) << r.out;
}

TEST_F(ChainStoreTest, NothingWaitingSealsNothing) {
  bool called = false;
  auto sealed = storage::ChainStore(*db_).Seal(
      [&](storage::SealView& view) -> common::Result<std::optional<storage::NewBlock>> {
        called = true;
        auto q = view.Queue(10);
        EXPECT_TRUE(q.ok() && q->empty());
        return std::optional<storage::NewBlock>();
      });
  ASSERT_TRUE(sealed.ok());
  EXPECT_TRUE(called);
  EXPECT_FALSE(sealed->has_value());
}

}  // namespace
