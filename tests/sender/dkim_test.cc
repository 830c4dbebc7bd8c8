// VerifyDkim against messages signed by dkimpy (python3-dkim), an independent implementation,
// with keys made by its dknewkey. The key record is handed over directly, as notary-verify
// does with an archived answer; tests/dns/ covers the lookups through a real resolver.
#include "sender/dkim.h"

#include <gtest/gtest.h>

#include <map>

#include "support/test_support.h"

namespace notary {
namespace {

using testsupport::RunCommand;

const char kMessage[] =
    "From: Alice <alice@acme.example>\r\n"
    "To: bob@plain.example\r\n"
    "Subject: Quarterly figures\r\n"
    "Date: Fri, 04 Dec 2026 10:00:00 +0000\r\n"
    "Message-ID: <q4@acme.example>\r\n"
    "\r\n"
    "The figures are attached.\r\n"
    "Regards, Alice\r\n";

class DkimTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testsupport::MakeTempDir("dkim"));
    for (const auto& [name, type] :
         {std::pair{"rsa1", "rsa"}, std::pair{"ed1", "ed25519"}, std::pair{"other", "rsa"}}) {
      auto r = RunCommand({"sh", "-c",
                           std::string("cd '") + *dir_ + "' && dknewkey --ktype " + type + " " +
                               name + " >/dev/null 2>&1"});
      ASSERT_EQ(r.exit_code, 0) << r.out;
    }
  }
  static std::string Key(const std::string& name) { return *dir_ + "/" + name + ".key"; }
  static std::string Record(const std::string& name) {
    return testsupport::ReadFile(*dir_ + "/" + name + ".dns");
  }

  // dkimpy signs `message` (tests/sender/fixtures/dkim_sign.py).
  static std::string Sign(const std::string& message, const std::string& selector,
                          std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {
        "/usr/bin/python3",
        testsupport::SourceDir() + "/tests/sender/fixtures/dkim_sign.py",
        "--domain",
        "acme.example",
        "--selector",
        selector,
        "--key",
        Key(selector)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto r = RunCommand(argv, message);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    return r.out;
  }

  // A fetcher serving the given records by selector, counting calls.
  DkimKeyFetcher Serve(std::map<std::string, DkimKeyLookup> keys) {
    return [this, keys = std::move(keys)](std::string_view domain, std::string_view selector) {
      ++fetches_;
      EXPECT_EQ(domain, "acme.example");
      auto it = keys.find(std::string(selector));
      return it == keys.end() ? DkimKeyLookup{} : it->second;
    };
  }
  static DkimKeyLookup Found(const std::string& record) {
    return {DkimKeyLookup::Kind::kFound, record};
  }

  int fetches_ = 0;
  static std::string* dir_;
};
std::string* DkimTest::dir_ = nullptr;

constexpr DkimVerifyOptions kAtReception{.now_s = 1796378400};

TEST_F(DkimTest, RsaRelaxedSignaturePasses) {
  std::string signed_message = Sign(kMessage, "rsa1", {"--canon", "relaxed/relaxed"});
  auto results = VerifyDkim(signed_message, Serve({{"rsa1", Found(Record("rsa1"))}}), kAtReception);
  ASSERT_TRUE(results.ok()) << results.error().message();
  ASSERT_EQ(results->size(), 1u);
  const DkimSignatureResult& r = results->front();
  EXPECT_EQ(r.result, "pass") << r.reason;
  EXPECT_EQ(r.domain, "acme.example");
  EXPECT_EQ(r.selector, "rsa1");
  EXPECT_EQ(r.algorithm, "rsa-sha256");
  EXPECT_EQ(r.header_canonicalization, "relaxed");
  EXPECT_EQ(r.body_canonicalization, "relaxed");
  EXPECT_EQ(r.body_length, -1);
  EXPECT_EQ(r.key_bits, 2048u);
  EXPECT_NE(r.signed_headers.find("subject"), std::string::npos) << r.signed_headers;
  EXPECT_EQ(fetches_, 1);
}

