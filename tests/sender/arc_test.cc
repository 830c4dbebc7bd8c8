// VerifyArc against ARC sets sealed by dkimpy (python3-dkim's arc_sign, an independent
// implementation; tests/sender/fixtures/arc_sign.py), with keys made by its dknewkey. Key
// records are handed over directly; tests/e2e/ covers the lookups through a real resolver.
#include "sender/arc.h"

#include <gtest/gtest.h>

#include <map>

#include "common/bytes.h"
#include "common/sha256.h"
#include "sender/authentication.h"
#include "sender/authentication_json.h"
#include "support/test_support.h"

namespace notary {
namespace {

using testsupport::RunCommand;

const char kMessage[] =
    "From: Alice <alice@acme.example>\r\n"
    "To: team@list.example\r\n"
    "Subject: Plan for Q1\r\n"
    "Date: Fri, 04 Dec 2026 10:00:00 +0000\r\n"
    "Message-ID: <plan@acme.example>\r\n"
    "\r\n"
    "Hello  team. \r\n"
    "The plan is attached.\r\n";

class ArcTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testsupport::MakeTempDir("arc"));
    for (const char* name : {"list", "fwd", "other"}) {
      auto r = RunCommand(
          {"sh", "-c",
           std::string("cd '") + *dir_ + "' && dknewkey --ktype rsa " + name + " >/dev/null 2>&1"});
      ASSERT_EQ(r.exit_code, 0) << r.out;
    }
  }
  static std::string Record(const std::string& name) {
    return testsupport::ReadFile(*dir_ + "/" + name + ".dns");
  }

  // dkimpy adds "Authentication-Results: SRV; RESULTS" and one ARC set sealed by `domain`
  // with the key named `selector`.
  static std::string Seal(const std::string& message, const std::string& domain,
                          const std::string& selector, const std::string& results) {
    auto r = RunCommand(
        {"/usr/bin/python3", testsupport::SourceDir() + "/tests/sender/fixtures/arc_sign.py",
         "--domain", domain, "--selector", selector, "--key", *dir_ + "/" + selector + ".key",
         "--srv-id", "mx." + domain, "--auth-results", results},
        message);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    return r.out;
  }
  static std::string ListHop(const std::string& message) {
    return Seal(message, "list.example", "list",
                "dkim=pass header.d=acme.example; spf=pass smtp.mailfrom=acme.example");
  }

  // Serves each (domain, selector) from `keys`, counting calls.
  DkimKeyFetcher Serve(std::map<std::string, DkimKeyLookup> keys) {
    return [this, keys = std::move(keys)](std::string_view domain, std::string_view selector) {
      ++fetches_;
      auto it = keys.find(std::string(selector) + "@" + std::string(domain));
      return it == keys.end() ? DkimKeyLookup{} : it->second;
    };
  }
  DkimKeyFetcher Keys() {
    return Serve({{"list@list.example", {DkimKeyLookup::Kind::kFound, Record("list")}},
                  {"fwd@fwd.example", {DkimKeyLookup::Kind::kFound, Record("fwd")}}});
  }

  static std::string Replace(std::string s, const std::string& from, const std::string& to) {
    size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) s.replace(at, from.size(), to);
    return s;
  }

  int fetches_ = 0;
  static std::string* dir_;
};
std::string* ArcTest::dir_ = nullptr;

TEST_F(ArcTest, MessageWithoutArcIsNoneAndAsksNothing) {
  ArcOutcome arc = VerifyArc(kMessage, Keys());
  EXPECT_EQ(arc.result, "none");
  EXPECT_TRUE(arc.sets.empty());
  EXPECT_EQ(fetches_, 0);
}

