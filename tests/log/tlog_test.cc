#include "log/tlog.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "common/rfc6962.h"
#include "common/sha256.h"
#include "log/merkle.h"

namespace notary::tlog {
namespace {

using common::Hash;

std::vector<Hash> Leaves(size_t n) {
  std::vector<Hash> out;
  for (size_t i = 0; i < n; ++i) out.push_back(common::HashLeaf("entry " + std::to_string(i)));
  return out;
}

// Records what operations ask of the store.
class CountingReader : public TileReader {
 public:
  explicit CountingReader(TileReader& inner) : inner_(inner) {}
  common::Result<std::vector<std::string>> ReadTiles(std::span<const TileId> ids) override {
    ++calls;
    tiles += ids.size();
    return inner_.ReadTiles(ids);
  }
  int calls = 0;
  size_t tiles = 0;

 private:
  TileReader& inner_;
};

// The tile (level, index, width) straight from the C2SP definition over the leaves.
std::string ExpectedTile(std::span<const Hash> leaves, const TileId& id) {
  const uint64_t span = uint64_t{1} << (8 * id.level);
  std::string out;
  for (uint64_t i = 0; i < id.width; ++i) {
    const uint64_t first = (id.index * 256 + i) * span;
    const Hash h = common::MerkleRoot(leaves.subspan(first, span));
    out.append(reinterpret_cast<const char*>(h.data()), h.size());
  }
  return out;
}

// A store holding the tree of the first `n` leaves, built by one append.
MemoryTileStore StoreOf(std::span<const Hash> leaves) {
  MemoryTileStore store;
  common::Result<AppendResult> r = AppendTiles(0, leaves, store);
  EXPECT_TRUE(r.ok());
  store.Put(r->tiles);
  return store;
}

TEST(TlogTest, TilePathsFollowC2sp) {
  EXPECT_EQ(TilePath({0, 1234067, 256}), "tile/0/x001/x234/067");
  EXPECT_EQ(TilePath({0, 0, 256}), "tile/0/000");
  EXPECT_EQ(TilePath({1, 5, 17}), "tile/1/005.p/17");
  EXPECT_EQ(TilePath({2, 1000, 1}), "tile/2/x001/000.p/1");
  EXPECT_EQ(TilePath({3, 999, 255}), "tile/3/999.p/255");
  for (const TileId id :
       {TileId{0, 1234067, 256}, TileId{0, 0, 256}, TileId{1, 5, 17}, TileId{2, 1000, 1},
        TileId{63, 999, 255}, TileId{0, (uint64_t{1} << 56) - 1, 200}, TileId{5, 1000000, 256}}) {
    common::Result<TileId> parsed = ParseTilePath(TilePath(id));
    ASSERT_TRUE(parsed.ok()) << TilePath(id);
    EXPECT_EQ(*parsed, id) << TilePath(id);
  }
  EXPECT_EQ(*ParseTilePath("/tile/0/x001/x234/067.p/3"), (TileId{0, 1234067, 3}));
}

TEST(TlogTest, MalformedTilePathsAreRejected) {
  for (const char* path : {"",
                           "tile/",
                           "tile/0",
                           "tile/0/",
                           "tile/entries/000",
                           "tile/entries/000.p/5",
                           "tile/00/000",
                           "tile/01/000",
                           "tile/64/000",
                           "tile/-1/000",
                           "tile/0/5",
                           "tile/0/05",
                           "tile/0/0005",
                           "tile/0/x000/005",
                           "tile/0/x001",
                           "tile/0/001/002",
                           "tile/0/x1234/000",
                           "tile/0/x01/000",
                           "tile/0/005.p",
                           "tile/0/005.p/",
                           "tile/0/005.p/0",
                           "tile/0/005.p/256",
                           "tile/0/005.p/07",
                           "tile/0/005.p/1x",
                           "tile/0/005.q/5",
                           "tile/0/005/",
                           "files/0/000",
                           "tile/0/005.p/5/6",
                           "tile/0/x999/x999/x999/x999/x999/x999/x999/999"}) {
    EXPECT_FALSE(ParseTilePath(path).ok()) << path;
  }
}

TEST(TlogTest, PartialTilesMatchTheC2spExample) {
  // "a tree of size 70,000 will be represented by 273 full level 0 tiles, one partial level 0
  // tile of width 112, one full level 1 tile, one partial level 1 tile of width 17, and one
  // partial level 2 tile of width 1."
  EXPECT_EQ(PartialTiles(70000), (std::vector<TileId>{{0, 273, 112}, {1, 1, 17}, {2, 0, 1}}));
  // "a tree of size 256 will be represented by a full level 0 tile and a partial level 1 tile
  // of width 1."
  EXPECT_EQ(PartialTiles(256), (std::vector<TileId>{{1, 0, 1}}));
  EXPECT_TRUE(PartialTiles(0).empty());
  EXPECT_EQ(PartialTiles(1), (std::vector<TileId>{{0, 0, 1}}));
}

TEST(TlogTest, AppendingInBatchesWritesExactlyTheChangedTiles) {
  const std::vector<Hash> leaves = Leaves(1400);
  std::mt19937 rng(6);
  MemoryTileStore store;
  uint64_t size = 0;
  const size_t batches[] = {1, 1, 254, 1, 1, 255, 256, 257, 3, 0, 511, 40};
  size_t next_batch = 0;
  while (size < leaves.size()) {
    const size_t batch = std::min<size_t>(leaves.size() - size,
                                          next_batch < std::size(batches)
                                              ? batches[next_batch++]
                                              : std::uniform_int_distribution<size_t>(1, 90)(rng));
    CountingReader reader(store);
    common::Result<AppendResult> r =
        AppendTiles(size, std::span<const Hash>(leaves).subspan(size, batch), reader);
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    EXPECT_LE(reader.calls, 1);
    const uint64_t new_size = size + batch;
    ASSERT_EQ(r->tree_size, new_size);
    const std::span<const Hash> prefix = std::span<const Hash>(leaves).first(new_size);
    ASSERT_EQ(r->root, common::MerkleRoot(prefix)) << new_size;
    // Every written tile has the C2SP contents and is new or wider than before.
    for (const Tile& tile : r->tiles) {
      ASSERT_EQ(tile.hashes, ExpectedTile(prefix, tile.id)) << TilePath(tile.id);
      const uint64_t entries = new_size >> (8 * tile.id.level);
      EXPECT_EQ(tile.id.width, std::min<uint64_t>(256, entries - tile.id.index * 256));
      const uint64_t old_entries = size >> (8 * tile.id.level);
      EXPECT_GT(entries, old_entries);
      EXPECT_GE(tile.id.index, old_entries / 256);
    }
    // Every partial tile of the new size was written (unless unchanged since the old size).
    for (const TileId& id : PartialTiles(new_size)) {
      bool written = false;
      for (const Tile& tile : r->tiles) written = written || tile.id == id;
      const bool unchanged = (size >> (8 * id.level)) == (new_size >> (8 * id.level));
      EXPECT_TRUE(written || unchanged) << TilePath(id);
    }
    store.Put(r->tiles);
    size = new_size;
  }
}

TEST(TlogTest, RootsAndProofsMatchTheInMemoryTreeForEverySizeUpTo600) {
  const std::vector<Hash> leaves = Leaves(600);
  const MerkleTree reference(leaves);
  MemoryTileStore store;
  for (uint64_t n = 1; n <= leaves.size(); ++n) {
    // Grow one leaf at a time, so each size's partial tiles exist in their own width.
    common::Result<AppendResult> r =
        AppendTiles(n - 1, std::span<const Hash>(leaves).subspan(n - 1, 1), store);
    ASSERT_TRUE(r.ok());
    store.Put(r->tiles);
    const Hash want_root = *reference.RootAt(n);
    ASSERT_EQ(r->root, want_root);
    ASSERT_EQ(*TreeRoot(n, store), want_root) << n;
    // Every index for the small sizes and those around the tile boundaries (256, 512), the
    // edges and the tile boundaries for the others (all of them take ~30 s in a Debug build).
    const bool every_index =
        n <= 130 || (n >= 250 && n <= 262) || (n >= 505 && n <= 520) || n == 600;
    for (uint64_t i = 0; i < n; ++i) {
      if (!every_index && i > 2 && i + 2 < n && i != 255 && i != 256 && i != n / 2) continue;
      ASSERT_EQ(*InclusionProof(i, n, store), *reference.InclusionProof(i, n)) << i << "/" << n;
      ASSERT_EQ(*LeafHash(i, n, store), leaves[i]);
    }
    for (uint64_t m : {uint64_t{0}, uint64_t{1}, n / 3, n / 2, n - 1, n}) {
      ASSERT_EQ(*ConsistencyProof(m, n, store), *reference.ConsistencyProof(m, n))
          << m << "->" << n;
    }
  }
  // Consistency for every pair at a few sizes, including across tile boundaries.
  for (uint64_t n : {255u, 256u, 257u, 512u, 600u}) {
    for (uint64_t m = 0; m <= n; ++m) {
      ASSERT_EQ(*ConsistencyProof(m, n, store), *reference.ConsistencyProof(m, n))
          << m << "->" << n;
    }
  }
}

TEST(TlogTest, OperationsReadOnceAndFewTiles) {
  const std::vector<Hash> leaves = Leaves(70000);
  MemoryTileStore store = StoreOf(leaves);
  const MerkleTree reference(leaves);
  CountingReader reader(store);
  for (uint64_t i : {0u, 1u, 65535u, 65536u, 69999u}) {
    reader.calls = 0;
    reader.tiles = 0;
    common::Result<std::vector<Hash>> proof = InclusionProof(i, 70000, reader);
    ASSERT_TRUE(proof.ok());
    EXPECT_EQ(*proof, *reference.InclusionProof(i));
    EXPECT_EQ(reader.calls, 1);
    EXPECT_LE(reader.tiles, 6u);  // at most two tiles per level, three levels
    EXPECT_TRUE(VerifyInclusion(leaves[i], i, 70000, *proof, reference.Root()).ok());
  }
  reader.calls = 0;
  reader.tiles = 0;
  EXPECT_EQ(*ConsistencyProof(12345, 70000, reader), *reference.ConsistencyProof(12345));
  EXPECT_EQ(reader.calls, 1);
  EXPECT_LE(reader.tiles, 6u);
  reader.calls = 0;
  reader.tiles = 0;
  EXPECT_EQ(*TreeRoot(70000, reader), reference.Root());
  EXPECT_EQ(reader.calls, 1);
  EXPECT_EQ(reader.tiles, 3u);

  // An append reads only the old partial tiles, in one call.
  reader.calls = 0;
  reader.tiles = 0;
  const std::vector<Hash> more = Leaves(70300);
  common::Result<AppendResult> r =
      AppendTiles(70000, std::span<const Hash>(more).subspan(70000), reader);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(reader.calls, 1);
  EXPECT_EQ(reader.tiles, 3u);
}

TEST(TlogTest, BadRequestsAndMissingTilesAreErrors) {
  const std::vector<Hash> leaves = Leaves(300);
  MemoryTileStore store = StoreOf(leaves);
  EXPECT_EQ(InclusionProof(300, 300, store).error().code(), common::ErrorCode::kInvalidInput);
  EXPECT_EQ(LeafHash(5, 5, store).error().code(), common::ErrorCode::kInvalidInput);
  EXPECT_EQ(ConsistencyProof(301, 300, store).error().code(), common::ErrorCode::kInvalidInput);
  EXPECT_EQ(*TreeRoot(0, store), common::Sha256Of(std::string_view()));
  // Sizes beyond what is stored need tiles that do not exist.
  EXPECT_EQ(TreeRoot(301, store).error().code(), common::ErrorCode::kNotFound);
  EXPECT_EQ(InclusionProof(0, 600, store).error().code(), common::ErrorCode::kNotFound);
  MemoryTileStore empty;
  EXPECT_EQ(AppendTiles(300, leaves, empty).error().code(), common::ErrorCode::kNotFound);
  EXPECT_EQ(
      AppendTiles(uint64_t{1} << 63, std::span<const Hash>(leaves).first(1), empty).error().code(),
      common::ErrorCode::kInvalidInput);
  EXPECT_EQ(AppendTiles(~uint64_t{0}, std::span<const Hash>(leaves).first(1), empty).error().code(),
            common::ErrorCode::kInvalidInput);

  // A reader that returns short tiles is caught.
  class ShortReader : public TileReader {
   public:
    common::Result<std::vector<std::string>> ReadTiles(std::span<const TileId> ids) override {
      return std::vector<std::string>(ids.size(), std::string(31, 'x'));
    }
  } short_reader;
  EXPECT_EQ(TreeRoot(300, short_reader).error().code(), common::ErrorCode::kInternal);
  EXPECT_EQ(AppendTiles(300, leaves, short_reader).error().code(), common::ErrorCode::kInternal);
}

TEST(TlogTest, EmptyBatchWritesNothing) {
  const std::vector<Hash> leaves = Leaves(10);
  MemoryTileStore store = StoreOf(leaves);
  common::Result<AppendResult> r = AppendTiles(10, {}, store);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->tiles.empty());
  EXPECT_EQ(r->tree_size, 10u);
  EXPECT_EQ(r->root, common::MerkleRoot(leaves));
}

}  // namespace
}  // namespace notary::tlog
