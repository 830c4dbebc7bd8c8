// RFC 3161 library: responder, client-side verification and the local CA, in process.
// Interoperability with clients not written here is in tsa_interop_test.cc.
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <memory>
#include <set>
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

namespace notary {
namespace {

// 2026-01-15T10:20:30.123456Z
constexpr int64_t kFixedNowUs = 1768472430123456;

std::string Digest(TsaHashAlg alg, std::string_view data) {
  std::string out(EVP_MAX_MD_SIZE, '\0');
  unsigned int len = 0;
  const EVP_MD* md = alg == TsaHashAlg::kSha256   ? EVP_sha256()
                     : alg == TsaHashAlg::kSha384 ? EVP_sha384()
                                                  : EVP_sha512();
  EXPECT_EQ(EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(out.data()), &len,
                       md, nullptr),
            1);
  out.resize(len);
  return out;
}

common::X509Ptr ReadCert(const std::string& pem) {
  common::BioPtr bio{BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))};
  return common::X509Ptr{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)};
}

// A TimeStampReq built with OpenSSL directly, so that it can be wrong in chosen ways.
std::string RawQuery(int md_nid, size_t digest_len, long version = 1,
                     const char* policy = nullptr) {
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
  EXPECT_EQ(TS_REQ_set_version(req.get(), version), 1);
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

class TsaTest : public ::testing::Test {
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

  static TsaResponder MakeResponder(TsaResponderOptions options = {}) {
    if (!options.clock) options.clock = [] { return kFixedNowUs; };
    auto r = TsaResponder::Create(tsa_->tsa_key_pem, tsa_->tsa_cert_pem, tsa_->ca_cert_pem,
                                  std::move(options));
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    return std::move(*r);
  }

  // A granted token over sha256("evidence"), certReq set.
  static std::string Token(const TsaResponder& r, const std::string& digest) {
    auto q = CreateQuery(TsaHashAlg::kSha256, common::AsBytes(digest), 7, true);
    EXPECT_TRUE(q.ok());
    auto reply = r.Respond(*q);
    EXPECT_TRUE(reply.ok());
    auto info = VerifyReply(*reply, *q, tsa_->ca_cert_pem, "");
    EXPECT_TRUE(info.ok()) << info.error().ToString();
    return info->token_der;
  }

  static TsaReplyStatus StatusOf(const TsaResponder& r, const std::string& query) {
    auto reply = r.Respond(query);
    EXPECT_TRUE(reply.ok());
    auto status = ParseReplyStatus(*reply);
    EXPECT_TRUE(status.ok());
    return *status;
  }

  static LocalTsa* tsa_;
  static LocalTsa* other_;
};
LocalTsa* TsaTest::tsa_ = nullptr;
LocalTsa* TsaTest::other_ = nullptr;

TEST_F(TsaTest, LocalTsaCertificateHasCriticalTimeStampingEkuAndChainsToCa) {
  common::X509Ptr ca = ReadCert(tsa_->ca_cert_pem);
  common::X509Ptr cert = ReadCert(tsa_->tsa_cert_pem);
  ASSERT_TRUE(ca && cert);
  int idx = X509_get_ext_by_NID(cert.get(), NID_ext_key_usage, -1);
  ASSERT_GE(idx, 0);
  EXPECT_EQ(X509_EXTENSION_get_critical(X509_get_ext(cert.get(), idx)), 1);
  EXPECT_EQ(X509_get_extended_key_usage(cert.get()), static_cast<uint32_t>(XKU_TIMESTAMP));
  EXPECT_EQ(X509_check_purpose(cert.get(), X509_PURPOSE_TIMESTAMP_SIGN, 0), 1);
  EXPECT_EQ(X509_check_ca(ca.get()), 1);
  EXPECT_EQ(X509_check_ca(cert.get()), 0);

  std::unique_ptr<X509_STORE, common::Deleter<X509_STORE_free>> store{X509_STORE_new()};
  X509_STORE_add_cert(store.get(), ca.get());
  std::unique_ptr<X509_STORE_CTX, common::Deleter<X509_STORE_CTX_free>> ctx{X509_STORE_CTX_new()};
  X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr);
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_TIMESTAMP_SIGN);
  X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx.get()), kFixedNowUs / 1000000);
  EXPECT_EQ(X509_verify_cert(ctx.get()), 1)
      << X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));

  // About ten years for the TSA, starting an hour before `now`.
  int days = 0, secs = 0;
  ASSERT_EQ(
      ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(cert.get()), X509_get0_notAfter(cert.get())),
      1);
  EXPECT_GE(days, 3650);
  EXPECT_LE(days, 3654);
  EXPECT_NE(tsa_->tsa_key_pem.find("BEGIN PRIVATE KEY"), std::string::npos);
}

TEST_F(TsaTest, LocalTsaRejectsEmptyPrefix) {
  auto r = GenerateLocalTsa("", kFixedNowUs);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), common::ErrorCode::kInvalidInput);
}