TEST_F(DkimTest, Ed25519SimpleSignaturePasses) {
  std::string signed_message =
      Sign(kMessage, "ed1", {"--algorithm", "ed25519-sha256", "--canon", "simple/simple"});
  auto results = VerifyDkim(signed_message, Serve({{"ed1", Found(Record("ed1"))}}), kAtReception);
  ASSERT_TRUE(results.ok());
  ASSERT_EQ(results->size(), 1u);
  EXPECT_EQ(results->front().result, "pass") << results->front().reason;
  EXPECT_EQ(results->front().algorithm, "ed25519-sha256");
  EXPECT_EQ(results->front().header_canonicalization, "simple");
}

TEST_F(DkimTest, BodyChangedAfterSigningFailsOnTheBodyHash) {
  std::string signed_message = Sign(kMessage, "rsa1");
  size_t at = signed_message.find("attached");
  ASSERT_NE(at, std::string::npos);
  signed_message.replace(at, 8, "enclosed");
  auto results = VerifyDkim(signed_message, Serve({{"rsa1", Found(Record("rsa1"))}}), kAtReception);
  ASSERT_TRUE(results.ok());
  ASSERT_EQ(results->size(), 1u);
  EXPECT_EQ(results->front().result, "fail");
  EXPECT_EQ(results->front().reason, "body hash did not verify");
}

TEST_F(DkimTest, SignedHeaderChangedFailsTheSignature) {
  std::string signed_message = Sign(kMessage, "rsa1");
  size_t at = signed_message.find("Quarterly");
  ASSERT_NE(at, std::string::npos);
  signed_message.replace(at, 9, "Annual   ");
  auto results = VerifyDkim(signed_message, Serve({{"rsa1", Found(Record("rsa1"))}}), kAtReception);
  ASSERT_TRUE(results.ok());
  ASSERT_EQ(results->size(), 1u);
  EXPECT_EQ(results->front().result, "fail");
  EXPECT_EQ(results->front().reason, "signature did not verify");
}

TEST_F(DkimTest, AnotherKeyFailsAndNoKeyIsAPermanentError) {
  std::string signed_message = Sign(kMessage, "rsa1");
  auto wrong = VerifyDkim(signed_message, Serve({{"rsa1", Found(Record("other"))}}), kAtReception);
  ASSERT_TRUE(wrong.ok());
  ASSERT_EQ(wrong->size(), 1u);
  EXPECT_EQ(wrong->front().result, "fail");

  auto absent = VerifyDkim(signed_message, Serve({}), kAtReception);
  ASSERT_TRUE(absent.ok());
  ASSERT_EQ(absent->size(), 1u);
  EXPECT_EQ(absent->front().result, "permerror");
  EXPECT_NE(absent->front().reason.find("key"), std::string::npos) << absent->front().reason;
}

TEST_F(DkimTest, KeyLookupFailureIsATemporaryErrorNotAGuess) {
  std::string signed_message = Sign(kMessage, "rsa1");
  auto results = VerifyDkim(signed_message,
                            Serve({{"rsa1", DkimKeyLookup{DkimKeyLookup::Kind::kTempError, ""}}}),
                            kAtReception);
  ASSERT_TRUE(results.ok());
  ASSERT_EQ(results->size(), 1u);
  EXPECT_EQ(results->front().result, "temperror") << results->front().reason;
}

TEST_F(DkimTest, RevokedKeyIsAPermanentError) {
  std::string signed_message = Sign(kMessage, "rsa1");
  auto results =
      VerifyDkim(signed_message, Serve({{"rsa1", Found("v=DKIM1; k=rsa; p=")}}), kAtReception);
  ASSERT_TRUE(results.ok());
  ASSERT_EQ(results->size(), 1u);
  EXPECT_EQ(results->front().result, "permerror");
}

