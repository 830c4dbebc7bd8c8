// SignPades: a PDF signed as ETSI EN 319 142-1 (PAdES) baseline B-B, or B-T when a
// time-stamp authority stamps the signature. The signature is a detached CMS SignedData
// (SubFilter ETSI.CAdES.detached) over every byte of the file but the signature itself
// (/ByteRange), with the signed attributes contentType, messageDigest and signingCertificateV2
// (and no signingTime: the claimed time is the signature dictionary's /M), the signer's
// certificate chain, and for B-T the token over the signature value as the unsigned attribute
// signatureTimeStampToken.
//
// The private key is not here: `sign` signs the DER signed attributes wherever the key is
// (notary-signer, or a key file of notaryd's without one), and what it returns is checked
// against the certificate's key before it goes into the file.
//
// Thread-safety: may run on several threads at once if the functions may.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"

namespace pdf {

struct PadesSigner {
  // DER certificates: the signer's first, then those up to (and maybe including) its root.
  std::vector<std::string> chain_der;
  // The signature of SHA-256(signed_attrs_der) with the first certificate's key: DER
  // ECDSA-Sig-Value for an EC key, PKCS#1 v1.5 for RSA.
  std::function<common::Result<std::string>(std::string_view signed_attrs_der)> sign;
  // A DER TimeStampToken (RFC 3161) over the SHA-256 digest given. Unset: B-B, no token.
  std::function<common::Result<std::string>(const common::Hash& digest)> timestamp;
};

struct SignatureFields {
  std::string name, reason, location, contact;  // shown by PDF readers; UTF-8
  int64_t signing_time_us = 0;                  // /M, the claimed signing time
};

// Room for the CMS in /Contents: the chain, a signature and a token with its own chain.
inline constexpr size_t kSignatureReserveBytes = 24 * 1024;

// `pdf` signed on its first page (an invisible signature field, as PDF/A allows).
// Errors: kInvalidInput for a PDF qpdf cannot read or a chain that does not parse;
//   kVerifyFailed when `sign` returns a signature the certificate's key does not verify;
//   kTooLarge when the CMS does not fit kSignatureReserveBytes; `sign`'s and `timestamp`'s
//   own errors as they are.
common::Result<std::string> SignPades(std::string_view pdf, const PadesSigner& signer,
                                      const SignatureFields& fields);

}  // namespace pdf
