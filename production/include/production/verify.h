// VerifyProduction: notary-verify's check of a whole case production (docs/cases.md,
// "Checking a production"), offline and without trusting the notary or whoever handed the
// zip over.
//
// Every message's bundle is verified as `notary-verify BUNDLE --eml NATIVE` would, with the
// caller's keys and policy; then its rows in index.csv and loadfile.dat are rebuilt from what
// that bundle proves and from the native itself (hashes, receipt id, time of receipt, block,
// and the From, To, Cc, Subject and Date its headers show) and must equal the rows given.
// The mailbox must hold exactly the natives, in order; custody.json and case.json must name
// the same messages and Bates numbers; the zip may hold nothing else.
//
// Bundles are verified on `threads` threads, each reading the zip through its own handle.
// Memory is the rows plus, per thread, one bundle and one native.
//
// Thread-safety: VerifyProduction may run on several threads at once.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/result.h"
#include "evidence/bundle.h"

namespace production {

// Limits on a production's own files (each message's bundle has evidence/bundle.h's).
inline constexpr uint64_t kMaxProductionEntries = 2'000'016;
inline constexpr uint64_t kMaxProductionTextBytes = 512ull << 20;  // index, load file, custody

// One message: its Bates number and receipt id as index.csv gives them, and every problem
// found with it ("" problems: it passed).
struct MessageCheck {
  std::string bates, receipt_id;
  bool valid = false;
  bool erased = false;
  std::vector<std::string> problems;
  std::string key_fingerprint;  // of the key that signed its block
  bool key_self_declared = true;
  bool tsa_ca_self_declared = true;
};

struct ProductionReport {
  std::vector<MessageCheck> messages;  // in index.csv's order
  std::vector<std::string> problems;   // with the production as a whole
  bool valid = false;                  // no problem at all, every message valid
  size_t failed = 0;                   // messages with a problem
  std::set<std::string> key_fingerprints;
  bool key_self_declared = false;     // some bundle's key was taken from the bundle itself
  bool tsa_ca_self_declared = false;  // some bundle's TSA root was
  // Set when certificate.pdf is there (its text is not read): what its signature shows.
  std::optional<notary::PdfSignature> certificate;
};

// True when the zip at `path` is a production rather than one message's bundle: it has
// index.csv, loadfile.dat and case.json at its top.
bool IsProduction(const std::string& path);

// Errors: kInvalidInput when the file is not a readable zip. Everything else is a problem in
// the report.
common::Result<ProductionReport> VerifyProduction(const std::string& path,
                                                  const notary::VerifyOptions& options,
                                                  unsigned threads);

// {"production": true, "valid", "problems": [...], "messages": [{"bates", "receipt_id",
// "valid", "erased", "problems": [...], "key_fingerprint"}], "key_self_declared",
// "tsa_ca_self_declared", "certificate_unchecked"}
std::string ProductionReportJson(const ProductionReport& report);

}  // namespace production