TEST_F(TsaTest, CreateRejectsUnfitKeysAndCertificates) {
  // The CA certificate has no timeStamping EKU.
  auto no_eku = TsaResponder::Create(tsa_->ca_key_pem, tsa_->ca_cert_pem, "");
  ASSERT_FALSE(no_eku.ok());
  EXPECT_EQ(no_eku.error().code(), common::ErrorCode::kInvalidInput);
  auto mismatch = TsaResponder::Create(other_->tsa_key_pem, tsa_->tsa_cert_pem, "");
  EXPECT_FALSE(mismatch.ok());
  auto garbage = TsaResponder::Create("not a key", tsa_->tsa_cert_pem, "");
  EXPECT_FALSE(garbage.ok());
  TsaResponderOptions bad_policy;
  bad_policy.policy_oid = "not.an.oid";
  EXPECT_FALSE(TsaResponder::Create(tsa_->tsa_key_pem, tsa_->tsa_cert_pem, "", bad_policy).ok());
  TsaResponderOptions bad_accuracy;
  bad_accuracy.accuracy.millis = 1000;
  EXPECT_FALSE(TsaResponder::Create(tsa_->tsa_key_pem, tsa_->tsa_cert_pem, "", bad_accuracy).ok());
  EXPECT_TRUE(TsaResponder::Create(tsa_->tsa_key_pem, tsa_->tsa_cert_pem, "").ok());
}

TEST_F(TsaTest, GrantedReplyVerifiesForEachAlgorithmNonceAndCertReq) {
  TsaResponder r = MakeResponder();
  for (TsaHashAlg alg : {TsaHashAlg::kSha256, TsaHashAlg::kSha384, TsaHashAlg::kSha512}) {
    for (bool with_nonce : {false, true}) {
      for (bool cert_req : {false, true}) {
        SCOPED_TRACE(std::string(TsaHashAlgName(alg)) + " nonce=" + std::to_string(with_nonce) +
                     " cert=" + std::to_string(cert_req));
        std::string digest = Digest(alg, "evidence");
        std::optional<uint64_t> nonce;
        if (with_nonce) nonce = 0xfedcba9876543210ULL;
        auto q = CreateQuery(alg, common::AsBytes(digest), nonce, cert_req);
        ASSERT_TRUE(q.ok());
        EXPECT_TRUE(IsTimeStampQuery(*q));
        auto reply = r.Respond(*q);
        ASSERT_TRUE(reply.ok());
        auto status = ParseReplyStatus(*reply);
        ASSERT_TRUE(status.ok());
        EXPECT_EQ(status->status, PkiStatus::kGranted) << status->text;
        EXPECT_TRUE(status->has_token);
        // Without certReq the token carries no certificate: the verifier brings the TSA's.
        auto info = VerifyReply(*reply, *q, tsa_->ca_cert_pem, cert_req ? "" : tsa_->tsa_cert_pem);
        ASSERT_TRUE(info.ok()) << info.error().ToString();
        EXPECT_EQ(info->gen_time_us, kFixedNowUs);
        EXPECT_EQ(info->hash_alg, alg);
        EXPECT_EQ(info->imprint, digest);
        EXPECT_EQ(info->policy_oid, kDefaultTsaPolicyOid);
        EXPECT_EQ(info->tsa_name, "CN=Test TSA");
        EXPECT_EQ(info->accuracy_us, 1000000);
        if (with_nonce) {
          EXPECT_EQ(info->nonce_hex, "fedcba9876543210");
        } else {
          EXPECT_FALSE(info->nonce_hex.has_value());
        }
        if (!cert_req) {
          EXPECT_FALSE(VerifyReply(*reply, *q, tsa_->ca_cert_pem, "").ok());
        }
        auto parsed = ParseToken(info->token_der);
        ASSERT_TRUE(parsed.ok());
        EXPECT_EQ(parsed->serial_hex, info->serial_hex);
        auto token_ok = VerifyToken(info->token_der, common::AsBytes(digest), alg,
                                    tsa_->ca_cert_pem, tsa_->tsa_cert_pem);
        EXPECT_TRUE(token_ok.ok()) << token_ok.error().ToString();
      }
    }
  }
}

TEST_F(TsaTest, PolicyAndAccuracyAreConfigurable) {
  TsaResponderOptions options;
  options.policy_oid = "1.3.6.1.4.1.99999.7.1";
  options.accuracy = {0, 500, 250};
  TsaResponder r = MakeResponder(options);
  EXPECT_EQ(r.policy_oid(), "1.3.6.1.4.1.99999.7.1");
  std::string digest = Digest(TsaHashAlg::kSha256, "x");
  auto q = CreateQuery(TsaHashAlg::kSha256, common::AsBytes(digest), 1, true);
  ASSERT_TRUE(q.ok());
  auto reply = r.Respond(*q);
  ASSERT_TRUE(reply.ok());
  auto info = VerifyReply(*reply, *q, tsa_->ca_cert_pem, "");
  ASSERT_TRUE(info.ok()) << info.error().ToString();
  EXPECT_EQ(info->policy_oid, "1.3.6.1.4.1.99999.7.1");
  EXPECT_EQ(info->accuracy_us, 500250);
  EXPECT_NE(r.CertificatesPem().find("BEGIN CERTIFICATE"), std::string::npos);
}

