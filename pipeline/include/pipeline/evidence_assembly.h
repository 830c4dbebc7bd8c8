// Evidence assembly: everything an evidence bundle (docs/evidence-bundle.md) holds for one
// sealed receipt, gathered from the stores. The HTTP route and case exports add who it is
// issued to, put the download on the access trail and zip it (evidence/bundle.h
// BuildBundleZip).
//
// Thread-safety: a stateless function; the stores and BlockTreeCache are thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/result.h"
#include "evidence/bundle.h"
#include "log/merkle.h"
#include "receipt/receipt.h"
#include "storage/admin_store.h"
#include "storage/authentication_store.h"
#include "storage/chain_store.h"
#include "storage/erasure_store.h"
#include "storage/journal_store.h"
#include "storage/receipt_store.h"

namespace pipeline {

class TsaService;

// The batch trees of the last few blocks, each read and built once. A case's production asks
// for the proofs of thousands of messages in a few blocks, in order; without it, every message
// read its block's leaf hashes again and rebuilt the tree.
class BlockTreeCache {
 public:
  common::Result<std::shared_ptr<const notary::MerkleTree>> Get(storage::ChainStore& chain,
                                                                int64_t height);

 private:
  static constexpr size_t kBlocks = 4;
  std::mutex mu_;
  std::map<int64_t, std::shared_ptr<const notary::MerkleTree>> trees_;  // GUARDED_BY(mu_)
};

struct EvidenceSources {
  storage::ReceiptStore& receipts;
  storage::ChainStore& chain;
  storage::AdminStore& admin;
  const TsaService& tsa;
  storage::JournalStore* journal = nullptr;  // journal reports, when kept
  // Witnesses are configured (--witness): the bundle carries the newest checkpoint the
  // witness quorum cosigned, never one they did not (docs/trust.md).
  bool witnessed = false;
  // Time-stamp tokens the block needs (--tsa-quorum) before its bundle is handed out.
  size_t tsa_quorum = 1;
  // Sender evidence (--sender-checks): a message that has an authentication row gets it in
  // its bundle, once the record's leaf is in the bundle's checkpoint.
  storage::AuthenticationStore* authentications = nullptr;
  // With the checks on: a message received at or after this time (µs) that has no
  // authentication row yet is still being checked, so its bundle waits (kConflict) rather than
  // lack the evidence for good. The route sets it to "now - --sender-check-max-delay-s", the
  // window the checker works in; older unchecked messages get bundles without it.
  std::optional<int64_t> checks_expected_since_us;
  // Erasures: an erased receipt's bundle carries its erasure record instead of the message
  // (docs/evidence-bundle.md §6a). Without it, an erased receipt has no bundle (kInternal).
  storage::ErasureStore* erasures = nullptr;
  // Many bundles at once (a case's production): block trees kept between them.
  BlockTreeCache* block_trees = nullptr;
};

struct EvidenceRequest {
  std::optional<std::string> part;  // selective disclosure: only this part's bytes
  std::string lang = "en";          // of the texts for people: en, ko or zh
  std::string issued_to;            // e.g. "API key … (tenant …)"
  int64_t issued_at_us = 0;
};

// The bundle's input for `receipt` (as ReceiptStore::Get read it), which must be sealed. An
// erased receipt gets the bundle of an erased message: hashes, proofs and its erasure record,
// nothing of the message.
// Errors: kNotFound (the message has no such part), kConflict (its block has no time-stamp
// token yet, or with witnesses no cosigned checkpoint covers it yet, or its sender checks are
// not finished or their evidence is not yet in the checkpoint, or its erasure record is not in
// the checkpoint yet: retry shortly), kNotFound also for a part of an erased message, kTooLarge (a
// version 1 receipt listing more parts than a bundle may hold), kUnavailable (the database),
// kInternal (a sealed receipt without its block, leaf or bytes).
common::Result<notary::BundleInput> AssembleEvidence(const notary::Receipt& receipt,
                                                     const EvidenceRequest& request,
                                                     const EvidenceSources& sources);

}  // namespace pipeline
