#include "tree_math.h"

#include <bit>

#include "common/check.h"
#include "common/rfc6962.h"

namespace notary::internal {
namespace {

void Path(uint64_t m, uint64_t lo, uint64_t hi, std::vector<Span>& out) {
  if (hi - lo <= 1) return;
  const uint64_t k = SplitPoint(hi - lo);
  if (m < lo + k) {
    Path(m, lo, lo + k, out);
    out.push_back(RangeNodes(lo + k, hi));
  } else {
    Path(m, lo + k, hi, out);
    out.push_back(RangeNodes(lo, lo + k));
  }
}

// RFC 9162 §2.1.4.1 SUBPROOF(m, D[lo:hi], b).
void SubProof(uint64_t m, uint64_t lo, uint64_t hi, bool b, std::vector<Span>& out) {
  const uint64_t n = hi - lo;
  if (m == n) {
    if (!b) out.push_back(RangeNodes(lo, hi));
    return;
  }
  const uint64_t k = SplitPoint(n);
  if (m <= k) {
    SubProof(m, lo, lo + k, b, out);
    out.push_back(RangeNodes(lo + k, hi));
  } else {
    SubProof(m - k, lo + k, hi, false, out);
    out.push_back(RangeNodes(lo, lo + k));
  }
}

}  // namespace

uint64_t SplitPoint(uint64_t n) {
  CHECK(n >= 2);
  return std::bit_floor(n - 1);
}

Span RangeNodes(uint64_t lo, uint64_t hi) {
  CHECK(lo < hi);
  Span nodes;
  uint64_t pos = lo;
  uint64_t rest = hi - lo;
  while (rest != 0) {
    const uint64_t block = std::bit_floor(rest);
    const int level = std::countr_zero(block);
    CHECK(pos % block == 0);
    nodes.push_back(NodeId{static_cast<uint8_t>(level), pos >> level});
    pos += block;
    rest -= block;
  }
  return nodes;
}

std::vector<Span> InclusionPlan(uint64_t index, uint64_t size) {
  CHECK(index < size);
  std::vector<Span> out;
  Path(index, 0, size, out);
  return out;
}

std::vector<Span> ConsistencyPlan(uint64_t old_size, uint64_t new_size) {
  CHECK(old_size <= new_size);
  std::vector<Span> out;
  if (old_size == 0 || old_size == new_size) return out;
  SubProof(old_size, 0, new_size, true, out);
  return out;
}

common::Hash FoldRight(std::span<const common::Hash> hashes) {
  CHECK(!hashes.empty());
  common::Hash acc = hashes.back();
  for (size_t i = hashes.size() - 1; i-- > 0;) acc = common::HashChildren(hashes[i], acc);
  return acc;
}

}  // namespace notary::internal