TEST_F(TsaTest, GenTimeComesFromTheInjectedClockWithMicroseconds) {
  int64_t now = 946684800000001;  // 2000-01-01T00:00:00.000001Z
  TsaResponderOptions options;
  options.clock = [&now] { return now; };
  TsaResponder r = MakeResponder(options);
  std::string digest = Digest(TsaHashAlg::kSha256, "clock");
  auto q = CreateQuery(TsaHashAlg::kSha256, common::AsBytes(digest), std::nullopt, true);
  ASSERT_TRUE(q.ok());
  auto reply = r.Respond(*q);
  ASSERT_TRUE(reply.ok());
  auto status = ParseReplyStatus(*reply);
  ASSERT_TRUE(status.ok());
  ASSERT_EQ(status->status, PkiStatus::kGranted);
  // Before the TSA certificate's notBefore: the chain is invalid at genTime.
  auto at_gen = VerifyReply(*reply, *q, tsa_->ca_cert_pem, "");
  ASSERT_FALSE(at_gen.ok());
  EXPECT_EQ(at_gen.error().code(), common::ErrorCode::kVerifyFailed);
  // ParseToken still reads it.
  std::unique_ptr<TS_RESP, common::Deleter<TS_RESP_free>> resp;
  {
    const auto* p = reinterpret_cast<const unsigned char*>(reply->data());
    resp.reset(d2i_TS_RESP(nullptr, &p, static_cast<long>(reply->size())));
  }
  ASSERT_TRUE(resp);
  PKCS7* token = TS_RESP_get_token(resp.get());
  int len = i2d_PKCS7(token, nullptr);
  std::string der(static_cast<size_t>(len), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  i2d_PKCS7(token, &out);
  auto info = ParseToken(der);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->gen_time_us, now);
}

TEST_F(TsaTest, NegativeClockMeansTimeNotAvailable) {
  TsaResponderOptions options;
  options.clock = [] { return int64_t{-1}; };
  TsaResponder r = MakeResponder(options);
  auto q = CreateQuery(TsaHashAlg::kSha256, common::AsBytes(Digest(TsaHashAlg::kSha256, "t")),
                       std::nullopt, false);
  ASSERT_TRUE(q.ok());
  TsaReplyStatus s = StatusOf(r, *q);
  EXPECT_EQ(s.status, PkiStatus::kRejection);
  EXPECT_EQ(s.failure_info, tsa_failure::kTimeNotAvailable);
  EXPECT_FALSE(s.has_token);
}

TEST_F(TsaTest, UnsupportedAlgorithmsAreRejectedWithBadAlg) {
  TsaResponder r = MakeResponder();
  for (auto [nid, len] :
       {std::pair{NID_md5, 16}, {NID_sha1, 20}, {NID_sha224, 28}, {NID_sha3_256, 32}}) {
    SCOPED_TRACE(OBJ_nid2sn(nid));
    TsaReplyStatus s = StatusOf(r, RawQuery(nid, static_cast<size_t>(len)));
    EXPECT_EQ(s.status, PkiStatus::kRejection);
    EXPECT_EQ(s.failure_info, tsa_failure::kBadAlg);
    EXPECT_FALSE(s.has_token);
  }
}

TEST_F(TsaTest, MalformedQueriesGetTheRightFailureInfo) {
  TsaResponder r = MakeResponder();
  // A truncated imprint: DER is fine, the data is not.
  TsaReplyStatus truncated = StatusOf(r, RawQuery(NID_sha256, 31));
  EXPECT_EQ(truncated.status, PkiStatus::kRejection);
  EXPECT_EQ(truncated.failure_info, tsa_failure::kBadDataFormat);
  // An unknown request version.
  TsaReplyStatus version = StatusOf(r, RawQuery(NID_sha256, 32, 2));
  EXPECT_EQ(version.failure_info, tsa_failure::kBadRequest);
  // A policy this TSA does not serve.
  TsaReplyStatus policy = StatusOf(r, RawQuery(NID_sha256, 32, 1, "1.2.3.4"));
  EXPECT_EQ(policy.failure_info, tsa_failure::kUnacceptedPolicy);
  // Asking for our own policy is fine.
  std::string own(kDefaultTsaPolicyOid);
  EXPECT_EQ(StatusOf(r, RawQuery(NID_sha256, 32, 1, own.c_str())).status, PkiStatus::kGranted);
  // Not a TimeStampReq at all, or one with trailing bytes.
  for (std::string body :
       {std::string("garbage"), std::string(), std::string("\x30\x03\x02\x01", 4),
        RawQuery(NID_sha256, 32) + "x", std::string(kMaxTsaQueryBytes + 1, '\x30')}) {
    TsaReplyStatus s = StatusOf(r, body);
    EXPECT_EQ(s.status, PkiStatus::kRejection);
    EXPECT_EQ(s.failure_info, tsa_failure::kBadDataFormat);
  }
  EXPECT_EQ(TsaFailureInfoNames(tsa_failure::kBadAlg | tsa_failure::kBadDataFormat),
            "badAlg,badDataFormat");
}

