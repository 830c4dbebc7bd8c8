// In-memory RFC 6962 / RFC 9162 §2.1 Merkle trees: roots, inclusion and consistency proofs,
// and the verifiers of RFC 9162 §2.1.3.2 and §2.1.4.2 (which need no tree at all).
//
// Used for a block's batch proofs and by the offline verifier. The global log, which does not
// fit in memory, lives in tlog.h and produces byte-identical proofs.
//
// Thread-safety: pure functions; a MerkleTree is immutable after construction, so const
// methods may be called from several threads.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"

namespace notary {

// A tree over leaf hashes (already HashLeaf()ed) that keeps every full subtree hash
// (about 2n hashes), so proofs cost O(log n) after the O(n) build.
class MerkleTree {
 public:
  explicit MerkleTree(std::span<const common::Hash> leaf_hashes);

  uint64_t size() const { return levels_.empty() ? 0 : levels_[0].size(); }
  // MTH(D[0:size()]); SHA-256("") for the empty tree.
  common::Hash Root() const;
  // MTH(D[0:n]) of a prefix. kInvalidInput when n > size().
  common::Result<common::Hash> RootAt(uint64_t n) const;
  // RFC 9162 §2.1.3.1 PATH(index, D[0:size()]). kInvalidInput when index >= size().
  common::Result<std::vector<common::Hash>> InclusionProof(uint64_t index) const;
  // Same, within the prefix D[0:tree_size]. kInvalidInput unless index < tree_size <= size().
  common::Result<std::vector<common::Hash>> InclusionProof(uint64_t index,
                                                           uint64_t tree_size) const;
  // RFC 9162 §2.1.4.1 PROOF(old_size, D[0:size()]); empty when old_size is 0 or size().
  // kInvalidInput when old_size > size().
  common::Result<std::vector<common::Hash>> ConsistencyProof(uint64_t old_size) const;
  // Same between two prefixes. kInvalidInput unless old_size <= new_size <= size().
  common::Result<std::vector<common::Hash>> ConsistencyProof(uint64_t old_size,
                                                             uint64_t new_size) const;

 private:
  // levels_[l][i] = hash of the full subtree over leaves [i << l, (i + 1) << l).
  std::vector<std::vector<common::Hash>> levels_;
};

// One-shot helpers over a list of leaf hashes (each builds a MerkleTree: O(n)).
common::Result<std::vector<common::Hash>> InclusionProof(std::span<const common::Hash> leaves,
                                                         uint64_t index);
common::Result<std::vector<common::Hash>> ConsistencyProof(std::span<const common::Hash> leaves,
                                                           uint64_t old_size);

// RFC 9162 §2.1.3.2: the root that `proof` leads to from `leaf_hash` at `index` in a tree of
// `tree_size` leaves. kVerifyFailed when the proof has the wrong length for (index, tree_size)
// or index >= tree_size.
common::Result<common::Hash> RootFromInclusionProof(const common::Hash& leaf_hash, uint64_t index,
                                                    uint64_t tree_size,
                                                    std::span<const common::Hash> proof);
// OK when `proof` proves `leaf_hash` at `index` in the tree of `tree_size` leaves with `root`;
// kVerifyFailed otherwise.
common::Status VerifyInclusion(const common::Hash& leaf_hash, uint64_t index, uint64_t tree_size,
                               std::span<const common::Hash> proof, const common::Hash& root);

// RFC 9162 §2.1.4.2, extended to the trivial cases: old_size == new_size needs an empty proof
// and equal roots; old_size == 0 needs an empty proof and old_root == SHA-256("").
// kVerifyFailed when the proof does not show that the tree of `new_size` leaves with `new_root`
// extends the tree of `old_size` leaves with `old_root`.
common::Status VerifyConsistency(uint64_t old_size, uint64_t new_size, const common::Hash& old_root,
                                 const common::Hash& new_root, std::span<const common::Hash> proof);

}  // namespace notary