TEST_F(DkimTest, BodyLengthLimitCoversOnlyTheSignedBytes) {
  std::string signed_message = Sign(kMessage, "rsa1", {"--length"});
  // What a mailing list does: a footer after the signed bytes. l= leaves it unsigned.
  std::string with_footer = signed_message + "-- \r\nlist footer\r\n";
  auto results = VerifyDkim(with_footer, Serve({{"rsa1", Found(Record("rsa1"))}}), kAtReception);
  ASSERT_TRUE(results.ok());
  ASSERT_EQ(results->size(), 1u);
  EXPECT_EQ(results->front().result, "pass") << results->front().reason;
  EXPECT_EQ(results->front().body_length, 43);  // the two body lines with their CRLFs
}

TEST_F(DkimTest, EverySignatureIsReportedInHeaderOrder) {
  std::string once = Sign(kMessage, "rsa1");
  std::string twice = Sign(once, "ed1", {"--algorithm", "ed25519-sha256"});
  // The ed25519 key is missing: one passes, one does not, and both are reported.
  auto results = VerifyDkim(twice, Serve({{"rsa1", Found(Record("rsa1"))}}), kAtReception);
  ASSERT_TRUE(results.ok());
  ASSERT_EQ(results->size(), 2u);
  std::map<std::string, std::string> by_selector;
  for (const auto& r : *results) by_selector[r.selector] = r.result;
  EXPECT_EQ(by_selector["rsa1"], "pass");
  EXPECT_EQ(by_selector["ed1"], "permerror");
}

TEST_F(DkimTest, UnsignedMessageHasNoResults) {
  auto results = VerifyDkim(kMessage, Serve({}), kAtReception);
  ASSERT_TRUE(results.ok());
  EXPECT_TRUE(results->empty());
  EXPECT_EQ(fetches_, 0);
}

// Regression (tests/fuzz/sender_fuzz.cc): OpenDKIM's own CRLF fixing aborted the process on a
// message of bare LFs. Every message a stranger sends reaches VerifyDkim.
TEST_F(DkimTest, BareLineFeedsNeitherCrashNorChangeTheResult) {
  for (const char* odd : {"\n\n\n", "\n", "\r\n\r\n", "", "DKIM-Signature: v=1\n\n\n",
                          "\nDKIM-Signature: v=1; d=acme.example; s=rsa1\n\nbody\n",
                          "DKIM-Signature:\n\n", "DKIM-Signature: v=1\r\n"}) {
    auto results = VerifyDkim(odd, Serve({}), kAtReception);
    EXPECT_TRUE(results.ok() || results.error().code() == common::ErrorCode::kInvalidInput) << odd;
  }
  // The same signed message with LF line endings (as a mailbox may store it) still verifies:
  // the signature is over the CRLF form.
  std::string signed_message = Sign(kMessage, "rsa1");
  std::string lf;
  for (size_t i = 0; i < signed_message.size(); ++i) {
    if (signed_message[i] == '\r' && i + 1 < signed_message.size() &&
        signed_message[i + 1] == '\n') {
      continue;
    }
    lf.push_back(signed_message[i]);
  }
  auto results = VerifyDkim(lf, Serve({{"rsa1", Found(Record("rsa1"))}}), kAtReception);
  ASSERT_TRUE(results.ok());
  ASSERT_EQ(results->size(), 1u);
  EXPECT_EQ(results->front().result, "pass") << results->front().reason;
}

TEST_F(DkimTest, GarbledSignatureHeaderIsAResultNotACrash) {
  std::string message =
      std::string("DKIM-Signature: v=1; a=rsa-sha256; d=acme.example; b=;\r\n") + kMessage;
  auto results = VerifyDkim(message, Serve({}), kAtReception);
  ASSERT_TRUE(results.ok());
  ASSERT_EQ(results->size(), 1u);
  EXPECT_EQ(results->front().result, "permerror") << results->front().reason;
}

}  // namespace
}  // namespace notary
