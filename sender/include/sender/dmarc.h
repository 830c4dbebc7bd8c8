// DMARC (RFC 7489) with libopendmarc: the From: domain's policy record, fetched through the
// caller's DnsLookup (the organizational domain's when the From: domain has none), handed to
// libopendmarc, which judges whether a passing DKIM signature or SPF check is aligned with
// the From: domain. libopendmarc never resolves anything itself here.
//
// Thread-safety: EvaluateDmarc may run on many threads at once. The public suffix list is
// loaded once per process, on first use (std::call_once); every other piece of libopendmarc
// state used here is per call (see dmarc.cc).
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "sender/dns_answer.h"

namespace notary {

struct DmarcAuthResult {
  std::string domain;  // SPF: the MAIL FROM (or HELO) domain checked; DKIM: d=
  std::string result;  // RFC 8601 names: pass, fail, softfail, neutral, none, temperror, ...
};

struct DmarcQuery {
  std::string header_from_domain;  // the RFC5322.From domain
  DmarcAuthResult spf;             // the MAIL FROM identity's SPF result
  std::vector<DmarcAuthResult> dkim;
};

struct DmarcResult {
  std::string domain;  // the From: domain
  // the policy that applies to it: none, quarantine or reject (sp= when the record is the
  // organizational domain's and has one); "" when there is no record
  std::string policy;
  std::string result;         // pass, fail, none (no record), temperror or permerror (bad record)
  bool dkim_aligned = false;  // a passing DKIM signature's d= is aligned with the From: domain
  bool spf_aligned = false;   // a passing SPF domain is aligned with the From: domain
  std::string record;         // the DMARC record used; "" when none
  std::string record_domain;  // where it was found: "_dmarc.acme.example"
  std::string org_domain;     // the From: domain's organizational domain (RFC 7489 §3.2)
  std::string reason;         // why a temperror or permerror

  bool operator==(const DmarcResult&) const = default;
};

// The public suffix list the organizational domain is computed with (Debian: publicsuffix).
inline constexpr char kPublicSuffixList[] = "/usr/share/publicsuffix/public_suffix_list.dat";

// kInvalidInput for an empty From: domain; kUnavailable when the public suffix list cannot
// be read.
common::Result<DmarcResult> EvaluateDmarc(const DmarcQuery& query, const DnsLookup& lookup);

// RFC 7489 §3.2 with the public suffix list (the implicit "*" rule when no rule matches).
common::Result<std::string> OrganizationalDomain(std::string_view domain);

}  // namespace notary
