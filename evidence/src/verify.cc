// VerifyBundle: every check of docs/verifying.md, in order, one result each.
#include <algorithm>
#include <climits>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>

#include "bundle_internal.h"
#include "common/rfc6962.h"
#include "common/sha256.h"
#include "common/time.h"
#include "evidence/bundle.h"
#include "log/action_record.h"
#include "log/authentication_record.h"
#include "log/block.h"
#include "log/checkpoint.h"
#include "log/cosignature.h"
#include "log/ed25519.h"
#include "log/merkle.h"
#include "mime/canonical.h"
#include "mime/journal_report.h"
#include "sender/authentication_json.h"
#include "sender/dnssec.h"
#include "sender/evaluate.h"
#include "tsa/client.h"
#include "tsa/token.h"

namespace notary {
namespace {

using namespace bundle_internal;

// A message may arrive while the previous block is being sealed and time-stamped, and then
// lands in the next block with a reception time slightly before the previous block's token.
// Sealing (with the built-in TSA) takes well under a second; a minute also absorbs clock
// differences between the receiving node and the TSA.
constexpr int64_t kSealingToleranceUs = 60'000'000;

struct KnownKey {
  Ed25519PublicKey key{};
  std::string key_id;
  std::string fingerprint;
  const BundleKey* meta = nullptr;  // the bundle's entry, when the key came from the bundle
};

std::string Short(std::string_view s, size_t n = 200) {
  std::string out;
  for (char c : s.substr(0, n)) out += (static_cast<unsigned char>(c) < 0x20) ? '?' : c;
  if (s.size() > n) out += "...";
  return out;
}

class Verifier {
 public:
  Verifier(const Bundle& bundle, const VerifyOptions& options)
      : b_(bundle), in_(bundle.evidence), opt_(options) {}

  VerifyReport Run() {
    report_.receipt_id = in_.receipt.id;
    report_.received_at_us = in_.receipt.received_at_us;
    LoadKeys();
    CheckFiles();
    CheckRawHash();
    CheckCanonicalHash();
    CheckPartRecords();
    CheckPartsRoot();
    CheckLeafRecord();
    CheckLeafHash();
    CheckBlockHeader();
    CheckBatchInclusion();
    CheckBlockSignature();
    CheckBlockHash();
    CheckBlockTokens();
    CheckPreviousTokens();
    CheckInterval();
    CheckCheckpointSignature();
    CheckCheckpointInclusion();
    CheckConsistency();
    CheckEml();
    CheckAttachment();
    CheckJournalReport();
    CheckTexts();
    CheckWitnesses();
    CheckSenderRecord();
    CheckSenderDkim();
    CheckSenderPolicy();
    CheckSenderDnssec();
    CheckErasure();
    report_.valid =
        std::none_of(report_.checks.begin(), report_.checks.end(),
                     [](const CheckResult& c) { return c.status == CheckStatus::kFail; });
    return std::move(report_);
  }

 private:
  void Add(const char* id, const char* name, CheckStatus status, std::string reason) {
    report_.checks.push_back({id, name, status, std::move(reason)});
  }
  void Pass(const char* id, const char* name, std::string r) {
    Add(id, name, CheckStatus::kPass, std::move(r));
  }
  void Fail(const char* id, const char* name, std::string r) {
    Add(id, name, CheckStatus::kFail, std::move(r));
  }
  void Skip(const char* id, const char* name, std::string r) {
    Add(id, name, CheckStatus::kSkip, std::move(r));
  }

  // The keys that may sign: pinned ones when any were given, else the bundle's own.
  void LoadKeys() {
    pinned_ = !opt_.pinned_key_pems.empty() || !opt_.pinned_fingerprints.empty();
    report_.key_self_declared = !pinned_;
    report_.tsa_ca_self_declared = opt_.tsa_ca_pems.empty();
    if (opt_.tsa_ca_pems.empty()) {
      tsa_roots_ = in_.tsa_ca_pem;
    } else {
      for (const auto& pem : opt_.tsa_ca_pems) {
        tsa_roots_ += pem;
        if (!pem.empty() && pem.back() != '\n') tsa_roots_ += '\n';
      }
    }
    std::vector<std::string> pinned_fps;
    for (const auto& fp : opt_.pinned_fingerprints) {
      std::string lower;
      for (char c : fp) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      pinned_fps.push_back(lower);
    }
    for (const auto& k : in_.keys) {
      auto pk = ParseEd25519PublicKey(k.public_key_pem);
      if (!pk.ok()) {
        key_notes_ += " Key " + k.key_id + " in the bundle is not an Ed25519 public key.";
        continue;
      }
      KnownKey known{*pk, KeyId(*pk), Fingerprint(*pk), &k};
      if (known.key_id != k.key_id || known.fingerprint != k.fingerprint) {
        key_notes_ += " Key " + k.key_id +
                      " in the bundle has a key_id or fingerprint that does not match its PEM.";
        continue;
      }
      bundle_keys_.push_back(known);
      if (!pinned_ ||
          std::find(pinned_fps.begin(), pinned_fps.end(), known.fingerprint) != pinned_fps.end()) {
        trusted_.push_back(known);
      }
    }
    for (const auto& pem : opt_.pinned_key_pems) {
      auto pk = ParseEd25519PublicKey(pem);
      if (!pk.ok()) {
        key_notes_ += " A pinned key is not an Ed25519 public key PEM.";
        continue;
      }
      KnownKey known{*pk, KeyId(*pk), Fingerprint(*pk), nullptr};
      // Prefer the bundle's entry (it has the validity period) when it is the same key.
      for (const auto& bk : bundle_keys_) {
        if (bk.key == known.key) known.meta = bk.meta;
      }
      trusted_.push_back(known);
    }
  }

  const KnownKey* TrustedById(std::string_view key_id) const {
    for (const auto& k : trusted_) {
      if (k.key_id == key_id) return &k;
    }
    return nullptr;
  }
  const KnownKey* BundleKeyById(std::string_view key_id) const {
    for (const auto& k : bundle_keys_) {
      if (k.key_id == key_id) return &k;
    }
    return nullptr;
  }

  // Signature of one block under a trusted key; returns the reason on failure.
  std::optional<std::string> BlockSignatureProblem(const BlockHeader& header,
                                                   std::string_view signature,
                                                   const KnownKey** used) {
    const KnownKey* key = TrustedById(header.key_id);
    if (key == nullptr) {
      const KnownKey* declared = BundleKeyById(header.key_id);
      if (pinned_) {
        return "block " + std::to_string(header.height) + " is signed by key " +
               Short(header.key_id, 64) +
               (declared ? " (fingerprint " + declared->fingerprint + ")" : "") +
               ", which is not a pinned key: another notary, or a forgery." + key_notes_;
      }
      return "the bundle carries no usable key " + Short(header.key_id, 64) +
             " that signed block " + std::to_string(header.height) + "." + key_notes_;
    }
    auto st = VerifyBlock(header, common::AsBytes(signature), key->key);
    if (!st.ok()) {
      return "the signature of block " + std::to_string(header.height) +
             " does not verify under key " + key->key_id + " (" + st.error().message() + ")";
    }
    if (key->meta != nullptr) {
      bool before = header.sealed_at_us < key->meta->valid_from_us;
      bool after = key->meta->valid_until_us && header.sealed_at_us >= *key->meta->valid_until_us;
      if (before || after) {
        return "block " + std::to_string(header.height) + " was sealed at " +
               common::FormatRfc3339Micros(header.sealed_at_us) +
               ", outside the validity period of key " + key->key_id;
      }
    }
    *used = key;
    return std::nullopt;
  }

  bool TsaPinned() const { return !opt_.tsa_ca_pems.empty(); }

  // What the tokens over one block establish.
  struct TokenTally {
    int64_t earliest_upper = INT64_MAX;  // min over counted tokens of genTime + accuracy
    int64_t latest_lower = INT64_MIN;    // max over counted tokens of genTime - accuracy
    std::vector<StampingAuthority> stamps;
    std::string summary;  // the counted tokens
    std::string ignored;  // the tokens of authorities that are not pinned
  };

