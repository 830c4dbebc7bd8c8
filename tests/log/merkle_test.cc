#include "log/merkle.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/rfc6962.h"
#include "common/sha256.h"

namespace notary {
namespace {

using common::Hash;

Hash H(std::string_view hex) { return *common::HashFromHex(hex); }

// certificate-transparency cpp/merkletree/merkle_tree_test.cc: the reference tree's inputs.
std::vector<Hash> CtLeaves() {
  const char* inputs[] = {"",
                          "00",
                          "10",
                          "2021",
                          "3031",
                          "40414243",
                          "5051525354555657",
                          "606162636465666768696a6b6c6d6e6f"};
  std::vector<Hash> out;
  for (const char* hex : inputs) out.push_back(common::HashLeaf(*common::FromHex(hex)));
  return out;
}

// Roots for the sizes 1..8 of that tree.
const char* kCtRoots[8] = {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                           "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
                           "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
                           "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                           "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
                           "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
                           "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
                           "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};

// Naive RFC 9162 §2.1 reference, written straight from the recursive definitions.
uint64_t Split(uint64_t n) {
  uint64_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

std::vector<Hash> RefPath(std::span<const Hash> d, uint64_t m) {
  if (d.size() <= 1) return {};
  const uint64_t k = Split(d.size());
  std::vector<Hash> out;
  if (m < k) {
    out = RefPath(d.subspan(0, k), m);
    out.push_back(common::MerkleRoot(d.subspan(k)));
  } else {
    out = RefPath(d.subspan(k), m - k);
    out.push_back(common::MerkleRoot(d.subspan(0, k)));
  }
  return out;
}

std::vector<Hash> RefSubProof(uint64_t m, std::span<const Hash> d, bool b) {
  if (m == d.size()) {
    if (b) return {};
    return {common::MerkleRoot(d)};
  }
  const uint64_t k = Split(d.size());
  std::vector<Hash> out;
  if (m <= k) {
    out = RefSubProof(m, d.subspan(0, k), b);
    out.push_back(common::MerkleRoot(d.subspan(k)));
  } else {
    out = RefSubProof(m - k, d.subspan(k), false);
    out.push_back(common::MerkleRoot(d.subspan(0, k)));
  }
  return out;
}

std::vector<Hash> Leaves(size_t n) {
  std::vector<Hash> out;
  for (size_t i = 0; i < n; ++i) out.push_back(common::HashLeaf("leaf " + std::to_string(i)));
  return out;
}

Hash Flip(Hash h) {
  h[7] ^= 0x20;
  return h;
}

TEST(MerkleTreeTest, EmptyTreeRootIsSha256OfNothing) {
  MerkleTree tree({});
  EXPECT_EQ(common::ToHex(tree.Root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_FALSE(tree.InclusionProof(0).ok());
  EXPECT_TRUE(tree.ConsistencyProof(0)->empty());
}

TEST(MerkleTreeTest, CtReferenceRootsForEverySize) {
  const std::vector<Hash> leaves = CtLeaves();
  MerkleTree full(leaves);
  for (size_t n = 1; n <= 8; ++n) {
    EXPECT_EQ(common::ToHex(MerkleTree(std::span(leaves).first(n)).Root()), kCtRoots[n - 1]);
    EXPECT_EQ(common::ToHex(*full.RootAt(n)), kCtRoots[n - 1]);
  }
}

TEST(MerkleTreeTest, CtReferenceInclusionPaths) {
  const std::vector<Hash> leaves = CtLeaves();
  MerkleTree tree(leaves);
  struct Case {
    uint64_t index, size;
    std::vector<const char*> path;
  };
  // The CT vectors number leaves from 1; these are 0-based.
  const Case cases[] = {
      {0, 1, {}},
      {0,
       8,
       {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
      {5,
       8,
       {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
      {2, 3, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
      {1,
       5,
       {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
  };
  for (const Case& c : cases) {
    std::vector<Hash> want;
    for (const char* hex : c.path) want.push_back(H(hex));
    EXPECT_EQ(*tree.InclusionProof(c.index, c.size), want) << c.index << "/" << c.size;
    EXPECT_TRUE(
        VerifyInclusion(leaves[c.index], c.index, c.size, want, H(kCtRoots[c.size - 1])).ok());
  }
}

TEST(MerkleTreeTest, CtReferenceConsistencyProofs) {
  const std::vector<Hash> leaves = CtLeaves();
  MerkleTree tree(leaves);
  struct Case {
    uint64_t first, second;
    std::vector<const char*> proof;
  };
  const Case cases[] = {
      {1, 1, {}},
      {1,
       8,
       {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
      {6,
       8,
       {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
      {2,
       5,
       {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
  };
  for (const Case& c : cases) {
    std::vector<Hash> want;
    for (const char* hex : c.proof) want.push_back(H(hex));
    EXPECT_EQ(*tree.ConsistencyProof(c.first, c.second), want) << c.first << "->" << c.second;
    EXPECT_TRUE(VerifyConsistency(c.first, c.second, H(kCtRoots[c.first - 1]),
                                  H(kCtRoots[c.second - 1]), want)
                    .ok());
  }
}

TEST(MerkleTreeTest, OneLeafTreeHasEmptyProofAndLeafAsRoot) {
  const std::vector<Hash> leaves = Leaves(1);
  MerkleTree tree(leaves);
  EXPECT_EQ(tree.Root(), leaves[0]);
  EXPECT_TRUE(tree.InclusionProof(0)->empty());
  EXPECT_TRUE(VerifyInclusion(leaves[0], 0, 1, {}, leaves[0]).ok());
  EXPECT_FALSE(VerifyInclusion(leaves[0], 1, 1, {}, leaves[0]).ok());
  EXPECT_FALSE(VerifyInclusion(leaves[0], 0, 1, std::vector<Hash>{leaves[0]}, leaves[0]).ok());
  EXPECT_FALSE(VerifyInclusion(Flip(leaves[0]), 0, 1, {}, leaves[0]).ok());
}

TEST(MerkleTreeTest, SiblingsAllOnTheRight) {
  // Leaf 0 of a 7-leaf tree: every sibling lies to its right, the last one is an unbalanced
  // subtree of 3 leaves.
  const std::vector<Hash> leaves = Leaves(7);
  MerkleTree tree(leaves);
  const std::vector<Hash> proof = *tree.InclusionProof(0);
  ASSERT_EQ(proof.size(), 3u);
  EXPECT_EQ(proof[0], leaves[1]);
  EXPECT_EQ(proof[1], common::HashChildren(leaves[2], leaves[3]));
  EXPECT_EQ(proof[2], common::MerkleRoot(std::span(leaves).subspan(4)));
  EXPECT_TRUE(VerifyInclusion(leaves[0], 0, 7, proof, tree.Root()).ok());
  // The last leaf of a 5-leaf tree has a single sibling, the left subtree of 4.
  MerkleTree five(std::span<const Hash>(leaves).first(5));
  EXPECT_EQ(*five.InclusionProof(4),
            std::vector<Hash>{common::MerkleRoot(std::span(leaves).first(4))});
}

TEST(MerkleTreeTest, AllIndexesOfAllSizesUpTo64MatchReferenceAndVerify) {
  const std::vector<Hash> leaves = Leaves(64);
  for (uint64_t n = 1; n <= 64; ++n) {
    const std::span<const Hash> d = std::span(leaves).first(n);
    MerkleTree tree(d);
    const Hash root = common::MerkleRoot(d);
    ASSERT_EQ(tree.Root(), root);
    for (uint64_t i = 0; i < n; ++i) {
      const std::vector<Hash> proof = *tree.InclusionProof(i);
      ASSERT_EQ(proof, RefPath(d, i)) << i << "/" << n;
      ASSERT_EQ(*InclusionProof(d, i), proof);
      ASSERT_TRUE(VerifyInclusion(d[i], i, n, proof, root).ok()) << i << "/" << n;
      EXPECT_EQ(*RootFromInclusionProof(d[i], i, n, proof), root);
      // Wrong index, size, leaf or root.
      EXPECT_FALSE(VerifyInclusion(d[i], i + 1, n, proof, root).ok());
      if (i > 0) {
        EXPECT_FALSE(VerifyInclusion(d[i], i - 1, n, proof, root).ok());
      }
      EXPECT_FALSE(VerifyInclusion(d[i], i, 2 * n, proof, root).ok());
      EXPECT_FALSE(VerifyInclusion(Flip(d[i]), i, n, proof, root).ok());
      EXPECT_FALSE(VerifyInclusion(d[i], i, n, proof, Flip(root)).ok());
      // Every proof with one flipped hash fails.
      for (size_t j = 0; j < proof.size(); ++j) {
        std::vector<Hash> bad = proof;
        bad[j] = Flip(bad[j]);
        EXPECT_FALSE(VerifyInclusion(d[i], i, n, bad, root).ok()) << i << "/" << n << " #" << j;
      }
      // Extra or missing hashes fail.
      std::vector<Hash> longer = proof;
      longer.push_back(root);
      EXPECT_FALSE(VerifyInclusion(d[i], i, n, longer, root).ok());
      if (!proof.empty()) {
        std::vector<Hash> shorter(proof.begin(), proof.end() - 1);
        EXPECT_FALSE(VerifyInclusion(d[i], i, n, shorter, root).ok());
      }
    }
  }
}

TEST(MerkleTreeTest, ConsistencyForAllPairsUpTo64MatchesReferenceAndVerifies) {
  const std::vector<Hash> leaves = Leaves(64);
  MerkleTree tree(leaves);
  for (uint64_t n = 1; n <= 64; ++n) {
    const Hash new_root = *tree.RootAt(n);
    for (uint64_t m = 0; m <= n; ++m) {
      const Hash old_root = *tree.RootAt(m);
      const std::vector<Hash> proof = *tree.ConsistencyProof(m, n);
      if (m == 0 || m == n) {
        ASSERT_TRUE(proof.empty());
      } else {
        ASSERT_EQ(proof, RefSubProof(m, std::span(leaves).first(n), true)) << m << "->" << n;
      }
      if (n == 64) {
        ASSERT_EQ(*ConsistencyProof(leaves, m), proof);
      }
      ASSERT_TRUE(VerifyConsistency(m, n, old_root, new_root, proof).ok()) << m << "->" << n;
      if (m == n) continue;
      EXPECT_FALSE(VerifyConsistency(m, n, Flip(old_root), new_root, proof).ok());
      EXPECT_FALSE(VerifyConsistency(n, m, new_root, old_root, proof).ok());
      // The empty tree is a prefix of every tree, whatever its root.
      if (m == 0) continue;
      EXPECT_FALSE(VerifyConsistency(m, n, old_root, Flip(new_root), proof).ok());
      EXPECT_FALSE(VerifyConsistency(m, n, new_root, old_root, proof).ok());
      EXPECT_FALSE(VerifyConsistency(m - 1, n, old_root, new_root, proof).ok());
      EXPECT_FALSE(VerifyConsistency(m, 2 * n, old_root, new_root, proof).ok());
      EXPECT_FALSE(VerifyConsistency(m, n, old_root, new_root, {}).ok());
      for (size_t j = 0; j < proof.size(); ++j) {
        std::vector<Hash> bad = proof;
        bad[j] = Flip(bad[j]);
        EXPECT_FALSE(VerifyConsistency(m, n, old_root, new_root, bad).ok())
            << m << "->" << n << " #" << j;
      }
      std::vector<Hash> longer = proof;
      longer.push_back(proof.back());
      EXPECT_FALSE(VerifyConsistency(m, n, old_root, new_root, longer).ok());
      std::vector<Hash> shorter(proof.begin(), proof.end() - 1);
      EXPECT_FALSE(VerifyConsistency(m, n, old_root, new_root, shorter).ok());
    }
  }
}

TEST(MerkleTreeTest, TrivialConsistencyCases) {
  const Hash empty = common::Sha256Of(std::string_view());
  const std::vector<Hash> leaves = Leaves(3);
  const Hash root = common::MerkleRoot(leaves);
  EXPECT_TRUE(VerifyConsistency(0, 0, empty, empty, {}).ok());
  EXPECT_TRUE(VerifyConsistency(0, 3, empty, root, {}).ok());
  EXPECT_FALSE(VerifyConsistency(0, 3, root, root, {}).ok());
  EXPECT_TRUE(VerifyConsistency(3, 3, root, root, {}).ok());
  EXPECT_FALSE(VerifyConsistency(3, 3, root, Flip(root), {}).ok());
  EXPECT_FALSE(VerifyConsistency(3, 3, root, root, std::vector<Hash>{root}).ok());
  EXPECT_FALSE(VerifyConsistency(0, 3, empty, root, std::vector<Hash>{root}).ok());
  EXPECT_FALSE(VerifyConsistency(4, 3, root, root, {}).ok());
}

TEST(MerkleTreeTest, OutOfRangeRequestsAreInvalidInput) {
  const std::vector<Hash> leaves = Leaves(5);
  MerkleTree tree(leaves);
  EXPECT_EQ(tree.InclusionProof(5).error().code(), common::ErrorCode::kInvalidInput);
  EXPECT_EQ(tree.InclusionProof(1, 6).error().code(), common::ErrorCode::kInvalidInput);
  EXPECT_EQ(tree.ConsistencyProof(6).error().code(), common::ErrorCode::kInvalidInput);
  EXPECT_EQ(tree.ConsistencyProof(3, 2).error().code(), common::ErrorCode::kInvalidInput);
  EXPECT_EQ(tree.RootAt(6).error().code(), common::ErrorCode::kInvalidInput);
  EXPECT_EQ(RootFromInclusionProof(leaves[0], 5, 5, {}).error().code(),
            common::ErrorCode::kVerifyFailed);
}

TEST(MerkleTreeTest, LargerTreesAgreeWithReferenceOnSampledProofs) {
  const std::vector<Hash> leaves = Leaves(1000);
  MerkleTree tree(leaves);
  EXPECT_EQ(tree.Root(), common::MerkleRoot(leaves));
  for (uint64_t i : {0u, 1u, 255u, 256u, 511u, 512u, 998u, 999u}) {
    EXPECT_EQ(*tree.InclusionProof(i), RefPath(leaves, i)) << i;
  }
  for (uint64_t m : {1u, 255u, 256u, 257u, 500u, 512u, 999u}) {
    EXPECT_EQ(*tree.ConsistencyProof(m), RefSubProof(m, leaves, true)) << m;
  }
}

}  // namespace
}  // namespace notary