TEST_F(TsaTest, IsTimeStampQueryAcceptsOnlyOneWholeRequest) {
  std::string q = RawQuery(NID_sha256, 32);
  EXPECT_TRUE(IsTimeStampQuery(q));
  EXPECT_TRUE(IsTimeStampQuery(RawQuery(NID_md5, 16)));  // parseable, answered with badAlg
  EXPECT_FALSE(IsTimeStampQuery(""));
  EXPECT_FALSE(IsTimeStampQuery("hello"));
  EXPECT_FALSE(IsTimeStampQuery(q + std::string(1, '\0')));
  EXPECT_FALSE(IsTimeStampQuery(q.substr(0, q.size() - 1)));
}

TEST_F(TsaTest, CreateQueryRejectsWrongDigestLength) {
  std::string d(31, 'a');
  auto q = CreateQuery(TsaHashAlg::kSha256, common::AsBytes(d), std::nullopt, false);
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.error().code(), common::ErrorCode::kInvalidInput);
}

TEST_F(TsaTest, VerifyReplyRejectsRefusalsAndMismatchedQueries) {
  TsaResponder r = MakeResponder();
  std::string md5q = RawQuery(NID_md5, 16);
  auto refused = VerifyReply(*r.Respond(md5q), md5q, tsa_->ca_cert_pem, "");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), common::ErrorCode::kVerifyFailed);
  EXPECT_NE(refused.error().message().find("badAlg"), std::string::npos);

  std::string digest = Digest(TsaHashAlg::kSha256, "a");
  auto q1 = CreateQuery(TsaHashAlg::kSha256, common::AsBytes(digest), 1, true);
  auto q2 = CreateQuery(TsaHashAlg::kSha256, common::AsBytes(digest), 2, true);
  std::string other = Digest(TsaHashAlg::kSha256, "b");
  auto q3 = CreateQuery(TsaHashAlg::kSha256, common::AsBytes(other), 1, true);
  auto reply = r.Respond(*q1);
  ASSERT_TRUE(reply.ok());
  EXPECT_TRUE(VerifyReply(*reply, *q1, tsa_->ca_cert_pem, "").ok());
  EXPECT_FALSE(VerifyReply(*reply, *q2, tsa_->ca_cert_pem, "").ok());  // nonce
  EXPECT_FALSE(VerifyReply(*reply, *q3, tsa_->ca_cert_pem, "").ok());  // imprint
  EXPECT_FALSE(VerifyReply(*reply, *q1, other_->ca_cert_pem, "").ok());
  EXPECT_FALSE(VerifyReply("junk", *q1, tsa_->ca_cert_pem, "").ok());
}

TEST_F(TsaTest, VerifyTokenRejectsFlippedBytesWrongImprintAndUntrustedCa) {
  TsaResponder r = MakeResponder();
  std::string digest = Digest(TsaHashAlg::kSha256, "evidence");
  std::string token = Token(r, digest);
  ASSERT_FALSE(token.empty());
  auto good =
      VerifyToken(token, common::AsBytes(digest), TsaHashAlg::kSha256, tsa_->ca_cert_pem, "");
  ASSERT_TRUE(good.ok()) << good.error().ToString();
  EXPECT_EQ(good->token_der, token);

  // The signature is the token's last element; the imprint and genTime are inside the
  // signed TSTInfo.
  std::vector<size_t> positions = {token.size() - 1, token.size() - 5, token.find(digest) + 3};
  std::string gen_time = "20260115102030.123456Z";
  ASSERT_NE(token.find(gen_time), std::string::npos);
  positions.push_back(token.find(gen_time) + 11);
  for (size_t pos : positions) {
    std::string bad = token;
    bad[pos] = static_cast<char>(bad[pos] ^ 0x01);
    auto v = VerifyToken(bad, common::AsBytes(digest), TsaHashAlg::kSha256, tsa_->ca_cert_pem, "");
    EXPECT_FALSE(v.ok()) << "flipped byte at " << pos;
  }

  std::string wrong = Digest(TsaHashAlg::kSha256, "other evidence");
  auto w = VerifyToken(token, common::AsBytes(wrong), TsaHashAlg::kSha256, tsa_->ca_cert_pem, "");
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().code(), common::ErrorCode::kVerifyFailed);
  std::string longer = Digest(TsaHashAlg::kSha512, "evidence");
  EXPECT_FALSE(
      VerifyToken(token, common::AsBytes(longer), TsaHashAlg::kSha512, tsa_->ca_cert_pem, "").ok());

  auto untrusted =
      VerifyToken(token, common::AsBytes(digest), TsaHashAlg::kSha256, other_->ca_cert_pem, "");
  ASSERT_FALSE(untrusted.ok());
  EXPECT_EQ(untrusted.error().code(), common::ErrorCode::kVerifyFailed);
  // Trusting the TSA certificate itself, rather than its CA, is not enough either: the
  // chain must end at a trusted root.
  EXPECT_FALSE(
      VerifyToken(token, common::AsBytes(digest), TsaHashAlg::kSha256, tsa_->tsa_cert_pem, "")
          .ok());
  EXPECT_FALSE(VerifyToken(token, common::AsBytes(digest), TsaHashAlg::kSha256, "", "").ok());
  EXPECT_FALSE(ParseToken("not a token").ok());
  // VerifyToken and ParseToken remember their answers (common/memo.h): each tampering above
  // came after the genuine token's valid answer was remembered and still failed; asked
  // again, every answer is the same, and an answer for one set of arguments is never given
  // for another.
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(
        VerifyToken(token, common::AsBytes(digest), TsaHashAlg::kSha256, tsa_->ca_cert_pem, "")
            .ok());
    EXPECT_FALSE(
        VerifyToken(token, common::AsBytes(wrong), TsaHashAlg::kSha256, tsa_->ca_cert_pem, "")
            .ok());
    EXPECT_FALSE(
        VerifyToken(token, common::AsBytes(digest), TsaHashAlg::kSha256, other_->ca_cert_pem, "")
            .ok());
    std::string bad = token;
    bad.back() = static_cast<char>(bad.back() ^ 0x01);
    EXPECT_FALSE(
        VerifyToken(bad, common::AsBytes(digest), TsaHashAlg::kSha256, tsa_->ca_cert_pem, "").ok());
    EXPECT_EQ(ParseToken(token)->token_der, token);
  }
}

