// SPF (RFC 7208) evaluation with libspf2. libspf2 asks DNS only through the caller's
// DnsLookup (a DNS layer of ours, one per call): at reception the resolver answers and the
// caller archives each answer; offline the archive answers, and the same code gives the same
// result. A lookup that failed for now gives `temperror`, never a guessed result.
//
// What a result judges: the envelope sender's domain and the IP address of the SMTP client
// *as the notary saw it* (docs/sender-evidence.md, "SPF and DMARC").
//
// Thread-safety: EvaluateSpf may run on many threads at once (each call has its own libspf2
// server, request and DNS layer); `lookup` is called on the calling thread.
#pragma once

#include <string>

#include "common/result.h"
#include "sender/dns_answer.h"

namespace notary {

struct SpfQuery {
  std::string client_ip;  // the SMTP client's address, IPv4 or IPv6 text
  std::string mail_from;  // the MAIL FROM address without <>; empty for the null reverse-path
  std::string helo;       // the HELO/EHLO name
};

struct SpfResult {
  // "mailfrom" (RFC 7208 §2.4; for a null MAIL FROM it is postmaster@<HELO name>) or "helo"
  // (§2.3).
  std::string identity;
  std::string sender;  // the address checked: "alice@acme.example", "postmaster@mail.example"
  std::string domain;  // the domain whose record was evaluated
  // RFC 8601 §2.7.2 names: pass, fail, softfail, neutral, none, temperror, permerror
  std::string result;
  // Why, in libspf2's words or ours ("domain of alice@acme.example designates 127.0.0.1 as
  // permitted sender", "Temporary DNS failure for 'acme.example'.", "more than 10 DNS
  // lookups").
  std::string reason;
  std::string explanation;  // the domain's exp= text (macros not expanded) on a fail; else ""
  std::string record;       // the SPF record of `domain` that was evaluated; "" when none was

  bool operator==(const SpfResult&) const = default;
};

// RFC 7208 §4.6.4: at most 10 DNS-querying terms (include, a, mx, ptr, exists, redirect) in
// the whole evaluation, includes counted, and at most 2 of them "void" (NXDOMAIN or no data).
inline constexpr int kSpfMaxDnsTerms = 10;
inline constexpr int kSpfMaxVoidLookups = 2;

// The MAIL FROM identity (postmaster@HELO when mail_from is empty). kInvalidInput for a
// client_ip that is not an address, or an empty mail_from with an empty helo.
common::Result<SpfResult> EvaluateSpf(const SpfQuery& query, const DnsLookup& lookup);

// The HELO identity alone (RFC 7208 §2.3), for the caller who wants it beside the MAIL FROM
// result; it costs its own lookups. kInvalidInput for an empty helo.
common::Result<SpfResult> EvaluateSpfHelo(const SpfQuery& query, const DnsLookup& lookup);

}  // namespace notary