TEST_F(ArcTest, OneHopPassesAndKeepsWhatTheIntermediarySaw) {
  ArcOutcome arc = VerifyArc(ListHop(kMessage), Keys());
  EXPECT_EQ(arc.result, "pass") << arc.reason;
  ASSERT_EQ(arc.sets.size(), 1u);
  const ArcSetResult& s = arc.sets[0];
  EXPECT_EQ(s.instance, 1u);
  EXPECT_EQ(s.seal_domain, "list.example");
  EXPECT_EQ(s.seal_selector, "list");
  EXPECT_EQ(s.signature_domain, "list.example");
  EXPECT_EQ(s.authserv_id, "mx.list.example");
  EXPECT_EQ(s.auth_results, "dkim=pass header.d=acme.example; spf=pass smtp.mailfrom=acme.example");
  EXPECT_EQ(s.cv, "none");
  EXPECT_EQ(s.seal_result, "pass");
  EXPECT_EQ(s.signature_result, "pass");
  EXPECT_EQ(DescribeArc(arc),
            "ARC chain intact: 1 hop, the first sealed by d=list.example, which recorded: "
            "dkim=pass header.d=acme.example; spf=pass smtp.mailfrom=acme.example");
}

// What ARC is for: the list changed the body (so the author's DKIM signature would break), and
// the next hop's seal still vouches for what the list saw.
TEST_F(ArcTest, TwoHopsWithTheBodyChangedBetweenThemPass) {
  std::string hop1 = ListHop(kMessage) + "-- \r\nTeam list footer\r\n";
  ArcOutcome arc = VerifyArc(Seal(hop1, "fwd.example", "fwd", "arc=pass"), Keys());
  EXPECT_EQ(arc.result, "pass") << arc.reason;
  ASSERT_EQ(arc.sets.size(), 2u);
  EXPECT_EQ(arc.sets[1].cv, "pass");
  EXPECT_EQ(arc.sets[0].seal_result, "pass");
  EXPECT_EQ(arc.sets[1].seal_result, "pass");
  EXPECT_EQ(arc.sets[0].signature_result, "") << "only the newest message signature is checked";
  EXPECT_EQ(arc.sets[1].signature_result, "pass");
  EXPECT_EQ(
      DescribeArc(arc).rfind("ARC chain intact: 2 hops, the first sealed by d=list.example", 0), 0u)
      << DescribeArc(arc);
}

TEST_F(ArcTest, BodyChangedAfterTheLastSealFails) {
  std::string sealed = ListHop(kMessage);
  ArcOutcome arc =
      VerifyArc(Replace(sealed, "The plan is attached.", "The plan is cancelled."), Keys());
  EXPECT_EQ(arc.result, "fail");
  EXPECT_EQ(arc.reason, "message signature 1: body hash mismatch");
  ASSERT_EQ(arc.sets.size(), 1u);
  EXPECT_EQ(arc.sets[0].signature_result, "fail");
  EXPECT_EQ(arc.sets[0].seal_result, "") << "seals are not checked once the chain failed";
  EXPECT_EQ(DescribeArc(arc), "ARC chain broken: message signature 1: body hash mismatch");
}

// The seal binds the intermediary's report: "dkim=pass" rewritten as "dkim=fail" (or the
// reverse) breaks it even though the message signature does not cover that field.
TEST_F(ArcTest, RewrittenArcAuthenticationResultsBreakTheSeal) {
  std::string sealed = ListHop(kMessage);
  const std::string aar = "ARC-Authentication-Results: i=1; mx.list.example; dkim=pass";
  ArcOutcome arc = VerifyArc(
      Replace(sealed, aar, "ARC-Authentication-Results: i=1; mx.list.example; dkim=fail"), Keys());
  EXPECT_EQ(arc.result, "fail");
  EXPECT_EQ(arc.reason, "seal 1: signature mismatch");
  EXPECT_EQ(arc.sets[0].signature_result, "pass");
  EXPECT_EQ(arc.sets[0].seal_result, "fail");
}

