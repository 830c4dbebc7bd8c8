#include "pipeline/block_builder.h"

#include <utility>

#include "common/rfc6962.h"
#include "log/block.h"
#include "log/checkpoint.h"

namespace pipeline {

common::Result<storage::NewBlock> BuildBlock(const BlockInputs& in) {
  if (in.leaf_hashes.empty()) return common::Error::InvalidInput("a block needs leaves");
  const std::optional<storage::BlockRow>& head = in.head;
  const uint64_t old_size = head ? static_cast<uint64_t>(head->tree_size) : 0;

  storage::NewBlock nb;
  ASSIGN_OR_RETURN(notary::tlog::AppendResult appended,
                   notary::tlog::AppendTiles(old_size, in.leaf_hashes, in.tiles));
  nb.tiles = std::move(appended.tiles);

  notary::BlockHeader h;
  h.height = head ? static_cast<uint64_t>(head->height + 1) : 0;
  h.prev_block_hash = head ? head->block_hash : common::Hash{};
  h.batch_root = common::MerkleRoot(in.leaf_hashes);
  h.first_leaf_index = old_size;
  h.leaf_count = in.leaf_hashes.size();
  h.tree_size = appended.tree_size;
  h.tree_root = appended.root;
  h.sealed_at_us = in.now_us;
  // Time never runs backwards along the chain, whatever this node's clock says.
  if (head && h.sealed_at_us <= head->sealed_at_us) h.sealed_at_us = head->sealed_at_us + 1;
  notary::Ed25519PublicKey key{};
  if (in.key != nullptr) {
    key = *in.key;
  } else {
    ASSIGN_OR_RETURN(key, in.signer.CurrentKey());
  }
  h.key_id = notary::KeyId(key);
  ASSIGN_OR_RETURN(std::string header, h.Encode());
  ASSIGN_OR_RETURN(notary::Ed25519Signature signature, in.signer.SignBlock(h));
  // A signer elsewhere is checked, not trusted: a wrong signature would seal a block no
  // verifier accepts.
  RETURN_IF_ERROR(
      notary::Ed25519Verify(key, common::AsBytes(notary::BlockSigningMessage(header)), signature));
  ASSIGN_OR_RETURN(common::Hash block_hash, notary::BlockHash(h, signature));
  const notary::Checkpoint cp{in.origin, h.tree_size, h.tree_root, {}};
  ASSIGN_OR_RETURN(std::string note, in.signer.SignCheckpoint(cp, in.origin));

  storage::BlockRow& b = nb.block;
  b.height = static_cast<int64_t>(h.height);
  b.prev_hash = h.prev_block_hash;
  b.batch_root = h.batch_root;
  b.first_leaf = static_cast<int64_t>(h.first_leaf_index);
  b.leaf_count = static_cast<int64_t>(h.leaf_count);
  b.tree_size = static_cast<int64_t>(h.tree_size);
  b.tree_root = h.tree_root;
  b.sealed_at_us = h.sealed_at_us;
  b.key_id = h.key_id;
  b.header = std::move(header);
  b.signature.assign(signature.begin(), signature.end());
  b.block_hash = block_hash;
  b.checkpoint = std::move(note);
  return nb;
}

}  // namespace pipeline
