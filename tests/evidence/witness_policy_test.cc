// Issue 19, the verifier side: cosignatures of independent C2SP tlog-witnesses on the bundle's
// checkpoint (check checkpoint.witnesses), time-stamps from several pinned authorities (the
// TSA quorum of timestamp.block), the "no later than" of trusted parties only, and the
// notary-verify flags and policy file that carry that policy.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/ts.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "bundle_fixture.h"
#include "common/bytes.h"
#include "common/ossl.h"
#include "evidence/bundle.h"
#include "log/checkpoint.h"
#include "log/cosignature.h"
#include "support/test_support.h"
#include "tsa/client.h"

namespace notary {
namespace {

using bundle_test::BundleFactory;
using bundle_test::kT0;
using ::testing::HasSubstr;
using ::testing::Not;

template <class T>
T Must(common::Result<T> r) {
  if (!r.ok()) {
    ADD_FAILURE() << r.error().ToString();
    std::abort();
  }
  return std::move(*r);
}

// Whole seconds of the fixture's clock: block 1 is sealed at kT0 + 1 s and time-stamped by A's
// TSA at kT0 + 1.1 s with an accuracy of 1 s, so the token bounds the receipt (which arrived
// at kT0 + 0.5 s) by kT0 + 2.1 s.
constexpr uint64_t kT0Seconds = static_cast<uint64_t>(kT0 / 1'000'000);
constexpr int64_t kTokenBoundUs = kT0 + 2'100'000;

struct Witness {
  std::string name;
  Ed25519Signer key;
  CosignerKey vkey;
};

Witness MakeWitness(const std::string& name, uint8_t seed) {
  Ed25519Signer key = Must(Ed25519Signer::FromSeed(std::vector<uint8_t>(32, seed)));
  CosignerKey vkey = Must(MakeCosignerKey(name, key.public_key()));
  return Witness{name, std::move(key), vkey};
}

const Witness& W1() {
  static const Witness* w = new Witness(MakeWitness("witness.example.org/w1", 0x51));
  return *w;
}
const Witness& W2() {
  static const Witness* w = new Witness(MakeWitness("witness.example.net/w2", 0x52));
  return *w;
}
const Witness& W3() {  // nobody configures this one
  static const Witness* w = new Witness(MakeWitness("witness.example.com/w3", 0x53));
  return *w;
}

// The cosignature line of `w` on the checkpoint of `in` at `t` (POSIX seconds).
std::string CosignLine(const BundleInput& in, const Witness& w, uint64_t t) {
  const Note note = Must(ParseNote(in.checkpoint));
  return Must(Cosign(note.text, w.name, w.key, t));
}

// A's evidence with these cosignature lines appended to the checkpoint note.
BundleInput Cosigned(const std::vector<std::pair<const Witness*, uint64_t>>& cosigners) {
  BundleInput in = BundleFactory::A().Input();
  std::string lines;
  for (const auto& [w, t] : cosigners) lines += CosignLine(in, *w, t);
  in.checkpoint += lines;
  return in;
}

VerifyReport VerifyInput(const BundleInput& in, const VerifyOptions& opt) {
  auto zip = BuildBundleZip(in);
  EXPECT_TRUE(zip.ok()) << zip.error().ToString();
  auto b = ReadBundleZip(zip.ok() ? *zip : std::string());
  EXPECT_TRUE(b.ok()) << b.error().ToString();
  return VerifyBundle(b.ok() ? *b : Bundle{}, opt);
}

const CheckResult& Find(const VerifyReport& r, const std::string& id) {
  for (const auto& c : r.checks) {
    if (c.id == id) return c;
  }
  ADD_FAILURE() << "no check " << id;
  static const CheckResult kNone;
  return kNone;
}

std::vector<std::string> Failures(const VerifyReport& r) {
  std::vector<std::string> out;
  for (const auto& c : r.checks) {
    if (c.status == CheckStatus::kFail) out.push_back(c.id);
  }
  return out;
}

std::string Describe(const VerifyReport& r) {
  std::string s;
  for (const auto& c : r.checks) {
    s += std::string(CheckStatusName(c.status)) + " " + c.id + ": " + c.reason + "\n";
  }
  return s;
}

VerifyOptions PinnedA() {
  VerifyOptions o;
  o.pinned_fingerprints = {BundleFactory::A().fingerprint()};
  o.tsa_ca_pems = {BundleFactory::A().tsa().ca_cert_pem};
  return o;
}

// ---- witnesses ----

TEST(WitnessPolicyTest, BundleMeetingTheWitnessPolicyIsValidAndNamesWhoCosignedWhen) {
  const BundleInput in = Cosigned({{&W1(), kT0Seconds + 10}, {&W2(), kT0Seconds + 20}});
  VerifyOptions opt = PinnedA();
  opt.witnesses = {W1().vkey, W2().vkey};  // quorum: all of them
  const VerifyReport r = VerifyInput(in, opt);
  EXPECT_TRUE(r.valid) << Describe(r);
  const CheckResult& c = Find(r, "checkpoint.witnesses");
  EXPECT_EQ(c.status, CheckStatus::kPass) << c.reason;
  EXPECT_THAT(c.reason, HasSubstr("2 of 2 configured witness(es) cosigned, 2 required"));
  EXPECT_THAT(c.reason, HasSubstr("witness.example.org/w1"));
  ASSERT_EQ(r.witnesses.size(), 2u);
  EXPECT_EQ(r.witnesses[0].name, "witness.example.org/w1");
  EXPECT_EQ(r.witnesses[0].time_us, static_cast<int64_t>(kT0Seconds + 10) * 1'000'000);
  EXPECT_EQ(r.witnesses[1].name, "witness.example.net/w2");
  char id[9];
  std::snprintf(id, sizeof id, "%08x", W2().vkey.key_id);
  EXPECT_EQ(r.witnesses[1].key_id, id);
  EXPECT_EQ(r.cosignature_lines, 2u);
  // The checks before it are untouched: the log's own signature still verifies.
  EXPECT_EQ(Find(r, "checkpoint.signature").status, CheckStatus::kPass);
  EXPECT_EQ(r.checks[r.checks.size() - 6].id, "checkpoint.witnesses");
}

TEST(WitnessPolicyTest, OneCosignatureRemovedBelowTheQuorumIsInvalidNamingTheCheck) {
  VerifyOptions opt = PinnedA();
  opt.witnesses = {W1().vkey, W2().vkey};
  opt.witness_quorum = 2;
  const VerifyReport r = VerifyInput(Cosigned({{&W1(), kT0Seconds + 10}}), opt);
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(Failures(r), std::vector<std::string>{"checkpoint.witnesses"}) << Describe(r);
  EXPECT_THAT(Find(r, "checkpoint.witnesses").reason,
              HasSubstr("1 of 2 configured witness(es) cosigned, 2 required"));
  EXPECT_THAT(Find(r, "checkpoint.witnesses").reason,
              HasSubstr("no cosignature by witness.example.net/w2"));
  // A quorum of one is met by the remaining cosignature.
  opt.witness_quorum = 1;
  EXPECT_TRUE(VerifyInput(Cosigned({{&W1(), kT0Seconds + 10}}), opt).valid);
}

TEST(WitnessPolicyTest, CosignatureByAnUnknownKeyDoesNotCount) {
  VerifyOptions opt = PinnedA();
  opt.witnesses = {W1().vkey, W2().vkey};
  // W3 is nobody's witness; the last line claims W2's name but is made with W3's key.
  BundleInput in = Cosigned({{&W1(), kT0Seconds + 10}, {&W3(), kT0Seconds + 11}});
  const Note note = Must(ParseNote(in.checkpoint));
  in.checkpoint += Must(Cosign(note.text, W2().name, W3().key, kT0Seconds + 12));
  const VerifyReport r = VerifyInput(in, opt);
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(Failures(r), std::vector<std::string>{"checkpoint.witnesses"}) << Describe(r);
  const std::string& reason = Find(r, "checkpoint.witnesses").reason;
  EXPECT_THAT(reason, HasSubstr("1 of 2 configured"));
  EXPECT_THAT(reason, HasSubstr("2 cosignature line(s) by keys not configured, ignored"));
  ASSERT_EQ(r.witnesses.size(), 1u);
  EXPECT_EQ(r.witnesses[0].name, W1().name);
}

TEST(WitnessPolicyTest, TamperedCosignatureByAConfiguredKeyIsInvalidNamingTheWitness) {
  BundleInput in = BundleFactory::A().Input();
  std::string line = CosignLine(in, W1(), kT0Seconds + 10);
  // Flip one character of the base64 signature (not the key ID or the timestamp).
  const size_t pos = line.size() - 10;
  line[pos] = line[pos] == 'A' ? 'B' : 'A';
  in.checkpoint += line + CosignLine(in, W2(), kT0Seconds + 20);
  VerifyOptions opt = PinnedA();
  opt.witnesses = {W1().vkey, W2().vkey};
  opt.witness_quorum = 1;  // met by W2 alone: the forged line still fails the check
  const VerifyReport r = VerifyInput(in, opt);
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(Failures(r), std::vector<std::string>{"checkpoint.witnesses"}) << Describe(r);
  EXPECT_THAT(Find(r, "checkpoint.witnesses").reason, HasSubstr("does not verify"));
  EXPECT_THAT(Find(r, "checkpoint.witnesses").reason, HasSubstr("witness.example.org/w1"));
  EXPECT_THAT(Find(r, "checkpoint.witnesses").reason, Not(HasSubstr("witness.example.net/w2")));
}

TEST(WitnessPolicyTest, WithoutAPolicyCosignaturesAreListedUncheckedAndOldBundlesPass) {
  // An old bundle: no cosignature, no policy: valid exactly as before, the check skipped.
  const VerifyReport old_bundle = VerifyInput(BundleFactory::A().Input(), PinnedA());
  EXPECT_TRUE(old_bundle.valid) << Describe(old_bundle);
  EXPECT_EQ(Find(old_bundle, "checkpoint.witnesses").status, CheckStatus::kSkip);
  EXPECT_THAT(Find(old_bundle, "checkpoint.witnesses").reason, HasSubstr("carries no cosignature"));
  EXPECT_EQ(old_bundle.not_after_us, kTokenBoundUs);
  // Cosignatures but no policy: skipped, counted, named as unchecked, and no effect on the
  // time bound even though W1 claims an earlier time than the TSA.
  const VerifyReport r =
      VerifyInput(Cosigned({{&W1(), kT0Seconds + 1}, {&W3(), kT0Seconds}}), PinnedA());
  EXPECT_TRUE(r.valid) << Describe(r);
  EXPECT_EQ(Find(r, "checkpoint.witnesses").status, CheckStatus::kSkip);
  EXPECT_THAT(Find(r, "checkpoint.witnesses").reason,
              HasSubstr("2 cosignature line(s), unchecked: witness.example.org/w1"));
  EXPECT_EQ(r.cosignature_lines, 2u);
  EXPECT_TRUE(r.witnesses.empty());
  EXPECT_EQ(r.not_after_us, kTokenBoundUs);
  // Same without any pinning at all (the judge's first run).
  EXPECT_TRUE(VerifyInput(Cosigned({{&W1(), kT0Seconds + 1}}), {}).valid);
}

TEST(WitnessPolicyTest, NoLaterThanIsTheEarliestTimeOfATrustedParty) {
  // TSA bound kT0 + 2.1 s. W1 cosigned at kT0 + 1 s, W3 (not configured) at kT0 - 100 s.
  const BundleInput in = Cosigned({{&W1(), kT0Seconds + 1}, {&W3(), kT0Seconds - 100}});
  VerifyOptions opt = PinnedA();
  opt.witnesses = {W1().vkey};
  VerifyReport r = VerifyInput(in, opt);
  EXPECT_TRUE(r.valid) << Describe(r);
  EXPECT_EQ(r.not_after_us, kT0 + 1'000'000);  // W1's, not W3's, not the token's
  // A configured witness that cosigned later than the token does not move the bound.
  const BundleInput later = Cosigned({{&W1(), kT0Seconds + 30}});
  r = VerifyInput(later, opt);
  EXPECT_TRUE(r.valid) << Describe(r);
  EXPECT_EQ(r.not_after_us, kTokenBoundUs);
  // A configured witness whose cosignature predates the reception contradicts it.
  r = VerifyInput(Cosigned({{&W1(), kT0Seconds - 5}}), opt);
  EXPECT_EQ(Failures(r), std::vector<std::string>{"checkpoint.witnesses"}) << Describe(r);
  EXPECT_THAT(Find(r, "checkpoint.witnesses").reason, HasSubstr("is after witness"));
}

TEST(WitnessPolicyTest, CertificateAndVerifyMdNameTheCosignersAsUnchecked) {
  const BundleInput in = Cosigned({{&W1(), kT0Seconds + 10}, {&W3(), kT0Seconds + 11}});
  const Bundle b = Must(ReadBundleZip(Must(BuildBundleZip(in))));
  const std::string& cert = b.files.at("certificate.html");
  EXPECT_THAT(cert, HasSubstr("<tr><th>Witness cosignatures</th><td>witness.example.org/w1<br>"
                              "witness.example.com/w3<br>(names as written on the checkpoint"));
  EXPECT_THAT(cert, HasSubstr("until checked by notary-verify --witness"));
  EXPECT_THAT(cert, Not(HasSubstr("notary.example.com/log<br>")));  // the notary's own line
  const std::string& md = b.files.at("VERIFY.md");
  EXPECT_THAT(md, HasSubstr("carries: witness.example.org/w1; witness.example.com/w3; as written"));
  EXPECT_THAT(md, HasSubstr("Add `--witness <the witness's verifier key>`"));
  // The verifier renders the same (texts.rendered), with or without a witness policy.
  EXPECT_TRUE(VerifyBundle(b, PinnedA()).valid);
  // A bundle whose checkpoint carries no cosignature has neither (its texts are as before).
  const Bundle plain = Must(ReadBundleZip(BundleFactory::A().Zip()));
  EXPECT_THAT(plain.files.at("certificate.html"), Not(HasSubstr("Witness")));
  EXPECT_THAT(plain.files.at("VERIFY.md"), Not(HasSubstr("witness")));
  // Localised.
  BundleInput ko = in;
  ko.lang = "ko";
  EXPECT_THAT(Must(ReadBundleZip(Must(BuildBundleZip(ko)))).files.at("certificate.html"),
              HasSubstr("감시자(witness) 공동 서명"));
}

// ---- several time-stamp authorities ----

// A token over `digest` by a responder with this key and certificate at `at_us` (without an
// accuracy), taken out of
// the reply without verifying it (the responder signs whatever its clock says).
std::string RawToken(const std::string& key_pem, const std::string& cert_pem,
                     const common::Hash& digest, int64_t at_us) {
  TsaResponderOptions o;
  o.clock = [at_us] { return at_us; };
  o.accuracy = TsaAccuracy{0, 0, 0};  // no accuracy field: the token bounds at genTime
  TsaResponder responder = Must(TsaResponder::Create(key_pem, cert_pem, "", o));
  const std::string query = Must(CreateQuery(TsaHashAlg::kSha256, digest, std::nullopt, true));
  const std::string reply = Must(responder.Respond(query));
  const auto* p = reinterpret_cast<const unsigned char*>(reply.data());
  std::unique_ptr<TS_RESP, common::Deleter<TS_RESP_free>> resp{
      d2i_TS_RESP(nullptr, &p, static_cast<long>(reply.size()))};
  EXPECT_TRUE(resp && TS_RESP_get_token(resp.get()));
  if (!resp || !TS_RESP_get_token(resp.get())) return {};
  PKCS7* token = TS_RESP_get_token(resp.get());
  const int len = i2d_PKCS7(token, nullptr);
  std::string der(static_cast<size_t>(len), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  i2d_PKCS7(token, &out);
  return der;
}

// A's evidence with a second token on block 1, by B's TSA (another authority) at kT0 + 1.2 s;
// the bundle's own roots name both authorities.
BundleInput TwoAuthorities() {
  BundleInput in = BundleFactory::A().Input();
  const LocalTsa& b = BundleFactory::B().tsa();
  in.block.tokens.push_back(
      BundleToken{"https://tsa.other.example/",
                  RawToken(b.tsa_key_pem, b.tsa_cert_pem, in.block.block_hash, kT0 + 1'200'000)});
  if (in.previous_block) {
    in.previous_block->tokens.push_back(BundleToken{
        "https://tsa.other.example/",
        RawToken(b.tsa_key_pem, b.tsa_cert_pem, in.previous_block->block_hash, kT0 + 200'000)});
  }
  in.tsa_ca_pem += b.ca_cert_pem;
  return in;
}

TEST(TsaQuorumTest, TwoPinnedAuthoritiesMeetAQuorumOfTwo) {
  VerifyOptions opt = PinnedA();
  opt.tsa_ca_pems = {BundleFactory::A().tsa().ca_cert_pem, BundleFactory::B().tsa().ca_cert_pem};
  opt.tsa_quorum = 2;
  const VerifyReport r = VerifyInput(TwoAuthorities(), opt);
  EXPECT_TRUE(r.valid) << Describe(r);
  ASSERT_EQ(r.authorities.size(), 2u);
  EXPECT_EQ(r.authorities[0].tsa, "local");
  EXPECT_TRUE(r.authorities[0].built_in);
  EXPECT_TRUE(r.authorities[0].counted);
  EXPECT_THAT(r.authorities[0].subject, HasSubstr("notary.example.com/log TSA"));
  EXPECT_THAT(r.authorities[1].subject, HasSubstr("other-notary.example.net/log TSA"));
  EXPECT_THAT(r.authorities[1].issuer, HasSubstr("Root CA"));
  EXPECT_FALSE(r.authorities[1].built_in);
  EXPECT_EQ(r.authorities[1].gen_time_us, kT0 + 1'200'000);
  EXPECT_EQ(r.not_after_us, kT0 + 1'200'000);  // B's token (no accuracy) is earlier than A's bound
  // The same bundle still verifies without any policy, as bundles did before.
  EXPECT_TRUE(VerifyInput(TwoAuthorities(), {}).valid);
}

TEST(TsaQuorumTest, TokenFromAnUnpinnedAuthorityDoesNotCount) {
  VerifyOptions opt = PinnedA();  // only A's root is pinned
  opt.tsa_quorum = 2;
  VerifyReport r = VerifyInput(TwoAuthorities(), opt);
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(Failures(r), (std::vector<std::string>{"timestamp.block", "timestamp.previous",
                                                   "timestamp.interval"}))
      << Describe(r);
  const std::string& reason = Find(r, "timestamp.block").reason;
  EXPECT_THAT(reason, HasSubstr("tokens of 1 distinct authority verified against the pinned"));
  EXPECT_THAT(reason, HasSubstr("2 required"));
  EXPECT_THAT(reason, HasSubstr("https://tsa.other.example/ (CN=other-notary.example.net/log "
                                "TSA) is not a pinned authority: not counted"));
  // Two tokens by the same pinned authority are one authority.
  BundleInput twice = BundleFactory::A().Input();
  const LocalTsa& a = BundleFactory::A().tsa();
  twice.block.tokens.push_back(BundleToken{
      "local", RawToken(a.tsa_key_pem, a.tsa_cert_pem, twice.block.block_hash, kT0 + 1'300'000)});
  r = VerifyInput(twice, opt);
  EXPECT_THAT(Failures(r), ::testing::Contains("timestamp.block")) << Describe(r);
  // With a quorum of one, the unpinned token is listed, not counted, and harmless.
  opt.tsa_quorum = 1;
  r = VerifyInput(TwoAuthorities(), opt);
  EXPECT_TRUE(r.valid) << Describe(r);
  ASSERT_EQ(r.authorities.size(), 2u);
  EXPECT_TRUE(r.authorities[0].counted);
  EXPECT_FALSE(r.authorities[1].counted);
  EXPECT_EQ(r.not_after_us, kTokenBoundUs);  // B's earlier token is no pinned authority's
}

TEST(TsaQuorumTest, TokenSignedAfterItsCertificateExpiredIsInvalid) {
  // A's TSA certificate is valid for 10 years from kT0 - 1 h; this token claims a genTime
  // eleven years on, signed with the same key.
  constexpr int64_t kYearUs = 365LL * 24 * 3600 * 1'000'000;
  BundleInput in = BundleFactory::A().Input();
  const LocalTsa& a = BundleFactory::A().tsa();
  in.block.tokens.push_back(BundleToken{
      "local", RawToken(a.tsa_key_pem, a.tsa_cert_pem, in.block.block_hash, kT0 + 11 * kYearUs)});
  for (const VerifyOptions& opt : {PinnedA(), VerifyOptions{}}) {
    const VerifyReport r = VerifyInput(in, opt);
    EXPECT_FALSE(r.valid);
    EXPECT_EQ(Failures(r), (std::vector<std::string>{"timestamp.block", "timestamp.interval"}))
        << Describe(r);
    EXPECT_THAT(Find(r, "timestamp.block").reason, HasSubstr("expired")) << Describe(r);
  }
  EXPECT_THAT(Find(VerifyInput(in, PinnedA()), "timestamp.block").reason,
              HasSubstr("signed by pinned authority CN=notary.example.com/log TSA"));
}

// ---- the policy file ----

TEST(VerifyPolicyTest, ParsesEveryMemberAndRefusesWhatItDoesNotKnow) {
  const std::string fp(64, 'a');
  const std::string doc = R"({"notary_keys": [")" + fp + R"("], "witnesses": [")" +
                          W1().vkey.ToString() + R"(", ")" + W2().vkey.ToString() +
                          R"("], "witness_quorum": 1, "tsa_roots": ["roots/a.pem", ")" +
                          "-----BEGIN CERTIFICATE-----\\nAA==\\n-----END CERTIFICATE-----\\n" +
                          R"("], "tsa_quorum": 2})";
  const auto p = ParseVerifyPolicy(doc);
  ASSERT_TRUE(p.ok()) << p.error().ToString();
  EXPECT_EQ(p->notary_fingerprints, std::vector<std::string>{fp});
  EXPECT_EQ(p->witnesses, (std::vector<CosignerKey>{W1().vkey, W2().vkey}));
  EXPECT_EQ(p->witness_quorum, 1u);
  EXPECT_EQ(p->tsa_root_paths, std::vector<std::string>{"roots/a.pem"});
  ASSERT_EQ(p->tsa_root_pems.size(), 1u);
  EXPECT_EQ(p->tsa_quorum, 2u);
  EXPECT_TRUE(ParseVerifyPolicy("{}").ok());
  for (const char* bad :
       {"[]", "{", R"({"witness": []})", R"({"witnesses": ["w+1+AA=="]})",
        R"({"notary_keys": ["abc"]})", R"({"tsa_quorum": 0})", R"({"witness_quorum": -1})",
        R"({"tsa_roots": [""]})", R"({"tsa_roots": "a.pem"})"}) {
    EXPECT_FALSE(ParseVerifyPolicy(bad).ok()) << bad;
  }
}

// ---- notary-verify ----

class WitnessCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testsupport::MakeTempDir("witness_cli");
    BundleInput in = TwoAuthorities();
    in.checkpoint += CosignLine(in, W1(), kT0Seconds + 10) + CosignLine(in, W2(), kT0Seconds + 20);
    zip_ = dir_ + "/evidence.zip";
    testsupport::WriteFile(zip_, Must(BuildBundleZip(in)));
    std::filesystem::create_directories(dir_ + "/roots");
    testsupport::WriteFile(dir_ + "/roots/a.pem", BundleFactory::A().tsa().ca_cert_pem);
    testsupport::WriteFile(dir_ + "/roots/b.pem", BundleFactory::B().tsa().ca_cert_pem);
  }

