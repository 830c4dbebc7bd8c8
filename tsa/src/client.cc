#include "tsa/client.h"

#include <openssl/err.h>
#include <openssl/rand.h>

#include <array>
#include <cstdlib>
#include <ctime>
#include <utility>

#include "common/memo.h"
#include "common/ossl.h"
#include "tsa/openssl_ts.h"

namespace notary {

using tsa_internal::Asn1IntegerPtr;
using tsa_internal::Pkcs7Ptr;
using tsa_internal::TsMsgImprintPtr;
using tsa_internal::TsReqPtr;
using tsa_internal::TsRespPtr;
using tsa_internal::TsVerifyCtxPtr;
using tsa_internal::X509AlgorPtr;

namespace {

const char* StatusName(PkiStatus s) {
  switch (s) {
    case PkiStatus::kGranted:
      return "granted";
    case PkiStatus::kGrantedWithMods:
      return "grantedWithMods";
    case PkiStatus::kRejection:
      return "rejection";
    case PkiStatus::kWaiting:
      return "waiting";
    case PkiStatus::kRevocationWarning:
      return "revocationWarning";
    case PkiStatus::kRevocationNotification:
      return "revocationNotification";
  }
  return "unknown";
}

// Completes `ctx` (which already says what to compare: imprint, nonce, policy) with the
// signature check, the trust store and the untrusted certificates, the chain checked at
// `check_time_us`. Then `verify` runs the OpenSSL check itself.
template <class Verify>
common::Status VerifyWithContext(TS_VERIFY_CTX* ctx, std::string_view trusted_ca_pem,
                                 std::string_view untrusted_chain_pem, int64_t check_time_us,
                                 Verify&& verify) {
  ASSIGN_OR_RETURN(auto store, tsa_internal::MakeTrustStore(trusted_ca_pem));
  ASSIGN_OR_RETURN(auto untrusted,
                   tsa_internal::ReadCertificates(untrusted_chain_pem, "untrusted chain"));
  // The chain is judged at the token's genTime (see tsa/client.h): the seconds floor of it.
  X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store.get()),
                             static_cast<time_t>(check_time_us / 1'000'000));
  TS_VERIFY_CTX_add_flags(ctx, TS_VFY_SIGNATURE | TS_VFY_SIGNER | TS_VFY_VERSION);
  // OpenSSL 3.0: the context takes ownership of both.
  TS_VERIFY_CTX_set_store(ctx, store.release());
  TS_VERIFY_CTX_set_certs(ctx, untrusted.release());
  if (verify() != 1) {
    return common::Error::VerifyFailed("time-stamp token verification failed: " +
                                       common::OpenSslError());
  }
  return common::Ok();
}

using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, common::Deleter<X509_STORE_CTX_free>>;

// The certificate that signed `token`, looked up among the token's own certificates and
// those of `untrusted_chain_pem`.
common::Result<common::X509Ptr> SignerOf(PKCS7* token, std::string_view untrusted_chain_pem) {
  ASSIGN_OR_RETURN(auto extra,
                   tsa_internal::ReadCertificates(untrusted_chain_pem, "untrusted chain"));
  if (!PKCS7_type_is_signed(token)) return common::Error::InvalidInput("token is not SignedData");
  STACK_OF(X509)* signers = PKCS7_get0_signers(token, extra.get(), 0);
  if (signers == nullptr || sk_X509_num(signers) != 1) {
    sk_X509_free(signers);
    ERR_clear_error();
    return common::Error::InvalidInput("no certificate given is the token's signer");
  }
  X509* signer = sk_X509_value(signers, 0);
  X509_up_ref(signer);
  sk_X509_free(signers);
  return common::X509Ptr{signer};
}

// The signing certificate's own validity period must contain `at_us` (seconds floor). OpenSSL
// checks the same while building the chain at that instant; this states it where a reader of
// this file looks, and does not depend on how the store's time parameter is inherited.
common::Status SignerValidAt(X509* signer, int64_t at_us) {
  time_t t = static_cast<time_t>(at_us / 1'000'000);
  const std::string who = common::NameRfc2253(X509_get_subject_name(signer));
  if (X509_cmp_time(X509_get0_notBefore(signer), &t) >= 0) {
    ERR_clear_error();
    return common::Error::VerifyFailed("the TSA's signing certificate (" + who +
                                       ") is not yet valid at the token's time");
  }
  if (X509_cmp_time(X509_get0_notAfter(signer), &t) <= 0) {
    ERR_clear_error();
    return common::Error::VerifyFailed("the TSA's signing certificate (" + who +
                                       ") has expired before the token's time");
  }
  return common::Ok();
}

