// The sender checks of one message (DKIM, SPF, DMARC) through a DnsLookup, with every answer
// they used archived in the order it was first asked. At ingest the lookup is the resolver;
// offline (notary-verify) it is ArchiveLookup over the archived answers, so the verifier runs
// the very code that produced the results (docs/sender-evidence.md §5).
//
// Thread-safety: pure but for `lookup`; may run on many threads at once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "sender/authentication.h"
#include "sender/dns_answer.h"
#include "sender/dnssec.h"

namespace notary {

// What the checks need besides the message: the SMTP envelope the notary received it with
// (bound by the leaf record's envelope digest) and the From: header as displayed.
struct SenderContext {
  int64_t received_at_us = 0;  // the DKIM verification's "now" (whole seconds)
  std::string mail_from, client_ip, helo;
  std::string header_from;  // "Alice <alice@acme.example>"
  // With anchors, each answer the resolver calls secure is followed by the DNSKEY and DS
  // records up to an anchor (sender/dnssec.h), so that the archive can be validated offline.
  const DnssecAnchors* anchors = nullptr;
};

struct SenderEvaluation {
  AuthenticationResults results;
  std::vector<DnsAnswer> answers;  // each (name, type) asked once, in the order first asked
};

// The domain of a From: header's single address, lower case; "" when there is none or more
// than one address (RFC 7489 §6.6.1: DMARC does not apply).
std::string FromDomain(std::string_view header_from);

// DKIM for every signature, the ARC chain when there is one, SPF for the client address (when there
// is one) and DMARC for the From: domain (when there is one). Errors only when a check cannot run
// at all (kInternal); a message OpenDKIM refuses as a whole has no DKIM results.
common::Result<SenderEvaluation> EvaluateSender(std::string_view message,
                                                const SenderContext& context,
                                                const DnsLookup& lookup);

// A DnsLookup answering from an archive: the answer archived for exactly (name, type), or a
// temperror "not in the archive" for a question that was never asked at reception (which the
// re-evaluation then reports as a difference).
DnsLookup ArchiveLookup(const std::vector<DnsAnswer>& answers);

}  // namespace notary
