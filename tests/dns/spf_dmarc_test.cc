// SPF and DMARC through dns::Resolver against the test zones (the `dns` fixture): every answer
// used is collected, as the archive will keep them.
#include <gtest/gtest.h>

#include <map>

#include "dns/resolver.h"
#include "sender/dmarc.h"
#include "sender/spf.h"
#include "support/test_support.h"

namespace dns {
namespace {

class SpfDmarcDnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto env = testsupport::DnsTestEnv();
    ASSERT_FALSE(env["NOTARY_DNSTEST_RESOLVER"].empty()) << "scripts/dnstest did not run";
    auto r = Resolver::Create({env["NOTARY_DNSTEST_RESOLVER"], env["NOTARY_DNSTEST_TRUST_ANCHOR"],
                               std::chrono::seconds(5)});
    ASSERT_TRUE(r.ok()) << r.error().message();
    resolver_ = std::move(*r);
  }
  notary::DnsLookup Lookup() {
    return [this](std::string_view name, uint16_t type) {
      notary::DnsAnswer a = resolver_->Lookup(name, type);
      archive_.push_back(a);
      return a;
    };
  }
  std::string Spf(const std::string& from) {
    auto r = notary::EvaluateSpf({"127.0.0.1", from, "mail.acme.example"}, Lookup());
    EXPECT_TRUE(r.ok()) << r.error().message();
    return r.ok() ? r->result + " (" + r->reason + ")" : "";
  }

  std::unique_ptr<Resolver> resolver_;
  std::vector<notary::DnsAnswer> archive_;
};

TEST_F(SpfDmarcDnsTest, SpfResultsOfTheTestZones) {
  EXPECT_EQ(Spf("alice@acme.example").rfind("pass", 0), 0u) << Spf("alice@acme.example");
  EXPECT_EQ(Spf("alice@fail.acme.example").rfind("fail", 0), 0u);
  EXPECT_EQ(Spf("alice@soft.acme.example").rfind("softfail", 0), 0u);
}

TEST_F(SpfDmarcDnsTest, DmarcPassForAcmeWithEveryAnswerSecure) {
  auto spf =
      notary::EvaluateSpf({"127.0.0.1", "alice@acme.example", "mail.acme.example"}, Lookup());
  ASSERT_TRUE(spf.ok()) << spf.error().message();
  EXPECT_EQ(spf->result, "pass") << spf->reason;
  EXPECT_EQ(spf->record, "v=spf1 ip4:127.0.0.1 ip6:::1 -all");
  auto dmarc = notary::EvaluateDmarc(
      {"acme.example", {"acme.example", spf->result}, {{"acme.example", "pass"}}}, Lookup());
  ASSERT_TRUE(dmarc.ok()) << dmarc.error().message();
  EXPECT_EQ(dmarc->result, "pass");
  EXPECT_TRUE(dmarc->dkim_aligned);
  EXPECT_TRUE(dmarc->spf_aligned);
  EXPECT_EQ(dmarc->policy, "reject");
  ASSERT_FALSE(archive_.empty());
  for (const notary::DnsAnswer& a : archive_) {
    EXPECT_EQ(a.dnssec, notary::DnssecStatus::kSecure) << a.qname << " " << a.why;
  }
  EXPECT_TRUE(notary::DnsArchiveDigest(archive_).ok());
}

}  // namespace
}  // namespace dns
