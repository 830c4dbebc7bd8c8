// The TSA with its key held elsewhere (issue 20): TsaResponder::CreateWithSigner, and the
// check notary-signer runs before it signs (CheckTstSigningRequest). The signing function
// here stands in for notary-signer: it checks the request, then signs with the TSA key.
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/ts.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/bytes.h"
#include "common/ossl.h"
#include "common/sha256.h"
#include "tsa/client.h"
#include "tsa/token.h"
#include "tsa_authority/local_ca.h"
#include "tsa_authority/responder.h"
#include "tsa_authority/tst_signing_check.h"

namespace notary {
namespace {

// 2026-01-15T10:20:30.123456Z
constexpr int64_t kFixedNowUs = 1768472430123456;
constexpr int64_t kHourUs = int64_t{3600} * 1'000'000;

using TsTstInfoPtr = std::unique_ptr<TS_TST_INFO, common::Deleter<TS_TST_INFO_free>>;
void FreeAttributes(STACK_OF(X509_ATTRIBUTE) * s) {
  sk_X509_ATTRIBUTE_pop_free(s, X509_ATTRIBUTE_free);
}
using AttributesPtr = std::unique_ptr<STACK_OF(X509_ATTRIBUTE), common::Deleter<FreeAttributes>>;

common::EvpPkeyPtr ReadKey(const std::string& pem) {
  common::BioPtr bio{BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))};
  return common::EvpPkeyPtr{PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)};
}

// What notary-signer does with the request: SHA-256 and ECDSA (DER ECDSA-Sig-Value).
std::string SignWith(EVP_PKEY* key, std::string_view data) {
  common::EvpMdCtxPtr ctx{EVP_MD_CTX_new()};
  size_t len = 0;
  EXPECT_EQ(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key), 1);
  const auto* in = reinterpret_cast<const unsigned char*>(data.data());
  EXPECT_EQ(EVP_DigestSign(ctx.get(), nullptr, &len, in, data.size()), 1);
  std::string out(len, '\0');
  EXPECT_EQ(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, in,
                           data.size()),
            1);
  out.resize(len);
  return out;
}

std::string Sha256Text(std::string_view data) {
  const common::Hash h = common::Sha256Of(data);
  return std::string(h.begin(), h.end());
}

// A TimeStampReq built with OpenSSL directly, so that it can be wrong in chosen ways.
std::string RawQuery(int md_nid, size_t digest_len, const char* policy = nullptr) {
  using TsReq = std::unique_ptr<TS_REQ, common::Deleter<TS_REQ_free>>;
  using TsMi = std::unique_ptr<TS_MSG_IMPRINT, common::Deleter<TS_MSG_IMPRINT_free>>;
  using Algor = std::unique_ptr<X509_ALGOR, common::Deleter<X509_ALGOR_free>>;
  TsReq req{TS_REQ_new()};
  TsMi mi{TS_MSG_IMPRINT_new()};
  Algor algo{X509_ALGOR_new()};
  X509_ALGOR_set0(algo.get(), OBJ_nid2obj(md_nid), V_ASN1_NULL, nullptr);
  std::string digest(digest_len, '\x5a');
  EXPECT_EQ(TS_MSG_IMPRINT_set_algo(mi.get(), algo.get()), 1);
  EXPECT_EQ(TS_MSG_IMPRINT_set_msg(mi.get(), reinterpret_cast<unsigned char*>(digest.data()),
                                   static_cast<int>(digest.size())),
            1);
  EXPECT_EQ(TS_REQ_set_msg_imprint(req.get(), mi.get()), 1);
  EXPECT_EQ(TS_REQ_set_version(req.get(), 1), 1);
  if (policy != nullptr) {
    std::unique_ptr<ASN1_OBJECT, common::Deleter<ASN1_OBJECT_free>> obj{OBJ_txt2obj(policy, 1)};
    EXPECT_EQ(TS_REQ_set_policy_id(req.get(), obj.get()), 1);
  }
  int len = i2d_TS_REQ(req.get(), nullptr);
  std::string der(static_cast<size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  i2d_TS_REQ(req.get(), &p);
  return der;
}

// A TSTInfo decoded, changed by `edit`, and encoded again.
template <class Edit>
std::string EditTstInfo(const std::string& der, Edit edit) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  TsTstInfoPtr tst{d2i_TS_TST_INFO(nullptr, &p, static_cast<long>(der.size()))};
  EXPECT_TRUE(tst);
  edit(tst.get());
  unsigned char* out = nullptr;
  const int len = i2d_TS_TST_INFO(tst.get(), &out);
  EXPECT_GT(len, 0);
  std::string result(reinterpret_cast<char*>(out), static_cast<size_t>(len));
  OPENSSL_free(out);
  return result;
}

