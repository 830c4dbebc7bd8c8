#include "log/tlog.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "common/check.h"
#include "common/rfc6962.h"
#include "common/sha256.h"
#include "tree_math.h"

namespace notary::tlog {
namespace {

using common::Error;
using common::Hash;

// Entries at tile level `level` in a tree of `size` leaves: one per full subtree of height 8L.
uint64_t EntriesAt(uint64_t size, int level) {
  const int shift = kTileHeight * level;
  return shift >= 64 ? 0 : size >> shift;
}

TileId TileFor(uint64_t size, int level, uint64_t index) {
  const uint64_t entries = EntriesAt(size, level);
  CHECK(entries > index * kTileWidth);
  const uint64_t width = std::min<uint64_t>(kTileWidth, entries - index * kTileWidth);
  return TileId{static_cast<uint8_t>(level), index, static_cast<uint16_t>(width)};
}

Hash HashAt(std::string_view tile, size_t i) {
  Hash h;
  std::memcpy(h.data(), tile.data() + i * kHashSize, kHashSize);
  return h;
}

// MTH of the perfect subtree over `count` (a power of two) hashes starting at entry `first`.
Hash PerfectRoot(std::string_view tile, size_t first, size_t count) {
  if (count == 1) return HashAt(tile, first);
  const size_t half = count / 2;
  return common::HashChildren(PerfectRoot(tile, first, half),
                              PerfectRoot(tile, first + half, half));
}

void AppendHash(std::string& out, const Hash& h) {
  out.append(reinterpret_cast<const char*>(h.data()), h.size());
}

// Resolves full subtree hashes of a tree of `size` leaves from tiles: collect every node first
// (Need), read all their tiles in one call (Load), then hash (Get).
class NodeResolver {
 public:
  explicit NodeResolver(uint64_t size) : size_(size) {}

  void Need(const internal::NodeId& node) {
    const int level = node.level / kTileHeight;
    const uint64_t first_entry = node.index << (node.level % kTileHeight);
    const uint64_t tile_index = first_entry / kTileWidth;
    const auto key = std::make_pair(static_cast<uint8_t>(level), tile_index);
    if (slot_.count(key) != 0) return;
    slot_[key] = ids_.size();
    ids_.push_back(TileFor(size_, level, tile_index));
  }

  void Need(const internal::Span& span) {
    for (const internal::NodeId& node : span) Need(node);
  }

  common::Status Load(TileReader& reader) {
    if (ids_.empty()) return common::Ok();
    ASSIGN_OR_RETURN(std::vector<std::string> read, reader.ReadTiles(ids_));
    if (read.size() != ids_.size()) {
      return Error::Internal("tile reader returned " + std::to_string(read.size()) + " tiles for " +
                             std::to_string(ids_.size()) + " requested");
    }
    for (size_t i = 0; i < ids_.size(); ++i) {
      if (read[i].size() < size_t{ids_[i].width} * kHashSize) {
        return Error::Internal("tile " + TilePath(ids_[i]) +
                               " is short: " + std::to_string(read[i].size()) + " bytes");
      }
    }
    data_ = std::move(read);
    return common::Ok();
  }

  Hash Get(const internal::NodeId& node) const {
    const int level = node.level / kTileHeight;
    const int within = node.level % kTileHeight;
    const uint64_t first_entry = node.index << within;
    const std::string& tile =
        data_[slot_.at(std::make_pair(static_cast<uint8_t>(level), first_entry / kTileWidth))];
    return PerfectRoot(tile, first_entry % kTileWidth, size_t{1} << within);
  }

  Hash Get(const internal::Span& span) const {
    std::vector<Hash> parts;
    parts.reserve(span.size());
    for (const internal::NodeId& node : span) parts.push_back(Get(node));
    return internal::FoldRight(parts);
  }

 private:
  uint64_t size_;
  std::vector<TileId> ids_;
  std::map<std::pair<uint8_t, uint64_t>, size_t> slot_;
  std::vector<std::string> data_;
};

common::Result<std::vector<Hash>> ProveWith(uint64_t size, const std::vector<internal::Span>& plan,
                                            TileReader& reader) {
  NodeResolver resolver(size);
  for (const internal::Span& span : plan) resolver.Need(span);
  if (common::Status s = resolver.Load(reader); !s.ok()) return s.error();
  std::vector<Hash> out;
  out.reserve(plan.size());
  for (const internal::Span& span : plan) out.push_back(resolver.Get(span));
  return out;
}

bool ParseDecimal(std::string_view s, uint64_t max, uint64_t& out) {
  if (s.empty() || s.size() > 20 || (s.size() > 1 && s[0] == '0')) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (v > (max - digit) / 10) return false;
    v = v * 10 + digit;
  }
  out = v;
  return true;
}

bool ParseGroup(std::string_view s, uint64_t& out) {
  if (s.size() != 3) return false;
  out = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    out = out * 10 + static_cast<uint64_t>(c - '0');
  }
  return true;
}

}  // namespace

