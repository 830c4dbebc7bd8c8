// Evidence bundles: one zip per receipt that a judge can verify offline (docs/evidence-bundle.md).
//
//   BuildBundleZip(BundleInput)  -> zip bytes      (notaryd, GET /v1/messages/{id}/evidence)
//   ReadBundleZip(zip bytes)     -> Bundle         (notary-verify; hostile input, bounded)
//   VerifyBundle(Bundle, opts)   -> VerifyReport   (every check, one line each, and a verdict)
//
// Pure: bytes in, values out; no files, no network, no clock. The caller reads --eml and
// friends from disk and passes their bytes in VerifyOptions.
// Thread-safety: pure functions over plain values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"
#include "evidence/pdf_signature.h"
#include "log/cosignature.h"
#include "log/leaf_record.h"
#include "receipt/receipt.h"

namespace notary {

// What BuildBundleZip writes; ReadBundleZip also reads version 1 (docs/evidence-bundle.md).
inline constexpr uint32_t kBundleFormatVersion = 2;
// The version of the texts for people (certificate.html) BuildBundleZip renders; evidence.json
// states it as `texts_version` when it is not 1, and readers render with that version's
// template, so that a better layout never breaks the bundles issued before it.
inline constexpr uint32_t kTextsVersion = 2;

// Limits of ReadBundleZip (zip bombs and junk are refused before they cost memory).
inline constexpr size_t kMaxBundleEntries = 64;
inline constexpr uint64_t kMaxBundleTotalBytes = 200ull << 20;  // uncompressed, all entries
inline constexpr uint64_t kMaxBundleZipBytes = 200ull << 20;    // the zip itself
// An erasure's details (a reason of at most 2,000 bytes and the receipt id, as JSON).
inline constexpr size_t kMaxErasureDetailsBytes = 8192;

// Selective disclosure: one part's decoded bytes instead of the message.
struct DisclosedPart {
  std::string position;  // must equal the position of one of receipt.parts
  std::string bytes;     // decoded content (what a mail client saves)
};

// A time-stamp token over a block hash.
struct BundleToken {
  std::string tsa;  // TSA name as the server knows it ("local", or the TSA URL)
  std::string der;  // TimeStampToken, DER
};

// A sealed block: encoded header (BlockHeader::Encode()), Ed25519 signature, block hash and
// the tokens over the block hash.
struct BundleBlock {
  std::string header;
  std::string signature;  // 64 bytes
  common::Hash block_hash{};
  std::vector<BundleToken> tokens;
};

// A notary signing key as published (GET /v1/keys).
struct BundleKey {
  std::string key_id;          // KeyId()
  std::string public_key_pem;  // SubjectPublicKeyInfo PEM
  std::string fingerprint;     // Fingerprint()
  int64_t valid_from_us = 0;
  std::optional<int64_t> valid_until_us;
};

// The sender's evidence for the message (docs/sender-evidence.md): its authentication record,
// a leaf of its own in the log, and the two byte strings the record binds by their SHA-256.
struct BundleAuthentication {
  std::string record;  // AuthenticationRecord::Encode() bytes (the salt is inside)
  uint64_t leaf_index = 0;
  common::Hash leaf_hash{};  // as stated; the verifier recomputes it
  // RFC 9162 inclusion proof of the record's leaf in the bundle's checkpoint tree.
  std::vector<common::Hash> checkpoint_proof;
  std::string results;      // AuthenticationResults::Encode()
  std::string dns_archive;  // EncodeDnsArchive()
  // What evidence.json states as the files' SHA-256 (ReadBundleZip fills them; the verifier
  // compares them with the files and the record; BuildBundleZip computes its own).
  common::Hash stated_results_sha256{};
  common::Hash stated_dns_archive_sha256{};
  // evidence.json's readable `authentication.summary` (AuthenticationJson of the decoded
  // results and answers), serialised; ReadBundleZip fills it and the verifier compares it with
  // its own rendering. BuildBundleZip ignores it and renders the summary itself.
  std::string stated_summary;
};

// The erasure of the message (docs/evidence-bundle.md §6a): the action record of kind
// "erasure" that the notary sealed when it destroyed the message, the details that record binds
// by SHA-256 ({"reason", "receipt"}), and the record's leaf in the bundle's checkpoint tree.
struct BundleErasure {
  std::string record;   // ActionRecord::Encode() bytes (the salt is inside)
  std::string details;  // the JSON text whose SHA-256 is the record's details_sha256
  uint64_t leaf_index = 0;
  common::Hash leaf_hash{};  // as stated; the verifier recomputes it
  // RFC 9162 inclusion proof of the record's leaf in the bundle's checkpoint tree.
  std::vector<common::Hash> checkpoint_proof;
};

// Everything the server gathers for one receipt.
struct BundleInput {
  uint32_t format_version = kBundleFormatVersion;
  // The receipt (receipt/receipt.h): id, tenant, time, envelope, provenance, hashes, parts.
  // Its leaf_version is what the bundle claims in receipt.provenance_bound (1 or 2); check
  // leaf.record compares it with the record itself. Reading a bundle fills what evidence.json
  // carries and leaves the rest (metadata, transport flags, the private salt) empty.
  Receipt receipt;

