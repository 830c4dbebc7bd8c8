// Sealing from the queue: ingest stores each receipt with its leaf record and queues its hash;
// a block takes the queue's rows in order; rows queued without a hash (by a notaryd older than
// migration 0004) get their record built from the receipt and written into it, once.
#include "storage/chain_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <climits>

#include "common/bytes.h"
#include "common/rfc6962.h"
#include "common/sha256.h"
#include "storage/admin_store.h"
#include "storage/migrations.h"
#include "storage/receipt_store.h"
#include "support/test_support.h"

namespace {

using testsupport::RunCommand;

// psql as `url`; returns {exit code, output}.
testsupport::CommandResult Sql(const std::string& url, const std::string& sql) {
  return RunCommand({"psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", url, "-c", sql});
}

class ChainStoreTest : public ::testing::Test {
 protected:
  // The migrations up to `up_to` (all by default).
  static std::vector<storage::Migration> MigrationsUpTo(int up_to) {
    std::vector<storage::Migration> out;
    for (const auto& m : storage::BuiltinMigrations()) {
      if (m.version <= up_to) out.push_back(m);
    }
    return out;
  }

  void SetUp() override {
    ASSERT_TRUE(storage::Migrate(tdb_.OwnerUrl(), MigrationsUpTo(migrate_up_to_)).ok());
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
      r.receipt.id = id;
      r.receipt.tenant = "default";
      r.receipt.received_at_us = 1764000000000000 + i;
      r.receipt.provenance.node = "test";
      r.receipt.provenance.source = "smtp";
      r.receipt.envelope.mail_from = "a@example.com";
      r.receipt.envelope.recipients = {"b@example.org"};
      r.raw = "message " + std::to_string(i);
      r.receipt.raw_sha256 = common::Sha256Of(r.raw);
      r.receipt.canonical_sha256 = common::Sha256Of("canonical " + std::to_string(i));
      r.receipt.canon_version = 1;
      r.receipt.leaf_version = 1;  // some tests make these rows look older than migration 0004
      r.receipt.parts_root = common::Sha256Of("parts");
      r.receipt.envelope_digest = common::Sha256Of("envelope");
      r.receipt.salt = common::Sha256Of("salt " + std::to_string(i));
      ms.push_back(r);
    }
    std::vector<const storage::NewReceipt*> ptrs;
    for (auto& m : ms) ptrs.push_back(&m);
    auto ins = storage::ReceiptStore(*db_).Insert(ptrs);
    EXPECT_TRUE(ins.ok()) << ins.error().ToString();
    std::vector<std::string> ids;
    for (auto& m : ms) ids.push_back(m.receipt.id);
    return ids;
  }

