// A small but real notary for the bundle tests: an Ed25519 key, a local RFC 3161 TSA, a chain
// of signed blocks over real leaf records, tokens and checkpoints, and a real message
// canonicalised by mime::Canonicalize. BundleFactory::Input() returns what notaryd's evidence
// route would hand to BuildBundleZip.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/bytes.h"
#include "evidence/bundle.h"
#include "log/action_record.h"
#include "log/ed25519.h"
#include "tsa_authority/local_ca.h"
#include "tsa_authority/responder.h"

namespace notary::bundle_test {

// 2026-01-15T10:20:30Z: the first block's sealing time; the TSA was created an hour before.
inline constexpr int64_t kT0 = 1768472430000000;

class BundleFactory {
 public:
  // `seed_byte` picks the notary key (so two factories are two notaries); `message` is the
  // exact bytes of the notarised e-mail.
  // `journal_report`: the message arrived unwrapped from this Exchange journal report (the
  // leaf record binds its hash; full bundles carry it).
  BundleFactory(uint8_t seed_byte, std::string origin, std::string message,
                std::optional<std::string> journal_report = std::nullopt);

  // The notary of tests/data/canonical/contract/base.eml, and another notary with the same
  // message but its own key and TSA.
  static const BundleFactory& A();
  static const BundleFactory& B();

  // The evidence of the notarised message (leaf 3, in block 1 of 3 blocks; checkpoint at the
  // newest size 7). `part`: selective disclosure of that part (only "2", the PDF).
  BundleInput Input(std::optional<std::string> part = std::nullopt, std::string lang = "en") const;
  std::string Zip(std::optional<std::string> part = std::nullopt, std::string lang = "en") const;

  // The bundle of the same message after its erasure: the log grew by a filler leaf 7 and the
  // erasure record (leaf 8, acted five days after kT0, with `reason`), and the checkpoint is
  // the one at size 9. `record` replaces the action record when given (a forger's).
  BundleInput ErasedInput(std::string reason = "subject's request under GDPR art. 17",
                          std::string lang = "en",
                          std::optional<ActionRecord> record = std::nullopt) const;
  // The erasure record ErasedInput uses.
  ActionRecord ErasureRecord(const std::string& reason) const;

  // A checkpoint at size 9 (two more leaves) signed by this notary and the consistency proof
  // from size 7 as GET /v1/proofs/consistency returns it. consistent=false: a forked log whose
  // first 7 leaves differ (the proof is honest for the fork, so the roots cannot match).
  std::string NewerCheckpoint(bool consistent) const;
  std::string ConsistencyProofJson(bool consistent) const;

  // Re-signs the blocks and checkpoint of `in` with `signer`, re-time-stamps them with this
  // factory's TSA and replaces the keys by the new one: what a forger with his own key does.
  void Reseal(BundleInput& in, const Ed25519Signer& signer) const;

  const std::string& message() const { return message_; }
  // The decoded bytes of part 2 (contract.pdf) of tests/data/canonical/contract/base.eml.
  std::string Attachment() const;
  const Ed25519Signer& signer() const { return signer_; }
  std::string public_pem() const { return signer_.PublicPem(); }
  std::string fingerprint() const { return Fingerprint(signer_.public_key()); }
  const LocalTsa& tsa() const { return local_tsa_; }

 private:
  struct Block {
    std::string header, signature;
    common::Hash hash{};
    std::vector<BundleToken> tokens;
  };
  std::vector<BundleToken> Stamp(const common::Hash& block_hash, int64_t at_us) const;
  Block Seal(uint64_t height, const common::Hash& prev, uint64_t first, uint64_t count,
             const std::vector<common::Hash>& all_leaves, int64_t sealed_at_us,
             const Ed25519Signer& signer) const;

  std::string origin_;
  std::string message_;
  std::optional<std::string> journal_report_;
  Ed25519Signer signer_;
  LocalTsa local_tsa_;
  std::unique_ptr<TsaResponder> tsa_;
  std::shared_ptr<int64_t> tsa_now_;  // the TSA's injected clock

  std::string leaf_record_;
  std::vector<common::Hash> leaves_;  // leaf hashes of the 7 sealed leaves
  std::vector<Block> blocks_;         // heights 0, 1, 2
  std::string checkpoint_;            // at size 7
  Receipt receipt_;
};

// Zip writing for hostile-input tests: entries in order, names as given, deflated.
std::string MakeZip(const std::vector<std::pair<std::string, std::string>>& entries);

}  // namespace notary::bundle_test