TEST_F(TsaTest, ChainIsCheckedAtGenTimeUnlessAnotherTimeIsGiven) {
  TsaResponder r = MakeResponder();
  std::string digest = Digest(TsaHashAlg::kSha256, "old evidence");
  std::string token = Token(r, digest);
  constexpr int64_t kYearUs = 365LL * 24 * 3600 * 1000000;
  // Eleven years on, the TSA certificate has expired; the token still proves its genTime.
  EXPECT_TRUE(
      VerifyToken(token, common::AsBytes(digest), TsaHashAlg::kSha256, tsa_->ca_cert_pem, "").ok());
  EXPECT_TRUE(VerifyToken(token, common::AsBytes(digest), TsaHashAlg::kSha256, tsa_->ca_cert_pem,
                          "", kFixedNowUs + kYearUs)
                  .ok());
  auto late = VerifyToken(token, common::AsBytes(digest), TsaHashAlg::kSha256, tsa_->ca_cert_pem,
                          "", kFixedNowUs + 11 * kYearUs);
  ASSERT_FALSE(late.ok());
  EXPECT_NE(late.error().message().find("expired"), std::string::npos) << late.error().message();
}

TEST_F(TsaTest, VerifiedTokensNameTheirSignerAndIdentifyTellsTrustedFromUntrusted) {
  TsaResponder r = MakeResponder();
  std::string digest = Digest(TsaHashAlg::kSha256, "who signed");
  std::string token = Token(r, digest);
  auto info =
      VerifyToken(token, common::AsBytes(digest), TsaHashAlg::kSha256, tsa_->ca_cert_pem, "");
  ASSERT_TRUE(info.ok()) << info.error().ToString();
  EXPECT_EQ(info->signer_subject, "CN=Test TSA");
  EXPECT_EQ(info->signer_issuer, "CN=Test Root CA");
  EXPECT_TRUE(ParseToken(token)->signer_subject.empty());  // not verified, not named

  auto mine = IdentifyTokenSigner(token, tsa_->ca_cert_pem, "");
  ASSERT_TRUE(mine.ok()) << mine.error().ToString();
  EXPECT_EQ(mine->subject, "CN=Test TSA");
  EXPECT_TRUE(mine->chains_to_trusted);
  auto theirs = IdentifyTokenSigner(token, other_->ca_cert_pem, "");
  ASSERT_TRUE(theirs.ok());
  EXPECT_FALSE(theirs->chains_to_trusted);
  EXPECT_FALSE(IdentifyTokenSigner(token, "", "")->chains_to_trusted);
  // Validity periods do not matter to IdentifyTokenSigner (it verifies nothing): eleven years
  // on, the token no longer verifies at that time, but its signer still chains to the root.
  constexpr int64_t kYearUs = 365LL * 24 * 3600 * 1000000;
  EXPECT_FALSE(VerifyToken(token, common::AsBytes(digest), TsaHashAlg::kSha256, tsa_->ca_cert_pem,
                           "", kFixedNowUs + 11 * kYearUs)
                   .ok());
  EXPECT_FALSE(IdentifyTokenSigner("not a token", tsa_->ca_cert_pem, "").ok());
}

