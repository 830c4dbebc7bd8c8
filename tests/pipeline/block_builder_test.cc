// BuildBlock without a database: every field of the block follows from its inputs, the
// signature and checkpoint verify with the signer's key, and consecutive blocks chain.
#include "pipeline/block_builder.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/rfc6962.h"
#include "common/sha256.h"
#include "log/block.h"
#include "log/checkpoint.h"
#include "log/merkle.h"

namespace pipeline {
namespace {

constexpr int64_t kT0 = 1'764'000'000'000'000;
const std::string kOrigin = "notary.example.com/log";

std::vector<common::Hash> Leaves(int first, int n) {
  std::vector<common::Hash> out;
  for (int i = first; i < first + n; ++i) {
    out.push_back(common::HashLeaf("leaf " + std::to_string(i)));
  }
  return out;
}

notary::Ed25519Signer Signer() {
  auto s = notary::Ed25519Signer::FromSeed(std::vector<uint8_t>(32, 0x42));
  EXPECT_TRUE(s.ok());
  return std::move(*s);
}

// Checks what a verifier checks of one block: the header it decodes to, the signature, the
// block hash and the checkpoint, all against the signer's public key.
void ExpectVerifies(const storage::NewBlock& nb, const notary::Ed25519Signer& signer,
                    const std::vector<common::Hash>& all_leaves) {
  const storage::BlockRow& b = nb.block;
  auto h = notary::BlockHeader::Decode(b.header);
  ASSERT_TRUE(h.ok()) << h.error().ToString();
  EXPECT_TRUE(h->Validate().ok());
  EXPECT_EQ(h->height, static_cast<uint64_t>(b.height));
  EXPECT_EQ(h->tree_size, all_leaves.size());
  EXPECT_EQ(h->tree_root, notary::MerkleTree(all_leaves).Root());
  EXPECT_EQ(b.tree_root, h->tree_root);
  EXPECT_EQ(h->sealed_at_us, b.sealed_at_us);
  EXPECT_EQ(h->key_id, notary::KeyId(signer.public_key()));
  EXPECT_TRUE(notary::VerifyBlock(*h, common::AsBytes(b.signature), signer.public_key()).ok());
  auto hash = notary::BlockHash(*h, common::AsBytes(b.signature));
  ASSERT_TRUE(hash.ok());
  EXPECT_EQ(*hash, b.block_hash);
  auto vkey = notary::MakeNoteVerifierKey(kOrigin, signer.public_key());
  ASSERT_TRUE(vkey.ok());
  auto cp = notary::OpenCheckpoint(b.checkpoint, *vkey);
  ASSERT_TRUE(cp.ok()) << cp.error().ToString();
  EXPECT_EQ(cp->origin, kOrigin);
  EXPECT_EQ(cp->size, all_leaves.size());
  EXPECT_EQ(cp->root, h->tree_root);
}

TEST(BlockBuilderTest, FirstBlockThenASecondThatChainsToIt) {
  const notary::Ed25519Signer signer = Signer();
  notary::KeySigner chain(signer);
  notary::tlog::MemoryTileStore tiles;
  const std::vector<common::Hash> first = Leaves(0, 3);
  const std::optional<storage::BlockRow> none;
  auto b0 = BuildBlock({none, first, tiles, chain, kOrigin, kT0});
  ASSERT_TRUE(b0.ok()) << b0.error().ToString();
  EXPECT_EQ(b0->block.height, 0);
  EXPECT_EQ(b0->block.prev_hash, common::Hash{});
  EXPECT_EQ(b0->block.first_leaf, 0);
  EXPECT_EQ(b0->block.leaf_count, 3);
  EXPECT_EQ(b0->block.batch_root, common::MerkleRoot(first));
  EXPECT_EQ(b0->block.sealed_at_us, kT0);
  ExpectVerifies(*b0, signer, first);
  ASSERT_FALSE(b0->tiles.empty());
  tiles.Put(b0->tiles);

  const std::vector<common::Hash> second = Leaves(3, 300);  // across a full tile
  std::vector<common::Hash> all = first;
  all.insert(all.end(), second.begin(), second.end());
  const std::optional<storage::BlockRow> head = b0->block;
  auto b1 = BuildBlock({head, second, tiles, chain, kOrigin, kT0 + 1'000'000});
  ASSERT_TRUE(b1.ok()) << b1.error().ToString();
  EXPECT_EQ(b1->block.height, 1);
  EXPECT_EQ(b1->block.prev_hash, b0->block.block_hash);
  EXPECT_EQ(b1->block.first_leaf, 3);
  EXPECT_EQ(b1->block.leaf_count, 300);
  EXPECT_EQ(b1->block.batch_root, common::MerkleRoot(second));
  ExpectVerifies(*b1, signer, all);
  // The tiles it returns, stored, give the tree the header states.
  tiles.Put(b1->tiles);
  auto root = notary::tlog::TreeRoot(all.size(), tiles);
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(*root, b1->block.tree_root);
}

TEST(BlockBuilderTest, TimeNeverRunsBackwardsAlongTheChain) {
  const notary::Ed25519Signer signer = Signer();
  notary::KeySigner chain(signer);
  notary::tlog::MemoryTileStore tiles;
  const std::optional<storage::BlockRow> none;
  auto b0 = BuildBlock({none, Leaves(0, 1), tiles, chain, kOrigin, kT0});
  ASSERT_TRUE(b0.ok());
  tiles.Put(b0->tiles);
  const std::optional<storage::BlockRow> head = b0->block;
  // This node's clock is an hour behind the node that sealed the head.
  auto b1 = BuildBlock({head, Leaves(1, 1), tiles, chain, kOrigin, kT0 - 3'600'000'000});
  ASSERT_TRUE(b1.ok());
  EXPECT_EQ(b1->block.sealed_at_us, kT0 + 1);
  ExpectVerifies(*b1, signer, Leaves(0, 2));
}

TEST(BlockBuilderTest, AnEmptyBatchIsRefused) {
  const notary::Ed25519Signer signer = Signer();
  notary::KeySigner chain(signer);
  notary::tlog::MemoryTileStore tiles;
  const std::optional<storage::BlockRow> none;
  auto b = BuildBlock({none, {}, tiles, chain, kOrigin, kT0});
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code(), common::ErrorCode::kInvalidInput);
}

// A signer elsewhere that names one key and signs with another (a swapped token object, a
// broken signer): the block must not be built, since no verifier would accept it.
class MismatchedSigner final : public notary::ChainSigner {
 public:
  MismatchedSigner(const notary::Ed25519Signer& named, const notary::Ed25519Signer& used)
      : named_(named), used_(used) {}
  common::Result<notary::Ed25519PublicKey> CurrentKey() override { return named_.public_key(); }
  common::Result<notary::Ed25519Signature> SignBlock(const notary::BlockHeader& h) override {
    return notary::SignBlock(h, used_);
  }
  common::Result<std::string> SignCheckpoint(const notary::Checkpoint& cp,
                                             std::string_view name) override {
    return notary::SignCheckpoint(cp, name, used_);
  }

 private:
  const notary::Ed25519Signer& named_;
  const notary::Ed25519Signer& used_;
};

TEST(BlockBuilderTest, ASignatureByAnotherKeyThanTheHeaderNamesIsRefused) {
  const notary::Ed25519Signer named = Signer();
  auto other = notary::Ed25519Signer::FromSeed(std::vector<uint8_t>(32, 0x43));
  ASSERT_TRUE(other.ok());
  MismatchedSigner chain(named, *other);
  notary::tlog::MemoryTileStore tiles;
  const std::optional<storage::BlockRow> none;
  auto b = BuildBlock({none, Leaves(0, 2), tiles, chain, kOrigin, kT0});
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code(), common::ErrorCode::kVerifyFailed);
}

}  // namespace
}  // namespace pipeline