// After the OpenSSL verification: the signer's own validity at `at_us`, and its names.
common::Status FinishSigner(PKCS7* token, std::string_view untrusted_chain_pem, int64_t at_us,
                            TokenInfo& info) {
  ASSIGN_OR_RETURN(auto signer, SignerOf(token, untrusted_chain_pem));
  RETURN_IF_ERROR(SignerValidAt(signer.get(), at_us));
  info.signer_subject = common::NameRfc2253(X509_get_subject_name(signer.get()));
  info.signer_issuer = common::NameRfc2253(X509_get_issuer_name(signer.get()));
  return common::Ok();
}

}  // namespace

common::Result<std::string> CreateQuery(TsaHashAlg alg, std::span<const uint8_t> digest,
                                        std::optional<uint64_t> nonce, bool cert_req) {
  if (digest.size() != TsaDigestSize(alg)) {
    return common::Error::InvalidInput(std::string(TsaHashAlgName(alg)) + " digest must have " +
                                       std::to_string(TsaDigestSize(alg)) + " bytes");
  }
  TsReqPtr req{TS_REQ_new()};
  X509AlgorPtr algo{X509_ALGOR_new()};
  TsMsgImprintPtr imprint{TS_MSG_IMPRINT_new()};
  if (!req || !algo || !imprint) return common::Error::Internal("out of memory");
  X509_ALGOR_set_md(algo.get(), tsa_internal::LegacyMd(alg));  // parameters absent, RFC 5754
  bool ok = TS_REQ_set_version(req.get(), 1) == 1 &&
            TS_MSG_IMPRINT_set_algo(imprint.get(), algo.get()) == 1 &&
            TS_MSG_IMPRINT_set_msg(imprint.get(), const_cast<uint8_t*>(digest.data()),
                                   static_cast<int>(digest.size())) == 1 &&
            TS_REQ_set_msg_imprint(req.get(), imprint.get()) == 1 &&
            TS_REQ_set_cert_req(req.get(), cert_req ? 1 : 0) == 1;
  if (ok && nonce) {
    Asn1IntegerPtr n{ASN1_INTEGER_new()};
    ok = n && ASN1_INTEGER_set_uint64(n.get(), *nonce) == 1 &&
         TS_REQ_set_nonce(req.get(), n.get()) == 1;
  }
  if (!ok) return common::Error::Internal("TimeStampReq: " + common::OpenSslError());
  std::string der = tsa_internal::EncodeDer<TS_REQ>(i2d_TS_REQ, req.get());
  if (der.empty()) return common::Error::Internal("cannot encode the TimeStampReq");
  return der;
}

uint64_t RandomTsaNonce() {
  std::array<unsigned char, 8> b{};
  if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1) {
    // The CSPRNG failing is not an input condition; without it nothing here is safe.
    std::abort();
  }
  uint64_t v = 0;
  for (unsigned char c : b) v = (v << 8) | c;
  return v;
}

common::Result<TokenInfo> VerifyReply(std::string_view reply_der, std::string_view query_der,
                                      std::string_view trusted_ca_pem,
                                      std::string_view untrusted_chain_pem) {
  ASSIGN_OR_RETURN(const auto status, ParseReplyStatus(reply_der));
  if (status.status != PkiStatus::kGranted && status.status != PkiStatus::kGrantedWithMods) {
    return common::Error::VerifyFailed(std::string("TSA refused: status ") +
                                       StatusName(status.status) + ", failure info '" +
                                       TsaFailureInfoNames(status.failure_info) + "'");
  }
  if (!status.has_token) return common::Error::VerifyFailed("granted reply without a token");

  TsReqPtr req = tsa_internal::DecodeRequest(query_der);
  TsRespPtr resp = tsa_internal::DecodeResponse(reply_der);
  if (!req || !resp) {
    ERR_clear_error();
    return common::Error::InvalidInput("not a DER TimeStampReq");
  }
  PKCS7* token = TS_RESP_get_token(resp.get());  // borrowed from resp
  ASSIGN_OR_RETURN(auto info, tsa_internal::TokenInfoOf(token));

  // Compares the imprint (algorithm and digest), the nonce and, when asked, the policy.
  TsVerifyCtxPtr ctx{TS_REQ_to_TS_VERIFY_CTX(req.get(), nullptr)};
  if (!ctx) return common::Error::Internal("TS_VERIFY_CTX: " + common::OpenSslError());
  RETURN_IF_ERROR(
      VerifyWithContext(ctx.get(), trusted_ca_pem, untrusted_chain_pem, info.gen_time_us,
                        [&] { return TS_RESP_verify_response(ctx.get(), resp.get()); }));
  RETURN_IF_ERROR(FinishSigner(token, untrusted_chain_pem, info.gen_time_us, info));
  return info;
}