  // Verifies every token over `digest` against the trusted roots (tsa_roots_) and counts the
  // distinct authorities (signing certificate subject + issuer). A token that is malformed,
  // over another imprint, or (with pinned roots) from a pinned authority yet not valid, is a
  // problem; with pinned roots, a token whose signer chains to none of them is not counted.
  // Fewer distinct authorities than the quorum (at least 1) is a problem.
  std::optional<std::string> TokensProblem(const BundleBlock& block, const common::Hash& digest,
                                           uint64_t height, TokenTally& tally) {
    if (block.tokens.empty()) {
      return "block " + std::to_string(height) + " has no time-stamp token";
    }
    std::set<std::string> authorities;
    std::string counted_names;
    for (size_t i = 0; i < block.tokens.size(); ++i) {
      const auto& t = block.tokens[i];
      std::string file = TokenFileName(height, i);
      auto parsed = ParseToken(t.der);
      if (!parsed.ok()) return file + " is not a time-stamp token: " + parsed.error().message();
      if (parsed->hash_alg != TsaHashAlg::kSha256) {
        return file + " is over a " + std::string(TsaHashAlgName(parsed->hash_alg)) +
               " imprint, not the SHA-256 block hash";
      }
      if (parsed->imprint != common::AsChars(digest)) {
        return file + "'s message imprint " + common::ToHex(common::AsBytes(parsed->imprint)) +
               " is not the block hash " + common::ToHex(digest);
      }
      StampingAuthority stamp{t.tsa, "", "", parsed->gen_time_us, t.tsa == "local", false};
      auto v = VerifyToken(t.der, digest, TsaHashAlg::kSha256, tsa_roots_, in_.tsa_chain_pem);
      if (!v.ok()) {
        if (!TsaPinned()) return file + " (" + Short(t.tsa, 80) + "): " + v.error().message();
        auto who = IdentifyTokenSigner(t.der, tsa_roots_, in_.tsa_chain_pem);
        if (!who.ok() || who->chains_to_trusted) {
          return file + " (" + Short(t.tsa, 80) + ")" +
                 (who.ok() ? ", signed by pinned authority " + Short(who->subject, 120) : "") +
                 ", does not verify: " + v.error().message();
        }
        stamp.subject = who->subject;
        stamp.issuer = who->issuer;
        tally.stamps.push_back(stamp);
        tally.ignored += "; " + Short(t.tsa, 80) + " (" + Short(who->subject, 120) +
                         ") is not a pinned authority: not counted";
        continue;
      }
      stamp.subject = v->signer_subject;
      stamp.issuer = v->signer_issuer;
      stamp.gen_time_us = v->gen_time_us;
      stamp.counted = true;
      tally.stamps.push_back(stamp);
      if (authorities.insert(v->signer_subject + "\n" + v->signer_issuer).second) {
        if (!counted_names.empty()) counted_names += ", ";
        counted_names += Short(v->signer_subject, 120);
      }
      int64_t acc = v->accuracy_us > 0 ? v->accuracy_us : 0;
      tally.earliest_upper = std::min(tally.earliest_upper, v->gen_time_us + acc);
      tally.latest_lower = std::max(tally.latest_lower, v->gen_time_us - acc);
      if (!tally.summary.empty()) tally.summary += "; ";
      tally.summary += Short(t.tsa, 80) + " at " + common::FormatRfc3339Micros(v->gen_time_us) +
                       " (" + Short(v->signer_subject, 120) + ")";
    }
    const size_t quorum = std::max<size_t>(opt_.tsa_quorum, 1);
    if (authorities.size() < quorum) {
      return "block " + std::to_string(height) + ": tokens of " +
             std::to_string(authorities.size()) + " distinct authorit" +
             (authorities.size() == 1 ? "y" : "ies") + " verified against the " +
             (TsaPinned() ? "pinned" : "bundle's") + " roots (" +
             (counted_names.empty() ? std::string("none") : counted_names) + "), " +
             std::to_string(quorum) + " required (--tsa-quorum)" + tally.ignored;
    }
    return std::nullopt;
  }

  // Why a record's leaf (sender evidence, an erasure) is not proven in the tree of check 15's
  // checkpoint; nullopt when it is.
  std::optional<std::string> RecordNotInCheckpoint(const common::Hash& leaf, uint64_t index,
                                                   const std::vector<common::Hash>& proof) const {
    if (!checkpoint_) return "no verified checkpoint to find the record's leaf in";
    auto st = VerifyInclusion(leaf, index, checkpoint_->size, proof, checkpoint_->root);
    if (st.ok()) return std::nullopt;
    return "the record's leaf " + std::to_string(index) +
           " is not proven in the checkpoint's tree (" + st.error().message() + ")";
  }

  // ---- the checks, in order ----

  void CheckFiles() {
    static constexpr const char* kId = "bundle.files";
    static constexpr const char* kName = "Loose copies agree with evidence.json";
    std::string problems;
    for (const auto& [name, data] : LooseFiles(in_)) {
      auto it = b_.files.find(name);
      if (it == b_.files.end()) {
        problems += " " + name + " is missing;";
      } else if (it->second != data) {
        problems += " " + name + " differs from evidence.json;";
      }
    }
    if (in_.format_version >= 2 && !in_.disclosed_part && !in_.Erased() &&
        common::Sha256Of(in_.canonical_form) != in_.receipt.canonical_sha256) {
      problems += " " + std::string(kCanonicalFormFile) +
                  " does not have the SHA-256 message.canonical_sha256 states;";
    }
    if (!problems.empty()) return Fail(kId, kName, "Copies disagree:" + problems);
    Pass(kId, kName, "every file the openssl commands of VERIFY.md use equals evidence.json");
  }

  void CheckRawHash() {
    static constexpr const char* kId = "message.raw_sha256";
    static constexpr const char* kName = "Raw hash of message.eml";
    if (in_.Erased()) {
      return Skip(kId, kName,
                  "the message was erased (check erasure.record): message.eml is destroyed; its "
                  "raw hash " +
                      common::ToHex(in_.receipt.raw_sha256) +
                      " is stated, bound by the leaf record, and a copy can be compared (--eml)");
    }
    if (in_.disclosed_part) {
      return Skip(kId, kName,
                  "selective disclosure: message.eml is withheld; its raw hash " +
                      common::ToHex(in_.receipt.raw_sha256) + " is stated, not recomputable");
    }
    common::Hash h = common::Sha256Of(in_.message);
    if (h != in_.receipt.raw_sha256) {
      return Fail(kId, kName,
                  "SHA-256 of message.eml is " + common::ToHex(h) + ", evidence states " +
                      common::ToHex(in_.receipt.raw_sha256) + ": the message bytes were changed");
    }
    Pass(kId, kName, common::ToHex(h) + " over " + std::to_string(in_.message.size()) + " bytes");
  }

  void CheckCanonicalHash() {
    static constexpr const char* kId = "message.canonical_sha256";
    static constexpr const char* kName = "Canonical hash recomputed";
    if (in_.Erased()) {
      return Skip(kId, kName,
                  "the message was erased: its canonical hash " +
                      common::ToHex(in_.receipt.canonical_sha256) +
                      " is stated, bound by the leaf record, and a copy can be compared (--eml)");
    }
    if (in_.disclosed_part) {
      return Skip(kId, kName,
                  "selective disclosure: the canonical hash " +
                      common::ToHex(in_.receipt.canonical_sha256) + " is stated, not recomputable");
    }
    if (!mime::IsSupportedCanonVersion(in_.receipt.canon_version)) {
      return Fail(kId, kName,
                  "canonical form version " + std::to_string(in_.receipt.canon_version) +
                      " is not implemented by this verifier (it implements 1 to " +
                      std::to_string(mime::kLatestCanonVersion) + ")");
    }
    canonical_ = mime::Canonicalize(in_.message, in_.receipt.canon_version);
    if (canonical_->canonical_sha256 != in_.receipt.canonical_sha256) {
      return Fail(kId, kName,
                  "recomputed " + common::ToHex(canonical_->canonical_sha256) +
                      ", evidence states " + common::ToHex(in_.receipt.canonical_sha256));
    }
    if (in_.format_version >= 2 && canonical_->canonical != in_.canonical_form) {
      return Fail(kId, kName,
                  std::string(kCanonicalFormFile) + " is not the canonical form of message.eml");
    }
    Pass(kId, kName,
         common::ToHex(canonical_->canonical_sha256) + " (canonical form v" +
             std::to_string(in_.receipt.canon_version) + ")");
  }

