// A DNS answer kept as evidence: the reply exactly as the resolver returned it (wire format,
// with its RRSIGs when the zone is signed), what was asked, when, and what validation said.
// The archive of a message's answers has one digest (docs/sender-evidence.md) that the log
// binds, so a record changed by one byte afterwards no longer matches.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"

namespace notary {

// RFC 4035 §4.3 states, as the validating resolver reported them at lookup time.
enum class DnssecStatus {
  kSecure,         // validated up to a trust anchor
  kInsecure,       // provably unsigned (or outside every trust anchor)
  kBogus,          // signed, but the signatures did not validate
  kIndeterminate,  // no answer to judge (timeout, resolver error)
};
std::string_view DnssecStatusName(DnssecStatus status);
common::Result<DnssecStatus> ParseDnssecStatus(std::string_view name);

// What the lookup gave. A timeout or resolver failure is kTemperror: recorded, never guessed.
enum class LookupOutcome { kAnswer, kNxdomain, kNodata, kTemperror };
std::string_view LookupOutcomeName(LookupOutcome outcome);
common::Result<LookupOutcome> ParseLookupOutcome(std::string_view name);

inline constexpr uint16_t kDnsTypeA = 1;
inline constexpr uint16_t kDnsTypeMx = 15;
inline constexpr uint16_t kDnsTypePtr = 12;
inline constexpr uint16_t kDnsTypeAaaa = 28;
inline constexpr uint16_t kDnsTypeTxt = 16;
inline constexpr uint16_t kDnsTypeDs = 43;
inline constexpr uint16_t kDnsTypeRrsig = 46;
inline constexpr uint16_t kDnsTypeDnskey = 48;

struct DnsAnswer {
  static constexpr size_t kMaxNameBytes = 255;
  static constexpr size_t kMaxWireBytes = 65535;
  static constexpr size_t kMaxWhyBytes = 1024;

  std::string qname;  // lower case, no trailing dot: "s1._domainkey.acme.example"
  uint16_t qtype = 0;
  int64_t looked_up_at_us = 0;  // when the answer came (or the lookup gave up), UTC
  LookupOutcome outcome = LookupOutcome::kTemperror;
  DnssecStatus dnssec = DnssecStatus::kIndeterminate;
  // Why it is bogus or a temperror: what was tried ("TXT s1._domainkey.acme.example via
  // 127.0.0.1@53: no answer within 5000 ms"); empty otherwise.
  std::string why;
  std::string wire;  // the reply packet; empty for a temperror

  bool operator==(const DnsAnswer&) const = default;
};

// How the checks that need DNS (SPF's chain, DMARC's record, DKIM's key) ask for a record:
// at reception the resolver answers (and the caller archives each answer); offline, the
// archive does. The same evaluation code runs both times.
using DnsLookup = std::function<DnsAnswer(std::string_view name, uint16_t type)>;

// The strings of each TXT record owned by the answer's qname in the wire reply, each record's
// strings concatenated (RFC 6376 §3.6.2.2, RFC 7208 §3.3). kInvalidInput for a reply that
// does not parse or does not answer the qname's TXT question.
common::Result<std::vector<std::string>> TxtRecords(const DnsAnswer& answer);

// The byte encoding the archive digest is taken over (docs/sender-evidence.md):
//   "email-notary/dns-archive/v1\n" || u32 count || per answer: str qname || u16 qtype ||
//   i64 looked_up_at_us || str outcome || str dnssec || str why || str wire
// kInvalidInput for a field over its limit.
// At most this many answers in one message's archive: more than any honest message's checks
// need (DKIM keys of at most 16 signatures, ARC keys, SPF's 10-lookup limit with its void
// lookups, DMARC, their DNSSEC chains). A question past it is answered, at reception and
// offline alike, with a temperror saying so (sender/evaluate.h).
inline constexpr size_t kMaxDnsAnswers = 512;

common::Result<std::string> EncodeDnsArchive(const std::vector<DnsAnswer>& answers);
common::Result<std::vector<DnsAnswer>> DecodeDnsArchive(std::string_view bytes);
common::Result<common::Hash> DnsArchiveDigest(const std::vector<DnsAnswer>& answers);

}  // namespace notary