  // Seals everything waiting as block `height`; returns the hashes the queue handed over.
  std::vector<common::Hash> SealAll(int64_t height, int64_t first_leaf) {
    std::vector<common::Hash> queued;
    auto sealed = storage::ChainStore(*db_).Seal(
        1000,
        [&](const storage::SealInput& in) -> common::Result<std::optional<storage::NewBlock>> {
          queued = in.hashes;
          auto appended =
              notary::tlog::AppendTiles(static_cast<uint64_t>(first_leaf), queued, in.tiles);
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

  // Changes rows the way an attacker with superuser rights would: triggers off.
  void Tamper(const std::string& sql) {
    auto r = Sql(tdb_.SuperUrl(), "SET session_replication_role = replica; " + sql);
    ASSERT_EQ(r.exit_code, 0) << sql << ": " << r.out;
  }

  // The receipt's stored leaf record, hex; empty when it has none.
  std::string StoredRecordHex(const std::string& id) {
    auto r = Sql(tdb_.SuperUrl(),
                 "SELECT encode(leaf_record, 'hex') FROM receipts WHERE id = '" + id + "'");
    EXPECT_EQ(r.exit_code, 0) << r.out;
    if (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
    return r.out;
  }

  // What the audit rebuilds for a stored receipt.
  std::string RecordOf(const std::string& id) {
    auto row = storage::ReceiptStore(*db_).Get(id, std::nullopt);
    EXPECT_TRUE(row.ok() && row->has_value());
    return *notary::LeafRecordOf(**row).Encode();
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

  int migrate_up_to_ = INT_MAX;
  testsupport::TestDatabase tdb_;
  std::unique_ptr<storage::Database> db_;
};

TEST_F(ChainStoreTest, BlockTakesTheQueueInOrderWithTheRecordsIngestBuilt) {
  auto ids = Ingest(1, 5);
  // Ingest stored each record in its receipt; the queue holds the hash only.
  for (const auto& id : ids) {
    EXPECT_EQ(StoredRecordHex(id), common::ToHex(common::AsBytes(RecordOf(id)))) << id;
  }
  EXPECT_EQ(Sql(tdb_.SuperUrl(),
                "SELECT count(*) FROM information_schema.columns WHERE column_name = "
                "'leaf_record' AND table_name IN ('pending', 'leaves')")
                .out,
            "0\n");
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

TEST_F(ChainStoreTest, RowsQueuedWithoutAHashGetTheirRecordsBuiltIntoTheirReceipts) {
  auto ids = Ingest(1, 5);
  // As a notaryd from before migration 0004 stored them: no record in the receipt, no hash
  // in the queue.
  const std::string legacy = "('" + ids[1] + "', '" + ids[3] + "')";
  Tamper("UPDATE receipts SET leaf_record = NULL, leaf_hash = NULL WHERE id IN " + legacy +
         "; UPDATE pending SET leaf_hash = NULL WHERE receipt_id IN " + legacy);
  ASSERT_EQ(StoredRecordHex(ids[1]), "");
  // A queue row without a hash whose receipt does hold a record: the receipt's is taken.
  Tamper("UPDATE pending SET leaf_hash = NULL WHERE receipt_id = '" + ids[4] + "'");
  auto queued = SealAll(0, 0);
  // Leaf() reads each record from its receipt: the sealer wrote the two missing ones.
  ExpectLeaves(ids, 0, queued);
  EXPECT_EQ(*storage::ReceiptStore(*db_).PendingCount(), 0);
}

TEST_F(ChainStoreTest, ReceiptRefusesAHashThatIsNotTheRecordsHash) {
  auto ids = Ingest(1, 1);
  // Triggers off, so that the CHECK is what refuses.
  auto r = Sql(tdb_.SuperUrl(),
               "SET session_replication_role = replica; UPDATE receipts SET leaf_hash = "
               "sha256('x'::bytea)");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("receipts_leaf_hash_of_record"), std::string::npos) << r.out;
  r = Sql(tdb_.SuperUrl(),
          "SET session_replication_role = replica; UPDATE receipts SET leaf_record = NULL");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("receipts_leaf_hash_of_record"), std::string::npos) << r.out;
}

TEST_F(ChainStoreTest, AReceiptTakesARecordOnceAndNothingElseChanges) {
  auto ids = Ingest(1, 2);
  const std::string record = common::ToHex(common::AsBytes(RecordOf(ids[0])));
  auto set_record = [&](const std::string& url, const std::string& id,
                        const std::string& extra = "") {
    return Sql(url, "UPDATE receipts SET leaf_record = '\\x" + record +
                        "', leaf_hash = sha256('\\x00'::bytea || '\\x" + record + "'::bytea)" +
                        extra + " WHERE id = '" + id + "'");
  };
  // A receipt with a record keeps it, even against a superuser.
  for (const std::string& url : {tdb_.AppUrl(), tdb_.SuperUrl()}) {
    auto r = set_record(url, ids[1]);
    EXPECT_NE(r.exit_code, 0) << url;
    EXPECT_NE(r.out.find("append-only"), std::string::npos) << r.out;
  }
  Tamper("UPDATE receipts SET leaf_record = NULL, leaf_hash = NULL WHERE id = '" + ids[0] + "'");
  // Without a record: nothing else of the row may change with it (refused for every row,
  // matching or not), and the app role holds no other UPDATE privilege.
  auto r = set_record(tdb_.SuperUrl(), ids[0], ", subject = 'changed'");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("append-only"), std::string::npos) << r.out;
  r = Sql(tdb_.AppUrl(), "UPDATE receipts SET subject = 'changed' WHERE false");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("permission denied"), std::string::npos) << r.out;
  // Its record once, as the sealer writes it; then never again.
  r = set_record(tdb_.AppUrl(), ids[0]);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(StoredRecordHex(ids[0]), record);
  r = set_record(tdb_.AppUrl(), ids[0]);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("append-only"), std::string::npos) << r.out;
  r = Sql(tdb_.AppUrl(), "UPDATE receipts SET leaf_record = NULL, leaf_hash = NULL");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("append-only"), std::string::npos) << r.out;
}