  void CheckPartRecords() {
    static constexpr const char* kId = "parts.records";
    static constexpr const char* kName = "Part records and their hashes";
    std::string problems;
    part_leaves_.clear();
    if (in_.stated_parts.size() != in_.receipt.parts.size()) {
      return Fail(kId, kName, "evidence.json's part list is incomplete");
    }
    if (in_.Erased()) {
      if (!in_.receipt.parts.empty()) {
        return Fail(kId, kName, "an erased message's bundle lists part records");
      }
      return Skip(kId, kName,
                  "the message was erased: its part records (which named its files) are "
                  "destroyed");
    }
    for (size_t i = 0; i < in_.receipt.parts.size(); ++i) {
      const Part& p = in_.receipt.parts[i];
      const common::Hash& stated_leaf = in_.stated_parts[i].record_leaf_hash;
      if (in_.Withheld(i)) {
        if (!in_.disclosed_part)
          problems += " part " + p.position + " is redacted in a full bundle;";
        part_leaves_.push_back(stated_leaf);
        continue;
      }
      common::Hash leaf = PartRecordLeafHash(p, in_.receipt.canon_version);
      if (leaf != stated_leaf) {
        problems += " part " + p.position + "'s record_leaf_hash does not match its fields;";
      }
      part_leaves_.push_back(leaf);
    }
    if (in_.disclosed_part) {
      const Part* part = nullptr;
      bool withheld = true;
      for (size_t i = 0; i < in_.receipt.parts.size(); ++i) {
        if (in_.receipt.parts[i].position == in_.disclosed_part->position) {
          part = &in_.receipt.parts[i];
          withheld = in_.Withheld(i);
        }
      }
      const std::string& bytes = in_.disclosed_part->bytes;
      if (part == nullptr || withheld) {
        problems += " the disclosed part has no record;";
      } else if (common::Sha256Of(bytes) != part->sha256 || bytes.size() != part->size) {
        problems += " " + PartFileName(part->position) + " (SHA-256 " +
                    common::ToHex(common::Sha256Of(bytes)) + ", " + std::to_string(bytes.size()) +
                    " bytes) does not match its record;";
      }
      if (!problems.empty()) return Fail(kId, kName, "Problems:" + problems);
      return Pass(kId, kName,
                  PartFileName(in_.disclosed_part->position) + " matches its record (SHA-256 " +
                      common::ToHex(part->sha256) + "); the other " +
                      std::to_string(in_.receipt.parts.size() - 1) + " part(s) are withheld");
    }
    if (canonical_) {
      const auto& got = canonical_->parts;
      if (got.size() != in_.receipt.parts.size()) {
        problems += " the message has " + std::to_string(got.size()) + " parts, evidence lists " +
                    std::to_string(in_.receipt.parts.size()) + ";";
      } else {
        for (size_t i = 0; i < got.size(); ++i) {
          // The fields compared as a version 1 record encodes them (salts are not derived).
          if (in_.Withheld(i) || mime::EncodePartRecord(got[i], 1) !=
                                     mime::EncodePartRecord(in_.receipt.parts[i], 1)) {
            problems += " part " + got[i].position + " differs from its record;";
          }
        }
      }
    } else {
      problems += " the message could not be canonicalised, so its parts were not recomputed;";
    }
    if (!problems.empty()) return Fail(kId, kName, "Problems:" + problems);
    Pass(kId, kName,
         std::to_string(in_.receipt.parts.size()) +
             " part(s) recomputed from message.eml match their "
             "records");
  }

  void CheckPartsRoot() {
    static constexpr const char* kId = "parts.root";
    static constexpr const char* kName = "Parts root";
    if (in_.Erased()) {
      return Skip(kId, kName,
                  "the message was erased: parts_root " + common::ToHex(in_.receipt.parts_root) +
                      " is stated, bound by the leaf record, and its records are destroyed");
    }
    common::Hash root = common::MerkleRoot(part_leaves_);
    if (root != in_.receipt.parts_root) {
      return Fail(kId, kName,
                  "Merkle root of the part records is " + common::ToHex(root) +
                      ", evidence states " + common::ToHex(in_.receipt.parts_root));
    }
    Pass(kId, kName,
         common::ToHex(root) + " over " + std::to_string(part_leaves_.size()) + " part record(s)");
  }

  void CheckLeafRecord() {
    static constexpr const char* kId = "leaf.record";
    static constexpr const char* kName = "Leaf record matches the evidence";
    auto rec = LeafRecord::Decode(in_.leaf_record);
    if (!rec.ok()) return Fail(kId, kName, "leaf record does not decode: " + rec.error().message());
    std::string diff;
    if (rec->receipt_id != in_.receipt.id) diff += " receipt.id;";
    if (rec->received_at_us != in_.receipt.received_at_us) {
      diff += " receipt.received_at_us (record says " +
              common::FormatRfc3339Micros(rec->received_at_us) + ");";
    }
    if (rec->tenant != in_.receipt.tenant) diff += " receipt.tenant;";
    if (rec->raw_sha256 != in_.receipt.raw_sha256) diff += " message.raw_sha256;";
    if (rec->canonical_sha256 != in_.receipt.canonical_sha256) diff += " message.canonical_sha256;";
    if (rec->canonical_version != in_.receipt.canon_version) diff += " message.canon_version;";
    if (rec->parts_root != in_.receipt.parts_root) diff += " parts_root;";
    // An erased message's envelope is withheld: its digest stays in the record, unchecked.
    if (!in_.Erased() && rec->envelope_digest != EnvelopeDigest(in_.receipt.envelope)) {
      diff += " receipt.envelope (the envelope digest recomputed from it differs);";
    }
    // Version 2 binds the provenance; a bundle must then say so, and must not claim it for a
    // version 1 record, whose provenance nothing binds.
    if (rec->format_version >= 2) {
      if (!in_.receipt.provenance_bound()) diff += " receipt.provenance_bound (must be true);";
      if (rec->provenance != in_.receipt.provenance) diff += " receipt.provenance;";
    } else if (in_.receipt.provenance_bound()) {
      diff += " receipt.provenance_bound (a version 1 record binds no provenance);";
    }
    if (!diff.empty()) {
      return Fail(kId, kName, "the notarised leaf record disagrees with evidence.json:" + diff);
    }
    record_ = std::move(*rec);
    Pass(kId, kName,
         "receipt " + Short(record_->receipt_id, 64) + ", received " +
             common::FormatRfc3339Micros(record_->received_at_us) +
             (in_.Erased() ? ", hashes and tenant match; the envelope was erased (its digest " +
                                 common::ToHex(record_->envelope_digest) + " stays in the record)"
                           : ", hashes, tenant and envelope digest " +
                                 common::ToHex(record_->envelope_digest) + " all match"));
  }

  void CheckLeafHash() {
    static constexpr const char* kId = "leaf.hash";
    static constexpr const char* kName = "Leaf hash";
    leaf_hash_ = common::HashLeaf(in_.leaf_record);
    if (leaf_hash_ != in_.leaf_hash) {
      return Fail(kId, kName,
                  "SHA-256(0x00 || leaf record) is " + common::ToHex(leaf_hash_) +
                      ", evidence states " + common::ToHex(in_.leaf_hash));
    }
    Pass(kId, kName, common::ToHex(leaf_hash_) + ", leaf " + std::to_string(in_.leaf_index));
  }

  void CheckBlockHeader() {
    static constexpr const char* kId = "block.header";
    static constexpr const char* kName = "Block header";
    auto h = BlockHeader::Decode(in_.block.header);
    if (!h.ok()) return Fail(kId, kName, "does not decode: " + h.error().message());
    report_.block_height = h->height;
    if (auto st = h->Validate(); !st.ok()) return Fail(kId, kName, st.error().message());
    if (in_.leaf_index < h->first_leaf_index ||
        in_.leaf_index - h->first_leaf_index >= h->leaf_count) {
      return Fail(kId, kName,
                  "leaf " + std::to_string(in_.leaf_index) + " is not in block " +
                      std::to_string(h->height) + " (leaves " +
                      std::to_string(h->first_leaf_index) + " to " +
                      std::to_string(h->tree_size - 1) + ")");
    }
    if (in_.batch_index != in_.leaf_index - h->first_leaf_index ||
        in_.batch_size != h->leaf_count) {
      return Fail(kId, kName, "batch_proof index/size disagree with the header");
    }
    header_ = std::move(*h);
    Pass(kId, kName,
         "block " + std::to_string(header_->height) + ", leaves " +
             std::to_string(header_->first_leaf_index) + " to " +
             std::to_string(header_->tree_size - 1) + ", sealed " +
             common::FormatRfc3339Micros(header_->sealed_at_us) + ", key " +
             Short(header_->key_id, 64));
  }

  void CheckBatchInclusion() {
    static constexpr const char* kId = "batch.inclusion";
    static constexpr const char* kName = "Leaf included in the block's batch";
    if (!header_) return Fail(kId, kName, "no valid block header");
    auto st = VerifyInclusion(leaf_hash_, in_.batch_index, in_.batch_size, in_.batch_proof,
                              header_->batch_root);
    if (!st.ok()) {
      return Fail(kId, kName,
                  "the inclusion proof does not lead to batch_root " +
                      common::ToHex(header_->batch_root) + " (" + st.error().message() + ")");
    }
    Pass(kId, kName,
         "position " + std::to_string(in_.batch_index) + " of " + std::to_string(in_.batch_size) +
             ", " + std::to_string(in_.batch_proof.size()) + " proof hash(es) lead to batch_root " +
             common::ToHex(header_->batch_root));
  }

  void CheckBlockSignature() {
    static constexpr const char* kId = "block.signature";
    static constexpr const char* kName = "Notary's signature on the block";
    if (!header_) return Fail(kId, kName, "no valid block header");
    const KnownKey* used = nullptr;
    if (auto problem = BlockSignatureProblem(*header_, in_.block.signature, &used)) {
      if (const KnownKey* declared = BundleKeyById(header_->key_id)) {
        report_.key_fingerprint = declared->fingerprint;
      }
      return Fail(kId, kName, *problem);
    }
    report_.key_fingerprint = used->fingerprint;
    if (pinned_) {
      return Pass(kId, kName,
                  "valid Ed25519 signature by pinned key " + used->key_id + " (fingerprint " +
                      used->fingerprint + ")");
    }
    Pass(kId, kName,
         "valid Ed25519 signature by key " + used->key_id +
             ", but that key is SELF-DECLARED by the bundle: compare its fingerprint " +
             used->fingerprint + " with the notary's published one, or pass --fingerprint/--key");
  }

