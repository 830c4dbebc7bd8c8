#include "audit.h"

#include <map>

#include "common/rfc6962.h"
#include "common/sha256.h"
#include "leaf_input.h"
#include "mime/canonical.h"
#include "notary/block.h"
#include "notary/checkpoint.h"
#include "notary/ed25519.h"
#include "notary/leaf_record.h"
#include "storage/chain_store.h"

namespace server {
namespace {

// The right edge of an RFC 6962 tree: perfect subtree roots, largest first. Appending a leaf
// merges equal-sized subtrees; the root folds them right to left.
class Frontier {
 public:
  void Append(const common::Hash& leaf) {
    common::Hash h = leaf;
    uint64_t size = 1;
    while (!nodes_.empty() && nodes_.back().second == size) {
      h = common::HashChildren(nodes_.back().first, h);
      size *= 2;
      nodes_.pop_back();
    }
    nodes_.push_back({h, size});
  }
  common::Hash Root() const {
    if (nodes_.empty()) return common::Sha256Of(std::string_view());
    common::Hash h = nodes_.back().first;
    for (size_t i = nodes_.size() - 1; i-- > 0;) h = common::HashChildren(nodes_[i].first, h);
    return h;
  }

 private:
  std::vector<std::pair<common::Hash, uint64_t>> nodes_;
};

std::string Hex(const common::Hash& h) { return common::ToHex(h); }

}  // namespace

int RunAudit(storage::Database& db, bool progress, std::ostream& out, std::ostream& err) {
  storage::ChainStore chain(db);
  auto blocks = chain.AllBlocks();
  auto keys = chain.SigningKeys();
  if (!blocks.ok() || !keys.ok()) {
    err << "audit: cannot read the database: "
        << (!blocks.ok() ? blocks.error() : keys.error()).ToString() << "\n";
    return 2;
  }
  std::map<std::string, notary::Ed25519PublicKey> key_by_id;
  for (const auto& k : *keys) {
    auto pub = notary::ParseEd25519PublicKey(k.public_key);
    if (pub.ok()) key_by_id[k.key_id] = *pub;
  }
  auto fail = [&](const std::string& what) {
    if (progress) err << "\n";
    err << "audit: FAILED: " << what << "\n";
    return 1;
  };

  Frontier frontier;
  common::Hash prev{};
  uint64_t leaves_checked = 0, bytes_checked = 0;
  for (size_t bi = 0; bi < blocks->size(); ++bi) {
    const storage::BlockRow& b = (*blocks)[bi];
    const std::string where = "block " + std::to_string(b.height);
    if (b.height != static_cast<int64_t>(bi)) {
      return fail("block heights are not consecutive: expected " + std::to_string(bi) + ", found " +
                  std::to_string(b.height));
    }
    auto header = notary::BlockHeader::Decode(b.header);
    if (!header.ok())
      return fail(where + ": stored header does not decode: " + header.error().message());
    const notary::BlockHeader& h = *header;
    if (h.height != static_cast<uint64_t>(b.height) || h.batch_root != b.batch_root ||
        h.tree_root != b.tree_root || h.tree_size != static_cast<uint64_t>(b.tree_size) ||
        h.first_leaf_index != static_cast<uint64_t>(b.first_leaf) ||
        h.leaf_count != static_cast<uint64_t>(b.leaf_count) || h.prev_block_hash != b.prev_hash ||
        h.sealed_at_us != b.sealed_at_us || h.key_id != b.key_id) {
      return fail(where + ": the block's columns differ from its signed header");
    }
    if (h.prev_block_hash != prev) {
      return fail(where + ": previous-hash link broken: header has " + Hex(h.prev_block_hash) +
                  ", block " + std::to_string(b.height - 1) + " hashes to " + Hex(prev));
    }
    auto key = key_by_id.find(h.key_id);
    if (key == key_by_id.end()) return fail(where + ": signing key " + h.key_id + " is unknown");
    if (!notary::VerifyBlock(h, common::AsBytes(b.signature), key->second).ok()) {
      return fail(where + ": signature does not verify under key " + h.key_id);
    }
    auto bh = notary::BlockHash(h, common::AsBytes(b.signature));
    if (!bh.ok() || *bh != b.block_hash) {
      return fail(where + ": block_hash differs from SHA-256 of header and signature");
    }
    auto vkey =
        notary::MakeNoteVerifierKey(b.checkpoint.substr(0, b.checkpoint.find('\n')), key->second);
    auto cp = vkey.ok() ? notary::OpenCheckpoint(b.checkpoint, *vkey)
                        : common::Result<notary::Checkpoint>(vkey.error());
    if (!cp.ok() || cp->size != h.tree_size || cp->root != h.tree_root) {
      return fail(where + ": checkpoint signature or contents do not match the block");
    }

    auto leaves = chain.LeavesOfBlock(b.height);
    if (!leaves.ok()) {
      err << "audit: cannot read leaves of " << where << ": " << leaves.error().ToString() << "\n";
      return 2;
    }
    if (leaves->size() != h.leaf_count) {
      return fail(where + ": " + std::to_string(h.leaf_count) + " leaves signed, " +
                  std::to_string(leaves->size()) + " stored");
    }
    std::vector<common::Hash> batch;
    for (size_t i = 0; i < leaves->size(); ++i) {
      const storage::AuditLeaf& l = (*leaves)[i];
      const std::string lw = "leaf " + std::to_string(l.leaf_index) + " (receipt " +
                             (l.receipt_id.empty() ? "missing" : l.receipt_id) + ", " + where + ")";
      if (l.leaf_index != static_cast<int64_t>(h.first_leaf_index + i)) {
        return fail(where + ": leaf indexes are not consecutive at " +
                    std::to_string(l.leaf_index));
      }
      if (l.receipt_id.empty()) return fail(lw + ": its receipt is missing");
      if (common::Sha256Of(l.raw) != l.raw_sha256) {
        return fail(lw + ": stored message bytes do not hash to raw_sha256 " + Hex(l.raw_sha256));
      }
      mime::Canonical c = mime::Canonicalize(l.raw);
      if (c.canon_version == l.canon_version && c.canonical_sha256 != l.canonical_sha256) {
        return fail(lw + ": canonical hash recomputed as " + Hex(c.canonical_sha256) + ", stored " +
                    Hex(l.canonical_sha256));
      }
      if (c.canon_version == l.canon_version && c.parts_root != l.parts_root) {
        return fail(lw + ": parts_root recomputed differs from the stored one");
      }
      notary::Envelope env{
          l.envelope_from, l.envelope_to,  l.client_ip, static_cast<uint16_t>(l.client_port),
          l.helo,          l.tls_protocol, l.tls_cipher};
      if (notary::EnvelopeDigest(env) != l.envelope_digest) {
        return fail(lw + ": the receipt's envelope does not match its envelope digest");
      }
      notary::LeafRecord rec = LeafRecordOf(l);
      auto enc = rec.Encode();
      if (!enc.ok() || *enc != l.record) {
        return fail(lw + ": leaf record differs from the one rebuilt from the receipt");
      }
      if (common::HashLeaf(l.record) != l.leaf_hash) {
        return fail(lw + ": leaf_hash is not SHA-256(0x00 || leaf_record)");
      }
      batch.push_back(l.leaf_hash);
      frontier.Append(l.leaf_hash);
      ++leaves_checked;
      bytes_checked += l.raw.size();
    }
    if (common::MerkleRoot(batch) != h.batch_root) {
      return fail(where + ": batch_root recomputed as " + Hex(common::MerkleRoot(batch)) +
                  ", signed " + Hex(h.batch_root));
    }
    if (frontier.Root() != h.tree_root) {
      return fail(where + ": tree_root recomputed as " + Hex(frontier.Root()) + ", signed " +
                  Hex(h.tree_root));
    }
    prev = b.block_hash;
    if (progress) {
      err << "\raudit: block " << b.height + 1 << "/" << blocks->size() << ", " << leaves_checked
          << " leaves" << std::flush;
    }
  }
  if (progress) err << "\n";
  out << "audit: OK: " << blocks->size() << " blocks, " << leaves_checked << " receipts, "
      << bytes_checked << " bytes re-verified\n";
  return 0;
}

}  // namespace server