TEST_F(TsaTest, SerialNumbersAreUniqueAndLarge) {
  TsaResponder r = MakeResponder();
  std::string digest = Digest(TsaHashAlg::kSha256, "serials");
  std::set<std::string> serials;
  for (int i = 0; i < 100; ++i) {
    auto q = CreateQuery(TsaHashAlg::kSha256, common::AsBytes(digest), std::nullopt, false);
    ASSERT_TRUE(q.ok());
    auto reply = r.Respond(*q);
    ASSERT_TRUE(reply.ok());
    auto info = VerifyReply(*reply, *q, tsa_->ca_cert_pem, tsa_->tsa_cert_pem);
    ASSERT_TRUE(info.ok()) << info.error().ToString();
    EXPECT_GT(info->serial_hex.size(), 16u) << info->serial_hex;  // more than 64 bits
    serials.insert(info->serial_hex);
  }
  EXPECT_EQ(serials.size(), 100u);
}

TEST_F(TsaTest, RespondIsSafeFromManyThreads) {
  const TsaResponder r = MakeResponder();
  std::atomic<int> verified{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        std::string digest = Digest(TsaHashAlg::kSha384, std::to_string(t * 100 + i));
        auto q =
            CreateQuery(TsaHashAlg::kSha384, common::AsBytes(digest), RandomTsaNonce(), i % 2 == 0);
        if (!q.ok()) continue;
        auto reply = r.Respond(*q);
        if (!reply.ok()) continue;
        if (VerifyReply(*reply, *q, tsa_->ca_cert_pem, tsa_->tsa_cert_pem).ok()) ++verified;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(verified.load(), 100);
}

// The DER of an OpenSSL object, for byte-for-byte comparisons.
template <class T>
std::string Der(int (*i2d)(const T*, unsigned char**), const T* obj) {
  int len = i2d(obj, nullptr);
  if (len <= 0) return "(encoding failed)";
  std::string der(static_cast<size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  i2d(obj, &p);
  return der;
}

using TsRespPtr = std::unique_ptr<TS_RESP, common::Deleter<TS_RESP_free>>;

TsRespPtr DecodeReply(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  return TsRespPtr{d2i_TS_RESP(nullptr, &p, static_cast<long>(der.size()))};
}

std::string AttributeValue(PKCS7_SIGNER_INFO* si, int nid) {
  for (int i = 0; i < sk_X509_ATTRIBUTE_num(si->auth_attr); ++i) {
    X509_ATTRIBUTE* a = sk_X509_ATTRIBUTE_value(si->auth_attr, i);
    if (OBJ_obj2nid(X509_ATTRIBUTE_get0_object(a)) != nid) continue;
    if (X509_ATTRIBUTE_count(a) != 1) return "(not one value)";
    return Der<ASN1_TYPE>(i2d_ASN1_TYPE, X509_ATTRIBUTE_get0_type(a, 0));
  }
  return "(absent)";
}

// Granted tokens are built from prepared objects (tsa_authority/src/token_signer.cc), not by
// TS_RESP_create_response: they must be what OpenSSL's own responder would have issued with
// the same settings, serial and time, apart from the signature and signingTime (OpenSSL takes
// that from the system clock).
TEST_F(TsaTest, GrantedTokensAreWhatOpenSslsResponderIssues) {
  common::BioPtr key_bio{BIO_new_mem_buf(tsa_->tsa_key_pem.data(), -1)};
  common::EvpPkeyPtr key{PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr)};
  common::X509Ptr cert = ReadCert(tsa_->tsa_cert_pem);
  common::X509Ptr ca = ReadCert(tsa_->ca_cert_pem);
  ASSERT_TRUE(key && cert && ca);
  struct FreeStack {
    void operator()(STACK_OF(X509) * s) const { sk_X509_free(s); }
  };
  std::unique_ptr<STACK_OF(X509), FreeStack> chain{sk_X509_new_null()};
  sk_X509_push(chain.get(), ca.get());
  std::unique_ptr<ASN1_OBJECT, common::Deleter<ASN1_OBJECT_free>> policy{
      OBJ_txt2obj(std::string(kDefaultTsaPolicyOid).c_str(), 1)};

  // 10:20:30.123456, a whole second, trailing zeros in the fraction, one microsecond.
  for (int64_t now :
       {kFixedNowUs, kFixedNowUs - 123456, kFixedNowUs - 23456, kFixedNowUs - 123455}) {
    TsaResponderOptions options;
    options.clock = [now] { return now; };
    TsaResponder r = MakeResponder(std::move(options));
    for (TsaHashAlg alg : {TsaHashAlg::kSha256, TsaHashAlg::kSha384, TsaHashAlg::kSha512}) {
      for (bool with_nonce : {false, true}) {
        for (bool cert_req : {false, true}) {
          SCOPED_TRACE(std::string(TsaHashAlgName(alg)) + " nonce=" + std::to_string(with_nonce) +
                       " cert=" + std::to_string(cert_req) + " now=" + std::to_string(now));
          std::string digest = Digest(alg, "same token");
          std::optional<uint64_t> nonce;
          if (with_nonce) nonce = 0x00ab0000000000cdULL;
          auto q = CreateQuery(alg, common::AsBytes(digest), nonce, cert_req);
          ASSERT_TRUE(q.ok());
          auto reply = r.Respond(*q);
          ASSERT_TRUE(reply.ok());
          ASSERT_TRUE(VerifyReply(*reply, *q, tsa_->ca_cert_pem, tsa_->tsa_cert_pem).ok());
          TsRespPtr ours = DecodeReply(*reply);
          ASSERT_TRUE(ours);

          // OpenSSL's responder, as `openssl ts -reply` would run it with our settings.
          std::unique_ptr<TS_RESP_CTX, common::Deleter<TS_RESP_CTX_free>> ctx{TS_RESP_CTX_new()};
          ASSERT_EQ(TS_RESP_CTX_set_signer_cert(ctx.get(), cert.get()), 1);
          ASSERT_EQ(TS_RESP_CTX_set_signer_key(ctx.get(), key.get()), 1);
          ASSERT_EQ(TS_RESP_CTX_set_signer_digest(ctx.get(), EVP_sha256()), 1);
          ASSERT_EQ(TS_RESP_CTX_set_ess_cert_id_digest(ctx.get(), EVP_sha256()), 1);
          ASSERT_EQ(TS_RESP_CTX_set_def_policy(ctx.get(), policy.get()), 1);
          for (const EVP_MD* md : {EVP_sha256(), EVP_sha384(), EVP_sha512()}) {
            ASSERT_EQ(TS_RESP_CTX_add_md(ctx.get(), md), 1);
          }
          ASSERT_EQ(TS_RESP_CTX_set_accuracy(ctx.get(), 1, 0, 0), 1);
          ASSERT_EQ(TS_RESP_CTX_set_clock_precision_digits(ctx.get(), 6), 1);
          ASSERT_EQ(TS_RESP_CTX_set_certs(ctx.get(), chain.get()), 1);
          TS_RESP_CTX_add_flags(ctx.get(), TS_TSA_NAME);
          TS_RESP_CTX_set_serial_cb(
              ctx.get(),
              [](TS_RESP_CTX*, void* data) {
                return ASN1_INTEGER_dup(TS_TST_INFO_get_serial(static_cast<TS_TST_INFO*>(data)));
              },
              TS_RESP_get_tst_info(ours.get()));
          TS_RESP_CTX_set_time_cb(
              ctx.get(),
              [](TS_RESP_CTX*, void* data, long* sec, long* usec) {
                const int64_t t = *static_cast<const int64_t*>(data);
                *sec = static_cast<long>(t / 1000000);
                *usec = static_cast<long>(t % 1000000);
                return 1;
              },
              &now);
          common::BioPtr in{BIO_new_mem_buf(q->data(), static_cast<int>(q->size()))};
          TsRespPtr ref{TS_RESP_create_response(ctx.get(), in.get())};
          ASSERT_TRUE(ref);

          EXPECT_EQ(Der(i2d_TS_STATUS_INFO, TS_RESP_get_status_info(ours.get())),
                    Der(i2d_TS_STATUS_INFO, TS_RESP_get_status_info(ref.get())));
          PKCS7* a = TS_RESP_get_token(ours.get());
          PKCS7* b = TS_RESP_get_token(ref.get());
          ASSERT_TRUE(a != nullptr && b != nullptr);
          // The signed content, byte for byte: TSTInfo with serial, genTime, nonce, imprint.
          EXPECT_EQ(Der(i2d_PKCS7, a->d.sign->contents), Der(i2d_PKCS7, b->d.sign->contents));
          EXPECT_EQ(ASN1_INTEGER_get(a->d.sign->version), ASN1_INTEGER_get(b->d.sign->version));
          auto algs = [](PKCS7* p) {
            std::string out;
            for (int i = 0; i < sk_X509_ALGOR_num(p->d.sign->md_algs); ++i) {
              out += Der(i2d_X509_ALGOR, sk_X509_ALGOR_value(p->d.sign->md_algs, i));
            }
            return out;
          };
          EXPECT_EQ(algs(a), algs(b));
          auto certs = [](PKCS7* p) {
            std::string out;
            for (int i = 0; i < sk_X509_num(p->d.sign->cert); ++i) {
              out += Der(i2d_X509, sk_X509_value(p->d.sign->cert, i));
            }
            return out;
          };
          EXPECT_EQ(certs(a), certs(b));
          EXPECT_EQ(sk_X509_num(a->d.sign->cert), cert_req ? 2 : -1);
          ASSERT_EQ(sk_PKCS7_SIGNER_INFO_num(a->d.sign->signer_info), 1);
          ASSERT_EQ(sk_PKCS7_SIGNER_INFO_num(b->d.sign->signer_info), 1);
          PKCS7_SIGNER_INFO* sa = sk_PKCS7_SIGNER_INFO_value(a->d.sign->signer_info, 0);
          PKCS7_SIGNER_INFO* sb = sk_PKCS7_SIGNER_INFO_value(b->d.sign->signer_info, 0);
          EXPECT_EQ(Der(i2d_PKCS7_ISSUER_AND_SERIAL, sa->issuer_and_serial),
                    Der(i2d_PKCS7_ISSUER_AND_SERIAL, sb->issuer_and_serial));
          EXPECT_EQ(Der(i2d_X509_ALGOR, sa->digest_alg), Der(i2d_X509_ALGOR, sb->digest_alg));
          EXPECT_EQ(Der(i2d_X509_ALGOR, sa->digest_enc_alg),
                    Der(i2d_X509_ALGOR, sb->digest_enc_alg));
          EXPECT_EQ(sk_X509_ATTRIBUTE_num(sa->auth_attr), 4);
          EXPECT_EQ(sk_X509_ATTRIBUTE_num(sb->auth_attr), 4);
          for (int nid : {NID_pkcs9_contentType, NID_pkcs9_messageDigest,
                          NID_id_smime_aa_signingCertificateV2}) {
            EXPECT_EQ(AttributeValue(sa, nid), AttributeValue(sb, nid)) << OBJ_nid2sn(nid);
          }
          EXPECT_NE(AttributeValue(sa, NID_pkcs9_signingTime), "(absent)");
          EXPECT_EQ(sa->unauth_attr, nullptr);
        }
      }
    }
  }
}

// Each pooled signer is reused for the next token: nothing of one token may leak into the
// next, whatever the order of queries, and serials stay distinct across threads.
TEST_F(TsaTest, SerialsAreUniqueAcrossThreads) {
  const TsaResponder r = MakeResponder();
  constexpr int kThreads = 4, kEach = 250;
  std::vector<std::vector<std::string>> serials(kThreads);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        std::string digest = Digest(TsaHashAlg::kSha256, std::to_string(t * kEach + i));
        auto q = CreateQuery(TsaHashAlg::kSha256, common::AsBytes(digest), std::nullopt, false);
        auto reply = q.ok() ? r.Respond(*q) : q.error();
        auto info = reply.ok() ? VerifyReply(*reply, *q, tsa_->ca_cert_pem, tsa_->tsa_cert_pem)
                               : reply.error();
        if (!info.ok() || info->serial_hex.size() <= 16) {
          ++failures;
          continue;
        }
        serials[static_cast<size_t>(t)].push_back(info->serial_hex);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  std::set<std::string> all;
  for (const auto& v : serials) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kEach));
}

