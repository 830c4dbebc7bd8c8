// The DNS archive's encoding and digest (docs/sender-evidence.md), and reading TXT records
// from archived replies built with ldns.
#include <gtest/gtest.h>
#include <ldns/ldns.h>

#include "common/bytes.h"
#include "fake_dns.h"
#include "sender/dns_answer.h"
#include "sender/evaluate.h"

namespace notary {
namespace {

using testing_dns::Reply;

DnsAnswer TxtAnswer(const std::string& qname, std::string wire) {
  DnsAnswer a;
  a.qname = qname;
  a.qtype = kDnsTypeTxt;
  a.looked_up_at_us = 1796378400000000;
  a.outcome = LookupOutcome::kAnswer;
  a.dnssec = DnssecStatus::kSecure;
  a.wire = std::move(wire);
  return a;
}

TEST(TxtRecordsTest, JoinsEachRecordsStringsAndKeepsRecordsApart) {
  std::string name = "s1._domainkey.acme.example";
  DnsAnswer a = TxtAnswer(name, Reply(name, LDNS_RR_TYPE_TXT,
                                      {name + ". 300 IN TXT \"v=DKIM1; k=rsa; \" \"p=AAAA\"",
                                       name + ". 300 IN TXT \"second\"",
                                       "other.acme.example. 300 IN TXT \"not ours\""}));
  auto records = TxtRecords(a);
  ASSERT_TRUE(records.ok()) << records.error().message();
  EXPECT_EQ(*records, (std::vector<std::string>{"v=DKIM1; k=rsa; p=AAAA", "second"}));
}

TEST(TxtRecordsTest, NameCaseDoesNotMatterButTheQuestionMust) {
  std::string name = "s1._domainkey.acme.example";
  DnsAnswer upper = TxtAnswer(name, Reply("S1._DomainKey.ACME.example", LDNS_RR_TYPE_TXT,
                                          {"S1._DOMAINKEY.acme.EXAMPLE. 300 IN TXT \"k\""}));
  auto records = TxtRecords(upper);
  ASSERT_TRUE(records.ok());
  EXPECT_EQ(*records, std::vector<std::string>{"k"});

  // A reply to another question is not this question's answer.
  DnsAnswer other = TxtAnswer(
      name, Reply("s2._domainkey.acme.example", LDNS_RR_TYPE_TXT, {name + ". 300 IN TXT \"k\""}));
  EXPECT_FALSE(TxtRecords(other).ok());
  DnsAnswer type = TxtAnswer(name, Reply(name, LDNS_RR_TYPE_A, {name + ". 300 IN A 192.0.2.1"}));
  EXPECT_FALSE(TxtRecords(type).ok());
}

TEST(TxtRecordsTest, GarbageAndTruncatedRepliesAreRefused) {
  std::string name = "s1._domainkey.acme.example";
  std::string wire = Reply(name, LDNS_RR_TYPE_TXT, {name + ". 300 IN TXT \"v=DKIM1\""});
  EXPECT_FALSE(TxtRecords(TxtAnswer(name, wire.substr(0, wire.size() - 3))).ok());
  EXPECT_FALSE(TxtRecords(TxtAnswer(name, "not a dns packet")).ok());
  DnsAnswer none = TxtAnswer(name, "");
  none.outcome = LookupOutcome::kNxdomain;
  auto empty = TxtRecords(none);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(DnsArchiveTest, RoundTripsAndRefusesTruncationTrailingBytesAndUnknownNames) {
  std::string name = "s1._domainkey.acme.example";
  DnsAnswer a = TxtAnswer(name, Reply(name, LDNS_RR_TYPE_TXT, {name + ". 300 IN TXT \"x\""}));
  DnsAnswer t;
  t.qname = "_dmarc.acme.example";
  t.qtype = kDnsTypeTxt;
  t.looked_up_at_us = 1796378400500000;
  t.why = "TXT _dmarc.acme.example via 127.0.0.1@53: no answer within 5000 ms";
  std::vector<DnsAnswer> answers{a, t};
  auto encoded = EncodeDnsArchive(answers);
  ASSERT_TRUE(encoded.ok());
  auto decoded = DecodeDnsArchive(*encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message();
  EXPECT_EQ(*decoded, answers);
  EXPECT_FALSE(DecodeDnsArchive(encoded->substr(0, encoded->size() - 1)).ok());
  EXPECT_FALSE(DecodeDnsArchive(*encoded + "x").ok());
  std::string renamed = *encoded;
  size_t at = renamed.find("secure");
  ASSERT_NE(at, std::string::npos);
  renamed.replace(at, 6, "SECURE");
  EXPECT_FALSE(DecodeDnsArchive(renamed).ok());
}

TEST(DnsArchiveTest, OneChangedByteChangesTheDigest) {
  std::string name = "s1._domainkey.acme.example";
  DnsAnswer a = TxtAnswer(name, Reply(name, LDNS_RR_TYPE_TXT, {name + ". 300 IN TXT \"x\""}));
  auto before = DnsArchiveDigest({a});
  a.wire.back() = static_cast<char>(a.wire.back() ^ 1);
  auto after = DnsArchiveDigest({a});
  ASSERT_TRUE(before.ok() && after.ok());
  EXPECT_NE(*before, *after);
}

// The worked example of docs/sender-evidence.md, computed there with Python's hashlib from
// the specification alone.
TEST(DnsArchiveTest, DocumentedVectorIsWhatTheCodeProduces) {
  DnsAnswer a;
  a.qname = "s1._domainkey.acme.example";
  a.qtype = kDnsTypeTxt;
  a.looked_up_at_us = 1796378400000000;
  a.outcome = LookupOutcome::kNxdomain;
  a.dnssec = DnssecStatus::kSecure;
  a.wire = std::string("\x12\x34\x81\x83\x00\x01\x00\x00\x00\x00\x00\x00", 12);
  auto digest = DnsArchiveDigest({a});
  ASSERT_TRUE(digest.ok());
  EXPECT_EQ(common::ToHex(*digest),
            "07df3ab352b951686affffd4af9c834447401eb4d42e6f6b33100e6f109a363c");
}

}  // namespace
// A message whose checks would ask more than the archive holds: the questions past the limit
// are answered "over the limit" at reception, and the offline re-check, reading a full archive,
// gives the very same answer, so the results it recomputes are the recorded ones.
TEST(DnsArchiveTest, QuestionsPastTheLimitGetTheSameAnswerOffline) {
  std::vector<notary::DnsAnswer> answers;
  for (size_t i = 0; i < notary::kMaxDnsAnswers; ++i) {
    notary::DnsAnswer a;
    a.qname = "n" + std::to_string(i) + ".example";
    a.qtype = notary::kDnsTypeTxt;
    a.outcome = notary::LookupOutcome::kNxdomain;
    answers.push_back(std::move(a));
  }
  ASSERT_TRUE(notary::EncodeDnsArchive(answers).ok()) << "a full archive still encodes";
  const notary::DnsAnswer past =
      notary::ArchiveLookup(answers)("More.Example.", notary::kDnsTypeTxt);
  EXPECT_EQ(past.outcome, notary::LookupOutcome::kTemperror);
  EXPECT_EQ(past.qname, "more.example");
  EXPECT_EQ(past.why, "not asked: over the limit of 512 DNS answers for one message");
  answers.pop_back();
  EXPECT_EQ(notary::ArchiveLookup(answers)("more.example", notary::kDnsTypeTxt).why,
            "not in the archive");
}

}  // namespace notary
