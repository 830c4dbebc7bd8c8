// A DnsLookup served from replies built with ldns from zone-file lines, for the SPF and
// DMARC tests: what is not listed is NXDOMAIN, and every question is recorded.
#pragma once

#include <gtest/gtest.h>
#include <ldns/ldns.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "sender/dns_answer.h"

namespace notary::testing_dns {

// A reply as a resolver would send it, built by ldns from zone-file lines.
inline std::string Reply(const std::string& qname, uint16_t qtype,
                         const std::vector<std::string>& answer_lines) {
  ldns_pkt* pkt = nullptr;
  EXPECT_EQ(ldns_pkt_query_new_frm_str(&pkt, qname.c_str(), static_cast<ldns_rr_type>(qtype),
                                       LDNS_RR_CLASS_IN, LDNS_RD),
            LDNS_STATUS_OK);
  ldns_pkt_set_qr(pkt, true);
  for (const std::string& line : answer_lines) {
    ldns_rr* rr = nullptr;
    EXPECT_EQ(ldns_rr_new_frm_str(&rr, line.c_str(), 3600, nullptr, nullptr), LDNS_STATUS_OK)
        << line;
    ldns_pkt_push_rr(pkt, LDNS_SECTION_ANSWER, rr);
  }
  uint8_t* wire = nullptr;
  size_t size = 0;
  EXPECT_EQ(ldns_pkt2wire(&wire, pkt, &size), LDNS_STATUS_OK);
  std::string out(reinterpret_cast<char*>(wire), size);
  free(wire);
  ldns_pkt_free(pkt);
  return out;
}

// Quotes a TXT value as one character-string (values here stay under 255 bytes).
inline std::string Quoted(const std::string& text) { return "\"" + text + "\""; }

class FakeDns {
 public:
  // rdata in zone-file syntax, e.g. TXT "\"v=spf1 -all\"", A "192.0.2.1", MX "10 mx.example."
  void Add(const std::string& name, uint16_t type, const std::string& rdata) {
    records_[{name, type}].push_back(rdata);
  }
  void Txt(const std::string& name, const std::string& text) {
    Add(name, kDnsTypeTxt, Quoted(text));
  }
  void TempError(const std::string& name, uint16_t type) { temperrors_.push_back({name, type}); }

  DnsLookup Lookup() {
    return [this](std::string_view n, uint16_t type) { return Answer(std::string(n), type); };
  }
  DnsAnswer Answer(const std::string& name, uint16_t type) {
    asked.emplace_back(name, type);
    DnsAnswer a;
    a.qname = name;
    a.qtype = type;
    a.looked_up_at_us = 1796378400000000;
    a.dnssec = DnssecStatus::kInsecure;
    for (const auto& t : temperrors_) {
      if (t.first == name && t.second == type) {
        a.outcome = LookupOutcome::kTemperror;
        a.dnssec = DnssecStatus::kIndeterminate;
        a.why = "test: no answer for " + name;
        return a;
      }
    }
    auto it = records_.find({name, type});
    bool name_exists = false;
    for (const auto& [key, _] : records_) name_exists |= key.first == name;
    std::vector<std::string> lines;
    if (it != records_.end()) {
      static const std::map<uint16_t, std::string> kTypes = {{kDnsTypeA, "A"},
                                                             {kDnsTypeAaaa, "AAAA"},
                                                             {kDnsTypeTxt, "TXT"},
                                                             {kDnsTypeMx, "MX"},
                                                             {kDnsTypePtr, "PTR"}};
      for (const std::string& rdata : it->second) {
        lines.push_back(name + ". 300 IN " + kTypes.at(type) + " " + rdata);
      }
    }
    a.outcome = !lines.empty() ? LookupOutcome::kAnswer
                : name_exists  ? LookupOutcome::kNodata
                               : LookupOutcome::kNxdomain;
    a.wire = Reply(name, type, lines);
    return a;
  }

  std::vector<std::pair<std::string, uint16_t>> asked;

 private:
  std::map<std::pair<std::string, uint16_t>, std::vector<std::string>> records_;
  std::vector<std::pair<std::string, uint16_t>> temperrors_;
};

}  // namespace notary::testing_dns
