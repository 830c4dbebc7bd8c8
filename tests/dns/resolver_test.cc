// dns::Resolver against a real authoritative knotd (one zone DNSSEC-signed, one not) behind a
// validating unbound, both started by scripts/dnstest for the run (the `dns` fixture), and
// DKIM checked through it: at ingest, then "years later" from the archive alone.
#include "dns/resolver.h"

#include <gtest/gtest.h>
#include <ldns/ldns.h>

#include <atomic>
#include <map>
#include <thread>

#include "sender/dkim.h"
#include "support/test_support.h"

namespace dns {
namespace {

using notary::DnsAnswer;
using notary::DnssecStatus;
using notary::LookupOutcome;
using testsupport::RunCommand;

int CountInAnswer(const std::string& wire, ldns_rr_type type) {
  ldns_pkt* pkt = nullptr;
  if (ldns_wire2pkt(&pkt, reinterpret_cast<const uint8_t*>(wire.data()), wire.size()) !=
      LDNS_STATUS_OK) {
    return -1;
  }
  int n = 0;
  ldns_rr_list* rrs = ldns_pkt_answer(pkt);
  for (size_t i = 0; i < ldns_rr_list_rr_count(rrs); ++i) {
    if (ldns_rr_get_type(ldns_rr_list_rr(rrs, i)) == type) ++n;
  }
  ldns_pkt_free(pkt);
  return n;
}

class ResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = testsupport::DnsTestEnv();
    ASSERT_FALSE(env_["NOTARY_DNSTEST_RESOLVER"].empty()) << "scripts/dnstest did not run";
  }
  std::unique_ptr<Resolver> Make(std::string forwarder, std::string anchor,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    auto r = Resolver::Create({std::move(forwarder), std::move(anchor), timeout});
    EXPECT_TRUE(r.ok()) << r.error().message();
    return r.ok() ? std::move(*r) : nullptr;
  }
  std::unique_ptr<Resolver> Validating() {
    return Make(env_["NOTARY_DNSTEST_RESOLVER"], env_["NOTARY_DNSTEST_TRUST_ANCHOR"]);
  }
  std::string Sign(const std::string& message, const std::string& selector, const std::string& key,
                   const std::string& algorithm = "rsa-sha256") {
    auto r =
        RunCommand({"/usr/bin/python3",
                    testsupport::SourceDir() + "/tests/sender/fixtures/dkim_sign.py", "--domain",
                    "acme.example", "--selector", selector, "--key", key, "--algorithm", algorithm},
                   message);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    return r.out;
  }

  std::map<std::string, std::string> env_;
};

const char kMessage[] =
    "From: Alice <alice@acme.example>\r\n"
    "To: bob@plain.example\r\n"
    "Subject: Contract, signed\r\n"
    "Date: Fri, 04 Dec 2026 10:00:00 +0000\r\n"
    "Message-ID: <contract@acme.example>\r\n"
    "\r\n"
    "Signed copy attached.\r\n";

TEST_F(ResolverTest, SignedZoneAnswersAreSecureAndKeepTheirSignatures) {
  auto resolver = Validating();
  ASSERT_NE(resolver, nullptr);
  DnsAnswer a = resolver->Lookup("RSA1._domainkey.acme.example.", notary::kDnsTypeTxt);
  EXPECT_EQ(a.qname, "rsa1._domainkey.acme.example");
  ASSERT_EQ(a.outcome, LookupOutcome::kAnswer) << a.why;
  EXPECT_EQ(a.dnssec, DnssecStatus::kSecure) << a.why;
  EXPECT_GT(a.looked_up_at_us, 1700000000000000);
  EXPECT_GE(CountInAnswer(a.wire, LDNS_RR_TYPE_RRSIG), 1);
  auto records = notary::TxtRecords(a);
  ASSERT_TRUE(records.ok()) << records.error().message();
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ(records->front().rfind("v=DKIM1; k=rsa;", 0), 0u) << records->front();
}