TEST_F(ArcTest, AnotherKeyFailsAndKeyProblemsAreNamed) {
  std::string sealed = ListHop(kMessage);
  auto with = [&](DkimKeyLookup key) {
    return VerifyArc(sealed, Serve({{"list@list.example", std::move(key)}}));
  };
  EXPECT_EQ(with({DkimKeyLookup::Kind::kFound, Record("other")}).reason,
            "message signature 1: signature mismatch");
  EXPECT_EQ(with({DkimKeyLookup::Kind::kNotFound, ""}).reason,
            "message signature 1: key not found");
  EXPECT_EQ(with({DkimKeyLookup::Kind::kFound, "v=DKIM1; k=rsa; p="}).reason,
            "message signature 1: key revoked");
  EXPECT_EQ(with({DkimKeyLookup::Kind::kFound, "v=DKIM1; k=ed25519; p=AAAA"}).reason,
            "message signature 1: key type is not rsa");
  ArcOutcome temp = with({DkimKeyLookup::Kind::kTempError, ""});
  EXPECT_EQ(temp.result, "temperror") << "a lookup that timed out is not a verdict";
  EXPECT_EQ(DescribeArc(temp), "ARC chain not checked: message signature 1: key lookup failed");
}

TEST_F(ArcTest, MalformedChainsFailWithoutAnyLookup) {
  std::string two = Seal(ListHop(kMessage), "fwd.example", "fwd", "arc=pass");
  struct Case {
    std::string message, reason;
  };
  std::vector<Case> cases = {
      {Replace(two, "ARC-Seal: i=1;", "X-Removed: i=1;"), "ARC set 1 is incomplete"},
      {Replace(two, "ARC-Seal: i=1; cv=none", "ARC-Seal: i=1; cv=pass"), "seal 1 has cv=pass"},
      {Replace(two, "ARC-Seal: i=2; cv=pass", "ARC-Seal: i=2; cv=fail"),
       "seal 2 says the chain had failed"},
      {Replace(two, "ARC-Seal: i=1;", "ARC-Seal: i=2;"), "two arc-seal fields for instance 2"},
      {Replace(two, "ARC-Seal: i=1;", "ARC-Seal: i=51;"), "more than 50 ARC sets"},
      {Replace(two, "ARC-Seal: i=1;", "ARC-Seal: i=x;"), "arc-seal has no valid instance (i=)"},
      {"ARC-Seal: i=3; cv=pass; a=rsa-sha256; d=x; s=y; b=AA==\r\n" + std::string(kMessage),
       "ARC set 1 is incomplete"},
  };
  for (const Case& c : cases) {
    ArcOutcome arc = VerifyArc(c.message, Keys());
    EXPECT_EQ(arc.result, "fail") << c.reason;
    EXPECT_EQ(arc.reason, c.reason);
  }
  EXPECT_EQ(fetches_, 0);
}

// A d= or s= that is not a domain name is never sent to the resolver.
TEST_F(ArcTest, ANameThatIsNotADomainNameIsAFailWithoutLookup) {
  std::string sealed = ListHop(kMessage);
  size_t ams = sealed.find("ARC-Message-Signature:");
  size_t d = sealed.find("d=list.example", ams);
  ASSERT_NE(d, std::string::npos);
  ArcOutcome arc = VerifyArc(sealed.replace(d, 14, "d=list example"), Keys());
  EXPECT_EQ(arc.result, "fail");
  EXPECT_EQ(arc.reason, "message signature 1: d= or s= is not a domain name");
  EXPECT_EQ(fetches_, 0);
}