// Signed attributes decoded, changed by `edit`, and encoded again (sorted, DER).
template <class Edit>
std::string EditAttributes(const std::string& der, Edit edit) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  AttributesPtr attrs{reinterpret_cast<STACK_OF(X509_ATTRIBUTE)*>(
      ASN1_item_d2i(nullptr, &p, static_cast<long>(der.size()), ASN1_ITEM_rptr(PKCS7_ATTR_SIGN)))};
  EXPECT_TRUE(attrs);
  STACK_OF(X509_ATTRIBUTE)* s = attrs.get();
  edit(&s);
  attrs.release();
  attrs.reset(s);
  unsigned char* out = nullptr;
  const int len = ASN1_item_i2d(reinterpret_cast<ASN1_VALUE*>(attrs.get()), &out,
                                ASN1_ITEM_rptr(PKCS7_ATTR_SIGN));
  EXPECT_GT(len, 0);
  std::string result(reinterpret_cast<char*>(out), static_cast<size_t>(len));
  OPENSSL_free(out);
  return result;
}

TsaResponderOptions FixedClock() {
  TsaResponderOptions options;
  options.clock = [] { return kFixedNowUs; };
  return options;
}

class TsaExternalSignerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto tsa = GenerateLocalTsa("Test", kFixedNowUs);
    ASSERT_TRUE(tsa.ok()) << tsa.error().ToString();
    tsa_ = new LocalTsa(*tsa);
    auto other = GenerateLocalTsa("Other", kFixedNowUs);
    ASSERT_TRUE(other.ok());
    other_ = new LocalTsa(*other);
  }
  static void TearDownTestSuite() {
    delete tsa_;
    delete other_;
  }

  TstSigningPolicy Policy() const {
    TstSigningPolicy p;
    p.tsa_cert_pem = tsa_->tsa_cert_pem;
    p.now_us = kFixedNowUs;
    return p;
  }

  // notary-signer in miniature: checks each request, then signs with `key_` (switchable, to
  // play a signer holding another key), or fails when `fail_` is set. Records what it saw.
  TsaSignFn SignFn() {
    return [this](std::string_view attrs, std::string_view tst) -> common::Result<std::string> {
      std::lock_guard<std::mutex> lock(mu_);
      ++calls_;
      last_attrs_ = std::string(attrs);
      last_tst_ = std::string(tst);
      auto checked = CheckTstSigningRequest(attrs, tst, Policy());
      if (!checked.ok()) {
        check_failures_.push_back(checked.error().ToString());
        return checked.error();
      }
      if (fail_) return common::Error::Unavailable("signer down");
      return SignWith(key_.get(), attrs);
    };
  }

  TsaResponder MakeResponder(TsaResponderOptions options = {}) {
    if (!options.clock) options.clock = [] { return kFixedNowUs; };
    auto r = TsaResponder::CreateWithSigner(tsa_->tsa_cert_pem, tsa_->ca_cert_pem, SignFn(),
                                            std::move(options));
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    return std::move(*r);
  }

  int calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

  static LocalTsa* tsa_;
  static LocalTsa* other_;
  common::EvpPkeyPtr key_ = ReadKey(tsa_->tsa_key_pem);
  bool fail_ = false;
  std::mutex mu_;
  int calls_ = 0;
  std::string last_attrs_, last_tst_;
  std::vector<std::string> check_failures_;
};
LocalTsa* TsaExternalSignerTest::tsa_ = nullptr;
LocalTsa* TsaExternalSignerTest::other_ = nullptr;