namespace {

common::Result<TokenInfo> VerifyTokenOnce(std::string_view token_der,
                                          std::span<const uint8_t> expected_digest, TsaHashAlg alg,
                                          std::string_view trusted_ca_pem,
                                          std::string_view untrusted_chain_pem,
                                          std::optional<int64_t> at_time_us) {
  // A query without nonce and policy carries exactly what the token must match.
  ASSIGN_OR_RETURN(auto query, CreateQuery(alg, expected_digest, std::nullopt, false));
  TsReqPtr req = tsa_internal::DecodeRequest(query);
  Pkcs7Ptr token = tsa_internal::DecodePkcs7(token_der);
  if (!req) return common::Error::Internal("cannot re-read our own TimeStampReq");
  if (!token) {
    ERR_clear_error();
    return common::Error::InvalidInput("not a DER TimeStampToken");
  }
  ASSIGN_OR_RETURN(auto info, tsa_internal::TokenInfoOf(token.get()));
  info.token_der = std::string(token_der);
  if (info.hash_alg != alg) {
    return common::Error::VerifyFailed("token imprint uses " +
                                       std::string(TsaHashAlgName(info.hash_alg)) + ", not " +
                                       std::string(TsaHashAlgName(alg)));
  }

  TsVerifyCtxPtr ctx{TS_REQ_to_TS_VERIFY_CTX(req.get(), nullptr)};
  if (!ctx) return common::Error::Internal("TS_VERIFY_CTX: " + common::OpenSslError());
  const int64_t check_time_us = at_time_us.value_or(info.gen_time_us);
  auto status = VerifyWithContext(ctx.get(), trusted_ca_pem, untrusted_chain_pem, check_time_us,
                                  [&] { return TS_RESP_verify_token(ctx.get(), token.get()); });
  RETURN_IF_ERROR(status);
  RETURN_IF_ERROR(FinishSigner(token.get(), untrusted_chain_pem, check_time_us, info));
  return info;
}

}  // namespace

common::Result<TokenInfo> VerifyToken(std::string_view token_der,
                                      std::span<const uint8_t> expected_digest, TsaHashAlg alg,
                                      std::string_view trusted_ca_pem,
                                      std::string_view untrusted_chain_pem,
                                      std::optional<int64_t> at_time_us) {
  // Remembered (common/memo.h): a production verifies each block's tokens once per message
  // of the block, and OpenSSL 3.0 decodes every certificate's key again each time. The
  // answer depends on the arguments alone: the time checked at is given, or the token's own.
  static auto* memo = new common::Memo<common::Result<TokenInfo>>(1024);  // lives until exit
  const common::Hash key = common::MemoKey()
                               .Add(token_der)
                               .Add(common::AsChars(expected_digest))
                               .Add(TsaHashAlgName(alg))
                               .Add(trusted_ca_pem)
                               .Add(untrusted_chain_pem)
                               .Add(at_time_us ? std::to_string(*at_time_us) : "genTime")
                               .Finish();
  if (auto known = memo->Find(key)) return std::move(*known);
  common::Result<TokenInfo> answer = VerifyTokenOnce(
      token_der, expected_digest, alg, trusted_ca_pem, untrusted_chain_pem, at_time_us);
  memo->Put(key, answer);
  return answer;
}

common::Result<TokenSigner> IdentifyTokenSigner(std::string_view token_der,
                                                std::string_view trusted_ca_pem,
                                                std::string_view untrusted_chain_pem) {
  Pkcs7Ptr token = tsa_internal::DecodePkcs7(token_der);
  if (!token) {
    ERR_clear_error();
    return common::Error::InvalidInput("not a DER TimeStampToken");
  }
  ASSIGN_OR_RETURN(auto signer, SignerOf(token.get(), untrusted_chain_pem));
  TokenSigner out;
  out.subject = common::NameRfc2253(X509_get_subject_name(signer.get()));
  out.issuer = common::NameRfc2253(X509_get_issuer_name(signer.get()));
  auto store = tsa_internal::MakeTrustStore(trusted_ca_pem);
  if (!store.ok()) return out;  // no trusted certificate at all: chains to nothing
  ASSIGN_OR_RETURN(auto untrusted,
                   tsa_internal::ReadCertificates(untrusted_chain_pem, "untrusted chain"));
  if (STACK_OF(X509)* own = token->d.sign->cert) {
    for (int i = 0; i < sk_X509_num(own); ++i) {
      X509* c = sk_X509_value(own, i);
      X509_up_ref(c);
      if (sk_X509_push(untrusted.get(), c) <= 0) X509_free(c);
    }
  }
  X509StoreCtxPtr ctx{X509_STORE_CTX_new()};
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store->get(), signer.get(), untrusted.get()) != 1) {
    return common::Error::Internal("X509_STORE_CTX: " + common::OpenSslError());
  }
  X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx.get()), X509_V_FLAG_NO_CHECK_TIME);
  out.chains_to_trusted = X509_verify_cert(ctx.get()) == 1;
  ERR_clear_error();
  return out;
}

}  // namespace notary