  testsupport::CommandResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), testsupport::BinaryDir() + "/cli/notary-verify");
    return testsupport::RunCommand(args);
  }

  std::string dir_, zip_;
};

TEST_F(WitnessCliTest, FlagsPinWitnessesAndAuthoritiesAndTheOutputNamesThem) {
  auto r = Run({zip_, "--fingerprint", BundleFactory::A().fingerprint(), "--tsa-ca",
                dir_ + "/roots/a.pem", "--tsa-ca", dir_ + "/roots/b.pem", "--tsa-quorum", "2",
                "--witness", W1().vkey.ToString(), "--witness", W2().vkey.ToString()});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("PASS  checkpoint.witnesses"));
  EXPECT_THAT(r.out, HasSubstr("COSIGNED 2026-01-15T10:20:40.000000Z  witness "
                               "witness.example.org/w1"));
  EXPECT_THAT(r.out, HasSubstr("COSIGNED 2026-01-15T10:20:50.000000Z  witness "
                               "witness.example.net/w2"));
  EXPECT_THAT(r.out, HasSubstr("STAMPED  2026-01-15T10:20:31.100000Z  CN=notary.example.com/log "
                               "TSA (local, the notary's own authority)"));
  EXPECT_THAT(r.out, HasSubstr("STAMPED  2026-01-15T10:20:31.200000Z  "
                               "CN=other-notary.example.net/log TSA (https://tsa.other.example/)"));
  EXPECT_THAT(r.out, HasSubstr("VERDICT: VALID"));

  // A quorum the bundle does not meet: exit 1, naming the check.
  r = Run({zip_, "--tsa-ca", dir_ + "/roots/a.pem", "--tsa-quorum", "2"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("FAIL  timestamp.block"));
  EXPECT_THAT(r.out, HasSubstr("not a trusted authority: not counted"));
  r = Run({zip_, "--witness", W1().vkey.ToString(), "--witness", W3().vkey.ToString()});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("INVALID - failed: checkpoint.witnesses."));

  // Without a policy the cosignatures are listed as unchecked.
  r = Run({zip_});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("SKIP  checkpoint.witnesses"));
  EXPECT_THAT(r.out, HasSubstr("The checkpoint carries 2 cosignature line(s), unchecked"));

  // Usage errors: a malformed key, a quorum larger than the witnesses given.
  EXPECT_EQ(Run({zip_, "--witness", "not-a-key"}).exit_code, 2);
  EXPECT_EQ(Run({zip_, "--witness", W1().vkey.ToString(), "--witness-quorum", "2"}).exit_code, 2);
  EXPECT_EQ(Run({zip_, "--tsa-quorum", "0"}).exit_code, 2);
}