  void CheckBlockHash() {
    static constexpr const char* kId = "block.hash";
    static constexpr const char* kName = "Block hash";
    if (!header_) return Fail(kId, kName, "no valid block header");
    auto h = BlockHash(*header_, common::AsBytes(in_.block.signature));
    if (!h.ok()) return Fail(kId, kName, h.error().message());
    block_hash_ = *h;
    if (*h != in_.block.block_hash) {
      return Fail(kId, kName,
                  "SHA-256(header || signature) is " + common::ToHex(*h) + ", evidence states " +
                      common::ToHex(in_.block.block_hash));
    }
    Pass(kId, kName, common::ToHex(*h));
  }

  std::string CaNote() const {
    return report_.tsa_ca_self_declared
               ? " The TSA root certificate is SELF-DECLARED by the bundle; pass --tsa-ca with "
                 "one obtained from the TSA."
               : " Chain verified to the --tsa-ca root.";
  }

  void CheckBlockTokens() {
    static constexpr const char* kId = "timestamp.block";
    static constexpr const char* kName = "Time-stamps on the block";
    if (!block_hash_) return Fail(kId, kName, "no block hash to compare the tokens with");
    TokenTally tally;
    auto problem = TokensProblem(in_.block, *block_hash_, header_->height, tally);
    report_.authorities = tally.stamps;
    if (problem) return Fail(kId, kName, *problem);
    report_.not_after_us = tally.earliest_upper;
    Pass(kId, kName,
         tally.summary + ": imprint = block hash, signature and chain valid" + tally.ignored + "." +
             CaNote());
  }

  void CheckPreviousTokens() {
    static constexpr const char* kId = "timestamp.previous";
    static constexpr const char* kName = "Time-stamps on the previous block";
    if (!header_) return Fail(kId, kName, "no valid block header");
    if (!in_.previous_block) {
      if (header_->height == 0) {
        return Skip(kId, kName, "genesis block: there is no previous block, so no lower bound");
      }
      // Without its predecessor a block's reception time has no lower bound at all: dropping
      // previous_block would let a backdated receipt pass.
      return Fail(kId, kName,
                  "block " + std::to_string(header_->height) +
                      " is not the genesis block, but the bundle carries no previous block");
    }
    if (header_->height == 0) {
      return Fail(kId, kName, "the genesis block has no previous block, yet the bundle gives one");
    }
    const BundleBlock& prev = *in_.previous_block;
    auto ph = BlockHeader::Decode(prev.header);
    if (!ph.ok()) return Fail(kId, kName, "previous header does not decode");
    if (ph->height + 1 != header_->height) {
      return Fail(kId, kName, "the previous block has height " + std::to_string(ph->height));
    }
    auto hash = BlockHash(*ph, common::AsBytes(prev.signature));
    if (!hash.ok() || *hash != header_->prev_block_hash || *hash != prev.block_hash) {
      return Fail(kId, kName,
                  "the previous block's hash is not the prev_block_hash of block " +
                      std::to_string(header_->height));
    }
    const KnownKey* used = nullptr;
    if (auto problem = BlockSignatureProblem(*ph, prev.signature, &used)) {
      return Fail(kId, kName, *problem);
    }
    TokenTally tally;
    if (auto problem = TokensProblem(prev, *hash, ph->height, tally)) {
      return Fail(kId, kName, *problem);
    }
    report_.not_before_us = tally.latest_lower;
    Pass(kId, kName,
         "block " + std::to_string(ph->height) + " (hash " + common::ToHex(*hash) +
             ", signed by key " + used->key_id + "): " + tally.summary + tally.ignored + "." +
             CaNote());
  }

  void CheckInterval() {
    static constexpr const char* kId = "timestamp.interval";
    static constexpr const char* kName = "Reception time within the time-stamps";
    if (!report_.not_after_us) {
      return Fail(kId, kName, "no verified time-stamp on the block, so no upper bound");
    }
    const int64_t t = in_.receipt.received_at_us;
    const int64_t na = *report_.not_after_us;
    std::string interval =
        "[" +
        (report_.not_before_us ? common::FormatRfc3339Micros(*report_.not_before_us)
                               : std::string("-")) +
        ", " + common::FormatRfc3339Micros(na) + "]";
    if (t > na) {
      return Fail(kId, kName,
                  "received " + common::FormatRfc3339Micros(t) +
                      " is after the block's time-stamp " + common::FormatRfc3339Micros(na));
    }
    if (report_.not_before_us && t < *report_.not_before_us - kSealingToleranceUs) {
      return Fail(kId, kName,
                  "received " + common::FormatRfc3339Micros(t) +
                      " is long before the previous block's time-stamp " +
                      common::FormatRfc3339Micros(*report_.not_before_us) +
                      ": it should have been sealed in an earlier block");
    }
    std::string note;
    if (report_.not_before_us && t < *report_.not_before_us) {
      note = " (it arrived while the previous block was being sealed: " +
             std::to_string((*report_.not_before_us - t) / 1000) + " ms before its time-stamp)";
    }
    Pass(kId, kName, "received " + common::FormatRfc3339Micros(t) + " within " + interval + note);
  }

  void CheckCheckpointSignature() {
    static constexpr const char* kId = "checkpoint.signature";
    static constexpr const char* kName = "Checkpoint signature";
    auto note = ParseNote(in_.checkpoint);
    if (!note.ok()) return Fail(kId, kName, "not a signed note: " + note.error().message());
    auto cp = ParseCheckpoint(note->text);
    if (!cp.ok()) return Fail(kId, kName, "not a checkpoint: " + cp.error().message());
    for (const auto& k : trusted_) {
      auto vkey = MakeNoteVerifierKey(cp->origin, k.key);
      if (!vkey.ok()) continue;
      if (auto opened = OpenCheckpoint(in_.checkpoint, *vkey); opened.ok()) {
        checkpoint_ = *opened;
        return Pass(kId, kName,
                    Short(cp->origin, 100) + " at tree size " + std::to_string(cp->size) +
                        ", signed by key " + k.key_id +
                        (pinned_ ? " (pinned)" : " (self-declared)"));
      }
    }
    Fail(kId, kName,
         "no valid signature on the checkpoint by a trusted key" +
             std::string(pinned_ ? " (pinned keys)" : " (the bundle's keys)"));
  }

  void CheckCheckpointInclusion() {
    static constexpr const char* kId = "checkpoint.inclusion";
    static constexpr const char* kName = "Leaf included in the checkpoint's tree";
    if (!checkpoint_) return Fail(kId, kName, "no verified checkpoint");
    if (header_ && checkpoint_->size < header_->tree_size) {
      return Fail(kId, kName,
                  "the checkpoint (size " + std::to_string(checkpoint_->size) +
                      ") is older than the block");
    }
    if (header_ && checkpoint_->size == header_->tree_size &&
        checkpoint_->root != header_->tree_root) {
      return Fail(kId, kName, "the checkpoint and the block give different roots at one size");
    }
    auto st = VerifyInclusion(leaf_hash_, in_.leaf_index, checkpoint_->size, in_.checkpoint_proof,
                              checkpoint_->root);
    if (!st.ok()) {
      return Fail(kId, kName,
                  "the inclusion proof does not lead to the checkpoint root (" +
                      st.error().message() + ")");
    }
    checkpoint_includes_leaf_ = true;
    Pass(kId, kName,
         "leaf " + std::to_string(in_.leaf_index) + " is in the log of " +
             std::to_string(checkpoint_->size) + " leaves with root " +
             common::ToHex(checkpoint_->root));
  }

  void CheckConsistency() {
    static constexpr const char* kId = "checkpoint.consistency";
    static constexpr const char* kName = "Consistency with a newer checkpoint";
    if (!opt_.newer_checkpoint) {
      return Skip(kId, kName, "no --checkpoint given");
    }
    if (!checkpoint_) return Fail(kId, kName, "the bundle's checkpoint is not verified");
    std::optional<Checkpoint> other;
    std::string signer;
    if (auto note = ParseNote(*opt_.newer_checkpoint); note.ok()) {
      if (auto cp = ParseCheckpoint(note->text); cp.ok()) {
        if (cp->origin != checkpoint_->origin) {
          return Fail(kId, kName,
                      "the other checkpoint is of another log (" + Short(cp->origin, 100) + ")");
        }
        for (const auto& k : trusted_) {
          auto vkey = MakeNoteVerifierKey(cp->origin, k.key);
          if (!vkey.ok()) continue;
          if (auto opened = OpenCheckpoint(*opt_.newer_checkpoint, *vkey); opened.ok()) {
            other = *opened;
            signer = k.key_id;
            break;
          }
        }
        if (!other) return Fail(kId, kName, "the other checkpoint has no valid trusted signature");
      }
    }
    if (!other) return Fail(kId, kName, "--checkpoint is not a signed checkpoint");
    const Checkpoint& older = other->size < checkpoint_->size ? *other : *checkpoint_;
    const Checkpoint& newer = other->size < checkpoint_->size ? *checkpoint_ : *other;
    std::vector<common::Hash> proof;
    if (older.size != newer.size) {
      if (!opt_.consistency_proof_json) {
        return Fail(kId, kName,
                    "needs --consistency-proof: the JSON of GET /v1/proofs/consistency?first=" +
                        std::to_string(older.size) + "&second=" + std::to_string(newer.size));
      }
      // Parsed without exceptions: a wrong shape is a failed check, not control flow.
      const auto j = nlohmann::json::parse(*opt_.consistency_proof_json, nullptr,
                                           /*allow_exceptions=*/false);
      auto size_of = [&j](const char* name) -> std::optional<uint64_t> {
        if (!j.is_object() || !j.contains(name) || !j[name].is_number_unsigned()) {
          return std::nullopt;
        }
        return j[name].get<uint64_t>();
      };
      const auto first = size_of("first"), second = size_of("second");
      if (!first || !second || !j.contains("hashes") || !j["hashes"].is_array()) {
        return Fail(kId, kName,
                    "--consistency-proof is not {\"first\",\"second\",\"hashes\"} JSON");
      }
      if (*first != older.size || *second != newer.size) {
        return Fail(kId, kName,
                    "the consistency proof is for other sizes; fetch first=" +
                        std::to_string(older.size) + "&second=" + std::to_string(newer.size));
      }
      for (const auto& h : j["hashes"]) {
        auto hh = h.is_string() ? common::HashFromHex(h.get<std::string>()) : std::nullopt;
        if (!hh) return Fail(kId, kName, "the consistency proof holds a malformed hash");
        proof.push_back(*hh);
      }
    }
    auto st = VerifyConsistency(older.size, newer.size, older.root, newer.root, proof);
    if (!st.ok()) {
      return Fail(kId, kName,
                  "the log at size " + std::to_string(newer.size) +
                      " does not extend the log at size " + std::to_string(older.size) +
                      ": the two checkpoints fork (" + st.error().message() + ")");
    }
    Pass(kId, kName,
         "the log at size " + std::to_string(newer.size) + " (signed by key " + signer +
             ") extends the bundle's checkpoint at size " + std::to_string(older.size));
  }

