// DKIM (RFC 6376, RFC 8463 ed25519-sha256) verification of a stored message with OpenDKIM's
// library, against key records the caller supplies. At ingest the caller fetches each key from
// DNS and archives the answer; offline, notary-verify supplies the archived record. Both run
// this same function with the same fixed "now" (the time the notary received the message), so
// a signature that had expired by the trial does not change its result.
//
// Thread-safety: VerifyDkim may run on many threads at once (each call has its own OpenDKIM
// library handle); the fetcher is called on the calling thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace notary {

struct DkimKeyLookup {
  enum class Kind { kFound, kNotFound, kTempError };
  Kind kind = Kind::kNotFound;
  std::string record;  // the TXT record's text (strings concatenated) when found
};

// (domain, selector) -> the key record; called once per signature that gets that far.
using DkimKeyFetcher =
    std::function<DkimKeyLookup(std::string_view domain, std::string_view selector)>;

// One DKIM-Signature header field's outcome, with RFC 8601 result names.
struct DkimSignatureResult {
  std::string domain;                   // d=
  std::string selector;                 // s=
  std::string algorithm;                // "rsa-sha256", "ed25519-sha256", "rsa-sha1" or "unknown"
  std::string header_canonicalization;  // "relaxed" or "simple"
  std::string body_canonicalization;
  int64_t body_length = -1;    // l=, -1 when the whole body is signed
  std::string signed_headers;  // h=, as written
  unsigned key_bits = 0;       // the key's size when it was loaded
  // pass, fail, neutral, temperror or permerror
  std::string result;
  std::string reason;  // why, in OpenDKIM's words ("body hash mismatch", "key not found")

  bool operator==(const DkimSignatureResult&) const = default;
};

struct DkimVerifyOptions {
  int64_t now_s = 0;  // the verification's "now" (the message's reception)
  static constexpr size_t kMaxSignatures = 16;  // more are not checked (and reported so)
};

// Every DKIM-Signature of the message, in header order; empty when there is none.
// kInvalidInput only when OpenDKIM refuses the message as a whole (e.g. no header/body
// separator); a bad signature is a result, not an error.
common::Result<std::vector<DkimSignatureResult>> VerifyDkim(std::string_view message,
                                                            const DkimKeyFetcher& fetch,
                                                            const DkimVerifyOptions& options);

}  // namespace notary
