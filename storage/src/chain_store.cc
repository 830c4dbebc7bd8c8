#include "storage/chain_store.h"

#include <algorithm>
#include <future>
#include <stdexcept>

#include "common/rfc6962.h"
#include "pg_util.h"
#include "receipt/receipt.h"
#include "storage/seal_listener.h"
#include "transaction.h"

namespace storage {
namespace {

constexpr int64_t kSealerLock = 0x6e6f7461727902;  // "notary" + 2

constexpr const char* kBlockColumns =
    "height, prev_hash, batch_root, first_leaf, leaf_count, tree_size, tree_root, sealed_at_us,"
    " key_id, header, signature, block_hash, checkpoint FROM blocks ";

BlockRow ReadBlock(const pqxx::row& r) {
  BlockRow b;
  b.height = r[0].as<int64_t>();
  b.prev_hash = HashField(r[1]);
  b.batch_root = HashField(r[2]);
  b.first_leaf = r[3].as<int64_t>();
  b.leaf_count = r[4].as<int64_t>();
  b.tree_size = r[5].as<int64_t>();
  b.tree_root = HashField(r[6]);
  b.sealed_at_us = r[7].as<int64_t>();
  b.key_id = r[8].as<std::string>();
  b.header = BytesField(r[9]);
  b.signature = BytesField(r[10]);
  b.block_hash = HashField(r[11]);
  b.checkpoint = r[12].as<std::string>();
  return b;
}

// Reads tiles in one query: for each (level, index) the widest stored version.
template <typename Tx>
common::Result<std::vector<std::string>> ReadTilesTx(Tx& tx,
                                                     std::span<const notary::tlog::TileId> ids) {
  if (ids.empty()) return std::vector<std::string>();
  std::string levels = "{", idxs = "{";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) levels += ',', idxs += ',';
    levels += std::to_string(ids[i].level);
    idxs += std::to_string(ids[i].index);
  }
  levels += '}';
  idxs += '}';
  pqxx::result r = ExecPrepared(
      tx,
      "SELECT DISTINCT ON (t.level, t.idx) t.level, t.idx, t.width, t.hashes FROM tiles t"
      " JOIN unnest($1::smallint[], $2::bigint[]) AS w(level, idx)"
      " ON t.level = w.level AND t.idx = w.idx ORDER BY t.level, t.idx, t.width DESC",
      levels, idxs);
  std::map<std::pair<int, int64_t>, std::string> found;
  for (const auto& row : r) {
    found[{row[0].as<int>(), row[1].as<int64_t>()}] = BytesField(row[3]);
  }
  std::vector<std::string> out;
  for (const auto& id : ids) {
    auto it = found.find({id.level, static_cast<int64_t>(id.index)});
    if (it == found.end() || it->second.size() < 32u * id.width) {
      return common::Error::NotFound("tile " + notary::tlog::TilePath(id) + " not stored");
    }
    out.push_back(it->second);
  }
  return out;
}

// A leaf for a row queued without a hash: its record, when the receipt has none yet, is
// written into the receipt with the leaf.
struct NewLeafRow {
  std::string receipt_id;
  std::optional<std::string> record;
  common::Hash leaf_hash{};
};

std::string IntArray(const std::vector<int64_t>& v) {
  std::string out = "{";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(v[i]);
  }
  return out + "}";
}

// The tiles a block's append reads (the tree's rightmost partial tiles), read with the queue
// so that building the block touches no database.
class PreparedTiles : public notary::tlog::TileReader {
 public:
  PreparedTiles(std::vector<notary::tlog::TileId> ids, std::vector<std::string> tiles)
      : ids_(std::move(ids)), tiles_(std::move(tiles)) {}
  common::Result<std::vector<std::string>> ReadTiles(
      std::span<const notary::tlog::TileId> ids) override {
    std::vector<std::string> out;
    for (const auto& id : ids) {
      auto it = std::find(ids_.begin(), ids_.end(), id);
      if (it == ids_.end()) {
        return common::Error::Internal("tile " + notary::tlog::TilePath(id) +
                                       " was not read with the queue");
      }
      out.push_back(tiles_[static_cast<size_t>(it - ids_.begin())]);
    }
    return out;
  }