TEST_F(WitnessCliTest, PolicyFileHoldsItAllAndFlagsOverrideItsQuorums) {
  const std::string policy = dir_ + "/policy.json";
  nlohmann::json j = {{"notary_keys", {BundleFactory::A().fingerprint()}},
                      {"witnesses", {W1().vkey.ToString(), W2().vkey.ToString()}},
                      {"witness_quorum", 2},
                      {"tsa_roots", {"roots/a.pem", BundleFactory::B().tsa().ca_cert_pem}},
                      {"tsa_quorum", 2}};
  testsupport::WriteFile(policy, j.dump(2));
  // Run from elsewhere: the relative path is the policy file's.
  auto r = Run({zip_, "--policy", policy, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto report = nlohmann::json::parse(r.out);
  EXPECT_FALSE(report["key_self_declared"].get<bool>());
  EXPECT_FALSE(report["tsa_ca_self_declared"].get<bool>());
  ASSERT_EQ(report["witnesses"].size(), 2u);
  EXPECT_EQ(report["witnesses"][0]["name"], "witness.example.org/w1");
  EXPECT_EQ(report["witnesses"][0]["time"], "2026-01-15T10:20:40.000000Z");
  ASSERT_EQ(report["authorities"].size(), 2u);
  EXPECT_EQ(report["authorities"][0]["built_in"], true);
  EXPECT_EQ(report["authorities"][1]["counted"], true);
  EXPECT_EQ(report["authorities"][1]["gen_time"], "2026-01-15T10:20:31.200000Z");
  EXPECT_EQ(report["cosignature_lines"], 2);
  const nlohmann::json& witness_check = report["checks"][report["checks"].size() - 6];
  EXPECT_EQ(witness_check["id"], "checkpoint.witnesses");
  EXPECT_EQ(witness_check["status"], "PASS");

  // A policy demanding a third authority fails; the flag lowers the quorum again.
  j["tsa_quorum"] = 3;
  testsupport::WriteFile(policy, j.dump());
  EXPECT_EQ(Run({zip_, "--policy", policy}).exit_code, 1);
  EXPECT_EQ(Run({zip_, "--policy", policy, "--tsa-quorum", "2"}).exit_code, 0);
  // A witness the flags add must cosign too (quorum: all, after the flag's witness-quorum).
  j["tsa_quorum"] = 2;
  j.erase("witness_quorum");
  testsupport::WriteFile(policy, j.dump());
  EXPECT_EQ(Run({zip_, "--policy", policy, "--witness", W3().vkey.ToString()}).exit_code, 1);
  EXPECT_EQ(
      Run({zip_, "--policy", policy, "--witness", W3().vkey.ToString(), "--witness-quorum", "2"})
          .exit_code,
      0);
  // A malformed policy or an unreadable root is a usage error.
  testsupport::WriteFile(policy, R"({"witnesses": "w1"})");
  EXPECT_EQ(Run({zip_, "--policy", policy}).exit_code, 2);
  testsupport::WriteFile(policy, R"({"tsa_roots": ["missing.pem"]})");
  EXPECT_EQ(Run({zip_, "--policy", policy}).exit_code, 2);
}

}  // namespace
}  // namespace notary

