// CheckTstSigningRequest: what notary-signer checks before it signs for the TSA.
//
// With an external signer (TsaResponder::CreateWithSigner) the signer process receives the
// DER signed attributes of a time-stamp token's SignerInfo and the TSTInfo they cover, and
// signs SHA-256 of the attributes. Without a check, whoever can reach the signer's socket
// gets any data signed by the TSA key: a certificate, a CMS message of another content type,
// a token dated years back. This check admits only a real TSTInfo dated at the signer's own
// clock, and only the attributes TsaResponder writes (contentType id-ct-TSTInfo,
// messageDigest of that TSTInfo, signingCertificateV2 naming the TSA certificate, and
// signingTime), nothing else, so the signature can only ever be the signature of such a
// token.
//
// Thread-safety: pure function.
#pragma once

#include <openssl/x509.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/deleter.h"
#include "common/result.h"

namespace notary {

// Both inputs are tiny (a TSTInfo and four attributes are a few hundred bytes); anything
// longer is refused before parsing.
inline constexpr size_t kMaxTstSigningInputBytes = 16 * 1024;

struct TstSigningPolicy {
  // The TSA certificate (PEM, exactly one) whose key the signer holds: the
  // signingCertificateV2 attribute must be the one TsaResponder writes for it (one
  // ESSCertIDv2, SHA-256 of the certificate's DER, no issuerSerial).
  std::string tsa_cert_pem;
  int64_t now_us = 0;  // the signer's clock, microseconds since the epoch
  // genTime, and signingTime when present, must be within this of now_us.
  int64_t max_skew_us = 300'000'000;
};

// Returns SHA-256(signed_attrs_der): the digest the signer signs (ECDSA, or RSA PKCS#1 v1.5
// with SHA-256), when
//   - each input has at most kMaxTstSigningInputBytes;
//   - `tst_info_der` is exactly one DER TSTInfo (no trailing bytes, the encoding OpenSSL
//     writes back), version 1, genTime within max_skew_us of now_us;
//   - `signed_attrs_der` is exactly one DER SET OF Attribute (tag 0x31, CMS §5.4; sorted,
//     no trailing bytes) holding, each once and single-valued: contentType = id-ct-TSTInfo,
//     messageDigest = SHA-256(tst_info_der), signingCertificateV2 as above, and optionally
//     signingTime within max_skew_us of now_us; no other attribute.
// Errors: kInvalidInput for oversize or malformed input or an unreadable policy certificate;
//   kPermissionDenied for well-formed input that is not such a token (another content type,
//   a digest or certificate that does not match, a time off the clock, an extra attribute).
//   Each names the reason.
common::Result<common::Hash> CheckTstSigningRequest(std::string_view signed_attrs_der,
                                                    std::string_view tst_info_der,
                                                    const TstSigningPolicy& policy);

void FreeAttributes(STACK_OF(X509_ATTRIBUTE) * s);
using AttributesPtr = std::unique_ptr<STACK_OF(X509_ATTRIBUTE), common::Deleter<FreeAttributes>>;

// A CMS SignerInfo's signed attributes as the signature input they are (a DER SET OF
// Attribute, RFC 5652 §5.4), accepted only when encoding them again gives the same bytes, so
// that what a signer checks is what it signs. kInvalidInput otherwise. Also used by
// notary-signer's check of a document signature (signer/document_signing.h).
common::Result<AttributesPtr> DecodeDerSignedAttributes(std::string_view der);

}  // namespace notary
