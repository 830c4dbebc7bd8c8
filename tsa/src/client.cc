#include "tsa/client.h"

#include <openssl/err.h>
#include <openssl/rand.h>

#include <array>
#include <cstdlib>
#include <ctime>
#include <utility>

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
  return info;
}

common::Result<TokenInfo> VerifyToken(std::string_view token_der,
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
  auto status = VerifyWithContext(ctx.get(), trusted_ca_pem, untrusted_chain_pem,
                                  at_time_us.value_or(info.gen_time_us),
                                  [&] { return TS_RESP_verify_token(ctx.get(), token.get()); });
  RETURN_IF_ERROR(status);
  return info;
}

}  // namespace notary