TEST_F(TsaExternalSignerTest, TokensVerifyAndEverySigningRequestPassesTheCheck) {
  TsaResponder r = MakeResponder();
  EXPECT_EQ(calls(), 1);  // Create's own first token
  for (TsaHashAlg alg : {TsaHashAlg::kSha256, TsaHashAlg::kSha384, TsaHashAlg::kSha512}) {
    for (bool cert_req : {false, true}) {
      for (std::optional<uint64_t> nonce :
           {std::optional<uint64_t>(), std::optional<uint64_t>(9)}) {
        const common::Hash h = common::Sha256Of(std::string_view("evidence"));
        std::string digest(TsaDigestSize(alg), '\x11');
        std::copy(h.begin(), h.end(), digest.begin());
        auto q = CreateQuery(alg, common::AsBytes(digest), nonce, cert_req);
        ASSERT_TRUE(q.ok());
        auto reply = r.Respond(*q);
        ASSERT_TRUE(reply.ok()) << reply.error().ToString();
        // Without certReq the token does not carry the TSA certificate.
        auto info = VerifyReply(*reply, *q, tsa_->ca_cert_pem, cert_req ? "" : tsa_->tsa_cert_pem);
        ASSERT_TRUE(info.ok()) << info.error().ToString();
        EXPECT_EQ(info->gen_time_us, kFixedNowUs);
      }
    }
  }
  EXPECT_EQ(calls(), 1 + 12);
  EXPECT_TRUE(check_failures_.empty()) << check_failures_.front();

  // The last request, checked again: the digest returned is what was signed.
  auto checked = CheckTstSigningRequest(last_attrs_, last_tst_, Policy());
  ASSERT_TRUE(checked.ok()) << checked.error().ToString();
  EXPECT_EQ(*checked, common::Sha256Of(last_attrs_));
  EXPECT_EQ(static_cast<unsigned char>(last_attrs_[0]), 0x31);  // SET OF, not [0] IMPLICIT
}

TEST_F(TsaExternalSignerTest, CreateRefusesASignerHoldingAnotherKey) {
  key_ = ReadKey(other_->tsa_key_pem);
  auto r =
      TsaResponder::CreateWithSigner(tsa_->tsa_cert_pem, tsa_->ca_cert_pem, SignFn(), FixedClock());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), common::ErrorCode::kInvalidInput);
  EXPECT_NE(r.error().message().find("does not match"), std::string::npos) << r.error().message();
}

TEST_F(TsaExternalSignerTest, CreateFailsWhenTheSignerFailsOrIsMissing) {
  fail_ = true;
  auto r =
      TsaResponder::CreateWithSigner(tsa_->tsa_cert_pem, tsa_->ca_cert_pem, SignFn(), FixedClock());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), common::ErrorCode::kUnavailable);
  auto none = TsaResponder::CreateWithSigner(tsa_->tsa_cert_pem, tsa_->ca_cert_pem, nullptr);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code(), common::ErrorCode::kInvalidInput);
}