TEST_F(ResolverTest, UnsignedZoneIsInsecureAndAbsentNamesAreProvenAbsent) {
  auto resolver = Validating();
  ASSERT_NE(resolver, nullptr);
  DnsAnswer plain = resolver->Lookup("s1._domainkey.plain.example", notary::kDnsTypeTxt);
  ASSERT_EQ(plain.outcome, LookupOutcome::kAnswer) << plain.why;
  EXPECT_EQ(plain.dnssec, DnssecStatus::kInsecure);
  EXPECT_EQ(CountInAnswer(plain.wire, LDNS_RR_TYPE_RRSIG), 0);

  DnsAnswer absent = resolver->Lookup("nokey._domainkey.acme.example", notary::kDnsTypeTxt);
  EXPECT_EQ(absent.outcome, LookupOutcome::kNxdomain) << absent.why;
  EXPECT_EQ(absent.dnssec, DnssecStatus::kSecure);
  DnsAnswer nodata = resolver->Lookup("mail.acme.example", notary::kDnsTypeTxt);
  EXPECT_EQ(nodata.outcome, LookupOutcome::kNodata) << nodata.why;
}

TEST_F(ResolverTest, AWrongTrustAnchorMakesTheSignedZoneBogus) {
  std::string anchor = testsupport::MakeTempDir("anchor") + "/wrong.txt";
  testsupport::WriteFile(anchor,
                         "acme.example. 3600 IN DS 4242 13 2 " + std::string(64, 'a') + "\n");
  auto resolver = Make(env_["NOTARY_DNSTEST_RESOLVER"], anchor);
  ASSERT_NE(resolver, nullptr);
  DnsAnswer a = resolver->Lookup("rsa1._domainkey.acme.example", notary::kDnsTypeTxt);
  EXPECT_EQ(a.dnssec, DnssecStatus::kBogus);
  EXPECT_NE(a.why.find("rsa1._domainkey.acme.example"), std::string::npos) << a.why;
}

TEST_F(ResolverTest, ResolverThatNeverAnswersIsATemperrorSayingWhatWasTried) {
  testsupport::SilentUdpPort dead;
  ASSERT_NE(dead.port(), 0);
  std::string port = std::to_string(dead.port());
  auto resolver = Make(dead.address(), "", std::chrono::milliseconds(300));
  ASSERT_NE(resolver, nullptr);
  DnsAnswer a = resolver->Lookup("rsa1._domainkey.acme.example", notary::kDnsTypeTxt);
  EXPECT_EQ(a.outcome, LookupOutcome::kTemperror);
  EXPECT_EQ(a.dnssec, DnssecStatus::kIndeterminate);
  EXPECT_TRUE(a.wire.empty());
  EXPECT_EQ(a.why,
            "TXT rsa1._domainkey.acme.example via 127.0.0.1@" + port + ": no answer within 300 ms");
}