  void CheckEml() {
    static constexpr const char* kId = "eml.compare";
    static constexpr const char* kName = "Another copy of the message (--eml)";
    if (!opt_.eml) return Skip(kId, kName, "no --eml given");
    if (!mime::IsSupportedCanonVersion(in_.receipt.canon_version)) {
      return Fail(kId, kName,
                  "canonical form version " + std::to_string(in_.receipt.canon_version) +
                      " is not implemented by this verifier");
    }
    // The very bytes of message.eml (as a production's native is): their canonical form is
    // the one computed above, Canonicalize being a function of the bytes and version alone.
    std::optional<mime::Canonical> computed;
    const mime::Canonical& other =
        canonical_ && *opt_.eml == in_.message
            ? *canonical_
            : computed.emplace(mime::Canonicalize(*opt_.eml, in_.receipt.canon_version));
    if (other.canonical_sha256 == in_.receipt.canonical_sha256) {
      // raw_sha256 is bound by the leaf record, so this holds for withheld messages too.
      bool same_bytes = common::Sha256Of(*opt_.eml) == in_.receipt.raw_sha256;
      return Pass(kId, kName,
                  "same canonical hash " + common::ToHex(other.canonical_sha256) +
                      (same_bytes ? " (identical bytes)"
                                  : " (the bytes differ only in what a relay or mailbox may "
                                    "change: trace headers, line ends, encodings)"));
    }
    std::string reason = "canonical hash " + common::ToHex(other.canonical_sha256) +
                         " differs from the notarised " +
                         common::ToHex(in_.receipt.canonical_sha256);
    if (canonical_) {
      auto diffs = mime::Differences(*canonical_, other);
      for (size_t i = 0; i < diffs.size() && i < 20; ++i) reason += "; " + diffs[i];
    } else {
      reason += " (the notarised message is not in this bundle, so differences are not listed)";
    }
    Fail(kId, kName, reason);
  }

  void CheckAttachment() {
    static constexpr const char* kId = "attachment.match";
    static constexpr const char* kName = "A file among the parts (--attachment)";
    if (!opt_.attachment) return Skip(kId, kName, "no --attachment given");
    if (in_.Erased()) {
      return Skip(kId, kName,
                  "not answerable: the message was erased and its part records with it; compare "
                  "a copy of the whole message with --eml");
    }
    common::Hash h = common::Sha256Of(*opt_.attachment);
    for (size_t i = 0; i < in_.receipt.parts.size(); ++i) {
      const Part& p = in_.receipt.parts[i];
      if (!in_.Withheld(i) && p.sha256 == h) {
        return Pass(kId, kName,
                    "SHA-256 " + common::ToHex(h) + " is part " + p.position +
                        (p.filename.empty() ? "" : " \"" + Short(p.filename, 100) + "\"") + " (" +
                        p.content_type + ", " + std::to_string(p.size) + " bytes)");
      }
    }
    Fail(kId, kName,
         "SHA-256 " + common::ToHex(h) + " is none of the " +
             (in_.disclosed_part ? std::string("disclosed ") : std::string()) +
             "parts of the message");
  }

  void CheckJournalReport() {
    static constexpr const char* kId = "journal.report";
    static constexpr const char* kName = "Journal report agrees with the sealed envelope";
    const bool bound_report = in_.receipt.provenance_bound() &&
                              in_.receipt.provenance.journal_report_sha256 != common::Hash{};
    if (!in_.journal_report) {
      if (bound_report && !in_.disclosed_part && !in_.Erased()) {
        return Fail(kId, kName,
                    "the leaf record says the message was unwrapped from a journal report, but "
                    "the bundle does not carry it");
      }
      if (bound_report && in_.Erased()) {
        return Skip(kId, kName,
                    "the message was erased and the journal report with it (its hash " +
                        common::ToHex(in_.receipt.provenance.journal_report_sha256) +
                        " stays bound by the leaf record)");
      }
      return Skip(kId, kName,
                  bound_report ? "selective disclosure: the journal report (hash bound by the "
                                 "leaf record) is withheld with the message"
                               : "the message did not arrive in an Exchange journal report");
    }
    const std::string& bytes = *in_.journal_report;
    const common::Hash h = common::Sha256Of(bytes);
    if (in_.receipt.provenance_bound() && h != in_.receipt.provenance.journal_report_sha256) {
      return Fail(kId, kName,
                  "SHA-256 of journal-report.eml is " + common::ToHex(h) +
                      ", not the report hash the leaf record binds");
    }
    if (h != in_.journal_report_sha256) {
      return Fail(kId, kName,
                  "SHA-256 of journal-report.eml is " + common::ToHex(h) + ", evidence states " +
                      common::ToHex(in_.journal_report_sha256));
    }
    auto parsed = mime::ParseJournalReport(bytes);
    if (!parsed.ok()) {
      return Fail(
          kId, kName,
          "journal-report.eml is not a well-formed journal report: " + parsed.error().message());
    }
    if (!parsed->has_value()) {
      return Fail(kId, kName, "journal-report.eml has no X-MS-Journal-Report header");
    }
    const mime::JournalReport& report = **parsed;
    const Envelope& env = in_.receipt.envelope;
    std::string problems;
    if (report.original != in_.message) {
      problems += " the original it carries is not message.eml byte for byte;";
    }
    if (report.sender != env.mail_from) {
      problems += " it names the sender \"" + Short(report.sender, 200) +
                  "\", the sealed envelope \"" + Short(env.mail_from, 200) + "\";";
    }
    const std::vector<std::string> rcpts = report.EnvelopeRecipients();
    if (rcpts != env.recipients) {
      problems += " it names " + std::to_string(rcpts.size()) +
                  " recipients, not the sealed envelope's " +
                  std::to_string(env.recipients.size()) + " in the same order;";
    }
    if (!problems.empty()) return Fail(kId, kName, "journal-report.eml disagrees:" + problems);
    size_t bcc = 0;
    for (const auto& r : report.recipients) bcc += r.kind == "Bcc" ? 1 : 0;
    Pass(kId, kName,
         "journal-report.eml (SHA-256 " + common::ToHex(h) +
             ") carries message.eml unchanged and states the sealed sender and " +
             std::to_string(rcpts.size()) + " recipients (" + std::to_string(bcc) +
             " Bcc); the envelope it states is sealed, the report's own bytes are not");
  }

  // Issue 17, finding 2: an edited certificate.html verified VALID. A judge reads it, so it
  // must be exactly what evidence.json gives (rendered the same way on every verifier).
  void CheckTexts() {
    static constexpr const char* kId = "texts.rendered";
    static constexpr const char* kName = "certificate.html and VERIFY.md follow from the evidence";
    if (in_.format_version < 2) {
      return Fail(kId, kName,
                  "a format version 1 bundle carries a certificate.html and VERIFY.md that no "
                  "verifier can derive from its evidence: do not rely on them; download the "
                  "bundle again (the evidence is the same, the texts are then checked)");
    }
    auto texts = RenderTexts(in_);
    if (!texts.ok()) {
      return Fail(kId, kName, "the evidence cannot be rendered: " + texts.error().message());
    }
    std::string problems;
    auto compare = [&](std::string_view name, const std::string& expected) {
      auto it = b_.files.find(std::string(name));
      if (it == b_.files.end() || it->second != expected) {
        problems += " " + std::string(name) + " is not what evidence.json gives;";
      }
    };
    compare(kCertificateFile, texts->certificate_html);
    compare(kVerifyFile, texts->verify_md);
    if (!problems.empty()) {
      return Fail(kId, kName, "Changed after issue:" + problems + " do not rely on it");
    }
    Pass(kId, kName, "both re-rendered from evidence.json (lang " + in_.lang + ") byte for byte");
  }