TEST_F(TsaTest, TokensOfTwoRespondersUsedInTurnCarryTheirOwnKey) {
  TsaResponder a = MakeResponder();
  auto made = TsaResponder::Create(other_->tsa_key_pem, other_->tsa_cert_pem, other_->ca_cert_pem);
  ASSERT_TRUE(made.ok());
  TsaResponder b = std::move(*made);  // a moved responder keeps its signers
  std::string digest = Digest(TsaHashAlg::kSha256, "two keys");
  auto q = CreateQuery(TsaHashAlg::kSha256, common::AsBytes(digest), 42, true);
  ASSERT_TRUE(q.ok());
  for (int i = 0; i < 3; ++i) {
    auto ra = a.Respond(*q);
    auto rb = b.Respond(*q);
    ASSERT_TRUE(ra.ok() && rb.ok());
    EXPECT_TRUE(VerifyReply(*ra, *q, tsa_->ca_cert_pem, "").ok());
    EXPECT_FALSE(VerifyReply(*ra, *q, other_->ca_cert_pem, "").ok());
    EXPECT_TRUE(VerifyReply(*rb, *q, other_->ca_cert_pem, "").ok());
    EXPECT_FALSE(VerifyReply(*rb, *q, tsa_->ca_cert_pem, "").ok());
  }
}