  // Exactly one of: the exact message bytes, or one disclosed part, or (erased) neither.
  std::string message;
  std::optional<DisclosedPart> disclosed_part;

  // What evidence.json states for each part of receipt.parts, in the same order: whether
  // selective disclosure withheld it (its entry in receipt.parts then has only the position)
  // and the hash of its record, HashLeaf(EncodePartRecord). ReadBundleZip fills it; the
  // verifier recomputes the hash of every part that is not withheld. BuildBundleZip ignores
  // it: it withholds every part but the disclosed one and computes the hashes itself.
  struct StatedPart {
    bool redacted = false;
    common::Hash record_leaf_hash{};
  };
  std::vector<StatedPart> stated_parts;

  // True when part i was withheld by selective disclosure (as read from a bundle).
  bool Withheld(size_t i) const { return i < stated_parts.size() && stated_parts[i].redacted; }

  // The canonical form of the message (mime::Canonical::canonical), whose SHA-256 is
  // receipt.canonical_sha256: canonical-form.txt. Format version 2, full bundles only
  // (empty under selective disclosure). A reader that cannot canonicalise (the browser)
  // still gets the headers a person reads from it, bound by the leaf record.
  std::string canonical_form;

  // The Exchange / Microsoft 365 journal report the message arrived in, if it did: the
  // report's exact bytes, as notaryd kept them (docs/mail-server-setup.md). It carries the
  // whole message, so it is never given with a disclosed part. When reading a bundle,
  // journal_report_sha256 is what evidence.json states; BuildBundleZip computes it itself.
  std::optional<std::string> journal_report;
  common::Hash journal_report_sha256{};

  std::string leaf_record;  // LeafRecord::Encode() bytes (the salt is inside)
  uint64_t leaf_index = 0;  // global index in the log
  common::Hash leaf_hash{};

  // RFC 9162 inclusion proof of the leaf within the block's batch tree (root: batch_root).
  uint64_t batch_index = 0;  // leaf_index - first_leaf_index
  uint64_t batch_size = 0;   // the block's leaf_count
  std::vector<common::Hash> batch_proof;

  BundleBlock block;                          // the block that seals the leaf
  std::optional<BundleBlock> previous_block;  // height - 1; absent for the genesis block

  // The newest checkpoint (C2SP signed note) and the inclusion proof of the leaf at
  // leaf_index in its tree (tree size from the note).
  std::string checkpoint;
  std::vector<common::Hash> checkpoint_proof;

  // The sender checks, when the message had them and their record is in `checkpoint`'s tree.
  std::optional<BundleAuthentication> authentication;

  // The message was erased (docs/retention.md): the bundle then has no message, no canonical
  // form, no disclosed part, no parts (their records named files), an empty envelope (withheld:
  // its digest stays in the leaf record), no journal report and no sender evidence, and it
  // carries the sealed erasure record instead. The hashes and proofs still show that a message
  // with those hashes was received at that time.
  std::optional<BundleErasure> erasure;
  bool Erased() const { return erasure.has_value(); }