TEST_F(TsaExternalSignerTest, AnotherKeyOrAFailureAfterCreateGivesARejectionNeverABadToken) {
  TsaResponder r = MakeResponder();
  auto q = CreateQuery(TsaHashAlg::kSha256, common::AsBytes(Sha256Text("x")), 5, true);
  ASSERT_TRUE(q.ok());

  key_ = ReadKey(other_->tsa_key_pem);  // the signer now signs with a key not certified
  auto reply = r.Respond(*q);
  ASSERT_TRUE(reply.ok()) << reply.error().ToString();
  auto status = ParseReplyStatus(*reply);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->status, PkiStatus::kRejection);
  EXPECT_FALSE(status->has_token);
  auto verified = VerifyReply(*reply, *q, tsa_->ca_cert_pem, "");
  ASSERT_FALSE(verified.ok());
  EXPECT_EQ(verified.error().code(), common::ErrorCode::kVerifyFailed);

  key_ = ReadKey(tsa_->tsa_key_pem);
  fail_ = true;  // the signer is down
  reply = r.Respond(*q);
  ASSERT_TRUE(reply.ok()) << reply.error().ToString();
  status = ParseReplyStatus(*reply);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->status, PkiStatus::kRejection);
  EXPECT_FALSE(status->has_token);

  fail_ = false;  // and back: tokens again
  reply = r.Respond(*q);
  ASSERT_TRUE(reply.ok());
  EXPECT_TRUE(VerifyReply(*reply, *q, tsa_->ca_cert_pem, "").ok());
}

TEST_F(TsaExternalSignerTest, RejectionsAreAnsweredWithoutCallingTheSigner) {
  int64_t now = kFixedNowUs;
  TsaResponderOptions options;
  options.clock = [&now] { return now; };
  TsaResponder r = MakeResponder(std::move(options));
  const int before = calls();
  auto status_of = [&](const std::string& query) {
    auto reply = r.Respond(query);
    EXPECT_TRUE(reply.ok());
    auto status = ParseReplyStatus(*reply);
    EXPECT_TRUE(status.ok());
    EXPECT_EQ(status->status, PkiStatus::kRejection);
    EXPECT_FALSE(status->has_token);
    return status->failure_info;
  };
  EXPECT_EQ(status_of(RawQuery(NID_sha256, 32, "1.2.3.4")), tsa_failure::kUnacceptedPolicy);
  EXPECT_EQ(status_of(RawQuery(NID_sha1, 20)), tsa_failure::kBadAlg);
  EXPECT_EQ(status_of(RawQuery(NID_sha256, 31)), tsa_failure::kBadDataFormat);
  EXPECT_EQ(status_of("garbage"), tsa_failure::kBadDataFormat);
  now = -1;
  EXPECT_EQ(status_of(RawQuery(NID_sha256, 32)), tsa_failure::kTimeNotAvailable);
  EXPECT_EQ(calls(), before);
}