namespace notary {
namespace {

// docs/evidence-bundle.md, "Cosignatures": the test vector, kept true by this test.
TEST(CosignatureVectorTest, DocumentedVectorIsWhatTheCodeProduces) {
  // The checkpoint of docs/evidence-format.md's worked example, and its log signature line.
  const std::string text =
      "notary.example.com/log\n1\nfJVL1CCPIHGhM7rNb4BZJ3PnOGIB0yKs1qGGULIzw10=\n";
  const std::string log_line =
      "\xe2\x80\x94 notary.example.com/log "
      "F3Q8FoMLwTHrRkf4QaxC/"
      "L0o+hLcqly7X+ZDnTW7Pqv77uY5bZxL1HcfntmQ7BkMp7iqv2SNFezYHaSgrP3uc0ywdgo=\n";
  // The witness key is RFC 8032 section 7.1 TEST 2's.
  const auto seed =
      *common::FromHex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb");
  const Ed25519Signer witness = Must(Ed25519Signer::FromSeed(common::AsBytes(seed)));
  const CosignerKey vkey = Must(MakeCosignerKey("witness.example.org/w1", witness.public_key()));
  EXPECT_EQ(vkey.ToString(),
            "witness.example.org/w1+2ce32234+BD1AF8PoQ4lakrcKp00bfrycmCzPLsSWjMDNVfEq9GYM");
  const uint64_t t = 1768472460;  // 2026-01-15T10:21:00Z
  const std::string line = Must(Cosign(text, "witness.example.org/w1", witness, t));
  EXPECT_EQ(line,
            "\xe2\x80\x94 witness.example.org/w1 "
            "LOMiNAAAAABpaL+MRpOpjVGQAeOEVT4ZdCpRgAHx5BBz4/dcvc761iRj+3WYuHdjUr3i54T/"
            "A0NOEOmE+32T3J+RIf0/rOevxnabBg==\n");
  const std::string note = text + "\n" + log_line + line;
  EXPECT_EQ(Must(VerifyCosignature(note, Must(ParseCosignerKey(vkey.ToString())))), t);
}

}  // namespace
}  // namespace notary