// Chains anyone can build with keys of their own are bounded before any lookup: the bytes
// every seal hashes, and the number of distinct keys.
TEST_F(ArcTest, OversizedChainsFailBeforeAnyLookup) {
  auto set = [](int i, const std::string& selector, const std::string& results) {
    const std::string n = std::to_string(i);
    return "ARC-Seal: i=" + n + "; cv=" + (i == 1 ? "none" : "pass") +
           "; a=rsa-sha256; d=evil.example; s=" + selector + "; b=AAAA\r\n" +
           "ARC-Message-Signature: i=" + n + "; a=rsa-sha256; d=evil.example; s=" + selector +
           "; h=from; bh=AAAA; b=AAAA\r\n" + "ARC-Authentication-Results: i=" + n +
           "; mx.evil.example; " + results + "\r\n";
  };
  std::string many;
  for (int i = 17; i >= 1; --i) many += set(i, "k" + std::to_string(i), "none");
  ArcOutcome arc = VerifyArc(many + kMessage, Keys());
  EXPECT_EQ(arc.result, "fail");
  EXPECT_EQ(arc.reason, "the ARC sets name more than 16 keys");
  EXPECT_EQ(arc.sets.size(), 17u);

  ArcOutcome big =
      VerifyArc(set(1, "k1", "dkim=pass " + std::string(300 * 1024, 'x')) + kMessage, Keys());
  EXPECT_EQ(big.result, "fail");
  EXPECT_EQ(big.reason, "the ARC header fields are over 256 KiB");
  ASSERT_EQ(big.sets.size(), 1u);
  EXPECT_EQ(big.sets[0].auth_results.size(), 1024u) << "stored text is cut to 1,024 bytes";
  EXPECT_EQ(fetches_, 0);
}

TEST_F(ArcTest, BareLineFeedsReadAsCrlf) {
  std::string sealed = Seal(ListHop(kMessage), "fwd.example", "fwd", "arc=pass");
  std::string lf;
  for (char c : sealed) {
    if (c != '\r') lf.push_back(c);
  }
  EXPECT_EQ(VerifyArc(lf, Keys()).result, "pass");
  // Below a field the next hop added (the seals do not cover it), and lower-case names.
  std::string below = "Received: from list.example by mx.example.org\n" + lf;
  EXPECT_EQ(VerifyArc(below, Keys()).result, "pass");
  below.replace(below.find("ARC-Seal: i=2"), 8, "arc-seal");
  EXPECT_EQ(VerifyArc(below, Keys()).result, "pass");
}

// The results encoding: version 2 carries the ARC outcome, version 1 (no ARC) is unchanged.
TEST_F(ArcTest, ResultsWithArcEncodeAsVersionTwoAndRoundTrip) {
  AuthenticationResults r;
  r.arc = VerifyArc(Seal(ListHop(kMessage), "fwd.example", "fwd", "arc=pass"), Keys());
  auto bytes = r.Encode();
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->rfind("email-notary/auth-results/v2\n", 0), 0u);
  auto back = AuthenticationResults::Decode(*bytes);
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(*back, r);

  r.arc.reset();
  auto v1 = r.Encode();
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(v1->rfind("email-notary/auth-results/v1\n", 0), 0u);
  EXPECT_FALSE(AuthenticationResults::Decode(*v1)->arc.has_value());
  // A version 1 record cannot smuggle an ARC section, nor version 2 more than 50 sets.
  std::string smuggled = *bytes;
  smuggled.replace(0, 29, "email-notary/auth-results/v1\n");
  EXPECT_FALSE(AuthenticationResults::Decode(smuggled).ok());
  AuthenticationResults empty_pass;
  empty_pass.arc = ArcOutcome{"pass", "", {}};
  auto empty_bytes = empty_pass.Encode();
  ASSERT_TRUE(empty_bytes.ok());
  EXPECT_FALSE(AuthenticationResults::Decode(*empty_bytes).ok()) << "a pass names its sets";
  AuthenticationResults many;
  many.arc = ArcOutcome{"fail", "", std::vector<ArcSetResult>(51)};
  EXPECT_FALSE(many.Encode().ok());
}

// The test vector of docs/sender-evidence.md ("Encoded results", version 2).
TEST(ArcResultsVector, DocumentedVectorIsWhatTheCodeProduces) {
  AuthenticationResults r;
  r.arc = ArcOutcome{"pass",
                     "",
                     {ArcSetResult{1, "list.example", "s1", "list.example", "s1", "mx.list.example",
                                   "dkim=pass header.d=acme.example", "none", "pass", "pass"}}};
  auto bytes = r.Encode();
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->size(), 177u);
  EXPECT_EQ(common::ToHex(common::Sha256Of(*bytes)),
            "9e616d2271e1b5d2462b42930dd7194358fbf7042199d7625fe8f429f43c6929");
}

}  // namespace
}  // namespace notary
