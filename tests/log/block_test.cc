#include "log/block.h"

#include <gtest/gtest.h>

#include <string>

#include "common/bytes.h"
#include "common/sha256.h"

namespace notary {
namespace {

BlockHeader Genesis(const Ed25519Signer& signer) {
  BlockHeader h;
  h.height = 0;
  h.batch_root = common::Sha256Of("batch");
  h.first_leaf_index = 0;
  h.leaf_count = 3;
  h.tree_size = 3;
  h.tree_root = common::Sha256Of("batch");
  h.sealed_at_us = 1764151201000000;
  h.key_id = KeyId(signer.public_key());
  return h;
}

TEST(BlockTest, RoundTripsByteExactly) {
  Ed25519Signer signer = *Ed25519Signer::Generate();
  const BlockHeader h = Genesis(signer);
  const std::string bytes = *h.Encode();
  // version 4, height 8, 2 hashes 64, 3 counters 24, root 32, time 8, key id 4+16.
  EXPECT_EQ(bytes.size(), 4u + 8 + 64 + 24 + 32 + 8 + 4 + 16);
  EXPECT_EQ(*BlockHeader::Decode(bytes), h);
  EXPECT_TRUE(h.Validate().ok());
}

TEST(BlockTest, SignatureCoversTheTaggedHeader) {
  Ed25519Signer signer = *Ed25519Signer::Generate();
  const BlockHeader h = Genesis(signer);
  const Ed25519Signature sig = *SignBlock(h, signer);
  EXPECT_TRUE(VerifyBlock(h, sig, signer.public_key()).ok());
  // Documented message: the ASCII tag then the encoded header.
  EXPECT_TRUE(Ed25519Verify(signer.public_key(),
                            common::AsBytes("email-notary/block/v1\n" + *h.Encode()), sig)
                  .ok());
  // A signature over the bare header (no domain tag) is not a block signature.
  const Ed25519Signature bare = *signer.Sign(*h.Encode());
  EXPECT_EQ(VerifyBlock(h, bare, signer.public_key()).error().code(),
            common::ErrorCode::kVerifyFailed);

  Ed25519Signer other = *Ed25519Signer::Generate();
  EXPECT_FALSE(VerifyBlock(h, sig, other.public_key()).ok());
  // Any changed field breaks the signature.
  std::vector<BlockHeader> changed(10, h);
  changed[0].height = 1;
  changed[1].prev_block_hash[0] = 1;
  changed[2].batch_root[0] ^= 1;
  changed[3].first_leaf_index = 1;
  changed[4].leaf_count = 4;
  changed[5].tree_size = 4;
  changed[6].tree_root[31] ^= 1;
  changed[7].sealed_at_us += 1;
  changed[8].key_id = "0000000000000000";
  changed[9].key_id += "0";
  for (const BlockHeader& c : changed) {
    EXPECT_EQ(VerifyBlock(c, sig, signer.public_key()).error().code(),
              common::ErrorCode::kVerifyFailed);
  }
  Ed25519Signature flipped = sig;
  flipped[63] ^= 0x40;
  EXPECT_FALSE(VerifyBlock(h, flipped, signer.public_key()).ok());
  EXPECT_FALSE(VerifyBlock(h, std::span(sig).first(32), signer.public_key()).ok());
}

TEST(BlockTest, BlockHashIsOverHeaderAndSignature) {
  Ed25519Signer signer = *Ed25519Signer::Generate();
  const BlockHeader h = Genesis(signer);
  const Ed25519Signature sig = *SignBlock(h, signer);
  const common::Hash hash = *BlockHash(h, sig);
  EXPECT_EQ(hash, common::Sha256Of(*h.Encode() + std::string(common::AsChars(sig))));
  // The next block links to it.
  BlockHeader next = h;
  next.height = 1;
  next.prev_block_hash = hash;
  next.first_leaf_index = 3;
  next.leaf_count = 2;
  next.tree_size = 5;
  EXPECT_TRUE(next.Validate().ok());
  EXPECT_NE(*BlockHash(next, *SignBlock(next, signer)), hash);
}

TEST(BlockTest, ValidateNamesBrokenRules) {
  Ed25519Signer signer = *Ed25519Signer::Generate();
  BlockHeader h = Genesis(signer);
  h.leaf_count = 0;
  h.tree_size = 0;
  EXPECT_FALSE(h.Validate().ok());
  h = Genesis(signer);
  h.tree_size = 4;
  EXPECT_FALSE(h.Validate().ok());
  h = Genesis(signer);
  h.prev_block_hash[0] = 1;
  EXPECT_FALSE(h.Validate().ok());
  h = Genesis(signer);
  h.height = 7;
  EXPECT_FALSE(h.Validate().ok());
}

TEST(BlockTest, DecodeAndEncodeRejectBadInput) {
  Ed25519Signer signer = *Ed25519Signer::Generate();
  const BlockHeader h = Genesis(signer);
  const std::string bytes = *h.Encode();
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(BlockHeader::Decode(bytes.substr(0, n)).ok()) << n;
  }
  EXPECT_FALSE(BlockHeader::Decode(bytes + "x").ok());
  std::string v2 = bytes;
  v2[3] = 2;
  EXPECT_EQ(BlockHeader::Decode(v2).error().code(), common::ErrorCode::kInvalidInput);
  BlockHeader bad = h;
  bad.key_id = "";
  EXPECT_FALSE(bad.Encode().ok());
  EXPECT_FALSE(SignBlock(bad, signer).ok());
  bad.key_id = std::string(65, 'k');
  EXPECT_FALSE(bad.Encode().ok());
  bad = h;
  bad.format_version = 0;
  EXPECT_FALSE(bad.Encode().ok());
}

}  // namespace
}  // namespace notary