  // The signature lines of the checkpoint other than the log's own (a line's name is the
  // signer's key name; the log's key is named after its origin).
  struct SignatureLine {
    std::string name;
    uint32_t key_id = 0;
  };
  std::vector<SignatureLine> CosignatureLines() const {
    std::vector<SignatureLine> out;
    auto note = ParseNote(in_.checkpoint);
    auto lines = NoteSignatureLines(in_.checkpoint);
    if (!note.ok() || !lines.ok()) return out;
    auto cp = ParseCheckpoint(note->text);
    static constexpr std::string_view kDash = "\xe2\x80\x94 ";
    for (const std::string& line : *lines) {
      std::string_view rest(line);
      if (rest.substr(0, kDash.size()) != kDash) continue;
      rest.remove_prefix(kDash.size());
      size_t sp = rest.find(' ');
      if (sp == std::string_view::npos) continue;
      SignatureLine sl{std::string(rest.substr(0, sp)), 0};
      if (cp.ok() && sl.name == cp->origin) continue;
      std::string_view b64 = rest.substr(sp + 1);
      while (!b64.empty() && (b64.back() == '\n' || b64.back() == '\r')) b64.remove_suffix(1);
      auto raw = common::Base64Decode(b64);
      if (raw && raw->size() >= 4) {
        for (int i = 0; i < 4; ++i) {
          sl.key_id = (sl.key_id << 8) | static_cast<uint8_t>((*raw)[static_cast<size_t>(i)]);
        }
      }
      out.push_back(std::move(sl));
    }
    return out;
  }

  static std::string KeyIdHex(uint32_t id) {
    char buf[9];
    std::snprintf(buf, sizeof buf, "%08x", id);
    return buf;
  }

  // Check 22: the configured witnesses' cosignatures on the bundle's checkpoint.
  void CheckWitnesses() {
    static constexpr const char* kId = "checkpoint.witnesses";
    static constexpr const char* kName = "Independent witnesses cosigned the checkpoint";
    const std::vector<SignatureLine> lines = CosignatureLines();
    report_.cosignature_lines = lines.size();
    std::string carried;
    for (const auto& l : lines) {
      if (!carried.empty()) carried += ", ";
      carried += Short(l.name, 100) + " (" + KeyIdHex(l.key_id) + ")";
    }
    if (opt_.witnesses.empty()) {
      return Skip(kId, kName,
                  lines.empty()
                      ? std::string("no witness policy given (--witness); the checkpoint carries "
                                    "no cosignature")
                      : "no witness policy given (--witness); the checkpoint carries " +
                            std::to_string(lines.size()) +
                            " cosignature line(s), unchecked: " + carried);
    }
    if (!checkpoint_) return Fail(kId, kName, "no verified checkpoint to check cosignatures on");
    std::vector<CosignerKey> configured;
    for (const auto& w : opt_.witnesses) {
      if (std::find(configured.begin(), configured.end(), w) == configured.end()) {
        configured.push_back(w);
      }
    }
    const size_t quorum = opt_.witness_quorum.value_or(configured.size());
    std::string cosigned, missing, bad;
    size_t matched_lines = 0;
    for (const auto& w : configured) {
      const bool present = std::any_of(lines.begin(), lines.end(), [&](const SignatureLine& l) {
        return l.name == w.name && l.key_id == w.key_id;
      });
      const std::string who = Short(w.name, 100) + " (" + KeyIdHex(w.key_id) + ")";
      if (!present) {
        missing += (missing.empty() ? "" : ", ") + who;
        continue;
      }
      matched_lines += static_cast<size_t>(std::count_if(
          lines.begin(), lines.end(),
          [&](const SignatureLine& l) { return l.name == w.name && l.key_id == w.key_id; }));
      auto t = VerifyCosignature(in_.checkpoint, w);
      if (!t.ok() || *t > static_cast<uint64_t>(INT64_MAX / 1'000'000)) {
        bad += (bad.empty() ? "" : "; ") + who + ": " +
               (t.ok() ? std::string("timestamp out of range") : t.error().message());
        continue;
      }
      const int64_t time_us = static_cast<int64_t>(*t) * 1'000'000;
      report_.witnesses.push_back({w.name, KeyIdHex(w.key_id), time_us});
      cosigned +=
          (cosigned.empty() ? "" : ", ") + who + " at " + common::FormatRfc3339Micros(time_us);
    }
    std::string others;
    if (lines.size() > matched_lines) {
      others = "; " + std::to_string(lines.size() - matched_lines) +
               " cosignature line(s) by keys not configured, ignored";
    }
    if (!bad.empty()) {
      return Fail(kId, kName,
                  "the cosignature of a configured witness does not verify: " + bad +
                      " (the checkpoint note was altered, or the line forged)");
    }
    const std::string tally =
        std::to_string(report_.witnesses.size()) + " of " + std::to_string(configured.size()) +
        " configured witness(es) cosigned, " + std::to_string(quorum) + " required";
    if (report_.witnesses.size() < quorum) {
      return Fail(kId, kName,
                  tally + (cosigned.empty() ? "" : ": " + cosigned) +
                      (missing.empty() ? "" : "; no cosignature by " + missing) + others);
    }
    // The cosigned checkpoint includes the leaf (check 16): each configured witness attests
    // that the receipt existed no later than its cosignature's time (whole seconds, so up to
    // a second earlier than the instant it saw). A reception time after that contradicts it.
    if (checkpoint_includes_leaf_) {
      for (const auto& w : report_.witnesses) {
        if (in_.receipt.received_at_us >= w.time_us + 1'000'000) {
          return Fail(kId, kName,
                      "received " + common::FormatRfc3339Micros(in_.receipt.received_at_us) +
                          " is after witness " + Short(w.name, 100) +
                          " cosigned a checkpoint that includes it, at " +
                          common::FormatRfc3339Micros(w.time_us));
        }
      }
      for (const auto& w : report_.witnesses) {
        if (!report_.not_after_us || w.time_us < *report_.not_after_us) {
          report_.not_after_us = w.time_us;
        }
      }
    }
    Pass(kId, kName,
         tally + ": " + cosigned + " cosigned the checkpoint at tree size " +
             std::to_string(checkpoint_->size) +
             (missing.empty() ? "" : "; no cosignature by " + missing) + others);
  }

  // Check 23: the sender evidence (docs/sender-evidence.md) is the log's: its authentication
  // record names this receipt and its leaf, binds the results and the DNS archive the bundle
  // carries, and is a leaf of the checkpoint's tree; the summary people read renders from them.
  void CheckSenderRecord() {
    static constexpr const char* kId = "sender.record";
    static constexpr const char* kName = "Sender evidence bound by its authentication record";
    if (!in_.authentication) {
      return Skip(kId, kName,
                  "the bundle carries no sender evidence (the notary had not checked the "
                  "sender when it was issued, or does not check senders)");
    }
    const BundleAuthentication& a = *in_.authentication;
    auto rec = AuthenticationRecord::Decode(a.record);
    if (!rec.ok()) {
      return Fail(kId, kName,
                  "the authentication record does not decode: " + rec.error().message());
    }
    std::string diff;
    if (rec->receipt_id != in_.receipt.id)
      diff += " it names receipt " + Short(rec->receipt_id, 64) + ";";
    if (rec->receipt_leaf_hash != leaf_hash_) {
      diff += " it names leaf hash " + common::ToHex(rec->receipt_leaf_hash) +
              ", not this message's " + common::ToHex(leaf_hash_) + ";";
    }
    const common::Hash results_sha = common::Sha256Of(a.results);
    const common::Hash archive_sha = common::Sha256Of(a.dns_archive);
    if (results_sha != rec->results_sha256) {
      diff += " " + std::string(kAuthResultsFile) + " has SHA-256 " + common::ToHex(results_sha) +
              ", the record binds " + common::ToHex(rec->results_sha256) + ";";
    }
    if (archive_sha != rec->dns_archive_sha256) {
      diff += " " + std::string(kAuthDnsArchiveFile) + " has SHA-256 " +
              common::ToHex(archive_sha) + ", the record binds " +
              common::ToHex(rec->dns_archive_sha256) + ";";
    }
    if (a.stated_results_sha256 != results_sha || a.stated_dns_archive_sha256 != archive_sha) {
      diff += " evidence.json states other digests than the files have;";
    }
    const common::Hash leaf = common::HashLeaf(a.record);
    if (leaf != a.leaf_hash) diff += " evidence.json states another leaf hash;";
    if (rec->checked_at_us < in_.receipt.received_at_us) {
      diff += " it was checked at " + common::FormatRfc3339Micros(rec->checked_at_us) +
              ", before the message was received;";
    }
    if (!diff.empty())
      return Fail(kId, kName, "the authentication record does not bind this evidence:" + diff);
    if (a.leaf_index == in_.leaf_index) {
      return Fail(kId, kName, "the record claims the message's own leaf index");
    }
    if (auto problem = RecordNotInCheckpoint(leaf, a.leaf_index, a.checkpoint_proof)) {
      return Fail(kId, kName, *problem);
    }
    auto summary = AuthenticationSummary(a);
    if (!summary.ok()) {
      return Fail(kId, kName,
                  "the bound results or DNS archive do not decode: " + summary.error().message());
    }
    // Compared as values: the order of an object's members carries nothing.
    // Text that is not UTF-8 (a TXT record may hold any bytes) is written replaced (U+FFFD).
    if (nlohmann::json::parse(a.stated_summary, nullptr, false) !=
        nlohmann::json::parse(
            summary->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), nullptr,
            false)) {
      return Fail(kId, kName,
                  "evidence.json's authentication.summary is not what the bound results and "
                  "DNS answers say (edited after issue)");
    }
    auth_results_ = AuthenticationResults::Decode(a.results).value();
    auth_answers_ = DecodeDnsArchive(a.dns_archive).value();
    auth_bound_ = true;
    Pass(kId, kName,
         "record at leaf " + std::to_string(a.leaf_index) + " (in the checkpoint's tree of " +
             std::to_string(checkpoint_->size) + ") names this receipt and its leaf; checked " +
             common::FormatRfc3339Micros(rec->checked_at_us) + ", " +
             std::to_string(auth_results_.dkim.size()) + " DKIM signature(s), " +
             std::to_string(auth_answers_.size()) + " archived DNS answer(s), results " +
             common::ToHex(results_sha) + ", archive " + common::ToHex(archive_sha));
  }