// A database as migration 0005 left it: records in `leaves` and in the queue.
class ChainStoreFrom0005Test : public ChainStoreTest {
 protected:
  ChainStoreFrom0005Test() { migrate_up_to_ = 5; }

  // Stores receipt `i` as a notaryd did then (no record in it); returns its id and record.
  std::pair<std::string, std::string> OldReceipt(int i) {
    char id[40];
    std::snprintf(id, sizeof id, "0190a5d8-0000-7000-8000-%012d", i);
    notary::Receipt p;  // as a notaryd stored it before migration 0007: leaf record version 1
    p.leaf_version = 1;
    p.id = id;
    p.tenant = "default";
    p.received_at_us = 1764000000000000 + i;
    const std::string raw = "message " + std::to_string(i);
    p.raw_sha256 = common::Sha256Of(raw);
    p.canonical_sha256 = common::Sha256Of("canonical " + std::to_string(i));
    p.canon_version = 1;
    p.parts_root = common::Sha256Of("parts");
    p.envelope_digest = common::Sha256Of("envelope");
    p.salt = common::Sha256Of("salt " + std::to_string(i));
    auto hex = [](const common::Hash& h) { return "'\\x" + common::ToHex(h) + "'"; };
    const std::string us = std::to_string(p.received_at_us);
    auto r = Sql(
        tdb_.SuperUrl(),
        "INSERT INTO message_blobs (sha256, size, data) VALUES (" + hex(p.raw_sha256) + ", " +
            std::to_string(raw.size()) + ", '\\x" + common::ToHex(common::AsBytes(raw)) +
            "'); INSERT INTO receipts (id, tenant_id, received_at, received_at_us, node,"
            " source, envelope_from, envelope_to, size, raw_sha256, canonical_sha256,"
            " canon_version, parts_root, envelope_digest, salt) VALUES ('" +
            p.id + "', 1, to_timestamp(" + us + " / 1e6), " + us +
            ", 'test', 'smtp', 'a@example.com', '{b@example.org}', " + std::to_string(raw.size()) +
            ", " + hex(p.raw_sha256) + ", " + hex(p.canonical_sha256) + ", 1, " +
            hex(p.parts_root) + ", " + hex(p.envelope_digest) + ", " + hex(p.salt) + ")");
    EXPECT_EQ(r.exit_code, 0) << r.out;
    return {p.id, *notary::LeafRecordOf(p).Encode()};
  }
};

