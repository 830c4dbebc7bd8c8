#include "pipeline/evidence_assembly.h"

#include <algorithm>
#include <utility>

#include "log/merkle.h"
#include "log/tlog.h"
#include "mime/canonical.h"
#include "pipeline/tsa_service.h"

namespace pipeline {
namespace {

notary::BundleBlock ToBundleBlock(const storage::BlockRow& b,
                                  const std::vector<storage::TokenRow>& tokens) {
  notary::BundleBlock out;
  out.header = b.header;
  out.signature = b.signature;
  out.block_hash = b.block_hash;
  for (const auto& t : tokens) out.tokens.push_back({t.tsa, t.token});
  return out;
}

}  // namespace

common::Result<std::shared_ptr<const notary::MerkleTree>> EvidenceCache::Tree(
    storage::ChainStore& chain, int64_t height) {
  {
    common::MutexLock lock(mu_);
    if (auto it = trees_.find(height); it != trees_.end()) return it->second;
  }
  // Built outside the lock: two threads may both build a block's tree the first time.
  ASSIGN_OR_RETURN(std::vector<common::Hash> leaves, chain.BlockLeafHashes(height));
  auto tree = std::make_shared<const notary::MerkleTree>(leaves);
  common::MutexLock lock(mu_);
  if (trees_.size() >= kBlocks) trees_.erase(trees_.begin());  // the lowest: exports go upward
  trees_.emplace(height, tree);
  return std::shared_ptr<const notary::MerkleTree>(tree);
}

common::Result<std::optional<EvidenceCache::Block>> EvidenceCache::BlockAt(
    storage::ChainStore& chain, int64_t height) {
  {
    common::MutexLock lock(mu_);
    if (auto it = blocks_.find(height); it != blocks_.end()) return it->second;
  }
  ASSIGN_OR_RETURN(std::optional<storage::BlockRow> row, chain.BlockAt(height));
  std::optional<Block> block;
  if (row) {
    ASSIGN_OR_RETURN(std::vector<storage::TokenRow> tokens, chain.Tokens(height));
    block = Block{std::move(*row), std::move(tokens)};
  }
  common::MutexLock lock(mu_);
  // A message's block and the one before: twice as many as the trees.
  if (blocks_.size() >= 2 * kBlocks) blocks_.erase(blocks_.begin());
  blocks_.emplace(height, block);
  return block;
}

common::Result<std::vector<storage::KeyRow>> EvidenceCache::Keys(storage::AdminStore& admin) {
  {
    common::MutexLock lock(mu_);
    if (keys_) return *keys_;
  }
  ASSIGN_OR_RETURN(std::vector<storage::KeyRow> keys, admin.ListSigningKeys());
  common::MutexLock lock(mu_);
  if (!keys_) keys_ = std::move(keys);  // the first answer stays, for every bundle
  return *keys_;
}

common::Result<std::optional<storage::BlockRow>> EvidenceCache::Head(storage::ChainStore& chain) {
  {
    common::MutexLock lock(mu_);
    if (head_) return *head_;
  }
  ASSIGN_OR_RETURN(std::optional<storage::BlockRow> head, chain.Latest());
  common::MutexLock lock(mu_);
  if (!head_) head_ = std::move(head);
  return *head_;
}

common::Result<std::optional<storage::CosignedCheckpointRow>> EvidenceCache::Cosigned(
    storage::ChainStore& chain) {
  {
    common::MutexLock lock(mu_);
    if (cosigned_) return *cosigned_;
  }
  ASSIGN_OR_RETURN(std::optional<storage::CosignedCheckpointRow> cosigned,
                   chain.LatestCosignedCheckpoint());
  common::MutexLock lock(mu_);
  if (!cosigned_) cosigned_ = std::move(cosigned);
  return *cosigned_;
}

notary::tlog::TileReader& EvidenceCache::Tiles(storage::ChainStore& chain) {
  common::MutexLock lock(mu_);
  if (!reader_) reader_ = std::make_unique<CachingTiles>(*this, chain);
  return *reader_;
}

common::Result<std::vector<std::string>> EvidenceCache::CachingTiles::ReadTiles(
    std::span<const notary::tlog::TileId> ids) {
  std::vector<std::string> out(ids.size());
  std::vector<notary::tlog::TileId> missing;
  std::vector<size_t> where;
  {
    common::MutexLock lock(cache_.mu_);
    for (size_t i = 0; i < ids.size(); ++i) {
      auto it = cache_.tiles_.find({ids[i].level, static_cast<int64_t>(ids[i].index)});
      // A wider version of the tile serves as well (tlog.h); a narrower one does not.
      if (it != cache_.tiles_.end() && it->second.size() >= 32u * ids[i].width) {
        out[i] = it->second;
      } else {
        missing.push_back(ids[i]);
        where.push_back(i);
      }
    }
  }
  if (missing.empty()) return out;
  ASSIGN_OR_RETURN(std::vector<std::string> read, chain_.Tiles().ReadTiles(missing));
  if (read.size() != missing.size()) return common::Error::Internal("tiles read short");
  common::MutexLock lock(cache_.mu_);
  for (size_t k = 0; k < missing.size(); ++k) {
    if (cache_.tiles_.size() >= kTiles) cache_.tiles_.clear();
    std::string& kept = cache_.tiles_[{missing[k].level, static_cast<int64_t>(missing[k].index)}];
    if (read[k].size() > kept.size()) kept = read[k];
    out[where[k]] = std::move(read[k]);
  }
  return out;
}

common::Result<notary::BundleInput> AssembleEvidence(const notary::Receipt& receipt,
                                                     const EvidenceRequest& request,
                                                     const EvidenceSources& sources) {
  if (!receipt.leaf_index || !receipt.block_height) {
    return common::Error::Internal("evidence asked for a receipt that is not sealed");
  }
  if (receipt.parts.size() > mime::kMaxParts) {
    // Only a receipt of canonical form version 1 can list more (version 2 stops at the
    // limit): its bundle would exceed what every reader accepts.
    return common::Error::TooLarge("the message lists more than " +
                                   std::to_string(mime::kMaxParts) +
                                   " parts, more than a bundle may hold");
  }
  if (!mime::IsSupportedCanonVersion(receipt.canon_version)) {
    return common::Error::Internal("receipt of an unknown canonical form version");
  }
  storage::ChainStore& chain = sources.chain;
  EvidenceCache* cache = sources.cache;
  std::optional<storage::BlockRow> block, head;
  std::vector<storage::TokenRow> tokens;
  if (cache != nullptr) {
    ASSIGN_OR_RETURN(std::optional<EvidenceCache::Block> b,
                     cache->BlockAt(chain, *receipt.block_height));
    if (b) {
      block = b->row;
      tokens = b->tokens;
    }
    ASSIGN_OR_RETURN(head, cache->Head(chain));
  } else {
    ASSIGN_OR_RETURN(block, chain.BlockAt(*receipt.block_height));
    if (block) {
      ASSIGN_OR_RETURN(tokens, chain.Tokens(block->height));
    }
    ASSIGN_OR_RETURN(head, chain.Latest());
  }
  notary::tlog::TileReader& tiles = cache != nullptr ? cache->Tiles(chain) : chain.Tiles();
  ASSIGN_OR_RETURN(auto leaf, chain.Leaf(*receipt.leaf_index));
  if (!block || !head || !leaf) {
    return common::Error::Internal("sealed receipt without its block or leaf");
  }
  const bool erased = receipt.erased_at_us.has_value();
  std::optional<storage::Erasure> erasure;
  if (erased) {
    if (request.part) return common::Error::NotFound("the message was erased: its parts are gone");
    if (sources.erasures == nullptr) {
      return common::Error::Internal("an erased receipt's bundle needs the erasure store");
    }
    ASSIGN_OR_RETURN(erasure, sources.erasures->Get(receipt.tenant, receipt.id));
    if (!erasure) return common::Error::Internal("an erased receipt without its erasure");
  }
  std::string raw;
  if (!erased) {
    ASSIGN_OR_RETURN(raw, sources.receipts.GetRaw(receipt.tenant, receipt.raw_sha256));
  }

  notary::BundleInput in;
  in.receipt = receipt;
  if (erased) {
    // Nothing of the message: no bytes, no canonical form, no envelope, no part records (the
    // erased form keeps their hashes but not their file names, so their records cannot be
    // rebuilt, and would say little without the names), no journal report.
    in.receipt.envelope = notary::Envelope{};
    in.receipt.parts.clear();
  } else if (request.part) {
    auto bytes = mime::ExtractPart(raw, *request.part, receipt.canon_version);
    if (!bytes) return common::Error::NotFound("the message has no part " + *request.part);
    in.disclosed_part = notary::DisclosedPart{*request.part, std::move(*bytes)};
  } else {
    in.canonical_form = mime::Canonicalize(raw, receipt.canon_version).canonical;
    in.message = std::move(raw);
    // The journal report the message arrived in is evidence of its envelope; it carries the
    // whole message, so a part-only bundle never includes it.
    if (sources.journal != nullptr) {
      ASSIGN_OR_RETURN(std::optional<storage::JournalReportRow> report,
                       sources.journal->Get(receipt.id, receipt.tenant));
      if (report) in.journal_report = std::move(report->data);
    }
  }
  in.leaf_record = std::move(leaf->first);
  in.leaf_index = static_cast<uint64_t>(*receipt.leaf_index);
  in.leaf_hash = leaf->second;

  in.batch_index = in.leaf_index - static_cast<uint64_t>(block->first_leaf);
  if (cache != nullptr) {
    ASSIGN_OR_RETURN(auto tree, cache->Tree(chain, block->height));
    in.batch_size = tree->size();
    ASSIGN_OR_RETURN(in.batch_proof, tree->InclusionProof(in.batch_index));
  } else {
    ASSIGN_OR_RETURN(std::vector<common::Hash> batch, chain.BlockLeafHashes(block->height));
    in.batch_size = batch.size();
    ASSIGN_OR_RETURN(in.batch_proof, notary::InclusionProof(batch, in.batch_index));
  }

  if (tokens.empty() || tokens.size() < sources.tsa_quorum) {
    return common::Error::Conflict("the message's block has " + std::to_string(tokens.size()) +
                                   " of the " +
                                   std::to_string(std::max<size_t>(1, sources.tsa_quorum)) +
                                   " time-stamp tokens it needs yet");
  }
  in.block = ToBundleBlock(*block, tokens);
  if (block->height > 0 && cache != nullptr) {
    ASSIGN_OR_RETURN(std::optional<EvidenceCache::Block> prev,
                     cache->BlockAt(chain, block->height - 1));
    if (prev) in.previous_block = ToBundleBlock(prev->row, prev->tokens);
  } else if (block->height > 0) {
    ASSIGN_OR_RETURN(std::optional<storage::BlockRow> prev, chain.BlockAt(block->height - 1));
    ASSIGN_OR_RETURN(std::vector<storage::TokenRow> prev_tokens, chain.Tokens(block->height - 1));
    if (prev) in.previous_block = ToBundleBlock(*prev, prev_tokens);
  }
  in.checkpoint = head->checkpoint;
  uint64_t checkpoint_size = static_cast<uint64_t>(head->tree_size);
  if (sources.witnessed) {
    // The newest tree the witness quorum cosigned; it must already hold the leaf.
    std::optional<storage::CosignedCheckpointRow> cosigned;
    if (cache != nullptr) {
      ASSIGN_OR_RETURN(cosigned, cache->Cosigned(chain));
    } else {
      ASSIGN_OR_RETURN(cosigned, chain.LatestCosignedCheckpoint());
    }
    if (!cosigned || cosigned->tree_size <= static_cast<int64_t>(in.leaf_index)) {
      return common::Error::Conflict(
          "no checkpoint cosigned by the witness quorum covers the message yet");
    }
    in.checkpoint = cosigned->checkpoint;
    checkpoint_size = static_cast<uint64_t>(cosigned->tree_size);
  }
  ASSIGN_OR_RETURN(in.checkpoint_proof,
                   notary::tlog::InclusionProof(in.leaf_index, checkpoint_size, tiles));

  if (erased) {
    // The erasure record must be in the same tree, so one checkpoint proves both.
    if (!erasure->action.leaf_index ||
        static_cast<uint64_t>(*erasure->action.leaf_index) >= checkpoint_size) {
      return common::Error::Conflict("the message's erasure record is not in a " +
                                     std::string(sources.witnessed ? "cosigned " : "") +
                                     "checkpoint yet");
    }
    notary::BundleErasure e;
    e.record = std::move(erasure->record);
    e.details = std::move(erasure->details);
    e.leaf_index = static_cast<uint64_t>(*erasure->action.leaf_index);
    e.leaf_hash = erasure->action.leaf_hash;
    ASSIGN_OR_RETURN(e.checkpoint_proof,
                     notary::tlog::InclusionProof(e.leaf_index, checkpoint_size, tiles));
    in.erasure = std::move(e);
  } else if (sources.authentications != nullptr && !request.part) {
    // Checked messages carry their sender evidence; a bundle issued in the seconds between the
    // check and its seal would lack it for good, so the client is told to retry instead.
    ASSIGN_OR_RETURN(std::optional<storage::AuthenticationRow> auth,
                     sources.authentications->Get(receipt.id));
    if (auth) {
      if (!auth->leaf_index || static_cast<uint64_t>(*auth->leaf_index) >= checkpoint_size) {
        return common::Error::Conflict("the message's sender evidence is not in a " +
                                       std::string(sources.witnessed ? "cosigned " : "") +
                                       "checkpoint yet");
      }
      notary::BundleAuthentication a;
      a.record = auth->record;
      a.leaf_index = static_cast<uint64_t>(*auth->leaf_index);
      a.leaf_hash = auth->leaf_hash;
      ASSIGN_OR_RETURN(a.checkpoint_proof,
                       notary::tlog::InclusionProof(a.leaf_index, checkpoint_size, tiles));
      a.results = std::move(auth->results);
      a.dns_archive = std::move(auth->dns_archive);
      in.authentication = std::move(a);
    } else if (sources.checks_expected_since_us &&
               receipt.received_at_us >= *sources.checks_expected_since_us) {
      return common::Error::Conflict("the message's sender checks are not finished");
    }
  }
  std::vector<storage::KeyRow> keys;
  if (cache != nullptr) {
    ASSIGN_OR_RETURN(keys, cache->Keys(sources.admin));
  } else {
    ASSIGN_OR_RETURN(keys, sources.admin.ListSigningKeys());
  }
  for (const auto& k : keys) {
    in.keys.push_back({k.key_id, k.public_pem, k.fingerprint, k.valid_from_us, k.valid_until_us});
  }
  in.tsa_chain_pem = sources.tsa.certs_pem();
  in.tsa_ca_pem = sources.tsa.ca_pem() + sources.tsa.external_ca_pem();
  in.issued_to = request.issued_to;
  in.issued_at_us = request.issued_at_us;
  in.lang = request.lang;
  return in;
}

}  // namespace pipeline