  // The re-evaluation of checks 24 and 25: DKIM, SPF and DMARC run again here, with the DNS
  // answers from the archive only, for the envelope the leaf record binds and the message.
  const SenderEvaluation* Reevaluated(std::string& why_not) {
    if (!in_.authentication) {
      why_not = "the bundle carries no sender evidence";
      return nullptr;
    }
    if (!auth_bound_) {
      why_not = "not re-run: the sender evidence is not bound (check sender.record)";
      return nullptr;
    }
    if (in_.disclosed_part) {
      why_not =
          "selective disclosure: message.eml is withheld, so the checks cannot run again; "
          "the results above are the notary's, bound by the log";
      return nullptr;
    }
    if (!record_) {
      why_not = "not re-run: the envelope is not bound (check leaf.record)";
      return nullptr;
    }
    if (!reevaluation_error_.empty()) return nullptr;
    if (!reevaluation_) {
      SenderContext context;
      context.received_at_us = in_.receipt.received_at_us;
      context.mail_from = in_.receipt.envelope.mail_from;
      context.client_ip = in_.receipt.envelope.client_ip;
      context.helo = in_.receipt.envelope.helo;
      if (canonical_) context.header_from = canonical_->metadata.from;
      auto eval = EvaluateSender(in_.message, context, ArchiveLookup(auth_answers_));
      if (!eval.ok()) {
        reevaluation_error_ = eval.error().message();
        return nullptr;
      }
      reevaluation_ = std::move(*eval);
    }
    return &*reevaluation_;
  }

  // The re-evaluation for check `id`, or nullptr once the check is recorded as SKIP (nothing
  // to compare) or FAIL (the checks could not run at all).
  const SenderEvaluation* ReevaluatedFor(const char* id, const char* name) {
    std::string why_not;
    const SenderEvaluation* eval = Reevaluated(why_not);
    if (eval != nullptr) return eval;
    if (!reevaluation_error_.empty()) {
      Fail(id, name, "the checks could not run: " + reevaluation_error_);
    } else {
      Skip(id, name, why_not);
    }
    return nullptr;
  }

  // Check 24: every DKIM signature and the ARC chain verified again, offline, against the
  // archived key records.
  void CheckSenderDkim() {
    static constexpr const char* kId = "sender.dkim";
    static constexpr const char* kName =
        "DKIM signatures and ARC chain re-verified with the archived keys";
    const SenderEvaluation* eval = ReevaluatedFor(kId, kName);
    if (eval == nullptr) return;
    const auto& got = eval->results.dkim;
    const auto& stated = auth_results_.dkim;
    if (got.size() != stated.size()) {
      return Fail(kId, kName,
                  "message.eml has " + std::to_string(got.size()) +
                      " DKIM signature(s), the record states " + std::to_string(stated.size()));
    }
    std::string sentences;
    for (size_t i = 0; i < got.size(); ++i) {
      if (!(got[i] == stated[i])) {
        return Fail(kId, kName,
                    "signature " + std::to_string(i + 1) + " by d=" + Short(stated[i].domain, 100) +
                        " gives " + got[i].result + " (" + Short(got[i].reason, 100) +
                        ") here, the record states " + stated[i].result + " (" +
                        Short(stated[i].reason, 100) + ")");
      }
      const DnsAnswer* key = KeyAnswerFor(auth_answers_, stated[i]);
      sentences += (sentences.empty() ? "" : "; ") + Short(DescribeDkim(stated[i], key), 400);
    }
    // ARC: a record made before the notary checked ARC (results version 1) claims nothing
    // about it, so there is nothing to compare; one that states an outcome must get it again.
    std::string arc;
    if (auth_results_.arc) {
      if (eval->results.arc != auth_results_.arc) {
        const std::string here = eval->results.arc ? eval->results.arc->result : "none";
        return Fail(kId, kName,
                    "the ARC chain gives " + here + " here (" +
                        Short(eval->results.arc ? eval->results.arc->reason : "", 200) +
                        "), the record states " + auth_results_.arc->result + " (" +
                        Short(auth_results_.arc->reason, 200) + ")");
      }
      arc = Short(DescribeArc(*auth_results_.arc), 400);
    }
    if (got.empty()) {
      return Pass(kId, kName,
                  "message.eml carries no DKIM signature, as recorded" +
                      (arc.empty() ? std::string() : "; " + arc));
    }
    Pass(kId, kName,
         sentences + (arc.empty() ? std::string() : "; " + arc) +
             " (DNSSEC status as the notary's resolver reported it at the lookup)");
  }

  // Check 25: SPF and DMARC evaluated again from the archived records.
  void CheckSenderPolicy() {
    static constexpr const char* kId = "sender.policy";
    static constexpr const char* kName = "SPF and DMARC re-evaluated from the archived records";
    const SenderEvaluation* eval = ReevaluatedFor(kId, kName);
    if (eval == nullptr) return;
    std::string diff;
    if (eval->results.spf != auth_results_.spf) {
      diff += " SPF gives " + (eval->results.spf ? eval->results.spf->result : "nothing") +
              " here, the record states " +
              (auth_results_.spf ? auth_results_.spf->result : "nothing") + ";";
    }
    if (eval->results.dmarc != auth_results_.dmarc) {
      diff += " DMARC gives " + (eval->results.dmarc ? eval->results.dmarc->result : "nothing") +
              " here, the record states " +
              (auth_results_.dmarc ? auth_results_.dmarc->result : "nothing") + ";";
    }
    if (!diff.empty()) {
      return Fail(kId, kName,
                  "the archived records do not give the recorded results:" + diff +
                      " (a different public suffix list here can change DMARC's organizational "
                      "domain)");
    }
    std::string text;
    if (const auto& spf = auth_results_.spf) {
      text = "SPF " + spf->result + " for " + Short(spf->identity, 20) + " " +
             Short(spf->domain, 100) + " from " + Short(spf->client_ip, 64);
    } else {
      text = "SPF not evaluated (no client address)";
    }
    if (const auto& dm = auth_results_.dmarc) {
      text += "; DMARC " + dm->result + " for " + Short(dm->domain, 100) +
              (dm->policy.empty() ? "" : " (policy " + Short(dm->policy, 20) + ")");
    } else {
      text += "; DMARC not evaluated (no single From: domain)";
    }
    Pass(kId, kName, text + ", as recorded");
  }