  std::vector<BundleKey> keys;  // at least the key that signed the block and the checkpoint
  std::string tsa_chain_pem;    // TSA certificate and intermediates (may be empty)
  std::string tsa_ca_pem;       // the TSA root(s)

  std::string issued_to;  // API key id or tenant the bundle was issued to
  int64_t issued_at_us = 0;
  std::string lang = "en";  // certificate.html language: "en", "ko" or "zh"
  // Which certificate template renders the texts: 1 (cert_template_v1.html, every bundle
  // without `texts_version`) or 2 (cert_template.html). Only format version 2 has 2.
  uint32_t texts_version = kTextsVersion;
};

// Builds the zip: message.eml (or part-<position>.bin), evidence.json, certificate.html,
// VERIFY.md and the loose copies the openssl commands of VERIFY.md need; and certificate.pdf
// (stored as it is) when `certificate_pdf` is not empty.
// Errors: kInvalidInput when the input is inconsistent (a block header that does not decode,
// a disclosed part that is not among the parts, an unknown lang, both or neither of message and
// disclosed_part); kInternal when libzip fails.
common::Result<std::string> BuildBundleZip(const BundleInput& input,
                                           std::string_view certificate_pdf = {});

// The zip BuildBundleZip(input) made, with certificate.pdf added (stored, dated
// `issued_at_us`, after the other entries), every other entry copied as it is: what
// BuildBundleZip(input, certificate_pdf) would hold, without deflating and rendering the rest
// again. kInvalidInput when `bundle_zip` is not a zip or has a certificate.pdf already.
common::Result<std::string> AddCertificatePdf(std::string_view bundle_zip,
                                              std::string_view certificate_pdf,
                                              int64_t issued_at_us);

// A bundle read back from a zip: the evidence and every file, by name.
struct Bundle {
  BundleInput evidence;                      // parsed from evidence.json (+ message file)
  std::map<std::string, std::string> files;  // every entry of the zip, by name
};

// Reads a zip without trusting it: at most kMaxBundleEntries entries, names from the expected
// set only (no directories other than the bundle's own, no "..", no absolute paths, no
// duplicates), uncompressed bytes counted while inflating (kMaxBundleTotalBytes in all),
// evidence.json parsed strictly, and every file evidence.json names present and no other but
// an optional certificate.pdf.
// Never writes to disk. Errors: kInvalidInput naming the problem.
common::Result<Bundle> ReadBundleZip(std::string_view zip_bytes);

enum class CheckStatus { kPass, kFail, kSkip };
std::string_view CheckStatusName(CheckStatus status);  // "PASS", "FAIL", "SKIP"

struct CheckResult {
  std::string id;    // stable, e.g. "block.signature" (docs/verifying.md lists them in order)
  std::string name;  // short English title
  CheckStatus status = CheckStatus::kSkip;
  std::string reason;  // why it passed, failed or was skipped
};

struct VerifyOptions {
  std::vector<std::string> pinned_key_pems;      // trusted notary keys (PEM)
  std::vector<std::string> pinned_fingerprints;  // trusted notary key fingerprints (hex)
  // Trusted TSA roots, one entry per authority (a PEM text, which may hold several
  // certificates, e.g. a root and its cross-signed twin). When any is given they replace the
  // bundle's own tsa_ca_pem; when none is, the bundle's roots are used (self-declared).
  std::vector<std::string> tsa_ca_pems;
  // Tokens over the block from at least this many distinct authorities (a token's authority:
  // its signing certificate's subject and issuer) must verify against the trusted roots.
  // With pinned roots a token whose signer does not chain to any of them is not counted (and
  // does not fail); one whose signer does, but that does not verify, fails. Without pinned
  // roots every token must verify against the bundle's roots, as before.
  size_t tsa_quorum = 1;
  // Independent C2SP tlog-witnesses (cosignature/v1, type-0x04 keys) the user trusts, and how
  // many of them must have cosigned the bundle's checkpoint; nullopt: all of those given.
  // No witnesses: check checkpoint.witnesses is skipped (old bundles verify as before).
  std::vector<CosignerKey> witnesses;
  std::optional<size_t> witness_quorum;
  std::optional<std::string> eml;               // another copy of the message
  std::optional<std::string> attachment;        // a file that may be one of the parts
  std::optional<std::string> newer_checkpoint;  // a signed note obtained separately
  // GET /v1/proofs/consistency?first=<bundle tree size>&second=<newer tree size> JSON:
  // {"first": A, "second": B, "hashes": ["hex", ...]}.
  std::optional<std::string> consistency_proof_json;
  // DNSSEC trust anchors (DS or DNSKEY records, zone-file lines) for the sender evidence's
  // archived answers (check sender.dnssec), and where they came from, for the report. Empty:
  // the check is skipped.
  std::string dns_trust_anchors;
  std::string dns_trust_anchor_source;
};

// A configured witness whose cosignature on the bundle's checkpoint verified.
struct WitnessCosignature {
  std::string name;
  std::string key_id;   // 8 lower-case hex digits
  int64_t time_us = 0;  // the cosignature's timestamp (whole seconds), in microseconds
};

// One time-stamp token on the bundle's block, as verified.
struct StampingAuthority {
  std::string tsa;          // BundleToken.tsa: "local" (the notary's built-in TSA) or a URL
  std::string subject;      // the signing certificate's subject (RFC 2253); "" if unknown
  std::string issuer;       // its issuer
  int64_t gen_time_us = 0;  // TSTInfo.genTime
  bool built_in = false;    // tsa == "local": the notary's own authority
  bool counted = false;     // verified against the trusted roots (counts for the quorum)
};

struct VerifyReport {
  std::vector<CheckResult> checks;   // every check, in the documented order
  bool valid = false;                // no check failed
  bool key_self_declared = true;     // no pinned key or fingerprint was given
  bool tsa_ca_self_declared = true;  // no --tsa-ca was given
  std::string key_fingerprint;       // of the key that signed the block ("" if none found)
  // Summary facts (0 / "" when unknown).
  std::string receipt_id;
  int64_t received_at_us = 0;
  uint64_t block_height = 0;
  std::optional<int64_t> not_before_us;  // previous block's latest counted token time
  // The earliest time a trusted party attests the receipt existed: the earliest counted
  // token on its block (genTime + accuracy) and the earliest cosignature by a configured
  // witness on the bundle's checkpoint, which includes the leaf (docs/verifying.md).
  std::optional<int64_t> not_after_us;
  std::vector<WitnessCosignature> witnesses;   // configured witnesses that cosigned
  std::vector<StampingAuthority> authorities;  // the block's tokens, in bundle order
  size_t cosignature_lines = 0;                // signature lines other than the log's
  // The message was erased and check erasure.record passed: when, and the reason recorded.
  std::optional<int64_t> erased_at_us;
  std::string erasure_reason;
  // Set when the bundle carries certificate.pdf, the operator's signed rendering of the
  // certificate, whose text no check reads (docs/evidence-bundle.md §7a): what its signature
  // shows.
  std::optional<PdfSignature> certificate_pdf;
};

// Runs every check. Never fails: problems become failed checks.
VerifyReport VerifyBundle(const Bundle& bundle, const VerifyOptions& options);

// The report as JSON (docs/verifying.md): {"valid", "checks": [{"id","name","status","reason"}],
// ...}.
std::string VerifyReportJson(const VerifyReport& report);

// A verification policy file (docs/verifying.md, "Policy file"): JSON
//   {"notary_keys": ["<fingerprint hex>", ...], "witnesses": ["<vkey>", ...],
//    "witness_quorum": N, "tsa_roots": ["<PEM text or file path>", ...], "tsa_quorum": N}
// Every member is optional; no other member is allowed. tsa_roots entries starting with
// "-----BEGIN" are PEM texts; others are paths, which the caller resolves (relative to the
// policy file) and reads. Errors: kInvalidInput naming the member.
struct VerifyPolicy {
  std::vector<std::string> notary_fingerprints;
  std::vector<CosignerKey> witnesses;
  std::optional<size_t> witness_quorum;
  std::vector<std::string> tsa_root_pems;   // given inline
  std::vector<std::string> tsa_root_paths;  // given as paths, to read
  std::optional<size_t> tsa_quorum;
};
common::Result<VerifyPolicy> ParseVerifyPolicy(std::string_view json_text);

}  // namespace notary
