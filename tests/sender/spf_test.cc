// SPF (RFC 7208) through libspf2 with every DNS question answered by a DnsLookup serving
// replies built with ldns.
#include "sender/spf.h"

#include <gtest/gtest.h>

#include <thread>

#include "fake_dns.h"

namespace notary {
namespace {

using testing_dns::FakeDns;

SpfResult Check(FakeDns& dns, const std::string& ip, const std::string& from,
                const std::string& helo = "mail.acme.example") {
  auto r = EvaluateSpf({ip, from, helo}, dns.Lookup());
  EXPECT_TRUE(r.ok()) << r.error().message();
  return r.ok() ? *r : SpfResult{};
}

TEST(SpfTest, PassFailSoftfailNeutralByTheRecordsQualifiers) {
  FakeDns dns;
  dns.Txt("acme.example", "v=spf1 ip4:192.0.2.0/24 -all");
  dns.Txt("soft.example", "v=spf1 ip4:192.0.2.1 ~all");
  dns.Txt("neutral.example", "v=spf1 ?all");
  SpfResult pass = Check(dns, "192.0.2.7", "alice@acme.example");
  EXPECT_EQ(pass.result, "pass") << pass.reason;
  EXPECT_EQ(pass.identity, "mailfrom");
  EXPECT_EQ(pass.domain, "acme.example");
  EXPECT_EQ(pass.sender, "alice@acme.example");
  EXPECT_EQ(pass.record, "v=spf1 ip4:192.0.2.0/24 -all");
  SpfResult fail = Check(dns, "198.51.100.1", "alice@acme.example");
  EXPECT_EQ(fail.result, "fail") << fail.reason;
  EXPECT_EQ(Check(dns, "198.51.100.1", "bob@soft.example").result, "softfail");
  EXPECT_EQ(Check(dns, "198.51.100.1", "bob@neutral.example").result, "neutral");
}

TEST(SpfTest, LoopbackClientsAreJudgedLikeAnyOther) {
  // libspf2's own query function passes every 127/8 and ::1 client unchecked.
  FakeDns dns;
  dns.Txt("fail.example", "v=spf1 -all");
  EXPECT_EQ(Check(dns, "127.0.0.1", "a@fail.example").result, "fail");
  EXPECT_EQ(Check(dns, "::1", "a@fail.example").result, "fail");
}

TEST(SpfTest, NoRecordIsNone) {
  FakeDns dns;
  dns.Txt("acme.example", "some other text");
  EXPECT_EQ(Check(dns, "192.0.2.1", "a@acme.example").result, "none");
  EXPECT_EQ(Check(dns, "192.0.2.1", "a@absent.example").result, "none");
  // The obsolete SPF RR type is never asked for (RFC 7208 §14.1).
  for (const auto& [name, type] : dns.asked) EXPECT_NE(type, 99) << name;
}

TEST(SpfTest, TwoRecordsOrABadRecordArePermerror) {
  FakeDns dns;
  dns.Txt("two.example", "v=spf1 -all");
  dns.Txt("two.example", "v=spf1 +all");
  dns.Txt("bad.example", "v=spf1 ip4:300.1.2.3 -all");
  dns.Txt("unknown.example", "v=spf1 frobnicate -all");
  EXPECT_EQ(Check(dns, "192.0.2.1", "a@two.example").result, "permerror");
  SpfResult bad = Check(dns, "192.0.2.1", "a@bad.example");
  EXPECT_EQ(bad.result, "permerror");
  EXPECT_FALSE(bad.reason.empty());
  EXPECT_EQ(Check(dns, "192.0.2.1", "a@unknown.example").result, "permerror");
}

TEST(SpfTest, ALookupThatFailedForNowIsTemperrorNeverAGuess) {
  FakeDns dns;
  dns.TempError("acme.example", kDnsTypeTxt);
  SpfResult top = Check(dns, "192.0.2.1", "a@acme.example");
  EXPECT_EQ(top.result, "temperror");
  EXPECT_NE(top.reason.find("test: no answer"), std::string::npos) << top.reason;

  FakeDns inner;
  inner.Txt("acme.example", "v=spf1 a:mail.acme.example include:other.example -all");
  inner.TempError("mail.acme.example", kDnsTypeA);
  EXPECT_EQ(Check(inner, "192.0.2.1", "a@acme.example").result, "temperror");
  FakeDns include;
  include.Txt("acme.example", "v=spf1 include:other.example -all");
  include.TempError("other.example", kDnsTypeTxt);
  EXPECT_EQ(Check(include, "192.0.2.1", "a@acme.example").result, "temperror");
}

TEST(SpfTest, IncludeChainsAMxAndRedirect) {
  FakeDns dns;
  dns.Txt("acme.example", "v=spf1 include:relay.example -all");
  dns.Txt("relay.example", "v=spf1 include:cloud.example ~all");
  dns.Txt("cloud.example", "v=spf1 mx a:out.cloud.example ?all");
  dns.Add("cloud.example", kDnsTypeMx, "10 mx1.cloud.example.");
  dns.Add("mx1.cloud.example", kDnsTypeA, "203.0.113.5");
  dns.Add("out.cloud.example", kDnsTypeA, "203.0.113.9");
  dns.Txt("redirected.example", "v=spf1 redirect=acme.example");
  EXPECT_EQ(Check(dns, "203.0.113.5", "a@acme.example").result, "pass");
  EXPECT_EQ(Check(dns, "203.0.113.9", "a@acme.example").result, "pass");
  // No match inside an include is no match: acme.example's own -all decides.
  EXPECT_EQ(Check(dns, "192.0.2.200", "a@acme.example").result, "fail");
  EXPECT_EQ(Check(dns, "203.0.113.9", "a@redirected.example").result, "pass");
  // An include of a domain without a record is a permerror (RFC 7208 §5.2).
  dns.Txt("dangling.example", "v=spf1 include:nothing.example -all");
  EXPECT_EQ(Check(dns, "192.0.2.1", "a@dangling.example").result, "permerror");
}

TEST(SpfTest, MoreThanTenDnsTermsIsPermerrorIncludesCounted) {
  FakeDns dns;
  // A chain of 11 includes: each record has one term, libspf2 alone counts per record.
  for (int i = 0; i < 11; ++i) {
    dns.Txt("l" + std::to_string(i) + ".example",
            "v=spf1 include:l" + std::to_string(i + 1) + ".example -all");
  }
  dns.Txt("l11.example", "v=spf1 +all");
  SpfResult r = Check(dns, "192.0.2.1", "a@l0.example");
  EXPECT_EQ(r.result, "permerror");
  EXPECT_NE(r.reason.find("more than 10"), std::string::npos) << r.reason;

  // Ten is allowed.
  FakeDns ten;
  for (int i = 0; i < 10; ++i) {
    ten.Txt("l" + std::to_string(i) + ".example",
            "v=spf1 include:l" + std::to_string(i + 1) + ".example -all");
  }
  ten.Txt("l10.example", "v=spf1 +all");
  EXPECT_EQ(Check(ten, "192.0.2.1", "a@l0.example").result, "pass");

  // Eleven a: terms in one record.
  FakeDns flat;
  std::string rec = "v=spf1";
  for (int i = 0; i < 11; ++i) rec += " a:h" + std::to_string(i) + ".flat.example";
  flat.Txt("flat.example", rec + " +all");
  for (int i = 0; i < 11; ++i)
    flat.Add("h" + std::to_string(i) + ".flat.example", kDnsTypeA, "198.51.100.1");
  EXPECT_EQ(Check(flat, "192.0.2.1", "a@flat.example").result, "permerror");
}

TEST(SpfTest, MoreThanTwoVoidLookupsIsPermerror) {
  FakeDns dns;
  dns.Txt("void.example", "v=spf1 a:n1.void.example a:n2.void.example a:n3.void.example +all");
  SpfResult r = Check(dns, "192.0.2.1", "a@void.example");
  EXPECT_EQ(r.result, "permerror");
  EXPECT_NE(r.reason.find("void"), std::string::npos) << r.reason;
  FakeDns two;
  two.Txt("void.example", "v=spf1 a:n1.void.example a:n2.void.example +all");
  EXPECT_EQ(Check(two, "192.0.2.1", "a@void.example").result, "pass");
}

TEST(SpfTest, Ipv6ClientMatchesIp6AndAaaa) {
  FakeDns dns;
  dns.Txt("acme.example", "v=spf1 ip6:2001:db8::/32 a:v6.acme.example -all");
  dns.Add("v6.acme.example", kDnsTypeAaaa, "2001:db9::25");
  EXPECT_EQ(Check(dns, "2001:db8::1", "a@acme.example").result, "pass");
  EXPECT_EQ(Check(dns, "2001:db9::25", "a@acme.example").result, "pass");
  EXPECT_EQ(Check(dns, "2001:dba::1", "a@acme.example").result, "fail");
}

TEST(SpfTest, NullMailFromChecksPostmasterAtTheHeloName) {
  FakeDns dns;
  dns.Txt("mail.acme.example", "v=spf1 ip4:192.0.2.25 -all");
  SpfResult r = Check(dns, "192.0.2.25", "", "mail.acme.example");
  EXPECT_EQ(r.result, "pass") << r.reason;
  EXPECT_EQ(r.identity, "mailfrom");
  EXPECT_EQ(r.sender, "postmaster@mail.acme.example");
  EXPECT_EQ(r.domain, "mail.acme.example");

  auto helo = EvaluateSpfHelo({"192.0.2.99", "a@other.example", "mail.acme.example"}, dns.Lookup());
  ASSERT_TRUE(helo.ok());
  EXPECT_EQ(helo->identity, "helo");
  EXPECT_EQ(helo->result, "fail");

  EXPECT_FALSE(EvaluateSpf({"192.0.2.1", "", ""}, dns.Lookup()).ok());
  EXPECT_FALSE(EvaluateSpf({"not an ip", "a@acme.example", "x"}, dns.Lookup()).ok());
}

TEST(SpfTest, ExplanationIsTheDomainsText) {
  FakeDns dns;
  dns.Txt("acme.example", "v=spf1 -all exp=why.acme.example");
  dns.Txt("why.acme.example", "Not one of our servers");
  SpfResult r = Check(dns, "192.0.2.1", "a@acme.example");
  EXPECT_EQ(r.result, "fail");
  EXPECT_EQ(r.explanation, "Not one of our servers");
}

TEST(SpfTest, ManyEvaluationsAtOnceOnSeveralThreads) {
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&wrong, t] {
      FakeDns dns;
      dns.Txt("acme.example", "v=spf1 include:relay.example -all");
      dns.Txt("relay.example", "v=spf1 ip4:192.0.2.0/24 ~all");
      for (int i = 0; i < 50; ++i) {
        bool inside = (i + t) % 2 == 0;
        auto r = EvaluateSpf({inside ? "192.0.2.9" : "198.51.100.9", "a@acme.example", "h.example"},
                             dns.Lookup());
        if (!r.ok() || r->result != (inside ? "pass" : "fail")) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace notary
