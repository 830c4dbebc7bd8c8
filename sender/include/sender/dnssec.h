// DNSSEC evidence kept with the archive, and its validation offline (docs/sender-evidence.md
// §2a). At ingest, for each answer the resolver called secure, the DNSKEY and DS records from
// its signer's zone up to a trust anchor are looked up too, through the same archiving
// DnsLookup, so the archive holds the whole chain. Years later, notary-verify validates each
// such answer with ldns against the user's trust anchors, as of the time it was looked up:
// "DNSSEC-validated" then rests on the domain's signatures, not on the notary's resolver.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "sender/dns_answer.h"

namespace notary {

// Trust anchors: DNSKEY and DS records in zone-file syntax, one per line, as in
// /usr/share/dns/root.key or unbound's trust-anchor-file (`;` comments, blank lines).
struct DnssecAnchors {
  std::vector<std::string> records;  // each line that parsed, as written
  std::vector<std::string> zones;    // their owner names, lower case, "." for the root

  // True when `zone` (lower case, no trailing dot; "" or "." for the root) has an anchor.
  bool Covers(std::string_view zone) const;
};
// kInvalidInput for a line that is not a DNSKEY or DS record, or no record at all.
common::Result<DnssecAnchors> ParseDnssecAnchors(std::string_view text);

// The signer zone of the RRSIGs over the answer's RRset (lower case, "" for the root), or ""
// with ok=false when the reply carries none.
struct SignerZone {
  bool found = false;
  std::string zone;
};
SignerZone AnswerSigner(const DnsAnswer& answer);

// Asks `lookup` for the DNSKEY and DS records that connect a secure answer's signer to an
// anchor: DNSKEY of the signer; unless the anchors cover it, DS of it (signed by its parent),
// and so on upwards, at most 16 zones. An archiving lookup keeps them.
void FetchDnssecChain(const DnsAnswer& answer, const DnssecAnchors& anchors,
                      const DnsLookup& lookup);

// The validation of one archived answer against the anchors, using only the archive.
struct DnssecValidation {
  bool validated = false;
  std::string chain;  // "acme.example (anchor)" or "acme.example <- example <- . (anchor)"
  std::string why;    // why not, when not validated
  // Not validated for what a sender's DNS servers can cause, not because anything contradicts
  // the answer: a DNSKEY or DS lookup archived as failed at reception, a chain record missing
  // from a full archive (512 answers), a chain longer than 16 zones, more than 8 RRSIGs on an
  // RRset or 32 keys in a zone, more than 512 signature checks. The answer's status then rests
  // on the notary's resolver, as an unsigned one does. Everything else that stops validation
  // (no RRSIG, a signature or key that does not match, a chain record the notary did not
  // archive, a loop) is a contradiction.
  bool unconfirmed = false;
};
// Bounded for hostile archives: each zone is validated once per call, at most 8 RRSIGs per
// RRset and 32 keys per zone are looked at, and at most 512 signatures are checked in all.
DnssecValidation ValidateArchivedAnswer(const DnsAnswer& answer,
                                        const std::vector<DnsAnswer>& archive,
                                        const DnssecAnchors& anchors);
// The same for several answers of one archive, sharing the work on common zones (and the
// bound on signatures checked).
std::vector<DnssecValidation> ValidateArchivedAnswers(const std::vector<const DnsAnswer*>& answers,
                                                      const std::vector<DnsAnswer>& archive,
                                                      const DnssecAnchors& anchors);

}  // namespace notary