TEST_F(ResolverTest, ManyThreadsShareOneResolver) {
  auto resolver = Validating();
  ASSERT_NE(resolver, nullptr);
  constexpr int kThreads = 8, kEach = 25;
  std::atomic<int> secure{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        // Not ed1: the removal test below takes that record away while ctest runs it in
        // parallel with this one.
        const char* name =
            (t + i) % 2 == 0 ? "rsa1._domainkey.acme.example" : "_dmarc.acme.example";
        DnsAnswer a = resolver->Lookup(name, notary::kDnsTypeTxt);
        if (a.outcome == LookupOutcome::kAnswer && a.dnssec == DnssecStatus::kSecure &&
            a.qname == name && notary::TxtRecords(a).ok()) {
          ++secure;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(secure.load(), kThreads * kEach);
}

TEST_F(ResolverTest, ForwarderSyntaxIsChecked) {
  EXPECT_EQ(*UnboundForwarder("127.0.0.1:53"), "127.0.0.1@53");
  EXPECT_EQ(*UnboundForwarder("[::1]:5353"), "::1@5353");
  for (const char* bad : {"127.0.0.1", "::1:53", "[::1]53", "host:0", "host:65536", ":53", "h:x"}) {
    EXPECT_FALSE(UnboundForwarder(bad).ok()) << bad;
  }
}

// The whole point: the key as published at reception verifies the message years later, after
// the record is gone from DNS, from the archived answer alone.
TEST_F(ResolverTest, DkimVerifiesAtIngestAndLaterFromTheArchiveAfterTheKeyIsRemoved) {
  auto resolver = Validating();
  ASSERT_NE(resolver, nullptr);
  std::string signed_message =
      Sign(kMessage, "ed1", env_["NOTARY_DNSTEST_KEY_ACME_ED"], "ed25519-sha256");
  std::vector<DnsAnswer> archive;
  auto online = [&](std::string_view domain, std::string_view selector) {
    DnsAnswer a = resolver->Lookup(std::string(selector) + "._domainkey." + std::string(domain),
                                   notary::kDnsTypeTxt);
    archive.push_back(a);
    notary::DkimKeyLookup key;
    if (a.outcome == LookupOutcome::kTemperror) {
      key.kind = notary::DkimKeyLookup::Kind::kTempError;
    } else if (auto txt = notary::TxtRecords(a); txt.ok() && txt->size() == 1) {
      key = {notary::DkimKeyLookup::Kind::kFound, txt->front()};
    }
    return key;
  };
  notary::DkimVerifyOptions at{.now_s = 1796378400};
  auto ingest = notary::VerifyDkim(signed_message, online, at);
  ASSERT_TRUE(ingest.ok());
  ASSERT_EQ(ingest->size(), 1u);
  EXPECT_EQ(ingest->front().result, "pass") << ingest->front().reason;
  ASSERT_EQ(archive.size(), 1u);
  EXPECT_EQ(archive[0].dnssec, DnssecStatus::kSecure);
  const std::vector<DnsAnswer> at_ingest = archive;
  auto digest = notary::DnsArchiveDigest(at_ingest);
  ASSERT_TRUE(digest.ok());
  std::string published = notary::TxtRecords(at_ingest[0])->front();

  // Years later: the selector is retired and the zone re-signed.
  auto removed = RunCommand({testsupport::SourceDir() + "/scripts/dnstest", "remove",
                             testsupport::DnsTestDir(), "ed1._domainkey.acme.example", "TXT"});
  ASSERT_EQ(removed.exit_code, 0) << removed.out;
  auto fresh = Validating();
  DnsAnswer gone = fresh->Lookup("ed1._domainkey.acme.example", notary::kDnsTypeTxt);
  EXPECT_EQ(gone.outcome, LookupOutcome::kNxdomain);
  archive.clear();
  resolver = std::move(fresh);
  auto today = notary::VerifyDkim(signed_message, online, at);
  ASSERT_TRUE(today.ok());
  EXPECT_EQ(today->front().result, "permerror");

  // Offline, from the archive as stored (encoded, then read back): still a pass.
  auto stored = notary::DecodeDnsArchive(*notary::EncodeDnsArchive(at_ingest));
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(*notary::DnsArchiveDigest(*stored), *digest);
  auto offline_fetch = [&](std::string_view domain, std::string_view selector) {
    notary::DkimKeyLookup key;
    for (const DnsAnswer& a : *stored) {
      auto txt = notary::TxtRecords(a);
      if (a.qname == std::string(selector) + "._domainkey." + std::string(domain) && txt.ok() &&
          txt->size() == 1) {
        key = {notary::DkimKeyLookup::Kind::kFound, txt->front()};
      }
    }
    return key;
  };
  auto offline = notary::VerifyDkim(signed_message, offline_fetch, at);
  ASSERT_TRUE(offline.ok());
  EXPECT_EQ(offline->front().result, "pass");

  auto restored = RunCommand({testsupport::SourceDir() + "/scripts/dnstest", "set-txt",
                              testsupport::DnsTestDir(), "ed1._domainkey.acme.example", published});
  EXPECT_EQ(restored.exit_code, 0) << restored.out;
}

}  // namespace
}  // namespace dns
