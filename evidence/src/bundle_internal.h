// Private pieces of the evidence bundle shared by bundle_*.cc: the file layout of the zip,
// evidence.json, and the texts for people (certificate.html, VERIFY.md).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"
#include "evidence/bundle.h"
#include "evidence/evidence_json.h"

namespace notary::bundle_internal {

inline constexpr std::string_view kEvidenceFile = "evidence.json";
inline constexpr std::string_view kCertificateFile = "certificate.html";
inline constexpr std::string_view kVerifyFile = "VERIFY.md";
// The operator's signed PDF of the certificate (docs/evidence-bundle.md §7a): optional, and
// read by no check.
inline constexpr std::string_view kCertificatePdfFile = "certificate.pdf";
inline constexpr std::string_view kMessageFile = "message.eml";
inline constexpr std::string_view kCanonicalFormFile = "canonical-form.txt";
inline constexpr std::string_view kJournalReportFile = "journal-report.eml";
inline constexpr std::string_view kLeafRecordFile = "leaf-record.bin";
inline constexpr std::string_view kCheckpointFile = "checkpoint.txt";
inline constexpr std::string_view kTsaCaFile = "tsa-ca.pem";
inline constexpr std::string_view kTsaChainFile = "tsa-chain.pem";
inline constexpr std::string_view kAuthRecordFile = "authentication/record.bin";
inline constexpr std::string_view kAuthResultsFile = "authentication/results.bin";
inline constexpr std::string_view kAuthDnsArchiveFile = "authentication/dns-archive.bin";
inline constexpr std::string_view kErasureRecordFile = "erasure-record.bin";
inline constexpr std::string_view kErasureDetailsFile = "erasure-details.json";
inline constexpr std::string_view kFormatName = "email-notary-evidence-bundle";

// "part-<position>.bin"; positions are digits and dots ("1", "2.1").
bool IsValidPosition(std::string_view position);
std::string PartFileName(std::string_view position);
std::string BlockHeaderFileName(uint64_t height);
std::string BlockSignatureFileName(uint64_t height);
std::string TokenFileName(uint64_t height, size_t index);
// Key ids are lower-case hex (KeyId()), 1 to 64 characters.
bool IsValidKeyId(std::string_view key_id);
std::string KeyFileName(std::string_view key_id);

// HashLeaf of a part's record as docs/canonical-form.md defines it for `canon_version`
// (version 2 records carry the part's salt). REQUIRES: the part is not withheld.
common::Hash PartRecordLeafHash(const Part& part, uint32_t canon_version);

// The block height from an encoded header; kInvalidInput when it does not decode.
common::Result<uint64_t> HeaderHeight(std::string_view header);

// Every file of the bundle except evidence.json, certificate.html and VERIFY.md, by name:
// the message (or disclosed part) and the loose copies (leaf record, block headers and
// signatures, tokens, keys, checkpoint, TSA PEMs). REQUIRES: the input passed
// ValidateInput().
std::map<std::string, std::string> LooseFiles(const BundleInput& input);
common::Status ValidateInput(const BundleInput& input);

// evidence.json's `authentication.summary`: the results and archived answers decoded and
// rendered as the receipt API does (sender/authentication_json.h), with the record's
// checked_at and the stated leaf index. kInvalidInput when the record, the results or the
// archive does not decode.
common::Result<nlohmann::json> AuthenticationSummary(const BundleAuthentication& auth);

// The view of the evidence that certificate.html and VERIFY.md are rendered from
// (docs/evidence-bundle.md, "Rendering"; texts.cc).
common::Result<nlohmann::json> TextsView(const BundleInput& input);

}  // namespace notary::bundle_internal
