// ARC (RFC 8617) chain validation of a stored message: the ARC sets intermediaries such as
// mailing lists added, each saying what the intermediary saw (its ARC-Authentication-Results)
// and sealed so that a later hop can tell the chain was not altered. Debian ships no ARC
// library (OpenARC is not packaged), so this is our own verifier on OpenSSL, for rsa-sha256,
// the one algorithm RFC 8617 defines. Keys come from the caller's DkimKeyFetcher, as for DKIM:
// the resolver at reception, the archive offline.
//
// Thread-safety: pure but for `fetch`, which is called on the calling thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sender/dkim.h"

namespace notary {

// One ARC set (instance i): who sealed it and what it said it saw.
struct ArcSetResult {
  uint32_t instance = 0;
  std::string seal_domain, seal_selector;            // ARC-Seal d= and s=
  std::string signature_domain, signature_selector;  // ARC-Message-Signature d= and s=
  std::string authserv_id;                           // the ARC-Authentication-Results' authserv-id
  std::string auth_results;  // its results after the authserv-id, unfolded, at most 1,024 bytes
  std::string cv;            // the seal's cv= as written (none, pass, fail)
  // pass, fail or temperror for each seal checked; "" for one not checked (below a failing
  // seal, or every seal when the chain failed before them).
  std::string seal_result;
  // The newest set's message signature only (RFC 8617 §5.2 step 3); "" for the others.
  std::string signature_result;

  bool operator==(const ArcSetResult&) const = default;
};

struct ArcOutcome {
  static constexpr uint32_t kMaxInstances = 50;  // RFC 8617 §4.2.1

  // none (no ARC header), pass, fail, or temperror when a key could not be fetched for now
  // (RFC 8617 has no temperror; the notary records what it could not check, never a guess).
  std::string result;
  std::string reason;              // why not pass, in words ("seal 2: signature mismatch")
  std::vector<ArcSetResult> sets;  // instance order, 1..N; empty when the chain is malformed

  bool operator==(const ArcOutcome&) const = default;
};

// Validates the ARC chain of `message` (RFC 5322 bytes; bare LF line ends are read as CRLF).
// Never an error: a malformed chain is a "fail" with its reason.
ArcOutcome VerifyArc(std::string_view message, const DkimKeyFetcher& fetch);

}  // namespace notary