  // Check 26: the DNSSEC signatures of every answer the notary's resolver called secure,
  // validated again from the archive (the DNSKEY and DS records up to an anchor) as of its
  // lookup, against the trust anchors the user gives (by default the root's).
  void CheckSenderDnssec() {
    static constexpr const char* kId = "sender.dnssec";
    static constexpr const char* kName = "DNSSEC signatures of the archived answers re-validated";
    if (!in_.authentication) return Skip(kId, kName, "the bundle carries no sender evidence");
    if (!auth_bound_) {
      return Skip(kId, kName,
                  "not checked: the sender evidence is not bound (check sender.record)");
    }
    std::vector<const DnsAnswer*> secure;
    for (const DnsAnswer& a : auth_answers_) {
      if (a.dnssec == DnssecStatus::kSecure && a.qtype != kDnsTypeDnskey && a.qtype != kDnsTypeDs) {
        secure.push_back(&a);
      }
    }
    if (secure.empty()) {
      return Skip(kId, kName,
                  "no archived answer is DNSSEC-signed: the records rest on the notary's lookup "
                  "at reception, bound by the log");
    }
    if (opt_.dns_trust_anchors.empty()) {
      return Skip(kId, kName,
                  std::to_string(secure.size()) +
                      " answer(s) the notary's resolver called DNSSEC-validated, not checked "
                      "here: no trust anchor (--dns-trust-anchor; the root's is in Debian's "
                      "dns-root-data)");
    }
    auto anchors = ParseDnssecAnchors(opt_.dns_trust_anchors);
    if (!anchors.ok()) return Fail(kId, kName, "the trust anchors: " + anchors.error().message());
    std::string validated, problems, unconfirmed;
    size_t validated_count = 0;
    const std::vector<DnssecValidation> results =
        ValidateArchivedAnswers(secure, auth_answers_, *anchors);
    for (size_t i = 0; i < secure.size(); ++i) {
      const DnsAnswer* a = secure[i];
      const DnssecValidation& v = results[i];
      const std::string what = Short(a->qname, 255) + " (looked up " +
                               common::FormatRfc3339Micros(a->looked_up_at_us) + ")";
      if (v.validated) {
        ++validated_count;
        validated += (validated.empty() ? "" : "; ") + what + " via " + Short(v.chain, 300);
      } else if (v.unconfirmed) {
        unconfirmed += (unconfirmed.empty() ? "" : "; ") + what + ": " + Short(v.why, 300);
      } else {
        problems += (problems.empty() ? "" : "; ") + what + ": " + Short(v.why, 300);
      }
    }
    const std::string source = opt_.dns_trust_anchor_source.empty()
                                   ? ""
                                   : " (" + Short(opt_.dns_trust_anchor_source, 200) + ")";
    if (!problems.empty()) {
      return Fail(kId, kName,
                  "the notary's resolver called these answers DNSSEC-validated, but they do not "
                  "validate against the trust anchors" +
                      source + " as of their lookup: " + problems);
    }
    // Missing chain data or a bound is not a contradiction: a sender's DNS servers can cause
    // it (a DNSKEY lookup that times out at reception), and failing the bundle for it would let
    // a stranger make the evidence of their own message fail. Such answers are said to rest on
    // the notary's resolver, as unsigned ones do.
    const std::string rest =
        unconfirmed.empty()
            ? ""
            : "; not confirmed here, resting on the notary's resolver as an unsigned answer "
              "does (the chain is not in the archive or is past the validation's bounds): " +
                  unconfirmed;
    if (validated_count == 0) return Skip(kId, kName, rest.substr(2));
    Pass(kId, kName,
         std::to_string(validated_count) + " answer(s) validated against the trust anchors" +
             source + " as of their lookup: " + validated + rest);
  }

  // Check 27: an erased message's bundle carries the erasure record the notary sealed; it must
  // be this receipt's, bind the details shown, and be in the checkpoint's tree.
  void CheckErasure() {
    static constexpr const char* kId = "erasure.record";
    static constexpr const char* kName = "Erasure record sealed in the log";
    if (!in_.Erased()) return Skip(kId, kName, "the message was not erased");
    const BundleErasure& e = *in_.erasure;
    auto rec = ActionRecord::Decode(e.record);
    if (!rec.ok()) {
      return Fail(kId, kName, "the erasure record does not decode: " + rec.error().message());
    }
    std::string diff;
    if (rec->action != ActionRecord::kErasure) {
      diff += " it records a \"" + Short(rec->action, 32) + "\", not an erasure;";
    }
    if (rec->subject != in_.receipt.id)
      diff += " it names receipt " + Short(rec->subject, 64) + ";";
    if (rec->tenant != in_.receipt.tenant) diff += " it names another tenant;";
    if (rec->acted_at_us < in_.receipt.received_at_us) {
      diff += " it is dated " + common::FormatRfc3339Micros(rec->acted_at_us) +
              ", before the message was received;";
    }
    if (common::Sha256Of(e.details) != rec->details_sha256) {
      diff += " " + std::string(kErasureDetailsFile) + " is not the details it binds;";
    }
    std::string reason;
    auto details = nlohmann::json::parse(e.details, nullptr, false);
    if (!details.is_object() || !details.contains("receipt") || !details.contains("reason") ||
        details["receipt"] != nlohmann::json(in_.receipt.id) || !details["reason"].is_string()) {
      diff += " its details are not {\"receipt\": this receipt, \"reason\": text};";
    } else {
      reason = details["reason"].get<std::string>();
    }
    const common::Hash leaf = common::HashLeaf(e.record);
    if (leaf != e.leaf_hash) diff += " evidence.json states another leaf hash;";
    if (e.leaf_index == in_.leaf_index) diff += " it claims the message's own leaf index;";
    if (!diff.empty()) {
      return Fail(kId, kName, "the erasure record does not record this erasure:" + diff);
    }
    if (auto problem = RecordNotInCheckpoint(leaf, e.leaf_index, e.checkpoint_proof)) {
      return Fail(kId, kName, *problem);
    }
    report_.erased_at_us = rec->acted_at_us;
    report_.erasure_reason = reason;
    Pass(kId, kName,
         "erased " + common::FormatRfc3339Micros(rec->acted_at_us) + " by " +
             (rec->actor.empty() ? std::string("(no actor)") : Short(rec->actor, 64)) +
             ", reason \"" + Short(reason, 300) + "\"; record at leaf " +
             std::to_string(e.leaf_index) + " in the checkpoint's tree of " +
             std::to_string(checkpoint_->size) +
             ": the message's bytes and personal fields are gone, its hashes and proofs stay");
  }

  const Bundle& b_;
  const BundleInput& in_;
  const VerifyOptions& opt_;
  VerifyReport report_;

  bool pinned_ = false;
  std::vector<KnownKey> bundle_keys_;
  std::vector<KnownKey> trusted_;
  std::string key_notes_;

  std::optional<mime::Canonical> canonical_;
  std::vector<common::Hash> part_leaves_;
  std::optional<LeafRecord> record_;
  common::Hash leaf_hash_{};
  std::optional<BlockHeader> header_;
  std::optional<common::Hash> block_hash_;
  std::optional<Checkpoint> checkpoint_;
  bool checkpoint_includes_leaf_ = false;
  std::string tsa_roots_;    // the trusted TSA roots: pinned ones, else the bundle's
  bool auth_bound_ = false;  // check sender.record passed
  AuthenticationResults auth_results_;
  std::vector<DnsAnswer> auth_answers_;
  std::optional<SenderEvaluation> reevaluation_;
  std::string reevaluation_error_;
};

}  // namespace

VerifyReport VerifyBundle(const Bundle& bundle, const VerifyOptions& options) {
  VerifyReport report = Verifier(bundle, options).Run();
  auto pdf = bundle.files.find(std::string(bundle_internal::kCertificatePdfFile));
  if (pdf != bundle.files.end()) report.certificate_pdf = CheckPdfSignature(pdf->second);
  return report;
}

namespace {
nlohmann::json PdfSignatureJson(const PdfSignature& s) {
  return {{"signature", PdfSignatureStateName(s.state)},
          {"signer", s.signer},
          {"signer_fingerprint", s.signer_fingerprint},
          {"problem", s.problem}};
}
}  // namespace

std::string VerifyReportJson(const VerifyReport& r) {
  using nlohmann::json;
  json checks = json::array();
  for (const auto& c : r.checks) {
    checks.push_back({{"id", c.id},
                      {"name", c.name},
                      {"status", std::string(CheckStatusName(c.status))},
                      {"reason", c.reason}});
  }
  auto opt_time = [](const std::optional<int64_t>& t) {
    return t ? json(common::FormatRfc3339Micros(*t)) : json();
  };
  json doc = {
      {"valid", r.valid},
      {"receipt_id", r.receipt_id},
      {"received_at", common::FormatRfc3339Micros(r.received_at_us)},
      {"block_height", r.block_height},
      {"not_before", opt_time(r.not_before_us)},
      {"not_after", opt_time(r.not_after_us)},
      {"key_fingerprint", r.key_fingerprint},
      {"key_self_declared", r.key_self_declared},
      {"tsa_ca_self_declared", r.tsa_ca_self_declared},
      {"erased_at", opt_time(r.erased_at_us)},
      {"erasure_reason", r.erased_at_us ? json(r.erasure_reason) : json()},
      {"certificate_pdf_unchecked", r.certificate_pdf.has_value()},
      {"certificate_pdf", r.certificate_pdf ? PdfSignatureJson(*r.certificate_pdf) : json()}};
  json witnesses = json::array();
  for (const auto& w : r.witnesses) {
    witnesses.push_back(
        {{"name", w.name}, {"key_id", w.key_id}, {"time", common::FormatRfc3339Micros(w.time_us)}});
  }
  json authorities = json::array();
  for (const auto& a : r.authorities) {
    authorities.push_back({{"tsa", a.tsa},
                           {"subject", a.subject},
                           {"issuer", a.issuer},
                           {"gen_time", common::FormatRfc3339Micros(a.gen_time_us)},
                           {"built_in", a.built_in},
                           {"counted", a.counted}});
  }
  doc["witnesses"] = witnesses;
  doc["cosignature_lines"] = r.cosignature_lines;
  doc["authorities"] = authorities;
  doc["checks"] = checks;
  // Untrusted strings (file names, TSA names) may hold invalid UTF-8: replace, never throw.
  return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace notary
