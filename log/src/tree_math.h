// Private: the shape of RFC 9162 §2.1 proofs, independent of where hashes are stored.
//
// Every hash a proof or a root needs is a fold of *full* subtrees. A full subtree is named by
// NodeId{level, index}: it covers leaves [index << level, (index + 1) << level). The in-memory
// tree (merkle.cc) keeps every full subtree; the tile log (tlog.cc) derives them from tiles.
// Planning first and hashing second lets tlog.cc batch all tile reads into one round trip.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/bytes.h"

namespace notary::internal {

struct NodeId {
  uint8_t level = 0;
  uint64_t index = 0;
};

// MTH(D[lo:hi]) as the full subtrees it is made of, left to right.
// REQUIRES: lo < hi, and lo is a multiple of the largest power of two <= hi - lo (true for
// every range the RFC 9162 recursion visits).
using Span = std::vector<NodeId>;

Span RangeNodes(uint64_t lo, uint64_t hi);

// The largest power of two strictly below n. REQUIRES: n >= 2.
uint64_t SplitPoint(uint64_t n);

// RFC 9162 §2.1.3.1 PATH(m, D[0:n]), one Span per proof hash, leaf side first.
// REQUIRES: index < size.
std::vector<Span> InclusionPlan(uint64_t index, uint64_t size);

// RFC 9162 §2.1.4.1 PROOF(m, D[0:n]). Empty when old_size is 0 or equals new_size.
// REQUIRES: old_size <= new_size.
std::vector<Span> ConsistencyPlan(uint64_t old_size, uint64_t new_size);

// Hashes a Span whose node hashes are given in the same order: right to left,
// MTH = HashChildren(h0, HashChildren(h1, ... h_last)). REQUIRES: !hashes.empty().
common::Hash FoldRight(std::span<const common::Hash> hashes);

}  // namespace notary::internal