 private:
  std::vector<notary::tlog::TileId> ids_;
  std::vector<std::string> tiles_;
};

// One seal's work in its transaction, all of it on the thread that opened the transaction:
// read the head, the waiting hashes and the tiles; move the queue's rows into `leaves`;
// write the block. Everything from one REPEATABLE READ snapshot, so the rows moved and
// removed are exactly those whose hashes were read, whatever ingest commits meanwhile.
class SealTransaction {
 public:
  explicit SealTransaction(pqxx::work& tx) : tx_(tx) {}

  // Reads the head, the leaf hashes of the first `limit` waiting receipts in queue order
  // and the tiles appending them will read.
  common::Status Read(int limit) {
    pqxx::result h =
        tx_.exec(std::string("SELECT ") + kBlockColumns + "ORDER BY height DESC LIMIT 1");
    if (!h.empty()) head_ = ReadBlock(h[0]);
    std::vector<int64_t> without_hash;  // positions of rows queued by an older notaryd
    for (const auto& row :
         tx_.exec_params("SELECT seq, leaf_hash FROM pending ORDER BY seq LIMIT $1", limit)) {
      last_seq_ = row[0].as<int64_t>();
      if (row[1].is_null()) without_hash.push_back(static_cast<int64_t>(hashes_.size()));
      hashes_.push_back(HashField(row[1]));
    }
    RETURN_IF_ERROR(BuildMissing(without_hash));
    if (hashes_.empty()) return common::Ok();
    first_leaf_ = head_ ? head_->tree_size : 0;
    height_ = head_ ? head_->height + 1 : 0;
    std::vector<notary::tlog::TileId> ids =
        notary::tlog::PartialTiles(static_cast<uint64_t>(first_leaf_));
    ASSIGN_OR_RETURN(std::vector<std::string> tiles, ReadTilesTx(tx_, ids));
    tiles_.emplace(std::move(ids), std::move(tiles));
    return common::Ok();
  }

  const std::optional<BlockRow>& head() const { return head_; }
  const std::vector<common::Hash>& hashes() const { return hashes_; }
  // REQUIRES: Read() found a non-empty queue.
  notary::tlog::TileReader& tiles() { return *tiles_; }

  // The rows read become leaves first_leaf_.., numbered in queue order, and leave the queue.
  // A leaf is narrow (index, receipt, height, hash): its record stays in the receipt. Throws
  // when a count differs from what Read() saw.
  void MoveLeaves() {
    const pqxx::result moved = tx_.exec_params(
        "INSERT INTO leaves (leaf_index, receipt_id, authentication_of, action_of, block_height,"
        " leaf_hash)"
        " SELECT $1::bigint + n - 1, receipt_id, authentication_of, action_of, $2, leaf_hash FROM"
        " (SELECT receipt_id, authentication_of, action_of, leaf_hash,"
        "  row_number() OVER (ORDER BY seq) AS n FROM pending WHERE seq <= $3) q"
        " WHERE leaf_hash IS NOT NULL",
        first_leaf_, height_, last_seq_);
    size_t recorded = 0, to_record = 0;
    if (!built_.empty()) {
      pqxx::stream_to leaves(
          tx_, "leaves",
          std::vector<std::string>{"leaf_index", "receipt_id", "block_height", "leaf_hash"});
      std::string ids = "{", records = "{", hashes = "{";
      for (const auto& [position, l] : built_) {
        leaves << std::make_tuple(first_leaf_ + position, l.receipt_id, height_,
                                  "\\x" + common::ToHex(l.leaf_hash));
        if (!l.record) continue;
        const char* sep = to_record++ ? "," : "";
        ids += sep + l.receipt_id;
        records += sep + common::ToHex(common::AsBytes(*l.record));
        hashes += sep + common::ToHex(l.leaf_hash);
      }
      leaves.complete();
      if (to_record > 0) {
        // Only a receipt without a record takes one (the receipts' trigger allows nothing
        // else); the CHECK ties the hash to it.
        recorded = tx_.exec_params(
                          "UPDATE receipts r SET leaf_record = decode(v.record, 'hex'),"
                          " leaf_hash = decode(v.hash, 'hex')"
                          " FROM unnest($1::uuid[], $2::text[], $3::text[]) AS v(id, record, hash)"
                          " WHERE r.id = v.id AND r.leaf_record IS NULL",
                          ids + "}", records + "}", hashes + "}")
                       .affected_rows();
      }
    }
    const pqxx::result dequeued = tx_.exec_params("DELETE FROM pending WHERE seq <= $1", last_seq_);
    const size_t expected = hashes_.size();
    if (moved.affected_rows() + built_.size() != expected || dequeued.affected_rows() != expected ||
        recorded != to_record) {
      throw std::runtime_error("the queue changed while sealing");
    }
  }

