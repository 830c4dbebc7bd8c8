// TsaTokenSigner: issues granted TimeStampResps for one TSA key from objects built once.
//
// OpenSSL's TS_RESP_create_response rebuilds everything per token: the PKCS7 SignerInfo
// (issuer name and serial copied through DER), the ESSCertIDv2 (the certificate hashed
// again), the TSA GeneralName (the subject copied through DER), X509_check_private_key, and
// several EVP_MD fetches. Here those parts live in a TS_RESP template built once with the
// same TS/PKCS7 calls; each token only sets the TSTInfo fields that change (imprint, serial,
// genTime, nonce), the signingTime and messageDigest attributes, and the signature (EVP_PKEY
// sign over the DER signed attributes with a context initialised once, or the external
// TsaSignFn, whose signature is then verified with the certificate's key before the token
// goes out). All encoding is OpenSSL's i2d; nothing is written by hand.
//
// Only accepted requests come here: TsaResponder checks a request the way OpenSSL's
// responder does and leaves every rejection to TS_RESP_create_response.
//
// Thread-safety: none. A signer is used by one thread at a time (TsaResponder pools them).
#pragma once

#include <openssl/ts.h>
#include <openssl/x509.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/ossl.h"
#include "common/result.h"
#include "tsa/openssl_ts.h"
#include "tsa_authority/responder.h"

namespace notary::tsa_internal {

// What every token of one TSA shares; built once per TsaResponder.
struct TsaSignerConfig {
  // The private key; with `sign` set, the certificate's public key (it fixes the SignerInfo's
  // signature algorithm and checks what `sign` returns).
  EVP_PKEY* key = nullptr;
  const TsaSignFn* sign = nullptr;  // set: the signature is made elsewhere
  X509* cert = nullptr;
  STACK_OF(X509) * chain = nullptr;  // after the TSA certificate on certReq
  const ASN1_OBJECT* policy = nullptr;
  uint32_t accuracy_seconds = 0, accuracy_millis = 0, accuracy_micros = 0;
  const EVP_MD* sha256 = nullptr;   // signer digest and ESSCertIDv2 digest
  std::string signing_cert_v2_der;  // SigningCertificateV2, encoded once
};

class TsaTokenSigner {
 public:
  static common::Result<std::unique_ptr<TsaTokenSigner>> Create(const TsaSignerConfig& config);

  // The DER TimeStampResp granting `request` at `now_us` (microseconds since the epoch, in
  // years 0..9999). The request must already have passed TsaResponder's checks.
  // Errors: kInternal when OpenSSL fails; with an external signer, its error, or
  //   kVerifyFailed when its signature does not verify with the certificate's key.
  common::Result<std::string> Sign(TS_REQ* request, int64_t now_us);

  ~TsaTokenSigner();
  TsaTokenSigner(const TsaTokenSigner&) = delete;
  TsaTokenSigner& operator=(const TsaTokenSigner&) = delete;

 private:
  TsaTokenSigner() = default;
  bool NextSerial();
  bool SetTime(TS_TST_INFO* tst, int64_t now_us);

  const TsaSignerConfig* config_ = nullptr;
  TsRespPtr response_;      // granted status and the PKCS7 template (owned by the response)
  TsTstInfoPtr tst_;        // TSTInfo template without nonce
  TsTstInfoPtr tst_nonce_;  // and with one (TS_TST_INFO_set_nonce cannot clear it)
  PKCS7_SIGNER_INFO* signer_info_ = nullptr;  // inside response_
  ASN1_OCTET_STRING* content_ = nullptr;      // the eContent, inside response_
  X509StackPtr certs_;                        // TSA certificate + chain, for certReq
  common::EvpPkeyCtxPtr sign_ctx_;  // EVP_PKEY_sign_init (or, external, verify_init) done once
  common::EvpMdCtxPtr md_ctx_;
  Asn1IntegerPtr serial_;
  std::unique_ptr<ASN1_GENERALIZEDTIME, common::Deleter<ASN1_GENERALIZEDTIME_free>> gen_time_;
  std::vector<unsigned char> buffer_;  // DER TSTInfo
  std::vector<unsigned char> signature_;
  // CSPRNG output drawn in blocks: RAND_bytes has a fixed cost per call (the DRBG reseeds
  // its AES key after every request), so one call serves many serials.
  std::array<unsigned char, 1024> random_{};
  size_t random_used_ = random_.size();
};

// The SigningCertificateV2 attribute value (RFC 5816) for `cert`, hashed with `md`, DER.
common::Result<std::string> EncodeSigningCertV2(const EVP_MD* md, X509* cert);

}  // namespace notary::tsa_internal
