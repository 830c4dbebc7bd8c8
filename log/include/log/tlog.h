// The global log as C2SP tlog-tiles hash tiles (tile height 8: 256 hashes per tile), after the
// design of golang.org/x/mod/sumdb/tlog. Only hash tiles; entry bundles are never produced
// (leaf records are not published).
//
// A tile at level L, index N holds the hashes of consecutive full subtrees of height 8L:
// hash i is MTH(D[(N*256 + i) * 256^L : (N*256 + i + 1) * 256^L]). A tile of width W < 256
// is partial: the rightmost tile of a level for some tree size. Tiles only grow by
// appending, so a wider tile (or the full one) can stand in for a narrower one.
//
// Storage stays with the caller (see TileReader); every operation here first works out which
// tiles it needs and reads them in one ReadTiles() call, so the number of round trips is O(1)
// and the number of tiles O(log n).
//
// Thread-safety: free functions are pure apart from the reader they are given;
// MemoryTileStore is not synchronised.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"

namespace notary::tlog {

inline constexpr int kTileHeight = 8;
inline constexpr uint32_t kTileWidth = 256;  // hashes in a full tile
inline constexpr size_t kHashSize = 32;

struct TileId {
  uint8_t level = 0;            // 0 holds leaf hashes
  uint64_t index = 0;           // N
  uint16_t width = kTileWidth;  // 1..256; below 256 for a partial tile

  bool full() const { return width == kTileWidth; }
  bool operator==(const TileId&) const = default;
};

// "tile/<L>/<N>[.p/<W>]" with N in 3-digit groups, all but the last prefixed by 'x'
// (index 1234067 -> "x001/x234/067").
// REQUIRES: 1 <= width <= 256.
std::string TilePath(const TileId& id);
// The inverse; also accepts the path with a leading '/'. kInvalidInput for anything that
// TilePath would not produce (leading zeros, L > 63, W outside 1..255 after ".p/", data tiles).
common::Result<TileId> ParseTilePath(std::string_view path);

// A tile's contents: width * 32 bytes of concatenated hashes.
struct Tile {
  TileId id;
  std::string hashes;
};

// The tiles (full and partial, every level) that exist for a tree of `size` leaves and hold
// its rightmost partial hashes: one per level whose width floor(size / 256^L) mod 256 is not 0.
std::vector<TileId> PartialTiles(uint64_t size);

// Storage of tiles, implemented by the caller (PostgreSQL rows, a map in tests).
class TileReader {
 public:
  virtual ~TileReader() = default;
  // Returns the contents of each requested tile, in request order. Each result must hold at
  // least 32 * id.width bytes; a stored tile of the same level and index that is wider (up to
  // the full tile) is equally good, since only its first id.width hashes are used. A tile that
  // is missing should be reported as kNotFound; a short one is reported as kInternal by the
  // caller of ReadTiles.
  virtual common::Result<std::vector<std::string>> ReadTiles(std::span<const TileId> ids) = 0;
};

struct AppendResult {
  // Every tile whose contents differ between the old and the new size: the tiles completed by
  // the batch (full) and the new rightmost partial tiles, at every level. Immutable once
  // written: store them with (level, index, width) as key.
  std::vector<Tile> tiles;
  uint64_t tree_size = 0;
  common::Hash root{};  // MTH of the new tree
};

// Appends `new_leaf_hashes` (already HashLeaf()ed) to the tree of `old_size` leaves. Reads only
// the old tree's rightmost partial tiles (one ReadTiles call, at most one tile per level) and
// hashes O(batch + log n). An empty batch returns no tiles and the current root.
// kInvalidInput when the new size would exceed 2^63.
common::Result<AppendResult> AppendTiles(uint64_t old_size,
                                         std::span<const common::Hash> new_leaf_hashes,
                                         TileReader& reader);

// MTH of the tree of `size` leaves (SHA-256("") when 0).
common::Result<common::Hash> TreeRoot(uint64_t size, TileReader& reader);
// The leaf hash at `index`. kInvalidInput unless index < size.
common::Result<common::Hash> LeafHash(uint64_t index, uint64_t size, TileReader& reader);
// RFC 9162 §2.1.3.1 PATH(index, D[0:size]). kInvalidInput unless index < size.
common::Result<std::vector<common::Hash>> InclusionProof(uint64_t index, uint64_t size,
                                                         TileReader& reader);
// RFC 9162 §2.1.4.1 PROOF(old_size, D[0:new_size]); empty when old_size is 0 or new_size.
// kInvalidInput when old_size > new_size.
common::Result<std::vector<common::Hash>> ConsistencyProof(uint64_t old_size, uint64_t new_size,
                                                           TileReader& reader);

// An in-memory TileReader that keeps the widest version of each tile: for tests, benchmarks
// and mirroring.
class MemoryTileStore : public TileReader {
 public:
  void Put(const Tile& tile);
  void Put(std::span<const Tile> tiles);
  common::Result<std::vector<std::string>> ReadTiles(std::span<const TileId> ids) override;
  size_t tile_count() const { return tiles_.size(); }
  uint64_t reads() const { return reads_; }  // ReadTiles calls so far

 private:
  std::map<std::pair<uint8_t, uint64_t>, std::string> tiles_;
  uint64_t reads_ = 0;
};

}  // namespace notary::tlog