  // The block built from what Read() returned, with its tiles and tokens.
  common::Status WriteBlock(const NewBlock& n) {
    const BlockRow& b = n.block;
    if (b.leaf_count != static_cast<int64_t>(hashes_.size()) || b.first_leaf != first_leaf_ ||
        b.height != height_) {
      return common::Error::Internal("block does not hold the queue it was built from");
    }
    tx_.exec_params(
        "INSERT INTO blocks (height, prev_hash, batch_root, first_leaf, leaf_count, tree_size,"
        " tree_root, sealed_at, sealed_at_us, key_id, header, signature, block_hash,"
        " checkpoint, node) VALUES ($1, $2, $3, $4, $5, $6, $7, to_timestamp($8::bigint / 1e6),"
        " $8, $9, $10, $11, $12, $13, $14)",
        b.height, Bytea(b.prev_hash), Bytea(b.batch_root), b.first_leaf, b.leaf_count, b.tree_size,
        Bytea(b.tree_root), b.sealed_at_us, b.key_id, Bytea(b.header), Bytea(b.signature),
        Bytea(b.block_hash), b.checkpoint, n.node);
    if (!n.tiles.empty()) {
      // All tiles in one statement, their hashes as one binary parameter (no hex).
      std::vector<int64_t> levels, idxs, widths, offsets;
      std::string hashes;
      for (const auto& t : n.tiles) {
        levels.push_back(t.id.level);
        idxs.push_back(static_cast<int64_t>(t.id.index));
        widths.push_back(t.id.width);
        offsets.push_back(static_cast<int64_t>(hashes.size()));
        hashes += t.hashes;
      }
      tx_.exec_params(
          "INSERT INTO tiles (level, idx, width, hashes) SELECT l, i, w,"
          " substring($4::bytea from o::int + 1 for w * 32) FROM"
          " unnest($1::smallint[], $2::bigint[], $3::smallint[], $5::bigint[]) AS t(l, i, w, o)",
          IntArray(levels), IntArray(idxs), IntArray(widths), Bytea(hashes), IntArray(offsets));
    }
    for (const TokenRow& t : n.tokens) {
      tx_.exec_params(
          "INSERT INTO timestamp_tokens (block_height, tsa, gen_time, token) VALUES"
          " ($1, $2, to_timestamp($3::bigint / 1e6), $4)",
          t.block_height, t.tsa, t.gen_time_us, Bytea(t.token));
    }
    for (const std::string& tsa : n.tsa_to_fetch) {
      tx_.exec_params("INSERT INTO tsa_pending (block_height, tsa) VALUES ($1, $2)", b.height, tsa);
    }
    return common::Ok();
  }

