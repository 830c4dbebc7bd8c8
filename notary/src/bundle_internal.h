// Private pieces of the evidence bundle shared by bundle_*.cc: the file layout of the zip,
// evidence.json, and the texts for people (certificate.html, VERIFY.md).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"
#include "notary/bundle.h"

namespace notary::bundle_internal {

inline constexpr std::string_view kEvidenceFile = "evidence.json";
inline constexpr std::string_view kCertificateFile = "certificate.html";
inline constexpr std::string_view kVerifyFile = "VERIFY.md";
inline constexpr std::string_view kMessageFile = "message.eml";
inline constexpr std::string_view kJournalReportFile = "journal-report.eml";
inline constexpr std::string_view kLeafRecordFile = "leaf-record.bin";
inline constexpr std::string_view kCheckpointFile = "checkpoint.txt";
inline constexpr std::string_view kTsaCaFile = "tsa-ca.pem";
inline constexpr std::string_view kTsaChainFile = "tsa-chain.pem";
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

// The block height from an encoded header; kInvalidInput when it does not decode.
common::Result<uint64_t> HeaderHeight(std::string_view header);

// Every file of the bundle except evidence.json, certificate.html and VERIFY.md, by name:
// the message (or disclosed part) and the loose copies (leaf record, block headers and
// signatures, tokens, keys, checkpoint, TSA PEMs). REQUIRES: the input passed
// ValidateInput().
std::map<std::string, std::string> LooseFiles(const BundleInput& input);
common::Status ValidateInput(const BundleInput& input);

// evidence.json (docs/evidence-bundle.md). REQUIRES: ValidateInput() passed.
std::string EvidenceJson(const BundleInput& input);
// Strict parser: kInvalidInput naming the first missing or mistyped field. Redacted parts
// come back with redacted = true. The message / disclosed part bytes are not filled in.
common::Result<BundleInput> ParseEvidenceJson(std::string_view json);

// What the texts for people show, decoded from the message when it is in the bundle.
struct Display {
  bool message_disclosed = true;
  std::string subject, from, date;
  std::vector<std::string> to;
  struct Token {
    uint64_t height = 0;
    std::string tsa, file;
    int64_t gen_time_us = 0;
  };
  std::vector<Token> tokens;  // this block's, then the previous block's
  uint64_t height = 0;
  uint64_t tree_size = 0;  // of the checkpoint
  std::string checkpoint_origin;
  std::string signing_key_id;
};

std::string CertificateHtml(const BundleInput& input, const Display& display);
std::string VerifyMarkdown(const BundleInput& input, const Display& display);

std::string HtmlEscape(std::string_view text);

}  // namespace notary::bundle_internal