TEST_F(ChainStoreFrom0005Test, MigrationMovesRecordsIntoReceiptsAndTheQueueStillSeals) {
  auto hex = [](const std::string& b) { return common::ToHex(common::AsBytes(b)); };
  auto [sealed, sealed_record] = OldReceipt(1);
  auto [tampered, tampered_record] = OldReceipt(2);
  auto [queued, queued_record] = OldReceipt(3);
  auto [legacy, legacy_record] = OldReceipt(4);
  const common::Hash sealed_hash = common::HashLeaf(sealed_record);
  const common::Hash queued_hash = common::HashLeaf(queued_record);
  const common::Hash wrong_hash = common::Sha256Of("not the record's");
  // Block 0 holds two leaves; the second one's stored hash is not its record's (tampered).
  auto r = Sql(
      tdb_.SuperUrl(),
      "INSERT INTO blocks (height, prev_hash, batch_root, first_leaf, leaf_count, tree_size,"
      " tree_root, sealed_at, sealed_at_us, key_id, header, signature, block_hash, checkpoint)"
      " VALUES (0, '\\x00', '\\x00', 0, 2, 2, '\\x00', now(), 0, 'k1', '\\x00', '\\x00',"
      " '\\x01', 'cp');"
      " INSERT INTO tiles (level, idx, width, hashes) VALUES (0, 0, 2, '\\x" +
          common::ToHex(sealed_hash) + common::ToHex(wrong_hash) +
          "'); INSERT INTO leaves (leaf_index, receipt_id, block_height, leaf_record, leaf_hash)"
          " VALUES (0, '" +
          sealed + "', 0, '\\x" + hex(sealed_record) + "', '\\x" + common::ToHex(sealed_hash) +
          "'), (1, '" + tampered + "', 0, '\\x" + hex(tampered_record) + "', '\\x" +
          common::ToHex(wrong_hash) +
          "'); INSERT INTO pending (seq, receipt_id, leaf_record, leaf_hash) VALUES (3, '" +
          queued + "', '\\x" + hex(queued_record) + "', '\\x" + common::ToHex(queued_hash) +
          "'), (4, '" + legacy + "', NULL, NULL)");
  ASSERT_EQ(r.exit_code, 0) << r.out;

  auto migrated = storage::Migrate(tdb_.OwnerUrl(), storage::BuiltinMigrations());
  ASSERT_TRUE(migrated.ok()) << migrated.error().ToString();
  EXPECT_EQ(*migrated, static_cast<int>(storage::BuiltinMigrations().size()) - 5);  // 0006 on
  EXPECT_EQ(StoredRecordHex(sealed), hex(sealed_record));
  EXPECT_EQ(StoredRecordHex(tampered), hex(tampered_record));
  EXPECT_EQ(StoredRecordHex(queued), hex(queued_record));
  EXPECT_EQ(StoredRecordHex(legacy), "");
  // The tampered leaf keeps its own hash; its receipt's is its record's: the audit sees both.
  EXPECT_EQ(
      Sql(tdb_.SuperUrl(),
          "SELECT encode(l.leaf_hash, 'hex') || ' ' || encode(r.leaf_hash, 'hex') FROM"
          " leaves l JOIN receipts r ON r.id = l.receipt_id WHERE l.leaf_index = 1")
          .out,
      common::ToHex(wrong_hash) + " " + common::ToHex(common::HashLeaf(tampered_record)) + "\n");
  EXPECT_EQ(Sql(tdb_.SuperUrl(),
                "SELECT count(*) FROM information_schema.columns WHERE column_name = "
                "'leaf_record' AND table_name IN ('pending', 'leaves')")
                .out,
            "0\n");
  auto leaf0 = storage::ChainStore(*db_).Leaf(0);
  ASSERT_TRUE(leaf0.ok() && leaf0->has_value());
  EXPECT_EQ((*leaf0)->first, sealed_record);
  EXPECT_EQ((*leaf0)->second, sealed_hash);

  // What was queued seals after the migration, the old-style row with its record built.
  auto hashes = SealAll(1, 2);
  ExpectLeaves({queued, legacy}, 2, hashes);
  EXPECT_EQ(hashes[0], queued_hash);
  EXPECT_EQ(hashes[1], common::HashLeaf(legacy_record));
}

TEST_F(ChainStoreTest, NothingWaitingSealsNothing) {
  std::atomic<bool> called = false;
  auto sealed = storage::ChainStore(*db_).Seal(
      10, [&](const storage::SealInput&) -> common::Result<std::optional<storage::NewBlock>> {
        called = true;
        return std::optional<storage::NewBlock>();
      });
  ASSERT_TRUE(sealed.ok()) << sealed.error().ToString();
  EXPECT_FALSE(called) << "build runs only when receipts wait";
  EXPECT_FALSE(sealed->has_value());
}

TEST_F(ChainStoreTest, ABuildThatFailsOrBuildsNothingCommitsNothing) {
  auto ids = Ingest(1, 2);
  storage::ChainStore chain(*db_);
  auto failed = chain.Seal(
      10, [&](const storage::SealInput& in) -> common::Result<std::optional<storage::NewBlock>> {
        EXPECT_EQ(in.hashes.size(), 2u);
        return common::Error::Internal("signer gone");
      });
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().ToString().find("signer gone"), std::string::npos);
  auto nothing = chain.Seal(
      10, [&](const storage::SealInput&) -> common::Result<std::optional<storage::NewBlock>> {
        return std::optional<storage::NewBlock>();
      });
  ASSERT_FALSE(nothing.ok());
  // The leaves moved while the build ran were rolled back with it: both still wait.
  EXPECT_EQ(*storage::ReceiptStore(*db_).PendingCount(), 2);
  ExpectLeaves(ids, 0, SealAll(0, 0));
}

}  // namespace