TEST_F(TsaTest, RespondToQueryRefusesOnlyWhatIsNotATimeStampReq) {
  TsaResponder r = MakeResponder();
  std::string q = RawQuery(NID_sha256, 32);
  for (std::string body : {std::string("garbage"), std::string(), q + "x",
                           std::string(kMaxTsaQueryBytes + 1, '\x30')}) {
    auto reply = r.RespondToQuery(body);
    ASSERT_FALSE(reply.ok());
    EXPECT_EQ(reply.error().code(), common::ErrorCode::kInvalidInput);
  }
  auto granted = r.RespondToQuery(q);
  ASSERT_TRUE(granted.ok());
  EXPECT_EQ(ParseReplyStatus(*granted)->status, PkiStatus::kGranted);
  // Parseable but refused: a reply with the failure info, as from Respond().
  auto refused = r.RespondToQuery(RawQuery(NID_md5, 16));
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(ParseReplyStatus(*refused)->failure_info, tsa_failure::kBadAlg);
}

TEST(TsaHashAlgTest, NamesRoundTrip) {
  for (TsaHashAlg alg : {TsaHashAlg::kSha256, TsaHashAlg::kSha384, TsaHashAlg::kSha512}) {
    EXPECT_EQ(TsaHashAlgFromName(TsaHashAlgName(alg)), alg);
  }
  EXPECT_EQ(TsaHashAlgFromName("SHA-512"), TsaHashAlg::kSha512);
  EXPECT_FALSE(TsaHashAlgFromName("md5").has_value());
  EXPECT_EQ(TsaDigestSize(TsaHashAlg::kSha384), 48u);
}

}  // namespace
}  // namespace notary