 private:
  // Rows queued without a leaf hash (by a notaryd older than migration 0004): their records
  // are built from their receipts, as the sealer always did before, and MoveLeaves() writes
  // them into the receipts. A receipt that already holds a record keeps it.
  common::Status BuildMissing(const std::vector<int64_t>& positions) {
    if (positions.empty()) return common::Ok();
    pqxx::result r = tx_.exec_params(
        "SELECT p.n, r.id::text, t.name, r.received_at_us, r.raw_sha256, r.canonical_sha256,"
        " r.parts_root, r.envelope_digest, r.salt, r.canon_version, r.leaf_hash"
        " FROM (SELECT seq, receipt_id, row_number() OVER (ORDER BY seq) - 1 AS n"
        "       FROM pending WHERE seq <= $1) p"
        " JOIN receipts r ON r.id = p.receipt_id JOIN tenants t ON t.id = r.tenant_id"
        " WHERE p.n = ANY($2::bigint[]) ORDER BY p.n",
        last_seq_, IntArray(positions));
    if (r.size() != positions.size()) return common::Error::Internal("queued receipt missing");
    for (const auto& row : r) {
      const int64_t n = row[0].as<int64_t>();
      if (!row[10].is_null()) {
        NewLeafRow leaf{row[1].as<std::string>(), std::nullopt, HashField(row[10])};
        hashes_[static_cast<size_t>(n)] = leaf.leaf_hash;
        built_.emplace_back(n, std::move(leaf));
        continue;
      }
      // Stored by a notaryd older than migration 0004: a version 1 record (no provenance).
      notary::Receipt l;
      l.leaf_version = 1;
      l.id = row[1].as<std::string>();
      l.tenant = row[2].as<std::string>();
      l.received_at_us = row[3].as<int64_t>();
      l.raw_sha256 = HashField(row[4]);
      l.canonical_sha256 = HashField(row[5]);
      l.parts_root = HashField(row[6]);
      l.envelope_digest = HashField(row[7]);
      l.salt = HashField(row[8]);
      l.canon_version = row[9].as<uint32_t>();
      ASSIGN_OR_RETURN(std::string record, notary::LeafRecordOf(l).Encode());
      NewLeafRow leaf{l.id, std::move(record), {}};
      leaf.leaf_hash = common::HashLeaf(*leaf.record);
      hashes_[static_cast<size_t>(n)] = leaf.leaf_hash;
      built_.emplace_back(n, std::move(leaf));
    }
    return common::Ok();
  }

  pqxx::work& tx_;
  std::optional<BlockRow> head_;
  std::vector<common::Hash> hashes_;
  int64_t last_seq_ = 0, first_leaf_ = 0, height_ = 0;
  std::vector<std::pair<int64_t, NewLeafRow>> built_;
  std::optional<PreparedTiles> tiles_;
};

}  // namespace

struct SealerLock::Impl {
  std::unique_ptr<pqxx::connection> conn;
};

