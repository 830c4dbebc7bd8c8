// ValidateArchivedAnswer on hostile archives (replies built with ldns, tests/sender/
// fake_dns.h): a chain that loops between two zones and a DNSKEY set too large end with a
// reason, in bounded work, instead of recursing or verifying without end.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fake_dns.h"
#include "sender/dnssec.h"

namespace notary {
namespace {

using testing_dns::Reply;

// A signature's fields are not checked before the chain is: any bytes do.
std::string Rrsig(const std::string& owner, const std::string& covered, const std::string& signer) {
  return owner + " 60 IN RRSIG " + covered + " 13 2 60 20261219000000 20261201000000 4242 " +
         signer +
         " AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw="
         "=";
}
const char kKey[] =
    "257 3 13 "
    "mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==";

DnsAnswer Answer(const std::string& name, uint16_t type, const std::vector<std::string>& lines) {
  DnsAnswer a;
  a.qname = name;
  a.qtype = type;
  a.looked_up_at_us = 1796378400000000;
  a.outcome = LookupOutcome::kAnswer;
  a.dnssec = DnssecStatus::kSecure;
  a.wire = Reply(name, type, lines);
  return a;
}

TEST(DnssecBoundsTest, AChainThatLoopsBetweenTwoZonesEndsWithAReason) {
  auto anchors = ParseDnssecAnchors(
      ". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n");
  ASSERT_TRUE(anchors.ok());
  DnsAnswer txt = Answer(
      "x.a.example", kDnsTypeTxt,
      {"x.a.example. 60 IN TXT \"v=DKIM1; p=\"", Rrsig("x.a.example.", "TXT", "a.example.")});
  std::vector<DnsAnswer> archive = {
      txt,
      Answer("a.example", kDnsTypeDnskey,
             {std::string("a.example. 60 IN DNSKEY ") + kKey,
              Rrsig("a.example.", "DNSKEY", "a.example.")}),
      Answer("a.example", kDnsTypeDs,
             {"a.example. 60 IN DS 4242 13 2 "
              "0000000000000000000000000000000000000000000000000000000000000000",
              Rrsig("a.example.", "DS", "b.example.")}),
      Answer("b.example", kDnsTypeDnskey,
             {std::string("b.example. 60 IN DNSKEY ") + kKey,
              Rrsig("b.example.", "DNSKEY", "b.example.")}),
      Answer("b.example", kDnsTypeDs,
             {"b.example. 60 IN DS 4242 13 2 "
              "0000000000000000000000000000000000000000000000000000000000000000",
              Rrsig("b.example.", "DS", "a.example.")}),
  };
  DnssecValidation v = ValidateArchivedAnswer(txt, archive, *anchors);
  EXPECT_FALSE(v.validated);
  EXPECT_NE(v.why.find("loops back to a.example"), std::string::npos) << v.why;
  EXPECT_FALSE(v.unconfirmed) << "a loop is made up: no DNS has one";
}

TEST(DnssecBoundsTest, ADnskeySetOfMoreThan32KeysIsRefusedBeforeAnySignatureIsChecked) {
  auto anchors = ParseDnssecAnchors(std::string("a.example. IN DNSKEY ") + kKey + "\n");
  ASSERT_TRUE(anchors.ok());
  DnsAnswer txt = Answer(
      "x.a.example", kDnsTypeTxt,
      {"x.a.example. 60 IN TXT \"v=DKIM1; p=\"", Rrsig("x.a.example.", "TXT", "a.example.")});
  std::vector<std::string> keys;
  for (int i = 0; i < 40; ++i) {
    // Distinct keys: the last base64 character varies.
    std::string key = kKey;
    key[key.size() - 4] = static_cast<char>('A' + i % 26);
    key[key.size() - 5] = static_cast<char>('a' + i / 26);
    keys.push_back("a.example. 60 IN DNSKEY " + key);
  }
  keys.push_back(Rrsig("a.example.", "DNSKEY", "a.example."));
  std::vector<DnsAnswer> archive = {txt, Answer("a.example", kDnsTypeDnskey, keys)};
  DnssecValidation v = ValidateArchivedAnswer(txt, archive, *anchors);
  EXPECT_FALSE(v.validated);
  EXPECT_NE(v.why.find("more than 32 DNSKEY records in a.example"), std::string::npos) << v.why;
  EXPECT_TRUE(v.unconfirmed) << "a zone may publish that many keys: a bound, not a contradiction";
}

}  // namespace
}  // namespace notary
