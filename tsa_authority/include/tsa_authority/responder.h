// TsaResponder: an RFC 3161 Time-Stamp Authority as a pure function from a DER
// TimeStampReq to a DER TimeStampResp (the HTTP route in `server` carries the bytes).
//
// Profile (docs/timestamping.md): SHA-256/384/512 imprints, anything else is rejected with
// badAlg; the nonce is echoed; certReq puts the TSA certificate and chain in the token; one
// policy OID (kDefaultTsaPolicyOid unless configured), requests for another policy get
// unacceptedPolicy; accuracy stated; the signer digest is SHA-256; the ESSCertIDv2
// signing-certificate attribute (RFC 5816) over SHA-256; the TSA name (the certificate's
// subject) in TSTInfo.tsa; a 127-bit random serial number per token; genTime with
// microsecond digits from an injectable clock.
//
// Granted tokens are built from objects prepared once per responder (docs/timestamping.md,
// "Implementation"); rejections come from OpenSSL's TS_RESP_create_response.
//
// The private key may live elsewhere (notary-signer, a PKCS#11 token): CreateWithSigner
// takes a function that signs the token's signed attributes instead of a key. Everything
// else is the same; rejections never need the key (a rejection carries no token).
//
// Thread-safety: Respond() may be called from any number of threads at once: each call
// borrows a signer from a small pool (one per concurrent caller) or uses its own
// TS_RESP_CTX.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "tsa/token.h"

namespace notary {

// The TimeStampReq bodies we accept are tiny; anything longer is refused unparsed.
inline constexpr size_t kMaxTsaQueryBytes = 16 * 1024;

// True when `body` is exactly one BER/DER TimeStampReq (no trailing bytes) of at most
// kMaxTsaQueryBytes. The HTTP route answers 400 when this is false; everything that passes
// gets a TimeStampResp from Respond(), granted or not.
bool IsTimeStampQuery(std::string_view body);

// Microseconds since 1970-01-01T00:00:00Z. A negative value means "no trustworthy time":
// the request is then rejected with timeNotAvailable.
using TsaClock = std::function<int64_t()>;

struct TsaAccuracy {
  uint32_t seconds = 1;
  uint32_t millis = 0;  // 0..999
  uint32_t micros = 0;  // 0..999
};

// Signs one token for a TsaResponder whose key is held elsewhere. `signed_attrs_der` is the
// DER SET OF Attribute (tag 0x31, CMS §5.4) whose SHA-256 is signed; `tst_info_der` is the
// encapsulated TSTInfo they cover (for the signer's own check, CheckTstSigningRequest in
// tst_signing_check.h). Returns the SignerInfo.signature value: for an EC key the DER
// ECDSA-Sig-Value over SHA-256(signed_attrs_der), for RSA the PKCS#1 v1.5 signature with
// SHA-256. Any error makes that query's reply a rejection. Called from several threads at
// once when Respond() is (one call per token, the views valid only during the call).
using TsaSignFn = std::function<common::Result<std::string>(std::string_view signed_attrs_der,
                                                            std::string_view tst_info_der)>;

struct TsaResponderOptions {
  std::string policy_oid{kDefaultTsaPolicyOid};  // dotted decimal
  TsaAccuracy accuracy;                          // all zero: no accuracy field
  TsaClock clock;                                // empty: the system clock
};

class TsaResponder {
 public:
  // key_pem: the TSA private key (RSA or ECDSA; PKCS#8 or traditional PEM, unencrypted).
  // cert_pem: the TSA certificate; it must match the key and carry the critical
  //   extendedKeyUsage timeStamping (RFC 3161 §2.3).
  // chain_pem: zero or more certificates sent with the token when certReq is set
  //   (intermediates and, optionally, the root).
  // Errors: kInvalidInput for unreadable PEM, a key/certificate mismatch, an unsupported key
  //   type, a certificate not fit for time-stamping, a bad policy OID or accuracy.
  static common::Result<TsaResponder> Create(std::string_view key_pem, std::string_view cert_pem,
                                             std::string_view chain_pem,
                                             TsaResponderOptions options = {});

  // As Create, with the private key held elsewhere: `sign` makes every token's signature.
  // The certificate's public key (RSA or ECDSA) decides the signature algorithm. Create
  // issues one token (over SHA-256 of "notary TSA signer self-test", at the options' clock,
  // or the system clock if that has no time) to check that `sign` works and signs with the
  // certificate's key; after that, every signature returned is checked against the certificate
  // before a token goes out (a bad one makes the reply a rejection, so no token with a wrong
  // signature is ever issued). Errors: as Create; kInvalidInput for an empty `sign` or when the
  // first signature does
  //   not verify with the certificate; the error of `sign` when it fails on the first token.
  static common::Result<TsaResponder> CreateWithSigner(std::string_view cert_pem,
                                                       std::string_view chain_pem, TsaSignFn sign,
                                                       TsaResponderOptions options = {});

  // Answers one query. Every input, valid or not, yields a DER TimeStampResp: granted with a
  // token, or a rejection whose PKIFailureInfo says why (badAlg, badRequest, badDataFormat,
  // unacceptedPolicy, unacceptedExtension, timeNotAvailable). Rejections never call an
  // external signer. When it fails, or returns a signature that does not verify with the
  // certificate, the reply is OpenSSL's rejection "Error during signature generation."
  // (no failure info), never a token.
  // Errors: kInternal only when OpenSSL cannot build any response (out of memory).
  common::Result<std::string> Respond(std::string_view query_der) const;

  // As Respond(), for a body that has not been checked yet (the HTTP route): kInvalidInput
  // when `body` is not exactly one TimeStampReq (IsTimeStampQuery() false), without a
  // second parse for the check.
  common::Result<std::string> RespondToQuery(std::string_view body) const;

  // The TSA certificate followed by the chain, PEM (for GET /v1/tsa/certs).
  std::string CertificatesPem() const;
  const std::string& policy_oid() const;

  TsaResponder(TsaResponder&&) noexcept;
  TsaResponder& operator=(TsaResponder&&) noexcept;
  ~TsaResponder();

 private:
  struct State;
  explicit TsaResponder(std::unique_ptr<State> state);
  static common::Result<TsaResponder> Finish(std::unique_ptr<State> state,
                                             std::string_view cert_pem, std::string_view chain_pem,
                                             TsaResponderOptions options);
  // *is_query (when given) tells whether `query_der` parsed; nothing is answered if not.
  common::Result<std::string> Answer(std::string_view query_der, bool* is_query) const;
  common::Result<std::string> ReplyFromOpenSsl(std::string_view query_der) const;
  std::unique_ptr<State> state_;
};

}  // namespace notary
