// Signing keys that never leave a PKCS#11 token (an HSM, or SoftHSM2 for tests): notary-signer's
// key source for issue 20.
//
// Open loads the module (a shared library, e.g. /usr/lib/softhsm/libsofthsm2.so), finds the
// token by its label (slot ids change across restarts), logs in with the PIN and looks the key
// pair up by CKA_LABEL. When there is none and `generate_if_missing` is set it generates one in
// the token: private key CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE, not CKA_EXTRACTABLE, sign only,
// neither modifiable nor copyable, so that nobody, us included, can read or export it later.
// A key pair found instead of generated must be sensitive and not extractable too, or Open
// refuses it; two pairs with the label are refused as ambiguous.
//
// The Ed25519 key signs with CKM_EDDSA (PKCS#11 3.0, CKK_EC_EDWARDS, curve OID 1.3.101.112).
// Tokens without it use the ECDSA P-256 key: SHA-256 is computed outside the token (SoftHSM2
// and many HSMs lack CKM_ECDSA_SHA256) and the token signs the digest with CKM_ECDSA; the
// token's r||s is returned as the DER ECDSA-Sig-Value that X.509, CMS and RFC 3161 carry.
//
// Each key keeps one session of its own. PKCS#11 allows one operation at a time per session,
// so signing takes the key's mutex: signatures from several threads are serialised (SoftHSM2
// signs in tens of microseconds; a signer that needs more throughput opens one key per
// thread). When the session is lost (the token was removed and put back, a C_CloseAllSessions,
// a logout) the next signature opens a new one, logs in again, looks the key up again by label
// (object handles are not kept across sessions) and checks that its public key is still the
// one Open saw; so the key keeps the PIN in memory for its lifetime, wiped when it is destroyed.
//
// Errors say which PKCS#11 function failed and with which CKR_ code; never the PIN.
//
// Thread-safety: after Open, every const method may be called from several threads.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "common/result.h"
#include "log/ed25519.h"

namespace signer {

namespace pkcs11 {
class TokenKey;  // pkcs11_key.cc
}

struct Pkcs11Options {
  std::string module_path;  // e.g. /usr/lib/softhsm/libsofthsm2.so
  std::string token_label;  // the token is found by label (slot ids change)
  std::string pin;          // the caller reads it from --pkcs11-pin-file
  std::string key_label;    // CKA_LABEL of the key pair
  bool generate_if_missing = true;
};

// An Ed25519 key in the token.
class Pkcs11Ed25519Key final : public notary::Ed25519Key {
 public:
  static common::Result<std::unique_ptr<Pkcs11Ed25519Key>> Open(const Pkcs11Options& options);
  ~Pkcs11Ed25519Key() override;

  const notary::Ed25519PublicKey& public_key() const override { return public_key_; }
  // RFC 8032 pure Ed25519, computed by the token.
  common::Result<notary::Ed25519Signature> Sign(std::span<const uint8_t> message) const override;
  using notary::Ed25519Key::Sign;

  // RFC 7512 URI of the private key: "pkcs11:token=T;object=K;type=private".
  std::string uri() const;
  // True when Open generated the key pair (the caller logs it: a new key is news).
  bool generated() const;

 private:
  Pkcs11Ed25519Key(std::unique_ptr<pkcs11::TokenKey> key, const notary::Ed25519PublicKey& pub);

  std::unique_ptr<pkcs11::TokenKey> key_;
  notary::Ed25519PublicKey public_key_;
};

// An ECDSA P-256 key in the token: the fallback for HSMs without CKM_EDDSA, and the TSA key.
class Pkcs11EcdsaP256Key {
 public:
  static common::Result<std::unique_ptr<Pkcs11EcdsaP256Key>> Open(const Pkcs11Options& options);
  ~Pkcs11EcdsaP256Key();

  // DER SubjectPublicKeyInfo (id-ecPublicKey, prime256v1, uncompressed point).
  const std::string& public_spki_der() const { return spki_der_; }
  // Signs a SHA-256 digest (kInvalidInput unless it has 32 bytes) with CKM_ECDSA; returns the
  // DER ECDSA-Sig-Value.
  common::Result<std::string> SignDigest(std::span<const uint8_t> sha256) const;

  std::string uri() const;
  bool generated() const;

 private:
  Pkcs11EcdsaP256Key(std::unique_ptr<pkcs11::TokenKey> key, std::string spki_der);

  std::unique_ptr<pkcs11::TokenKey> key_;
  std::string spki_der_;
};

// RFC 7512 URI of a private key: "pkcs11:token=<token>;object=<key>;type=private", each value
// percent-encoded except for unreserved characters.
std::string Pkcs11PrivateKeyUri(const std::string& token_label, const std::string& key_label);

}  // namespace signer
