#include "log/block.h"

#include "common/byte_reader.h"
#include "common/sha256.h"

namespace notary {

using common::Error;

common::Result<std::string> BlockHeader::Encode() const {
  if (format_version != kFormatVersion) return Error::InvalidInput("unknown block version");
  if (key_id.empty() || key_id.size() > kMaxKeyIdBytes) {
    return Error::InvalidInput("block key id must have 1 to 64 bytes");
  }
  std::string out;
  common::AppendU32(out, format_version);
  common::AppendU64(out, height);
  common::AppendBytes(out, prev_block_hash);
  common::AppendBytes(out, batch_root);
  common::AppendU64(out, first_leaf_index);
  common::AppendU64(out, leaf_count);
  common::AppendU64(out, tree_size);
  common::AppendBytes(out, tree_root);
  common::AppendU64(out, static_cast<uint64_t>(sealed_at_us));
  common::AppendLengthPrefixed(out, key_id);
  return out;
}

common::Result<BlockHeader> BlockHeader::Decode(std::string_view bytes) {
  common::ByteReader in(bytes);
  BlockHeader h;
  if (!in.U32(h.format_version)) return Error::InvalidInput("truncated block header");
  if (h.format_version != kFormatVersion) {
    return Error::InvalidInput("unknown block version " + std::to_string(h.format_version));
  }
  if (!in.U64(h.height) || !in.Fixed(h.prev_block_hash) || !in.Fixed(h.batch_root) ||
      !in.U64(h.first_leaf_index) || !in.U64(h.leaf_count) || !in.U64(h.tree_size) ||
      !in.Fixed(h.tree_root) || !in.I64(h.sealed_at_us) || !in.String(h.key_id, kMaxKeyIdBytes) ||
      h.key_id.empty()) {
    return Error::InvalidInput("truncated or malformed block header");
  }
  if (!in.done()) return Error::InvalidInput("trailing bytes after the block header");
  return h;
}

common::Status BlockHeader::Validate() const {
  if (leaf_count == 0) return Error::InvalidInput("block seals no leaves");
  if (first_leaf_index > tree_size || tree_size - first_leaf_index != leaf_count) {
    return Error::InvalidInput("first_leaf_index + leaf_count != tree_size");
  }
  const bool zero_prev = prev_block_hash == common::Hash{};
  if (height == 0 && !zero_prev) return Error::InvalidInput("genesis block with a previous hash");
  if (height != 0 && zero_prev) return Error::InvalidInput("block without a previous hash");
  return common::Ok();
}

std::string BlockSigningMessage(std::string_view encoded_header) {
  std::string message(kBlockSignatureTag);
  message += encoded_header;
  return message;
}

common::Result<Ed25519Signature> SignBlock(const BlockHeader& header, const Ed25519Key& signer) {
  ASSIGN_OR_RETURN(std::string encoded, header.Encode());
  return signer.Sign(BlockSigningMessage(encoded));
}

common::Status VerifyBlock(const BlockHeader& header, std::span<const uint8_t> signature,
                           const Ed25519PublicKey& key) {
  ASSIGN_OR_RETURN(std::string encoded, header.Encode());
  common::Status s = Ed25519Verify(key, common::AsBytes(BlockSigningMessage(encoded)), signature);
  if (!s.ok())
    return Error::VerifyFailed("block " + std::to_string(header.height) +
                               " signature: " + s.error().message());
  return common::Ok();
}

common::Result<common::Hash> BlockHash(const BlockHeader& header,
                                       std::span<const uint8_t> signature) {
  ASSIGN_OR_RETURN(std::string encoded, header.Encode());
  common::Sha256 h;
  h.Update(encoded);
  h.Update(signature);
  return h.Finish();
}

}  // namespace notary
