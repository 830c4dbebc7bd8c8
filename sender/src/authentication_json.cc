#include "sender/authentication_json.h"

#include <algorithm>
#include <cctype>

#include "common/ascii.h"
#include "common/time.h"

namespace notary {

namespace {

using nlohmann::json;

std::string TypeName(uint16_t type) {
  switch (type) {
    case kDnsTypeTxt:
      return "TXT";
    case kDnsTypeDnskey:
      return "DNSKEY";
    case kDnsTypeDs:
      return "DS";
    case kDnsTypeA:
      return "A";
    case kDnsTypeAaaa:
      return "AAAA";
    case kDnsTypeMx:
      return "MX";
    case kDnsTypePtr:
      return "PTR";
    default:
      return "TYPE" + std::to_string(type);
  }
}

// Minutes are enough for a person; the archive keeps microseconds.
std::string Minute(int64_t us) {
  std::string t = common::FormatRfc3339Micros(us);  // 2026-12-04T10:00:00.000000Z
  return t.size() >= 16 ? t.substr(0, 16) + "Z" : t;
}

}  // namespace

const DnsAnswer* KeyAnswerFor(const std::vector<DnsAnswer>& answers, const DkimSignatureResult& d) {
  const std::string name = d.selector + "._domainkey." + d.domain;
  for (const DnsAnswer& a : answers) {
    if (a.qtype == kDnsTypeTxt && common::EqualsIgnoreAsciiCase(a.qname, name)) return &a;
  }
  return nullptr;
}

std::string DescribeDkim(const DkimSignatureResult& d, const DnsAnswer* key) {
  const std::string name = d.selector + "._domainkey." + d.domain;
  std::string dnssec;
  if (key != nullptr) {
    switch (key->dnssec) {
      case DnssecStatus::kSecure:
        dnssec = ", DNSSEC-validated";
        break;
      case DnssecStatus::kInsecure:
        dnssec = ", not DNSSEC-signed";
        break;
      case DnssecStatus::kBogus:
        dnssec = ", DNSSEC validation failed";
        break;
      case DnssecStatus::kIndeterminate:
        break;
    }
  }
  const std::string when =
      key != nullptr ? " as published at " + Minute(key->looked_up_at_us) : std::string();
  if (d.result == "pass") {
    std::string scope = d.body_length >= 0 ? "; only the first " + std::to_string(d.body_length) +
                                                 " bytes of the body are signed"
                                           : "";
    return "signed by d=" + d.domain + " (key " + name + when + dnssec + ")" + scope;
  }
  if (d.result == "fail") {
    return "signature by d=" + d.domain + " does not verify: " + d.reason + " (key " + name + when +
           dnssec + ")";
  }
  if (d.result == "temperror") {
    return "signature by d=" + d.domain + " not checked: the key " + name +
           " could not be looked up" +
           (key != nullptr && !key->why.empty() ? " (" + key->why + ")" : "");
  }
  return "signature by d=" + d.domain + " unusable (" + d.result + ": " + d.reason + ")";
}

std::string DescribeArc(const ArcOutcome& arc) {
  const size_t n = arc.sets.size();
  if (arc.result == "pass" && n > 0) {  // Decode refuses a pass without sets
    const ArcSetResult& first = arc.sets.front();
    std::string said = first.auth_results.empty() ? "" : ", which recorded: " + first.auth_results;
    return "ARC chain intact: " + std::to_string(n) + (n == 1 ? " hop" : " hops") +
           ", the first sealed by d=" + first.seal_domain + said;
  }
  if (arc.result == "temperror") return "ARC chain not checked: " + arc.reason;
  return "ARC chain broken: " + arc.reason;
}

json AuthenticationJson(const AuthenticationView& view) {
  json dkim = json::array();
  for (const DkimSignatureResult& d : view.results.dkim) {
    const DnsAnswer* key = KeyAnswerFor(view.answers, d);
    dkim.push_back({{"domain", d.domain},
                    {"selector", d.selector},
                    {"algorithm", d.algorithm},
                    {"canonicalization", d.header_canonicalization + "/" + d.body_canonicalization},
                    {"body_length", d.body_length >= 0 ? json(d.body_length) : json()},
                    {"signed_headers", d.signed_headers},
                    {"key_bits", d.key_bits},
                    {"result", d.result},
                    {"reason", d.reason},
                    {"key_record", d.selector + "._domainkey." + d.domain},
                    {"key_dnssec", key != nullptr ? json(DnssecStatusName(key->dnssec)) : json()},
                    {"summary", DescribeDkim(d, key)}});
  }
  json dns = json::array();
  for (const DnsAnswer& a : view.answers) {
    json records = json::array();
    if (a.qtype == kDnsTypeTxt) {
      if (auto txt = TxtRecords(a); txt.ok()) records = *txt;
    }
    dns.push_back({{"name", a.qname},
                   {"type", TypeName(a.qtype)},
                   {"looked_up_at", common::FormatRfc3339Micros(a.looked_up_at_us)},
                   {"outcome", LookupOutcomeName(a.outcome)},
                   {"dnssec", DnssecStatusName(a.dnssec)},
                   {"why", a.why},
                   {"records", records},
                   {"wire_size", a.wire.size()}});
  }
  json spf, dmarc;
  if (view.results.spf) {
    const SpfOutcome& s = *view.results.spf;
    spf = {{"identity", s.identity},
           {"domain", s.domain},
           {"client_ip", s.client_ip},
           {"result", s.result},
           {"reason", s.reason}};
  }
  if (view.results.dmarc) {
    const DmarcOutcome& m = *view.results.dmarc;
    dmarc = {
        {"domain", m.domain}, {"org_domain", m.org_domain},     {"policy", m.policy},
        {"result", m.result}, {"dkim_aligned", m.dkim_aligned}, {"spf_aligned", m.spf_aligned}};
  }
  json out = {{"checked_at", common::FormatRfc3339Micros(view.checked_at_us)},
              {"status", view.leaf_index ? "sealed" : "pending"},
              {"leaf_index", view.leaf_index ? json(*view.leaf_index) : json()},
              {"dkim", dkim},
              {"spf", spf},
              {"dmarc", dmarc},
              {"dns", dns}};
  // Only with ARC sets: summaries of messages without them read as they did before ARC.
  if (view.results.arc) {
    const ArcOutcome& a = *view.results.arc;
    json sets = json::array();
    for (const ArcSetResult& s : a.sets) {
      sets.push_back({{"instance", s.instance},
                      {"seal_domain", s.seal_domain},
                      {"seal_selector", s.seal_selector},
                      {"signature_domain", s.signature_domain},
                      {"signature_selector", s.signature_selector},
                      {"authserv_id", s.authserv_id},
                      {"auth_results", s.auth_results},
                      {"cv", s.cv},
                      {"seal_result", s.seal_result},
                      {"signature_result", s.signature_result}});
    }
    out["arc"] = {
        {"result", a.result}, {"reason", a.reason}, {"sets", sets}, {"summary", DescribeArc(a)}};
  }
  return out;
}

}  // namespace notary
