// DMARC (RFC 7489) through libopendmarc, the _dmarc records served by a DnsLookup of
// ldns-built replies.
#include "sender/dmarc.h"

#include <gtest/gtest.h>

#include "fake_dns.h"

namespace notary {
namespace {

using testing_dns::FakeDns;

DmarcResult Check(FakeDns& dns, const DmarcQuery& q) {
  auto r = EvaluateDmarc(q, dns.Lookup());
  EXPECT_TRUE(r.ok()) << r.error().message();
  return r.ok() ? *r : DmarcResult{};
}

FakeDns Acme(const std::string& record = "v=DMARC1; p=reject; adkim=r; aspf=r") {
  FakeDns dns;
  dns.Txt("_dmarc.acme.example", record);
  return dns;
}

TEST(DmarcTest, AlignedThroughDkim) {
  FakeDns dns = Acme();
  DmarcResult r =
      Check(dns, {"acme.example", {"other.example", "pass"}, {{"acme.example", "pass"}}});
  EXPECT_EQ(r.result, "pass");
  EXPECT_TRUE(r.dkim_aligned);
  EXPECT_FALSE(r.spf_aligned);
  EXPECT_EQ(r.policy, "reject");
  EXPECT_EQ(r.record, "v=DMARC1; p=reject; adkim=r; aspf=r");
  EXPECT_EQ(r.record_domain, "_dmarc.acme.example");
  EXPECT_EQ(r.org_domain, "acme.example");
}

TEST(DmarcTest, AlignedThroughSpf) {
  FakeDns dns = Acme();
  DmarcResult r =
      Check(dns, {"acme.example", {"acme.example", "pass"}, {{"other.example", "pass"}}});
  EXPECT_EQ(r.result, "pass");
  EXPECT_TRUE(r.spf_aligned);
  EXPECT_FALSE(r.dkim_aligned);
}

TEST(DmarcTest, RelaxedAlignsASubdomainStrictDoesNot) {
  FakeDns relaxed = Acme();
  DmarcResult r = Check(relaxed, {"acme.example", {}, {{"mail.acme.example", "pass"}}});
  EXPECT_EQ(r.result, "pass");
  EXPECT_TRUE(r.dkim_aligned);
  FakeDns strict = Acme("v=DMARC1; p=reject; adkim=s");
  DmarcResult s = Check(strict, {"acme.example", {}, {{"mail.acme.example", "pass"}}});
  EXPECT_EQ(s.result, "fail");
  EXPECT_FALSE(s.dkim_aligned);
  EXPECT_EQ(s.policy, "reject");
}

TEST(DmarcTest, NotAlignedFailsAndReportsThePolicy) {
  FakeDns dns = Acme();
  DmarcResult r =
      Check(dns, {"acme.example", {"evil.example", "pass"}, {{"evil.example", "pass"}}});
  EXPECT_EQ(r.result, "fail");
  EXPECT_FALSE(r.dkim_aligned);
  EXPECT_FALSE(r.spf_aligned);
  EXPECT_EQ(r.policy, "reject");
  // A failing signature of the right domain aligns nothing.
  DmarcResult f =
      Check(dns, {"acme.example", {"acme.example", "fail"}, {{"acme.example", "fail"}}});
  EXPECT_EQ(f.result, "fail");
}

TEST(DmarcTest, NoRecordIsNone) {
  FakeDns dns;
  DmarcResult r = Check(dns, {"plain.example", {"plain.example", "pass"}, {}});
  EXPECT_EQ(r.result, "none");
  EXPECT_EQ(r.policy, "");
  EXPECT_EQ(r.record, "");
}

TEST(DmarcTest, SubdomainUsesTheOrganizationalDomainsRecord) {
  FakeDns dns = Acme("v=DMARC1; p=reject; sp=quarantine");
  DmarcResult r = Check(dns, {"sub.acme.example", {}, {{"other.example", "pass"}}});
  EXPECT_EQ(r.org_domain, "acme.example");
  EXPECT_EQ(r.record_domain, "_dmarc.acme.example");
  EXPECT_EQ(r.result, "fail");
  EXPECT_EQ(r.policy, "quarantine");
  DmarcResult pass = Check(dns, {"sub.acme.example", {}, {{"acme.example", "pass"}}});
  EXPECT_EQ(pass.result, "pass");
  ASSERT_GE(dns.asked.size(), 2u);
  EXPECT_EQ(dns.asked[0].first, "_dmarc.sub.acme.example");
  EXPECT_EQ(dns.asked[1].first, "_dmarc.acme.example");
}

TEST(DmarcTest, PublicSuffixListGivesTheOrganizationalDomain) {
  EXPECT_EQ(*OrganizationalDomain("mail.example.co.uk"), "example.co.uk");
  EXPECT_EQ(*OrganizationalDomain("a.b.acme.example"), "acme.example");
  EXPECT_EQ(*OrganizationalDomain("example.com"), "example.com");
}

TEST(DmarcTest, TemperrorAndBadRecord) {
  FakeDns dns;
  dns.TempError("_dmarc.acme.example", kDnsTypeTxt);
  EXPECT_EQ(Check(dns, {"acme.example", {}, {}}).result, "temperror");
  FakeDns bad = Acme("v=DMARC1; p=bogus");
  EXPECT_EQ(Check(bad, {"acme.example", {}, {{"acme.example", "pass"}}}).result, "permerror");
}

}  // namespace
}  // namespace notary
