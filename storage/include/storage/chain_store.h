// ChainStore: the sealed chain (blocks, leaves, tiles, time-stamp tokens) and the queue of
// receipts waiting for a block. Sealing is one transaction: SealTransaction gives the sealer
// a consistent view (pending receipts, chain head, tiles) and commits the new block with its
// leaves, tiles and tokens together, or nothing.
//
// Thread-safety: thread-safe. A SealerLock holds its own connection.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "log/leaf_record.h"
#include "log/tlog.h"
#include "storage/database.h"
#include "storage/records.h"

namespace storage {

// A block to commit. Its leaves are the receipts whose hashes SealInput::hashes holds, in
// that order, from block.first_leaf on.
struct NewBlock {
  BlockRow block;
  std::vector<notary::tlog::Tile> tiles;
  std::vector<TokenRow> tokens;           // tokens obtained at sealing
  std::vector<std::string> tsa_to_fetch;  // external TSAs still to ask
  std::string node;
};

// What a block is built from, read in the sealing transaction (one snapshot: what it reads is
// what commits).
struct SealInput {
  const std::optional<BlockRow>& head;      // the chain's last block; nullopt before the first
  const std::vector<common::Hash>& hashes;  // the waiting receipts' leaf hashes, queue order
  // The tree's rightmost tiles, read with the queue: all that appending `hashes` reads.
  notary::tlog::TileReader& tiles;
};

// A session-level advisory lock: while held, this process is the one sealer of the database.
// Released when the object dies or its connection drops (so a dead sealer frees it).
class SealerLock {
 public:
  static common::Result<std::unique_ptr<SealerLock>> TryAcquire(const std::string& url);
  ~SealerLock();
  bool StillHeld();  // false when the connection was lost

  struct Impl;
  explicit SealerLock(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

class ChainStore {
 public:
  explicit ChainStore(Database& db) : db_(db) {}

  // Reads the first `limit` waiting receipts' leaf hashes and, if there are any, runs
  // `build` on them and commits the block it returns in the same transaction, together with
  // the receipts' leaves. `build` runs on a thread of its own (this one meanwhile writes the
  // leaves in the transaction, which never leaves it) and must return a block. nullopt when
  // nothing waits (`build` is not called); kConflict when another sealer committed the same
  // height first.
  common::Result<std::optional<BlockRow>> Seal(
      int limit,
      const std::function<common::Result<std::optional<NewBlock>>(const SealInput&)>& build);

  common::Result<std::optional<BlockRow>> Latest();
  common::Result<std::optional<BlockRow>> BlockAt(int64_t height);
  common::Result<std::optional<BlockRow>> BlockContaining(int64_t leaf_index);
  common::Result<std::vector<TokenRow>> Tokens(int64_t height);
  // (block height, tsa) pairs whose token is still missing, due now.
  struct MissingToken {
    int64_t block_height;
    std::string tsa;
    common::Hash block_hash;
    int attempts;
  };
  common::Result<std::vector<MissingToken>> DueTokens(int limit);
  common::Result<std::vector<MissingToken>> MissingTokens(int64_t height);
  common::Status AddToken(const TokenRow& token);  // also removes it from the queue
  common::Status TokenFailed(int64_t height, const std::string& tsa, const std::string& error,
                             int retry_in_s);
  // Leaf `index`: its receipt's leaf record and the leaf hash the tree holds.
  common::Result<std::optional<std::pair<std::string, common::Hash>>> Leaf(int64_t index);
  common::Result<std::vector<BlockRow>> AllBlocks();
  // The leaf hashes of one block (its first_leaf .. first_leaf + leaf_count), in leaf order
  // (for a proof within its batch).
  common::Result<std::vector<common::Hash>> BlockLeafHashes(int64_t height);
  common::Result<std::vector<KeyRow>> SigningKeys();
  // Witness cosignatures (append-only): the note as published, with `cosigners` lines.
  common::Status AddCosignedCheckpoint(int64_t tree_size, const std::string& checkpoint,
                                       int cosigners);
  // The newest row of the largest cosigned tree; nullopt before the first.
  common::Result<std::optional<CosignedCheckpointRow>> LatestCosignedCheckpoint();
  // Reads tiles through the pool (outside any sealing transaction).
  notary::tlog::TileReader& Tiles() { return tiles_; }

 private:
  class PoolTileReader : public notary::tlog::TileReader {
   public:
    explicit PoolTileReader(Database& db) : db_(db) {}
    common::Result<std::vector<std::string>> ReadTiles(
        std::span<const notary::tlog::TileId> ids) override;

   private:
    Database& db_;
  };
  Database& db_;
  PoolTileReader tiles_{db_};
};

}  // namespace storage
