// The built-in time-stamp authority's key in notary-signer: ECDSA P-256 (what every HSM
// offers, and what RFC 3161 verifiers expect), in a PKCS#8 file of mode 0600 or in a PKCS#11
// token. Its certificates (TSA certificate, then the root) are issued once by a CA whose
// private key is dropped at once (tsa_authority/local_ca.h CertifyTsaKey), and kept beside
// the signer's state; notaryd learns them from the key list.
//
// Thread-safety: SignDigest may be called from one thread at a time (the signer's).
#pragma once

#include <memory>
#include <span>
#include <string>

#include "common/clock.h"
#include "common/result.h"
#include "signer/pkcs11_key.h"

namespace signer {

class TsaKey {
 public:
  virtual ~TsaKey() = default;
  virtual const std::string& public_key_der() const = 0;  // SubjectPublicKeyInfo
  // ECDSA over a SHA-256 digest; a DER ECDSA-Sig-Value.
  virtual common::Result<std::string> SignDigest(std::span<const uint8_t> sha256) const = 0;
  virtual std::string where() const = 0;
};

// `path` holds the key (PKCS#8 PEM), generated with mode 0600 when absent; a file readable
// by others or holding anything but a P-256 key is refused.
common::Result<std::unique_ptr<TsaKey>> OpenFileTsaKey(const std::string& path);
std::unique_ptr<TsaKey> WrapTokenTsaKey(std::unique_ptr<Pkcs11EcdsaP256Key> key);

// The PEM chain (TSA certificate, root) for `key`: the one in `path` when it certifies that
// key, else a new one, written durably.
common::Result<std::string> LoadOrIssueTsaChain(const std::string& path, const TsaKey& key,
                                                const common::Clock& clock);

}  // namespace signer
