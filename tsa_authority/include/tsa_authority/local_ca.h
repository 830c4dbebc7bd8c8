// GenerateLocalTsa: a private CA and a TSA certificate for a notary that was given no TSA
// key, so that its built-in time-stamping works from the first start. The caller (server)
// writes the PEMs to the data directory, keys with mode 0600.
//
// Thread-safety: pure function (uses OpenSSL's thread-safe CSPRNG).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace notary {

struct LocalTsa {
  std::string ca_key_pem;  // PKCS#8, unencrypted
  std::string ca_cert_pem;
  std::string tsa_key_pem;  // PKCS#8, unencrypted
  std::string tsa_cert_pem;
};

// ECDSA P-256 keys, SHA-256 signatures, 128-bit random serial numbers.
// CA: subject CN "<prefix> Root CA", self-signed, basicConstraints critical CA:TRUE
//   pathlen:0, keyUsage critical keyCertSign+cRLSign, valid from now - 1 h for 20 years.
// TSA: subject CN "<prefix> TSA", basicConstraints critical CA:FALSE, keyUsage critical
//   digitalSignature+nonRepudiation, extendedKeyUsage critical timeStamping, valid from
//   now - 1 h for 10 years.
// `now_us`: microseconds since the Unix epoch (the caller's clock).
// Errors: kInvalidInput for an empty prefix or one longer than 50 bytes; kInternal when
//   OpenSSL fails.
common::Result<LocalTsa> GenerateLocalTsa(std::string_view common_name_prefix, int64_t now_us);

// For a TSA key that lives elsewhere (notary-signer's file or PKCS#11 token): a fresh CA as
// above certifies `tsa_public_key_der` (a DER SubjectPublicKeyInfo) with the same TSA
// profile, and its private key is then dropped, never written: the root can vouch for that
// one key and for no other, ever.
struct LocalTsaCertificates {
  std::string ca_cert_pem;
  std::string tsa_cert_pem;
};
common::Result<LocalTsaCertificates> CertifyTsaKey(std::string_view common_name_prefix,
                                                   std::string_view tsa_public_key_der,
                                                   int64_t now_us);

}  // namespace notary
