#include "sender/dns_answer.h"

#include <ldns/ldns.h>

#include <memory>

#include "common/byte_reader.h"
#include "common/sha256.h"

namespace notary {

using common::Error;

namespace {

constexpr std::string_view kArchiveTag = "email-notary/dns-archive/v1\n";
constexpr uint32_t kMaxAnswers = kMaxDnsAnswers;

struct PktFree {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
struct RdfFree {
  void operator()(ldns_rdf* r) const { ldns_rdf_deep_free(r); }
};

}  // namespace

std::string_view DnssecStatusName(DnssecStatus status) {
  switch (status) {
    case DnssecStatus::kSecure:
      return "secure";
    case DnssecStatus::kInsecure:
      return "insecure";
    case DnssecStatus::kBogus:
      return "bogus";
    case DnssecStatus::kIndeterminate:
      return "indeterminate";
  }
  return "indeterminate";
}

common::Result<DnssecStatus> ParseDnssecStatus(std::string_view name) {
  for (auto s : {DnssecStatus::kSecure, DnssecStatus::kInsecure, DnssecStatus::kBogus,
                 DnssecStatus::kIndeterminate}) {
    if (DnssecStatusName(s) == name) return s;
  }
  return Error::InvalidInput("unknown DNSSEC status");
}

std::string_view LookupOutcomeName(LookupOutcome outcome) {
  switch (outcome) {
    case LookupOutcome::kAnswer:
      return "answer";
    case LookupOutcome::kNxdomain:
      return "nxdomain";
    case LookupOutcome::kNodata:
      return "nodata";
    case LookupOutcome::kTemperror:
      return "temperror";
  }
  return "temperror";
}

common::Result<LookupOutcome> ParseLookupOutcome(std::string_view name) {
  for (auto o : {LookupOutcome::kAnswer, LookupOutcome::kNxdomain, LookupOutcome::kNodata,
                 LookupOutcome::kTemperror}) {
    if (LookupOutcomeName(o) == name) return o;
  }
  return Error::InvalidInput("unknown lookup outcome");
}

common::Result<std::vector<std::string>> TxtRecords(const DnsAnswer& answer) {
  if (answer.outcome != LookupOutcome::kAnswer) return std::vector<std::string>{};
  ldns_pkt* raw = nullptr;
  if (ldns_wire2pkt(&raw, reinterpret_cast<const uint8_t*>(answer.wire.data()),
                    answer.wire.size()) != LDNS_STATUS_OK) {
    return Error::InvalidInput("DNS reply for " + answer.qname + " does not parse");
  }
  std::unique_ptr<ldns_pkt, PktFree> pkt(raw);
  ldns_rdf* owner_raw = nullptr;
  if (ldns_str2rdf_dname(&owner_raw, answer.qname.c_str()) != LDNS_STATUS_OK) {
    return Error::InvalidInput("bad query name " + answer.qname);
  }
  std::unique_ptr<ldns_rdf, RdfFree> owner(owner_raw);
  // The question must be the one archived: a reply to another question proves nothing here.
  ldns_rr_list* question = ldns_pkt_question(pkt.get());
  if (question == nullptr || ldns_rr_list_rr_count(question) != 1 ||
      ldns_rr_get_type(ldns_rr_list_rr(question, 0)) != LDNS_RR_TYPE_TXT ||
      ldns_dname_compare(ldns_rr_owner(ldns_rr_list_rr(question, 0)), owner.get()) != 0) {
    return Error::InvalidInput("DNS reply does not answer TXT " + answer.qname);
  }
  std::vector<std::string> records;
  ldns_rr_list* rrs = ldns_pkt_answer(pkt.get());
  for (size_t i = 0; rrs != nullptr && i < ldns_rr_list_rr_count(rrs); ++i) {
    ldns_rr* rr = ldns_rr_list_rr(rrs, i);
    // A CNAME chain's target owns the TXT; this archive only follows direct answers.
    if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_TXT ||
        ldns_dname_compare(ldns_rr_owner(rr), owner.get()) != 0) {
      continue;
    }
    std::string text;
    for (size_t f = 0; f < ldns_rr_rd_count(rr); ++f) {
      const ldns_rdf* rdf = ldns_rr_rdf(rr, f);
      const uint8_t* data = ldns_rdf_data(rdf);
      size_t size = ldns_rdf_size(rdf);
      if (size == 0 || data[0] + 1u != size) {
        return Error::InvalidInput("malformed TXT string in the reply for " + answer.qname);
      }
      text.append(reinterpret_cast<const char*>(data + 1), size - 1);
    }
    records.push_back(std::move(text));
  }
  return records;
}

common::Result<std::string> EncodeDnsArchive(const std::vector<DnsAnswer>& answers) {
  if (answers.size() > kMaxAnswers) return Error::InvalidInput("too many DNS answers");
  std::string out(kArchiveTag);
  common::AppendU32(out, static_cast<uint32_t>(answers.size()));
  for (const DnsAnswer& a : answers) {
    if (a.qname.empty() || a.qname.size() > DnsAnswer::kMaxNameBytes ||
        a.wire.size() > DnsAnswer::kMaxWireBytes || a.why.size() > DnsAnswer::kMaxWhyBytes) {
      return Error::InvalidInput("DNS answer field over its limit");
    }
    common::AppendLengthPrefixed(out, a.qname);
    common::AppendU16(out, a.qtype);
    common::AppendU64(out, static_cast<uint64_t>(a.looked_up_at_us));
    common::AppendLengthPrefixed(out, LookupOutcomeName(a.outcome));
    common::AppendLengthPrefixed(out, DnssecStatusName(a.dnssec));
    common::AppendLengthPrefixed(out, a.why);
    common::AppendLengthPrefixed(out, a.wire);
  }
  return out;
}

common::Result<std::vector<DnsAnswer>> DecodeDnsArchive(std::string_view bytes) {
  common::ByteReader in(bytes);
  uint32_t count = 0;
  if (!in.Literal(kArchiveTag) || !in.U32(count) || count > kMaxAnswers) {
    return Error::InvalidInput("not a DNS archive");
  }
  std::vector<DnsAnswer> answers;
  for (uint32_t i = 0; i < count; ++i) {
    DnsAnswer a;
    std::string outcome, dnssec;
    if (!in.String(a.qname, DnsAnswer::kMaxNameBytes) || a.qname.empty() || !in.U16(a.qtype) ||
        !in.I64(a.looked_up_at_us) || !in.String(outcome, 16) || !in.String(dnssec, 16) ||
        !in.String(a.why, DnsAnswer::kMaxWhyBytes) ||
        !in.String(a.wire, DnsAnswer::kMaxWireBytes)) {
      return Error::InvalidInput("truncated DNS archive");
    }
    ASSIGN_OR_RETURN(a.outcome, ParseLookupOutcome(outcome));
    ASSIGN_OR_RETURN(a.dnssec, ParseDnssecStatus(dnssec));
    answers.push_back(std::move(a));
  }
  if (!in.done()) return Error::InvalidInput("trailing bytes after the DNS archive");
  return answers;
}

common::Result<common::Hash> DnsArchiveDigest(const std::vector<DnsAnswer>& answers) {
  ASSIGN_OR_RETURN(std::string encoded, EncodeDnsArchive(answers));
  return common::Sha256Of(encoded);
}

}  // namespace notary
