// Block headers of the sealed chain: each block seals a batch of consecutive leaves, links to
// its predecessor and commits to the whole log so far. Byte layouts are specified in
// docs/evidence-format.md.
//
//   signature  = Ed25519(BlockSigningMessage(Encode()))
//              = Ed25519("email-notary/block/v1\n" || Encode())
//   block_hash = SHA-256(Encode() || signature)
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/result.h"
#include "log/ed25519.h"

namespace notary {

inline constexpr std::string_view kBlockSignatureTag = "email-notary/block/v1\n";

struct BlockHeader {
  static constexpr uint32_t kFormatVersion = 1;
  static constexpr size_t kMaxKeyIdBytes = 64;

  uint32_t format_version = kFormatVersion;
  uint64_t height = 0;             // 0 for the genesis block
  common::Hash prev_block_hash{};  // zeros for the genesis block
  common::Hash batch_root{};       // MTH of this block's leaves alone
  uint64_t first_leaf_index = 0;   // global index of the block's first leaf
  uint64_t leaf_count = 0;
  uint64_t tree_size = 0;    // leaves in the global log after this block
  common::Hash tree_root{};  // MTH of the global log at tree_size
  int64_t sealed_at_us = 0;  // microseconds since 1970-01-01T00:00:00Z
  std::string key_id;        // KeyId() of the signing key, 1..64 bytes

  bool operator==(const BlockHeader&) const = default;

  // kInvalidInput for an unknown version or a key id of the wrong length.
  common::Result<std::string> Encode() const;
  // kInvalidInput for an unknown version, truncation, bad lengths or trailing bytes.
  static common::Result<BlockHeader> Decode(std::string_view bytes);
  // Rules every block of the chain obeys: leaf_count >= 1,
  // first_leaf_index + leaf_count == tree_size, and prev_block_hash all zeros exactly when
  // height == 0. kInvalidInput naming the first rule broken.
  common::Status Validate() const;
};

// kBlockSignatureTag || encoded_header: what the block signature covers.
std::string BlockSigningMessage(std::string_view encoded_header);

// Signs the encoded header. kInvalidInput when the header does not encode.
common::Result<Ed25519Signature> SignBlock(const BlockHeader& header, const Ed25519Key& signer);
// kVerifyFailed when the signature is not by `key` over this header.
common::Status VerifyBlock(const BlockHeader& header, std::span<const uint8_t> signature,
                           const Ed25519PublicKey& key);
// SHA-256(Encode() || signature).
common::Result<common::Hash> BlockHash(const BlockHeader& header,
                                       std::span<const uint8_t> signature);

}  // namespace notary
