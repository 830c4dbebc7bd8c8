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

common::Result<std::shared_ptr<const notary::MerkleTree>> BlockTreeCache::Get(
    storage::ChainStore& chain, int64_t height) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = trees_.find(height); it != trees_.end()) return it->second;
  }
  // Built outside the lock: two threads may both build a block's tree the first time.
  ASSIGN_OR_RETURN(std::vector<common::Hash> leaves, chain.BlockLeafHashes(height));
  auto tree = std::make_shared<const notary::MerkleTree>(leaves);
  std::lock_guard<std::mutex> lock(mu_);
  if (trees_.size() >= kBlocks) trees_.erase(trees_.begin());  // the lowest: exports go upward
  trees_.emplace(height, tree);
  return std::shared_ptr<const notary::MerkleTree>(tree);
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
  ASSIGN_OR_RETURN(std::optional<storage::BlockRow> block, chain.BlockAt(*receipt.block_height));
  ASSIGN_OR_RETURN(std::optional<storage::BlockRow> head, chain.Latest());
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
  if (sources.block_trees != nullptr) {
    ASSIGN_OR_RETURN(auto tree, sources.block_trees->Get(chain, block->height));
    in.batch_size = tree->size();
    ASSIGN_OR_RETURN(in.batch_proof, tree->InclusionProof(in.batch_index));
  } else {
    ASSIGN_OR_RETURN(std::vector<common::Hash> batch, chain.BlockLeafHashes(block->height));
    in.batch_size = batch.size();
    ASSIGN_OR_RETURN(in.batch_proof, notary::InclusionProof(batch, in.batch_index));
  }

  ASSIGN_OR_RETURN(std::vector<storage::TokenRow> tokens, chain.Tokens(block->height));
  if (tokens.empty() || tokens.size() < sources.tsa_quorum) {
    return common::Error::Conflict("the message's block has " + std::to_string(tokens.size()) +
                                   " of the " +
                                   std::to_string(std::max<size_t>(1, sources.tsa_quorum)) +
                                   " time-stamp tokens it needs yet");
  }
  in.block = ToBundleBlock(*block, tokens);
  if (block->height > 0) {
    ASSIGN_OR_RETURN(std::optional<storage::BlockRow> prev, chain.BlockAt(block->height - 1));
    ASSIGN_OR_RETURN(std::vector<storage::TokenRow> prev_tokens, chain.Tokens(block->height - 1));
    if (prev) in.previous_block = ToBundleBlock(*prev, prev_tokens);
  }
  in.checkpoint = head->checkpoint;
  uint64_t checkpoint_size = static_cast<uint64_t>(head->tree_size);
  if (sources.witnessed) {
    // The newest tree the witness quorum cosigned; it must already hold the leaf.
    ASSIGN_OR_RETURN(std::optional<storage::CosignedCheckpointRow> cosigned,
                     chain.LatestCosignedCheckpoint());
    if (!cosigned || cosigned->tree_size <= static_cast<int64_t>(in.leaf_index)) {
      return common::Error::Conflict(
          "no checkpoint cosigned by the witness quorum covers the message yet");
    }
    in.checkpoint = cosigned->checkpoint;
    checkpoint_size = static_cast<uint64_t>(cosigned->tree_size);
  }
  ASSIGN_OR_RETURN(in.checkpoint_proof,
                   notary::tlog::InclusionProof(in.leaf_index, checkpoint_size, chain.Tiles()));

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
                     notary::tlog::InclusionProof(e.leaf_index, checkpoint_size, chain.Tiles()));
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
                       notary::tlog::InclusionProof(a.leaf_index, checkpoint_size, chain.Tiles()));
      a.results = std::move(auth->results);
      a.dns_archive = std::move(auth->dns_archive);
      in.authentication = std::move(a);
    } else if (sources.checks_expected_since_us &&
               receipt.received_at_us >= *sources.checks_expected_since_us) {
      return common::Error::Conflict("the message's sender checks are not finished");
    }
  }
  ASSIGN_OR_RETURN(std::vector<storage::KeyRow> keys, sources.admin.ListSigningKeys());
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
