// The DNSSEC chain archived at ingest and validated offline (sender/dnssec.h), against the test
// zones of the `dns` fixture: knotd signs acme.example, a validating unbound answers, and the
// trust anchor is acme.example's KSK. Validation uses ldns over the archived replies only.
#include <gtest/gtest.h>

#include "dns/resolver.h"
#include "sender/dnssec.h"
#include "support/test_support.h"

namespace dns {
namespace {

using notary::DnsAnswer;

class DnssecChainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto env = testsupport::DnsTestEnv();
    ASSERT_FALSE(env["NOTARY_DNSTEST_RESOLVER"].empty()) << "scripts/dnstest did not run";
    auto r = Resolver::Create({env["NOTARY_DNSTEST_RESOLVER"], env["NOTARY_DNSTEST_TRUST_ANCHOR"],
                               std::chrono::seconds(5)});
    ASSERT_TRUE(r.ok()) << r.error().message();
    resolver_ = std::move(*r);
    auto anchors =
        notary::ParseDnssecAnchors(testsupport::ReadFile(env["NOTARY_DNSTEST_TRUST_ANCHOR"]));
    ASSERT_TRUE(anchors.ok()) << anchors.error().message();
    anchors_ = *anchors;
  }
  notary::DnsLookup Archiving() {
    return [this](std::string_view name, uint16_t type) {
      archive_.push_back(resolver_->Lookup(name, type));
      return archive_.back();
    };
  }
  // The key record's answer and its chain, as the sender checks archive them.
  DnsAnswer KeyWithChain() {
    DnsAnswer key = Archiving()("rsa1._domainkey.acme.example", notary::kDnsTypeTxt);
    EXPECT_EQ(key.dnssec, notary::DnssecStatus::kSecure);
    notary::FetchDnssecChain(key, anchors_, Archiving());
    return key;
  }

  std::unique_ptr<Resolver> resolver_;
  notary::DnssecAnchors anchors_;
  std::vector<DnsAnswer> archive_;
};

TEST_F(DnssecChainTest, SignedKeyRecordValidatesFromTheArchiveAlone) {
  DnsAnswer key = KeyWithChain();
  // The signer's DNSKEY set is archived; the anchor covers acme.example, so no DS is asked.
  ASSERT_EQ(archive_.size(), 2u);
  EXPECT_EQ(archive_[1].qname, "acme.example");
  EXPECT_EQ(archive_[1].qtype, notary::kDnsTypeDnskey);
  auto v = notary::ValidateArchivedAnswer(key, archive_, anchors_);
  EXPECT_TRUE(v.validated) << v.why;
  EXPECT_EQ(v.chain, "acme.example (trust anchor)");
}

TEST_F(DnssecChainTest, AForgedRecordAnotherAnchorOrAnExpiredSignatureDoNotValidate) {
  DnsAnswer key = KeyWithChain();
  // A record rewritten after the lookup (one byte of the public key's text).
  DnsAnswer forged = key;
  size_t p = forged.wire.find("p=MII");
  ASSERT_NE(p, std::string::npos);
  forged.wire[p + 10] = forged.wire[p + 10] == 'A' ? 'B' : 'A';
  auto v = notary::ValidateArchivedAnswer(forged, archive_, anchors_);
  EXPECT_FALSE(v.validated);
  EXPECT_NE(v.why.find("does not verify"), std::string::npos) << v.why;

  // The root's anchor (Debian's dns-root-data) does not reach acme.example: no DS archived.
  auto root = notary::ParseDnssecAnchors(
      ". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n");
  ASSERT_TRUE(root.ok());
  v = notary::ValidateArchivedAnswer(key, archive_, *root);
  EXPECT_FALSE(v.validated);
  EXPECT_NE(v.why.find("no DS records of acme.example"), std::string::npos) << v.why;
  EXPECT_FALSE(v.unconfirmed) << "a chain record the notary did not archive is its omission";

  // As of a time after the signatures expired (knot signs for two weeks), nothing validates.
  DnsAnswer late = key;
  late.looked_up_at_us += 60LL * 86400 * 1000000;
  v = notary::ValidateArchivedAnswer(late, archive_, anchors_);
  EXPECT_FALSE(v.validated);
  EXPECT_NE(v.why.find("does not verify"), std::string::npos) << v.why;
}

// What a sender's DNS servers can cause is not a contradiction: a DNSKEY lookup that failed at
// reception leaves the answer unconfirmed (resting on the notary's resolver), not refuted; the
// same record simply missing from a not-full archive is the notary's omission.
TEST_F(DnssecChainTest, AChainLookupThatFailedAtReceptionLeavesTheAnswerUnconfirmed) {
  DnsAnswer key = KeyWithChain();
  ASSERT_EQ(archive_[1].qtype, notary::kDnsTypeDnskey);
  std::vector<DnsAnswer> failed = archive_;
  failed[1].outcome = notary::LookupOutcome::kTemperror;
  failed[1].why = "DNSKEY acme.example via 127.0.0.1: no answer within 300 ms";
  failed[1].wire.clear();
  auto v = notary::ValidateArchivedAnswer(key, failed, anchors_);
  EXPECT_FALSE(v.validated);
  EXPECT_TRUE(v.unconfirmed) << v.why;
  EXPECT_NE(v.why.find("the DNSKEY lookup of acme.example failed at reception (DNSKEY acme"),
            std::string::npos)
      << v.why;

  std::vector<DnsAnswer> missing = archive_;
  missing.erase(missing.begin() + 1);
  v = notary::ValidateArchivedAnswer(key, missing, anchors_);
  EXPECT_FALSE(v.validated);
  EXPECT_FALSE(v.unconfirmed) << v.why;
}

TEST_F(DnssecChainTest, AnchorFilesParseAndJunkIsRefused) {
  auto root = notary::ParseDnssecAnchors(testsupport::ReadFile("/usr/share/dns/root.key"));
  ASSERT_TRUE(root.ok()) << root.error().message();
  EXPECT_TRUE(root->Covers("."));
  EXPECT_TRUE(root->Covers(""));
  EXPECT_FALSE(root->Covers("acme.example"));
  EXPECT_TRUE(anchors_.Covers("ACME.example."));
  EXPECT_FALSE(notary::ParseDnssecAnchors("; nothing\n").ok());
  EXPECT_FALSE(notary::ParseDnssecAnchors("acme.example. IN TXT \"x\"\n").ok());
  EXPECT_FALSE(notary::ParseDnssecAnchors("not a record\n").ok());
}

}  // namespace
}  // namespace dns