SealerLock::SealerLock(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SealerLock::~SealerLock() {
  try {
    if (impl_ && impl_->conn) impl_->conn->disconnect();
  } catch (...) {
  }
}

common::Result<std::unique_ptr<SealerLock>> SealerLock::TryAcquire(const std::string& url) {
  try {
    auto impl = std::make_unique<Impl>();
    impl->conn = std::make_unique<pqxx::connection>(url);
    pqxx::nontransaction nt(*impl->conn);
    bool got = nt.exec_params("SELECT pg_try_advisory_lock($1)", kSealerLock)[0][0].as<bool>();
    if (!got) return common::Error::Conflict("another process is sealing");
    return std::make_unique<SealerLock>(std::move(impl));
  } catch (const std::exception& e) {
    return MapDbException(e);
  }
}

bool SealerLock::StillHeld() {
  try {
    pqxx::nontransaction nt(*impl_->conn);
    // The lock is ours while this session holds it.
    return nt.exec_params(
                 "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = "
                 "pg_backend_pid() AND objid = ($1::bigint & 4294967295)::oid AND granted",
                 kSealerLock)[0][0]
               .as<int>() > 0;
  } catch (const std::exception&) {
    return false;
  }
}

common::Result<std::optional<BlockRow>> ChainStore::Seal(
    int limit,
    const std::function<common::Result<std::optional<NewBlock>>(const SealInput&)>& build) {
  return InTransaction<std::optional<BlockRow>>(
      db_, [&](pqxx::work& tx) -> common::Result<std::optional<BlockRow>> {
        // One snapshot for the whole seal: the queue rows that become leaves and are removed
        // are exactly those whose hashes the sealer read, whatever ingest commits meanwhile.
        tx.exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
        // Numbering a block's queue rows sorts them: in memory, not spilled to disk.
        tx.exec("SET LOCAL work_mem = '256MB'");
        SealTransaction seal(tx);
        RETURN_IF_ERROR(seal.Read(limit));
        if (seal.hashes().empty()) return std::optional<BlockRow>();
        const SealInput input{seal.head(), seal.hashes(), seal.tiles()};
        // The block is built (tree, signatures, time-stamp) on a second thread while this one
        // moves the queue's rows into leaves: the two use two cores, and the transaction never
        // leaves the thread that opened it. The future waits for `build` however this returns.
        std::future<common::Result<std::optional<NewBlock>>> building =
            std::async(std::launch::async, [&] { return build(input); });
        seal.MoveLeaves();
        ASSIGN_OR_RETURN(const std::optional<NewBlock> nb, building.get());
        if (!nb) return common::Error::Internal("queue read but no block built");
        RETURN_IF_ERROR(seal.WriteBlock(*nb));
        // Delivered at commit, and only if it commits: how notaryd nodes that do not seal
        // learn of the block (storage/seal_listener.h).
        tx.exec_params("SELECT pg_notify($1, $2)", kSealedChannel,
                       std::to_string(nb->block.height));
        return std::optional<BlockRow>(nb->block);
      });
}

common::Result<std::optional<BlockRow>> ChainStore::Latest() {
  return InTransaction<std::optional<BlockRow>>(
      db_, [&](pqxx::work& tx) -> common::Result<std::optional<BlockRow>> {
        pqxx::result r =
            tx.exec(std::string("SELECT ") + kBlockColumns + "ORDER BY height DESC LIMIT 1");
        if (r.empty()) return std::optional<BlockRow>();
        return std::optional<BlockRow>(ReadBlock(r[0]));
      });
}

common::Status ChainStore::AddCosignedCheckpoint(int64_t tree_size, const std::string& checkpoint,
                                                 int cosigners) {
  auto status = InTransaction<bool>(db_, [&](pqxx::work& tx) -> common::Result<bool> {
    tx.exec_params(
        "INSERT INTO cosigned_checkpoints (tree_size, checkpoint, cosigners) VALUES ($1, $2, $3)",
        tree_size, checkpoint, cosigners);
    return true;
  });
  RETURN_IF_ERROR(status);
  return common::Ok();
}

common::Result<std::optional<CosignedCheckpointRow>> ChainStore::LatestCosignedCheckpoint() {
  return InTransaction<std::optional<CosignedCheckpointRow>>(
      db_, [&](pqxx::work& tx) -> common::Result<std::optional<CosignedCheckpointRow>> {
        pqxx::result r = tx.exec(
            "SELECT tree_size, checkpoint, cosigners,"
            " (extract(epoch from created_at) * 1e6)::bigint FROM cosigned_checkpoints"
            " ORDER BY tree_size DESC, id DESC LIMIT 1");
        if (r.empty()) return std::optional<CosignedCheckpointRow>();
        return std::optional<CosignedCheckpointRow>(
            CosignedCheckpointRow{r[0][0].as<int64_t>(), r[0][1].as<std::string>(),
                                  r[0][2].as<int>(), r[0][3].as<int64_t>()});
      });
}

common::Result<std::optional<BlockRow>> ChainStore::BlockAt(int64_t height) {
  return InAutocommit<std::optional<BlockRow>>(
      db_, [&](pqxx::nontransaction& tx) -> common::Result<std::optional<BlockRow>> {
        pqxx::result r =
            ExecPrepared(tx, std::string("SELECT ") + kBlockColumns + "WHERE height = $1", height);
        if (r.empty()) return std::optional<BlockRow>();
        return std::optional<BlockRow>(ReadBlock(r[0]));
      });
}

common::Result<std::optional<BlockRow>> ChainStore::BlockContaining(int64_t leaf_index) {
  return InAutocommit<std::optional<BlockRow>>(
      db_, [&](pqxx::nontransaction& tx) -> common::Result<std::optional<BlockRow>> {
        pqxx::result r = ExecPrepared(tx,
                                      std::string("SELECT ") + kBlockColumns +
                                          "WHERE first_leaf <= $1 AND $1 < tree_size"
                                          " ORDER BY height DESC LIMIT 1",
                                      leaf_index);
        if (r.empty()) return std::optional<BlockRow>();
        return std::optional<BlockRow>(ReadBlock(r[0]));
      });
}

common::Result<std::vector<TokenRow>> ChainStore::Tokens(int64_t height) {
  return InAutocommit<std::vector<TokenRow>>(
      db_, [&](pqxx::nontransaction& tx) -> common::Result<std::vector<TokenRow>> {
        std::vector<TokenRow> out;
        for (const auto& r : ExecPrepared(
                 tx,
                 "SELECT block_height, tsa, (extract(epoch from gen_time) * 1e6)::bigint, token"
                 " FROM timestamp_tokens WHERE block_height = $1 ORDER BY id",
                 height)) {
          out.push_back(
              {r[0].as<int64_t>(), r[1].as<std::string>(), r[2].as<int64_t>(), BytesField(r[3])});
        }
        return out;
      });
}

common::Result<std::vector<ChainStore::MissingToken>> ChainStore::DueTokens(int limit) {
  return InTransaction<std::vector<
      MissingToken>>(db_, [&](pqxx::work& tx) -> common::Result<std::vector<MissingToken>> {
    std::vector<MissingToken> out;
    for (const auto& r :
         tx.exec_params("SELECT p.block_height, p.tsa, b.block_hash, p.attempts FROM tsa_pending p"
                        " JOIN blocks b ON b.height = p.block_height WHERE p.next_attempt <= now()"
                        " ORDER BY p.next_attempt LIMIT $1",
                        limit)) {
      out.push_back({r[0].as<int64_t>(), r[1].as<std::string>(), HashField(r[2]), r[3].as<int>()});
    }
    return out;
  });
}

common::Result<std::vector<ChainStore::MissingToken>> ChainStore::MissingTokens(int64_t height) {
  return InTransaction<std::vector<
      MissingToken>>(db_, [&](pqxx::work& tx) -> common::Result<std::vector<MissingToken>> {
    std::vector<MissingToken> out;
    for (const auto& r :
         tx.exec_params("SELECT p.block_height, p.tsa, b.block_hash, p.attempts FROM tsa_pending p"
                        " JOIN blocks b ON b.height = p.block_height WHERE p.block_height = $1",
                        height)) {
      out.push_back({r[0].as<int64_t>(), r[1].as<std::string>(), HashField(r[2]), r[3].as<int>()});
    }
    return out;
  });
}

common::Status ChainStore::AddToken(const TokenRow& t) {
  auto status = InTransaction<bool>(db_, [&](pqxx::work& tx) -> common::Result<bool> {
    tx.exec_params(
        "INSERT INTO timestamp_tokens (block_height, tsa, gen_time, token) VALUES"
        " ($1, $2, to_timestamp($3::bigint / 1e6), $4) ON CONFLICT DO NOTHING",
        t.block_height, t.tsa, t.gen_time_us, Bytea(t.token));
    tx.exec_params("DELETE FROM tsa_pending WHERE block_height = $1 AND tsa = $2", t.block_height,
                   t.tsa);
    return true;
  });
  RETURN_IF_ERROR(status);
  return common::Ok();
}

common::Status ChainStore::TokenFailed(int64_t height, const std::string& tsa,
                                       const std::string& error, int retry_in_s) {
  auto status = InTransaction<bool>(db_, [&](pqxx::work& tx) -> common::Result<bool> {
    tx.exec_params(
        "UPDATE tsa_pending SET attempts = attempts + 1, last_error = $3,"
        " next_attempt = now() + make_interval(secs => $4) WHERE block_height = $1 AND tsa = $2",
        height, tsa, error.substr(0, 200), retry_in_s);
    return true;
  });
  RETURN_IF_ERROR(status);
  return common::Ok();
}

common::Result<std::optional<std::pair<std::string, common::Hash>>> ChainStore::Leaf(
    int64_t index) {
  using Out = std::optional<std::pair<std::string, common::Hash>>;
  return InAutocommit<Out>(db_, [&](pqxx::nontransaction& tx) -> common::Result<Out> {
    // The record is the receipt's (or the authentication's or action's, for those kinds);
    // the hash is the one the tree holds.
    pqxx::result r =
        ExecPrepared(tx,
                     "SELECT coalesce(r.leaf_record, a.record, x.record), l.leaf_hash FROM leaves l"
                     " LEFT JOIN receipts r ON r.id = l.receipt_id"
                     " LEFT JOIN authentications a ON a.receipt_id = l.authentication_of"
                     " LEFT JOIN actions x ON x.id = l.action_of"
                     " WHERE l.leaf_index = $1",
                     index);
    if (r.empty()) return Out();
    return Out(std::make_pair(BytesField(r[0][0]), HashField(r[0][1])));
  });
}

common::Result<std::vector<std::string>> ChainStore::PoolTileReader::ReadTiles(
    std::span<const notary::tlog::TileId> ids) {
  return InAutocommit<std::vector<std::string>>(
      db_, [&](pqxx::nontransaction& tx) { return ReadTilesTx(tx, ids); });
}

common::Result<std::vector<BlockRow>> ChainStore::AllBlocks() {
  return InTransaction<std::vector<BlockRow>>(
      db_, [&](pqxx::work& tx) -> common::Result<std::vector<BlockRow>> {
        std::vector<BlockRow> out;
        for (const auto& r : tx.exec(std::string("SELECT ") + kBlockColumns + "ORDER BY height")) {
          out.push_back(ReadBlock(r));
        }
        return out;
      });
}

common::Result<std::vector<common::Hash>> ChainStore::BlockLeafHashes(int64_t height) {
  return InTransaction<std::vector<common::Hash>>(
      db_, [&](pqxx::work& tx) -> common::Result<std::vector<common::Hash>> {
        std::vector<common::Hash> out;
        for (const auto& r : tx.exec_params(
                 "SELECT l.leaf_hash FROM blocks b JOIN leaves l ON l.leaf_index >= b.first_leaf"
                 " AND l.leaf_index < b.first_leaf + b.leaf_count WHERE b.height = $1"
                 " ORDER BY l.leaf_index",
                 height)) {
          out.push_back(HashField(r[0]));
        }
        return out;
      });
}

common::Result<std::vector<KeyRow>> ChainStore::SigningKeys() {
  return InTransaction<std::vector<KeyRow>>(
      db_, [&](pqxx::work& tx) -> common::Result<std::vector<KeyRow>> {
        std::vector<KeyRow> out;
        for (const auto& r : tx.exec("SELECT key_id, public_key FROM signing_keys")) {
          KeyRow k;
          k.key_id = r[0].as<std::string>();
          k.public_key = BytesField(r[1]);
          out.push_back(std::move(k));
        }
        return out;
      });
}

}  // namespace storage
