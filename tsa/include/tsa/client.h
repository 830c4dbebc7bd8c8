// The client side of RFC 3161: building a TimeStampReq for an external TSA, and verifying
// what comes back (a TimeStampResp at receipt, a bare TimeStampToken in a bundle, years
// later, in the offline verifier).
//
// Chain validation time: a token is evidence about the moment genTime, so the TSA's
// certificate chain is checked at genTime (X509_V_FLAG_USE_CHECK_TIME), not at the moment
// of verification; an expired TSA certificate does not void older tokens. The caller may
// ask for another instant with `at_time_us` (e.g. "now", for a strict check). Revocation is
// not checked (no CRL/OCSP offline); docs/timestamping.md explains what covers that risk.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"
#include "tsa/token.h"

namespace notary {

// A DER TimeStampReq (version 1) over `digest`, which must have TsaDigestSize(alg) bytes.
// The hash AlgorithmIdentifier has absent parameters (RFC 5754). No policy is requested.
// Errors: kInvalidInput for a digest of the wrong length.
common::Result<std::string> CreateQuery(TsaHashAlg alg, std::span<const uint8_t> digest,
                                        std::optional<uint64_t> nonce, bool cert_req);

// 64 bits from OpenSSL's CSPRNG, for CreateQuery's nonce.
uint64_t RandomTsaNonce();

// Verifies a TimeStampResp against the query that asked for it: status granted (or granted
// with modifications), imprint and nonce equal to the query's, policy equal when the query
// named one, CMS signature valid, ESS signing-certificate attribute matching the signer,
// signer chain valid up to a certificate of `trusted_ca_pem` at genTime with the critical
// timeStamping EKU. `untrusted_chain_pem` (may be empty) supplies the TSA certificate and
// intermediates when the token does not carry them.
// Errors: kInvalidInput when a DER/PEM input does not parse; kVerifyFailed for a rejection
//   (the message names the PKIStatus and failure info) or any failed check.
common::Result<TokenInfo> VerifyReply(std::string_view reply_der, std::string_view query_der,
                                      std::string_view trusted_ca_pem,
                                      std::string_view untrusted_chain_pem);

// Verifies a bare TimeStampToken over `expected_digest` made with `alg`: same checks as
// VerifyReply but without nonce and policy. The chain is checked at genTime unless
// `at_time_us` is given. Besides OpenSSL's chain check, the signing certificate's own
// notBefore/notAfter are compared with that instant explicitly, and the ESS
// signing-certificate attribute (ESSCertIDv2, or v1) must name the signing certificate
// (TS_VFY_SIGNER: OpenSSL 3 refuses a token without one or with one naming another
// certificate). On success the TokenInfo names the signer (signer_subject, signer_issuer).
// Errors: as VerifyReply.
common::Result<TokenInfo> VerifyToken(std::string_view token_der,
                                      std::span<const uint8_t> expected_digest, TsaHashAlg alg,
                                      std::string_view trusted_ca_pem,
                                      std::string_view untrusted_chain_pem,
                                      std::optional<int64_t> at_time_us = std::nullopt);

// Who signed a token, without verifying it: the signing certificate (found among the token's
// own certificates and `untrusted_chain_pem`) and whether it chains to a certificate of
// `trusted_ca_pem` at all, at any time (validity periods ignored). A verifier uses it to tell
// a token of a trusted authority that does not verify (tampered, or signed outside its
// certificate's validity: a failure) from a token of an authority it does not trust (ignored).
struct TokenSigner {
  std::string subject;  // RFC 2253
  std::string issuer;   // RFC 2253
  bool chains_to_trusted = false;
};
// Errors: kInvalidInput when the token or a PEM does not parse, or no certificate among those
// given is the token's signer.
common::Result<TokenSigner> IdentifyTokenSigner(std::string_view token_der,
                                                std::string_view trusted_ca_pem,
                                                std::string_view untrusted_chain_pem);

}  // namespace notary