std::string TilePath(const TileId& id) {
  CHECK(id.width >= 1 && id.width <= kTileWidth);
  std::vector<uint64_t> groups;
  uint64_t n = id.index;
  do {
    groups.push_back(n % 1000);
    n /= 1000;
  } while (n != 0);
  std::string path = "tile/" + std::to_string(id.level) + "/";
  for (size_t i = groups.size(); i-- > 0;) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%s%03u", i == 0 ? "" : "x", static_cast<unsigned>(groups[i]));
    path += buf;
    if (i != 0) path += "/";
  }
  if (!id.full()) path += ".p/" + std::to_string(id.width);
  return path;
}

common::Result<TileId> ParseTilePath(std::string_view path) {
  const auto bad = [&] { return Error::InvalidInput("not a hash tile path"); };
  if (!path.empty() && path[0] == '/') path.remove_prefix(1);
  if (path.substr(0, 5) != "tile/") return bad();
  path.remove_prefix(5);
  std::vector<std::string_view> parts;
  while (true) {
    const size_t slash = path.find('/');
    parts.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  if (parts.size() < 2) return bad();
  TileId id;
  uint64_t level = 0;
  if (!ParseDecimal(parts[0], 63, level)) return bad();  // also rejects "entries"
  id.level = static_cast<uint8_t>(level);
  // The last group may carry ".p" and be followed by the width.
  size_t last = parts.size() - 1;
  std::string_view final_group = parts[last];
  if (parts.size() >= 3 && parts[last - 1].size() == 5 && parts[last - 1].substr(3) == ".p") {
    uint64_t width = 0;
    if (!ParseDecimal(parts[last], kTileWidth - 1, width) || width == 0) return bad();
    id.width = static_cast<uint16_t>(width);
    --last;
    final_group = parts[last].substr(0, 3);
  }
  uint64_t index = 0;
  for (size_t i = 1; i < last; ++i) {
    uint64_t group = 0;
    if (parts[i].size() != 4 || parts[i][0] != 'x' || !ParseGroup(parts[i].substr(1), group)) {
      return bad();
    }
    if (i == 1 && group == 0) return bad();  // no leading zero groups
    if (index > (std::numeric_limits<uint64_t>::max() - group) / 1000) return bad();
    index = index * 1000 + group;
  }
  uint64_t group = 0;
  if (!ParseGroup(final_group, group)) return bad();
  if (index > (std::numeric_limits<uint64_t>::max() - group) / 1000) return bad();
  id.index = index * 1000 + group;
  return id;
}

std::vector<TileId> PartialTiles(uint64_t size) {
  std::vector<TileId> out;
  for (int level = 0; EntriesAt(size, level) != 0; ++level) {
    const uint64_t entries = EntriesAt(size, level);
    if (entries % kTileWidth != 0) out.push_back(TileFor(size, level, entries / kTileWidth));
  }
  return out;
}

common::Result<AppendResult> AppendTiles(uint64_t old_size, std::span<const Hash> new_leaf_hashes,
                                         TileReader& reader) {
  // Sizes stay below 2^63 so that no index arithmetic can overflow.
  constexpr uint64_t kMaxSize = uint64_t{1} << 63;
  if (old_size > kMaxSize || new_leaf_hashes.size() > kMaxSize - old_size) {
    return Error::InvalidInput("tree size overflow");
  }
  AppendResult result;
  result.tree_size = old_size + new_leaf_hashes.size();
  if (new_leaf_hashes.empty()) {
    ASSIGN_OR_RETURN(Hash root, TreeRoot(old_size, reader));
    result.root = root;
    return result;
  }

  const std::vector<TileId> old_partials = PartialTiles(old_size);
  std::vector<std::string> old_data;
  if (!old_partials.empty()) {
    ASSIGN_OR_RETURN(std::vector<std::string> read, reader.ReadTiles(old_partials));
    if (read.size() != old_partials.size()) return Error::Internal("tile reader miscounted");
    old_data = std::move(read);
  }
  // The old partial tile of a level, if any.
  const auto old_partial = [&](int level) -> const std::string* {
    for (size_t i = 0; i < old_partials.size(); ++i) {
      if (old_partials[i].level == level) return &old_data[i];
    }
    return nullptr;
  };

  MemoryTileStore touched;  // old partials and new tiles: all that the new root needs
  for (size_t i = 0; i < old_partials.size(); ++i) {
    if (old_data[i].size() < size_t{old_partials[i].width} * kHashSize) {
      return Error::Internal("tile " + TilePath(old_partials[i]) + " is short");
    }
    touched.Put(Tile{old_partials[i], old_data[i].substr(0, old_partials[i].width * kHashSize)});
  }

  // Entries of the current level from the start of its old rightmost tile, then the new ones.
  std::vector<Hash> added(new_leaf_hashes.begin(), new_leaf_hashes.end());
  for (int level = 0; !added.empty(); ++level) {
    const uint64_t old_entries = EntriesAt(old_size, level);
    const uint64_t first_tile = old_entries / kTileWidth;
    const uint64_t old_width = old_entries % kTileWidth;
    std::vector<Hash> entries;
    entries.reserve(old_width + added.size());
    if (old_width != 0) {
      const std::string* data = old_partial(level);
      CHECK(data != nullptr);
      for (uint64_t i = 0; i < old_width; ++i) entries.push_back(HashAt(*data, i));
    }
    entries.insert(entries.end(), added.begin(), added.end());
    CHECK(first_tile * kTileWidth + entries.size() == EntriesAt(result.tree_size, level));

    added.clear();  // becomes the roots of the tiles completed at this level
    for (size_t offset = 0; offset < entries.size(); offset += kTileWidth) {
      const size_t width = std::min<size_t>(kTileWidth, entries.size() - offset);
      Tile tile;
      tile.id = TileId{static_cast<uint8_t>(level), first_tile + offset / kTileWidth,
                       static_cast<uint16_t>(width)};
      tile.hashes.reserve(width * kHashSize);
      for (size_t i = 0; i < width; ++i) AppendHash(tile.hashes, entries[offset + i]);
      if (width == kTileWidth) {
        added.push_back(common::MerkleRoot(std::span<const Hash>(entries).subspan(offset, width)));
      }
      touched.Put(tile);
      result.tiles.push_back(std::move(tile));
    }
  }

  common::Result<Hash> root = TreeRoot(result.tree_size, touched);
  if (!root.ok()) return Error::Internal("root of the appended tree: " + root.error().message());
  result.root = *root;
  return result;
}

common::Result<Hash> TreeRoot(uint64_t size, TileReader& reader) {
  if (size == 0) return common::Sha256Of(std::string_view());
  ASSIGN_OR_RETURN(std::vector<Hash> root,
                   ProveWith(size, {internal::RangeNodes(0, size)}, reader));
  return root[0];
}

common::Result<Hash> LeafHash(uint64_t index, uint64_t size, TileReader& reader) {
  if (index >= size) return Error::InvalidInput("leaf index not below the tree size");
  ASSIGN_OR_RETURN(const std::vector<Hash> leaf,
                   ProveWith(size, {internal::Span{internal::NodeId{0, index}}}, reader));
  return leaf[0];
}

common::Result<std::vector<Hash>> InclusionProof(uint64_t index, uint64_t size,
                                                 TileReader& reader) {
  if (index >= size) return Error::InvalidInput("leaf index not below the tree size");
  return ProveWith(size, internal::InclusionPlan(index, size), reader);
}

common::Result<std::vector<Hash>> ConsistencyProof(uint64_t old_size, uint64_t new_size,
                                                   TileReader& reader) {
  if (old_size > new_size) return Error::InvalidInput("old tree size above the new one");
  return ProveWith(new_size, internal::ConsistencyPlan(old_size, new_size), reader);
}

void MemoryTileStore::Put(const Tile& tile) {
  std::string& slot = tiles_[std::make_pair(tile.id.level, tile.id.index)];
  if (tile.hashes.size() > slot.size()) slot = tile.hashes;
}

void MemoryTileStore::Put(std::span<const Tile> tiles) {
  for (const Tile& tile : tiles) Put(tile);
}

common::Result<std::vector<std::string>> MemoryTileStore::ReadTiles(std::span<const TileId> ids) {
  ++reads_;
  std::vector<std::string> out;
  out.reserve(ids.size());
  for (const TileId& id : ids) {
    auto it = tiles_.find(std::make_pair(id.level, id.index));
    if (it == tiles_.end() || it->second.size() < size_t{id.width} * kHashSize) {
      return Error::NotFound("no tile " + TilePath(id));
    }
    out.push_back(it->second);
  }
  return out;
}

}  // namespace notary::tlog
