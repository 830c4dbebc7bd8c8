#include "log/merkle.h"

#include <string>

#include "common/rfc6962.h"
#include "common/sha256.h"
#include "tree_math.h"

namespace notary {
namespace {

using common::Error;
using common::Hash;

std::vector<Hash> Materialize(const std::vector<internal::Span>& plan,
                              const std::vector<std::vector<Hash>>& levels) {
  std::vector<Hash> out;
  out.reserve(plan.size());
  std::vector<Hash> parts;
  for (const internal::Span& span : plan) {
    parts.clear();
    for (const internal::NodeId& node : span) parts.push_back(levels[node.level][node.index]);
    out.push_back(internal::FoldRight(parts));
  }
  return out;
}

}  // namespace

MerkleTree::MerkleTree(std::span<const Hash> leaf_hashes) {
  if (leaf_hashes.empty()) return;
  levels_.emplace_back(leaf_hashes.begin(), leaf_hashes.end());
  while (levels_.back().size() >= 2) {
    const std::vector<Hash>& below = levels_.back();
    std::vector<Hash> above;
    above.reserve(below.size() / 2);
    for (size_t i = 0; i + 1 < below.size(); i += 2) {
      above.push_back(common::HashChildren(below[i], below[i + 1]));
    }
    levels_.push_back(std::move(above));
  }
}

Hash MerkleTree::Root() const { return *RootAt(size()); }

common::Result<Hash> MerkleTree::RootAt(uint64_t n) const {
  if (n > size()) return Error::InvalidInput("tree size beyond the tree");
  if (n == 0) return common::Sha256Of(std::string_view());
  return Materialize({internal::RangeNodes(0, n)}, levels_)[0];
}

common::Result<std::vector<Hash>> MerkleTree::InclusionProof(uint64_t index) const {
  return InclusionProof(index, size());
}

common::Result<std::vector<Hash>> MerkleTree::InclusionProof(uint64_t index,
                                                             uint64_t tree_size) const {
  if (tree_size > size()) return Error::InvalidInput("tree size beyond the tree");
  if (index >= tree_size) return Error::InvalidInput("leaf index not below the tree size");
  return Materialize(internal::InclusionPlan(index, tree_size), levels_);
}

common::Result<std::vector<Hash>> MerkleTree::ConsistencyProof(uint64_t old_size) const {
  return ConsistencyProof(old_size, size());
}

common::Result<std::vector<Hash>> MerkleTree::ConsistencyProof(uint64_t old_size,
                                                               uint64_t new_size) const {
  if (new_size > size()) return Error::InvalidInput("tree size beyond the tree");
  if (old_size > new_size) return Error::InvalidInput("old tree size above the new one");
  return Materialize(internal::ConsistencyPlan(old_size, new_size), levels_);
}

common::Result<std::vector<Hash>> InclusionProof(std::span<const Hash> leaves, uint64_t index) {
  return MerkleTree(leaves).InclusionProof(index);
}

common::Result<std::vector<Hash>> ConsistencyProof(std::span<const Hash> leaves,
                                                   uint64_t old_size) {
  return MerkleTree(leaves).ConsistencyProof(old_size);
}

common::Result<Hash> RootFromInclusionProof(const Hash& leaf_hash, uint64_t index,
                                            uint64_t tree_size, std::span<const Hash> proof) {
  if (index >= tree_size) return Error::VerifyFailed("leaf index not below the tree size");
  uint64_t fn = index;
  uint64_t sn = tree_size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if (sn == 0) return Error::VerifyFailed("inclusion proof too long");
    if ((fn & 1) != 0 || fn == sn) {
      r = common::HashChildren(p, r);
      // Skip the levels where this node is the last one and has no right sibling.
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = common::HashChildren(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Error::VerifyFailed("inclusion proof too short");
  return r;
}

common::Status VerifyInclusion(const Hash& leaf_hash, uint64_t index, uint64_t tree_size,
                               std::span<const Hash> proof, const Hash& root) {
  ASSIGN_OR_RETURN(Hash computed, RootFromInclusionProof(leaf_hash, index, tree_size, proof));
  if (computed != root) return Error::VerifyFailed("inclusion proof leads to another root");
  return common::Ok();
}

common::Status VerifyConsistency(uint64_t old_size, uint64_t new_size, const Hash& old_root,
                                 const Hash& new_root, std::span<const Hash> proof) {
  if (old_size > new_size) return Error::VerifyFailed("old tree size above the new one");
  if (old_size == new_size) {
    if (!proof.empty()) return Error::VerifyFailed("consistency proof between equal sizes");
    if (old_root != new_root) return Error::VerifyFailed("equal sizes with different roots");
    return common::Ok();
  }
  if (old_size == 0) {
    if (!proof.empty()) return Error::VerifyFailed("consistency proof from the empty tree");
    if (old_root != common::Sha256Of(std::string_view())) {
      return Error::VerifyFailed("empty tree with a root other than SHA-256(\"\")");
    }
    return common::Ok();
  }
  // RFC 9162 §2.1.4.2, 0 < old_size < new_size.
  if (proof.empty()) return Error::VerifyFailed("empty consistency proof");
  std::vector<Hash> path;
  path.reserve(proof.size() + 1);
  // A power-of-two old tree is a full subtree of the new one; its root starts the path.
  if ((old_size & (old_size - 1)) == 0) path.push_back(old_root);
  path.insert(path.end(), proof.begin(), proof.end());

  uint64_t fn = old_size - 1;
  uint64_t sn = new_size - 1;
  while ((fn & 1) != 0) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0];
  Hash sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) return Error::VerifyFailed("consistency proof too long");
    if ((fn & 1) != 0 || fn == sn) {
      fr = common::HashChildren(c, fr);
      sr = common::HashChildren(c, sr);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = common::HashChildren(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Error::VerifyFailed("consistency proof too short");
  if (fr != old_root) return Error::VerifyFailed("consistency proof does not match the old root");
  if (sr != new_root) return Error::VerifyFailed("consistency proof does not match the new root");
  return common::Ok();
}

}  // namespace notary
