// Evidence assembly: everything an evidence bundle (docs/evidence-bundle.md) holds for one
// sealed receipt, gathered from the stores. The HTTP route and case exports add who it is
// issued to, put the download on the access trail and zip it (evidence/bundle.h
// BuildBundleZip).
//
// Thread-safety: a stateless function; the stores and EvidenceCache are thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/result.h"
#include "common/thread_annotations.h"
#include "evidence/bundle.h"
#include "log/merkle.h"
#include "log/tlog.h"
#include "receipt/receipt.h"
#include "storage/admin_store.h"
#include "storage/authentication_store.h"
#include "storage/chain_store.h"
#include "storage/erasure_store.h"
#include "storage/journal_store.h"
#include "storage/receipt_store.h"

namespace pipeline {

class TsaService;

// What the bundles of one production share, each read once (a case's production asks for
// thousands of messages in a few blocks, in order; without it every message read its block,
// the block before, their tokens, the keys, the head and the tiles of its proof again, and
// rebuilt its block's tree: half of PostgreSQL's work in an export, docs/benchmarks.md):
//   - the batch trees, block rows and tokens of the last few blocks;
//   - the signing keys, and the head and cosigned checkpoint, as of the first bundle: every
//     bundle of the production is proven against the same checkpoint;
//   - the log's tiles, up to kTiles of them (their contents never change).
// Only for one production at a time: a block's tokens that arrive during it are not seen.
class EvidenceCache {
 public:
  common::Result<std::shared_ptr<const notary::MerkleTree>> Tree(storage::ChainStore& chain,
                                                                 int64_t height) EXCLUDES(mu_);
  // The block at `height` and its tokens; nullopt when there is none.
  struct Block {
    storage::BlockRow row;
    std::vector<storage::TokenRow> tokens;
  };
  common::Result<std::optional<Block>> BlockAt(storage::ChainStore& chain, int64_t height)
      EXCLUDES(mu_);
  common::Result<std::vector<storage::KeyRow>> Keys(storage::AdminStore& admin) EXCLUDES(mu_);
  common::Result<std::optional<storage::BlockRow>> Head(storage::ChainStore& chain) EXCLUDES(mu_);
  common::Result<std::optional<storage::CosignedCheckpointRow>> Cosigned(storage::ChainStore& chain)
      EXCLUDES(mu_);
  // A tile reader over `chain`'s that remembers what it read.
  notary::tlog::TileReader& Tiles(storage::ChainStore& chain);

 private:
  static constexpr size_t kBlocks = 4;
  static constexpr size_t kTiles = 4096;  // at most 8 KiB each
  class CachingTiles : public notary::tlog::TileReader {
   public:
    CachingTiles(EvidenceCache& cache, storage::ChainStore& chain) : cache_(cache), chain_(chain) {}
    common::Result<std::vector<std::string>> ReadTiles(
        std::span<const notary::tlog::TileId> ids) override;

   private:
    EvidenceCache& cache_;
    storage::ChainStore& chain_;
  };

  common::Mutex mu_;
  std::map<int64_t, std::shared_ptr<const notary::MerkleTree>> trees_ GUARDED_BY(mu_);
  std::map<int64_t, std::optional<Block>> blocks_ GUARDED_BY(mu_);
  std::optional<std::vector<storage::KeyRow>> keys_ GUARDED_BY(mu_);
  std::optional<std::optional<storage::BlockRow>> head_ GUARDED_BY(mu_);
  std::optional<std::optional<storage::CosignedCheckpointRow>> cosigned_ GUARDED_BY(mu_);
  // (level, index) -> the widest contents read
  std::map<std::pair<int, int64_t>, std::string> tiles_ GUARDED_BY(mu_);
  std::unique_ptr<CachingTiles> reader_ GUARDED_BY(mu_);
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
  // Many bundles at once (a case's production): what they share, read once.
  EvidenceCache* cache = nullptr;
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