TEST_F(TsaExternalSignerTest, RespondIsSafeFromManyThreads) {
  TsaResponder r = MakeResponder();
  std::atomic<int> verified{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        auto q = CreateQuery(TsaHashAlg::kSha256,
                             common::AsBytes(Sha256Text(std::to_string(t * 100 + i))),
                             static_cast<uint64_t>(i), true);
        if (!q.ok()) continue;
        auto reply = r.Respond(*q);
        if (reply.ok() && VerifyReply(*reply, *q, tsa_->ca_cert_pem, "").ok()) ++verified;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(verified.load(), 40);
  EXPECT_TRUE(check_failures_.empty());
}

class TstSigningCheckTest : public TsaExternalSignerTest {
 protected:
  void SetUp() override {
    TsaResponder r = MakeResponder();
    auto q = CreateQuery(TsaHashAlg::kSha256, common::AsBytes(Sha256Text("y")), 3, false);
    ASSERT_TRUE(q.ok());
    ASSERT_TRUE(r.Respond(*q).ok());
    attrs_ = last_attrs_;
    tst_ = last_tst_;
    ASSERT_TRUE(CheckTstSigningRequest(attrs_, tst_, Policy()).ok());
  }

  void ExpectRefused(std::string_view attrs, std::string_view tst, common::ErrorCode code,
                     std::string_view why, const TstSigningPolicy& policy) {
    auto checked = CheckTstSigningRequest(attrs, tst, policy);
    ASSERT_FALSE(checked.ok());
    EXPECT_EQ(checked.error().code(), code) << checked.error().ToString();
    EXPECT_NE(checked.error().message().find(why), std::string::npos) << checked.error().message();
  }
  void ExpectRefused(std::string_view attrs, std::string_view tst, common::ErrorCode code,
                     std::string_view why) {
    ExpectRefused(attrs, tst, code, why, Policy());
  }

  std::string attrs_, tst_;
};

TEST_F(TstSigningCheckTest, RefusesTrailingBytesAndOversizeInput) {
  ExpectRefused(attrs_ + '\0', tst_, common::ErrorCode::kInvalidInput, "trailing");
  ExpectRefused(attrs_, tst_ + '\0', common::ErrorCode::kInvalidInput, "TSTInfo");
  ExpectRefused(std::string(kMaxTstSigningInputBytes + 1, '\x31'), tst_,
                common::ErrorCode::kInvalidInput, "over");
  ExpectRefused(attrs_, std::string(kMaxTstSigningInputBytes + 1, '\x30'),
                common::ErrorCode::kInvalidInput, "over");
  ExpectRefused("", tst_, common::ErrorCode::kInvalidInput, "SET OF");
  ExpectRefused(attrs_, "", common::ErrorCode::kInvalidInput, "TSTInfo");
  // The attributes as they sit in the SignerInfo ([0] IMPLICIT) are not what is signed.
  std::string implicit = attrs_;
  implicit[0] = '\xa0';
  ExpectRefused(implicit, tst_, common::ErrorCode::kInvalidInput, "SET OF");
}

TEST_F(TstSigningCheckTest, RefusesAGenTimeOffTheSignersClock) {
  const std::string early = EditTstInfo(tst_, [](TS_TST_INFO* tst) {
    std::unique_ptr<ASN1_GENERALIZEDTIME, common::Deleter<ASN1_GENERALIZEDTIME_free>> t{
        ASN1_GENERALIZEDTIME_set(nullptr,
                                 static_cast<time_t>((kFixedNowUs - kHourUs) / 1'000'000))};
    ASSERT_TRUE(t);
    ASSERT_EQ(TS_TST_INFO_set_time(tst, t.get()), 1);
  });
  ExpectRefused(attrs_, early, common::ErrorCode::kPermissionDenied, "genTime");
  // The same token an hour later at the signer.
  TstSigningPolicy later = Policy();
  later.now_us += kHourUs;
  ExpectRefused(attrs_, tst_, common::ErrorCode::kPermissionDenied, "genTime", later);
  // Within the skew it passes.
  TstSigningPolicy close = Policy();
  close.now_us += 299'000'000;
  EXPECT_TRUE(CheckTstSigningRequest(attrs_, tst_, close).ok());
}

TEST_F(TstSigningCheckTest, RefusesAnotherTstInfoThanTheDigestNames) {
  const std::string other = EditTstInfo(tst_, [](TS_TST_INFO* tst) {
    ASSERT_EQ(ASN1_INTEGER_set(const_cast<ASN1_INTEGER*>(TS_TST_INFO_get_serial(tst)), 42), 1);
  });
  ExpectRefused(attrs_, other, common::ErrorCode::kPermissionDenied, "messageDigest");
}

TEST_F(TstSigningCheckTest, RefusesExtraMissingAndDuplicateAttributes) {
  const std::string extra = EditAttributes(attrs_, [](STACK_OF(X509_ATTRIBUTE) * *s) {
    const unsigned char mail[] = "a@example.org";
    ASSERT_NE(
        X509at_add1_attr_by_NID(s, NID_pkcs9_emailAddress, V_ASN1_IA5STRING, mail, sizeof mail - 1),
        nullptr);
  });
  ExpectRefused(extra, tst_, common::ErrorCode::kPermissionDenied, "unexpected attribute");

  const std::string missing = EditAttributes(attrs_, [](STACK_OF(X509_ATTRIBUTE) * *s) {
    const int i = X509at_get_attr_by_NID(*s, NID_pkcs9_contentType, -1);
    ASSERT_GE(i, 0);
    X509_ATTRIBUTE_free(X509at_delete_attr(*s, i));
  });
  ExpectRefused(missing, tst_, common::ErrorCode::kPermissionDenied, "no contentType");

  const std::string twice = EditAttributes(attrs_, [](STACK_OF(X509_ATTRIBUTE) * *s) {
    const int i = X509at_get_attr_by_NID(*s, NID_pkcs9_contentType, -1);
    ASSERT_GE(i, 0);
    // X509at_add1_attr refuses a second attribute of a type; a peer need not.
    ASSERT_GT(sk_X509_ATTRIBUTE_push(*s, X509_ATTRIBUTE_dup(X509at_get_attr(*s, i))), 0);
  });
  ExpectRefused(twice, tst_, common::ErrorCode::kPermissionDenied, "twice");

  const std::string data_type = EditAttributes(attrs_, [](STACK_OF(X509_ATTRIBUTE) * *s) {
    const int i = X509at_get_attr_by_NID(*s, NID_pkcs9_contentType, -1);
    ASSERT_GE(i, 0);
    X509_ATTRIBUTE_free(X509at_delete_attr(*s, i));
    ASSERT_NE(X509at_add1_attr_by_NID(
                  s, NID_pkcs9_contentType, V_ASN1_OBJECT,
                  reinterpret_cast<const unsigned char*>(OBJ_nid2obj(NID_pkcs7_data)), -1),
              nullptr);
  });
  ExpectRefused(data_type, tst_, common::ErrorCode::kPermissionDenied, "contentType");
}

TEST_F(TstSigningCheckTest, RefusesAnotherCertificateAndASigningTimeOffTheClock) {
  TstSigningPolicy other = Policy();
  other.tsa_cert_pem = other_->tsa_cert_pem;
  ExpectRefused(attrs_, tst_, common::ErrorCode::kPermissionDenied, "signingCertificateV2", other);

  const std::string late = EditAttributes(attrs_, [](STACK_OF(X509_ATTRIBUTE) * *s) {
    const int i = X509at_get_attr_by_NID(*s, NID_pkcs9_signingTime, -1);
    ASSERT_GE(i, 0);
    X509_ATTRIBUTE_free(X509at_delete_attr(*s, i));
    std::unique_ptr<ASN1_TIME, common::Deleter<ASN1_TIME_free>> t{
        ASN1_TIME_set(nullptr, static_cast<time_t>((kFixedNowUs + kHourUs) / 1'000'000))};
    ASSERT_TRUE(t);
    ASSERT_NE(X509at_add1_attr_by_NID(s, NID_pkcs9_signingTime, t->type,
                                      reinterpret_cast<const unsigned char*>(t.get()), -1),
              nullptr);
  });
  ExpectRefused(late, tst_, common::ErrorCode::kPermissionDenied, "signingTime");

  // signingTime is optional.
  const std::string without = EditAttributes(attrs_, [](STACK_OF(X509_ATTRIBUTE) * *s) {
    const int i = X509at_get_attr_by_NID(*s, NID_pkcs9_signingTime, -1);
    ASSERT_GE(i, 0);
    X509_ATTRIBUTE_free(X509at_delete_attr(*s, i));
  });
  EXPECT_TRUE(CheckTstSigningRequest(without, tst_, Policy()).ok());

  TstSigningPolicy no_cert = Policy();
  no_cert.tsa_cert_pem.clear();
  ExpectRefused(attrs_, tst_, common::ErrorCode::kInvalidInput, "exactly one", no_cert);
}

}  // namespace
}  // namespace notary
