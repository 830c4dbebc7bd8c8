#include "signer/pkcs11_key.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstdio>
#include <optional>

#include "common/bytes.h"
#include "common/ossl.h"
#include "common/thread_annotations.h"
#include "pkcs11_module.h"

namespace signer {
namespace pkcs11 {
namespace {

using common::Error;

enum class Curve { kEd25519, kP256 };

// What differs between the two kinds of key.
struct CurveSpec {
  const char* name;
  CK_KEY_TYPE key_type;
  CK_MECHANISM_TYPE generate;
  CK_MECHANISM_TYPE sign;
  std::string_view params;  // CKA_EC_PARAMS we write and expect: the curve's DER OID
  size_t point_size;        // the raw public point
};

// 1.3.101.112 (RFC 8410 id-Ed25519).
constexpr std::string_view kEd25519Oid("\x06\x03\x2b\x65\x70", 5);
// PKCS#11 3.0's other spelling of Ed25519 (PrintableString "edwards25519"), which SoftHSM2
// writes into the private key object and other tools may have written into the public one.
constexpr std::string_view kEd25519Printable(
    "\x13\x0c"
    "edwards25519",
    14);
// 1.2.840.10045.3.1.7 (prime256v1).
constexpr std::string_view kP256Oid("\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07", 10);

const CurveSpec& Spec(Curve curve) {
  static const CurveSpec kEd25519{.name = "Ed25519",
                                  .key_type = CKK_EC_EDWARDS,
                                  .generate = CKM_EC_EDWARDS_KEY_PAIR_GEN,
                                  .sign = CKM_EDDSA,
                                  .params = kEd25519Oid,
                                  .point_size = 32};
  static const CurveSpec kP256{.name = "ECDSA P-256",
                               .key_type = CKK_EC,
                               .generate = CKM_EC_KEY_PAIR_GEN,
                               .sign = CKM_ECDSA,
                               .params = kP256Oid,
                               .point_size = 65};
  return curve == Curve::kEd25519 ? kEd25519 : kP256;
}

constexpr size_t kSignatureSize = 64;  // Ed25519, and P-256's r||s

struct KeyPair {
  CK_OBJECT_HANDLE public_key = CK_INVALID_HANDLE;
  CK_OBJECT_HANDLE private_key = CK_INVALID_HANDLE;
};

CK_ATTRIBUTE Attr(CK_ATTRIBUTE_TYPE type, void* value, size_t size) {
  return CK_ATTRIBUTE{type, value, size};
}

std::string Quoted(const std::string& label) { return "'" + label + "'"; }

// The key pair labelled `label` of the curve's key type, or nullopt when there is none.
common::Result<std::optional<KeyPair>> FindPair(const Session& session, const CurveSpec& spec,
                                                const std::string& label) {
  std::string label_copy = label;
  CK_KEY_TYPE key_type = spec.key_type;
  auto find = [&](CK_OBJECT_CLASS cls) {
    CK_ATTRIBUTE tmpl[] = {Attr(CKA_CLASS, &cls, sizeof cls),
                           Attr(CKA_KEY_TYPE, &key_type, sizeof key_type),
                           Attr(CKA_LABEL, label_copy.data(), label_copy.size())};
    return session.Find(tmpl);
  };
  ASSIGN_OR_RETURN(std::vector<CK_OBJECT_HANDLE> privates, find(CKO_PRIVATE_KEY));
  ASSIGN_OR_RETURN(std::vector<CK_OBJECT_HANDLE> publics, find(CKO_PUBLIC_KEY));
  if (privates.empty() && publics.empty()) return std::optional<KeyPair>();
  if (privates.size() > 1 || publics.size() > 1) {
    return Error::Conflict(std::to_string(privates.size()) + " private and " +
                           std::to_string(publics.size()) + " public " + spec.name +
                           " keys are labelled " + Quoted(label) +
                           ": which one is meant is ambiguous");
  }
  if (privates.size() != 1 || publics.size() != 1) {
    return Error::Conflict("the " + std::string(spec.name) + " key labelled " + Quoted(label) +
                           " has a " + (privates.empty() ? "public" : "private") +
                           " half only; a signer needs both");
  }
  const KeyPair pair{publics[0], privates[0]};
  // A shared label could still pair halves of two different keys; CKA_ID is what ties them.
  ASSIGN_OR_RETURN(std::string public_id, session.Attribute(pair.public_key, CKA_ID));
  ASSIGN_OR_RETURN(std::string private_id, session.Attribute(pair.private_key, CKA_ID));
  if (public_id != private_id) {
    return Error::Conflict("the public and private " + std::string(spec.name) + " keys labelled " +
                           Quoted(label) + " have different CKA_IDs");
  }
  return std::optional<KeyPair>(pair);
}

// Refuses a private key that could be read out of the token or used for anything but signing:
// the claim "never leaves the token" holds for keys we find, not only for keys we generate.
common::Status CheckPrivate(const Session& session, CK_OBJECT_HANDLE key,
                            const std::string& label) {
  ASSIGN_OR_RETURN(bool sensitive, session.BoolAttribute(key, CKA_SENSITIVE));
  ASSIGN_OR_RETURN(bool extractable, session.BoolAttribute(key, CKA_EXTRACTABLE));
  ASSIGN_OR_RETURN(bool can_sign, session.BoolAttribute(key, CKA_SIGN));
  if (!sensitive || extractable) {
    return Error::PermissionDenied("the private key labelled " + Quoted(label) +
                                   " can leave the token (CKA_SENSITIVE false or "
                                   "CKA_EXTRACTABLE true); generate a new one in the token");
  }
  if (!can_sign) {
    return Error::PermissionDenied("the private key labelled " + Quoted(label) +
                                   " may not sign (CKA_SIGN false)");
  }
  return common::Ok();
}

// The raw public point: 32 bytes for Ed25519, 65 (04 X Y) for P-256. CKA_EC_POINT is a DER
// OCTET STRING around it in PKCS#11 2.40 and SoftHSM2; some PKCS#11 3.x modules give it bare.
// The two are told apart by length, which for these curves is unambiguous.
common::Result<std::string> ReadPoint(const Session& session, const CurveSpec& spec,
                                      CK_OBJECT_HANDLE public_key, const std::string& label) {
  ASSIGN_OR_RETURN(std::string params, session.Attribute(public_key, CKA_EC_PARAMS));
  const bool params_ok =
      params == spec.params || (spec.key_type == CKK_EC_EDWARDS && params == kEd25519Printable);
  if (!params_ok) {
    return Error::InvalidInput("the key labelled " + Quoted(label) + " is not on the " + spec.name +
                               " curve (CKA_EC_PARAMS " + common::ToHex(common::AsBytes(params)) +
                               ")");
  }
  ASSIGN_OR_RETURN(std::string point, session.Attribute(public_key, CKA_EC_POINT));
  const size_t n = spec.point_size;
  if (point.size() == n + 2 && point[0] == 0x04 && static_cast<size_t>(point[1]) == n) {
    point.erase(0, 2);
  }
  if (point.size() != n || (spec.key_type == CKK_EC && point[0] != 0x04)) {
    return Error::InvalidInput("unexpected CKA_EC_POINT of the key labelled " + Quoted(label) +
                               ": " + common::ToHex(common::AsBytes(point)));
  }
  return point;
}

common::Result<KeyPair> Generate(const Session& session, const CurveSpec& spec,
                                 const std::string& label) {
  // CKA_ID ties the two halves together (FindPair checks it); random, as no key exists yet.
  unsigned char id[16];
  if (RAND_bytes(id, sizeof id) != 1) {
    return Error::Internal("random CKA_ID: " + common::OpenSslError());
  }
  CK_BBOOL yes = CK_TRUE;
  CK_BBOOL no = CK_FALSE;
  CK_OBJECT_CLASS public_class = CKO_PUBLIC_KEY;
  CK_OBJECT_CLASS private_class = CKO_PRIVATE_KEY;
  CK_KEY_TYPE key_type = spec.key_type;
  std::string params(spec.params);
  std::string label_copy = label;
  // SoftHSM2 defaults CKA_ENCRYPT, CKA_WRAP, CKA_DECRYPT and CKA_UNWRAP to true: a signing key
  // must do nothing else, so every usage is spelt out.
  CK_ATTRIBUTE public_tmpl[] = {
      Attr(CKA_CLASS, &public_class, sizeof public_class),
      Attr(CKA_KEY_TYPE, &key_type, sizeof key_type),
      Attr(CKA_TOKEN, &yes, sizeof yes),
      Attr(CKA_PRIVATE, &no, sizeof no),  // the public key is readable without a login
      Attr(CKA_VERIFY, &yes, sizeof yes),
      Attr(CKA_VERIFY_RECOVER, &no, sizeof no),
      Attr(CKA_ENCRYPT, &no, sizeof no),
      Attr(CKA_WRAP, &no, sizeof no),
      Attr(CKA_DERIVE, &no, sizeof no),
      Attr(CKA_MODIFIABLE, &no, sizeof no),
      Attr(CKA_EC_PARAMS, params.data(), params.size()),
      Attr(CKA_LABEL, label_copy.data(), label_copy.size()),
      Attr(CKA_ID, id, sizeof id),
  };
  CK_ATTRIBUTE private_tmpl[] = {
      Attr(CKA_CLASS, &private_class, sizeof private_class),
      Attr(CKA_KEY_TYPE, &key_type, sizeof key_type),
      Attr(CKA_TOKEN, &yes, sizeof yes),
      Attr(CKA_PRIVATE, &yes, sizeof yes),
      Attr(CKA_SENSITIVE, &yes, sizeof yes),
      Attr(CKA_EXTRACTABLE, &no, sizeof no),
      Attr(CKA_SIGN, &yes, sizeof yes),
      Attr(CKA_SIGN_RECOVER, &no, sizeof no),
      Attr(CKA_DECRYPT, &no, sizeof no),
      Attr(CKA_UNWRAP, &no, sizeof no),
      Attr(CKA_DERIVE, &no, sizeof no),
      Attr(CKA_MODIFIABLE, &no, sizeof no),  // nobody can turn CKA_SENSITIVE off later
      Attr(CKA_LABEL, label_copy.data(), label_copy.size()),
      Attr(CKA_ID, id, sizeof id),
      // Last, so that a module without PKCS#11 2.40's CKA_COPYABLE can be retried without it:
      // C_CopyObject could otherwise make an extractable copy.
      Attr(CKA_COPYABLE, &no, sizeof no),
  };
  CK_MECHANISM mech{spec.generate, nullptr, 0};
  KeyPair pair;
  CK_ULONG private_count = std::size(private_tmpl);
  CK_RV rv = session.f()->C_GenerateKeyPair(session.handle(), &mech, public_tmpl,
                                            std::size(public_tmpl), private_tmpl, private_count,
                                            &pair.public_key, &pair.private_key);
  if (rv == CKR_ATTRIBUTE_TYPE_INVALID) {
    rv = session.f()->C_GenerateKeyPair(session.handle(), &mech, public_tmpl,
                                        std::size(public_tmpl), private_tmpl, private_count - 1,
                                        &pair.public_key, &pair.private_key);
  }
  if (rv == CKR_MECHANISM_INVALID && spec.key_type == CKK_EC_EDWARDS) {
    return Error::Unavailable(
        "the token cannot generate Ed25519 keys (CKM_EC_EDWARDS_KEY_PAIR_GEN: " + RvName(rv) +
        "); use an ECDSA P-256 key instead");
  }
  if (rv != CKR_OK) {
    return RvError("C_GenerateKeyPair of the " + std::string(spec.name) + " key " + Quoted(label),
                   rv);
  }
  return pair;
}

// RFC 7512 pk11-pchar: unreserved characters as they are, everything else percent-encoded
// (always allowed, so the few reserved characters that could stay are encoded too).
std::string PercentEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

}  // namespace

class TokenKey {
 public:
  static common::Result<std::unique_ptr<TokenKey>> Open(const Pkcs11Options& options, Curve curve) {
    const CurveSpec& spec = Spec(curve);
    if (options.key_label.empty()) return Error::InvalidInput("the PKCS#11 key label is empty");
    ASSIGN_OR_RETURN(std::shared_ptr<Module> module, Module::Load(options.module_path));
    ASSIGN_OR_RETURN(std::unique_ptr<Session> session,
                     Session::Open(module, options.token_label, options.pin));
    ASSIGN_OR_RETURN(std::optional<KeyPair> found, FindPair(*session, spec, options.key_label));
    const bool generated = !found;
    if (!found) {
      if (!options.generate_if_missing) {
        return Error::NotFound("no " + std::string(spec.name) + " key pair labelled " +
                               Quoted(options.key_label) + " on token " +
                               Quoted(options.token_label) + " (and generating one is off)");
      }
      ASSIGN_OR_RETURN(found, Generate(*session, spec, options.key_label));
    }
    RETURN_IF_ERROR(CheckPrivate(*session, found->private_key, options.key_label));
    ASSIGN_OR_RETURN(std::string point,
                     ReadPoint(*session, spec, found->public_key, options.key_label));
    std::unique_ptr<TokenKey> key(
        new TokenKey(options, spec, std::move(point), generated, std::move(module)));
    common::MutexLock lock(key->mu_);
    key->session_ = std::move(session);
    key->private_key_ = found->private_key;
    return key;
  }

  ~TokenKey() {
    {
      common::MutexLock lock(mu_);
      session_.reset();  // before the module it needs
    }
    OPENSSL_cleanse(options_.pin.data(), options_.pin.size());
  }

  TokenKey(const TokenKey&) = delete;
  TokenKey& operator=(const TokenKey&) = delete;

  const std::string& point() const { return point_; }
  bool generated() const { return generated_; }
  std::string uri() const { return Pkcs11PrivateKeyUri(options_.token_label, options_.key_label); }

  // The token's signature over `data`; one new session and one retry when the old one is gone.
  common::Result<std::string> Sign(std::span<const uint8_t> data) const EXCLUDES(mu_) {
    common::MutexLock lock(mu_);
    CK_RV rv = CKR_OK;
    if (session_) {
      auto sig = session_->Sign(spec_.sign, private_key_, data, kSignatureSize, rv);
      if (sig.ok() || !SessionLost(rv)) return CheckedSignature(std::move(sig));
    }
    RETURN_IF_ERROR(ReopenLocked());
    return CheckedSignature(session_->Sign(spec_.sign, private_key_, data, kSignatureSize, rv));
  }

 private:
  TokenKey(const Pkcs11Options& options, const CurveSpec& spec, std::string point, bool generated,
           std::shared_ptr<Module> module)
      : options_(options),
        spec_(spec),
        point_(std::move(point)),
        generated_(generated),
        module_(std::move(module)) {}

  common::Result<std::string> CheckedSignature(common::Result<std::string> sig) const {
    if (!sig.ok()) {
      return Error(sig.error().code(), std::string(spec_.name) + " signature by " + uri() + ": " +
                                           sig.error().message());
    }
    if (sig->size() != kSignatureSize) {
      return Error::Internal("the token returned a " + std::to_string(sig->size()) +
                             "-byte signature");
    }
    return sig;
  }

  // A new session: the token is found by label again (its slot may have changed), the key by
  // label again (handles belong to the old session), and it must be the key Open found.
  common::Status ReopenLocked() const REQUIRES(mu_) {
    session_.reset();
    ASSIGN_OR_RETURN(std::unique_ptr<Session> session,
                     Session::Open(module_, options_.token_label, options_.pin));
    ASSIGN_OR_RETURN(std::optional<KeyPair> found, FindPair(*session, spec_, options_.key_label));
    if (!found) {
      return Error::NotFound("the key " + uri() + " is no longer on the token");
    }
    RETURN_IF_ERROR(CheckPrivate(*session, found->private_key, options_.key_label));
    ASSIGN_OR_RETURN(std::string point,
                     ReadPoint(*session, spec_, found->public_key, options_.key_label));
    if (point != point_) {
      return Error::Conflict("the key " + uri() + " on the token is not the one opened before");
    }
    session_ = std::move(session);
    private_key_ = found->private_key;
    return common::Ok();
  }

  Pkcs11Options options_;  // the PIN included, for ReopenLocked; wiped by the destructor
  const CurveSpec& spec_;
  const std::string point_;
  const bool generated_;
  const std::shared_ptr<Module> module_;

  mutable common::Mutex mu_;
  mutable std::unique_ptr<Session> session_ GUARDED_BY(mu_);
  mutable CK_OBJECT_HANDLE private_key_ GUARDED_BY(mu_) = CK_INVALID_HANDLE;
};

namespace {

// PKCS#11 CKM_ECDSA gives r||s, each as wide as the group order; X.509 and CMS want the DER
// SEQUENCE { r INTEGER, s INTEGER }.
common::Result<std::string> EcdsaRawToDer(const std::string& rs) {
  const size_t half = rs.size() / 2;
  const auto* p = reinterpret_cast<const unsigned char*>(rs.data());
  std::unique_ptr<ECDSA_SIG, common::Deleter<ECDSA_SIG_free>> sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(p, static_cast<int>(half), nullptr);
  BIGNUM* s = BN_bin2bn(p + half, static_cast<int>(half), nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return Error::Internal("ECDSA signature to DER: " + common::OpenSslError());
  }
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) return Error::Internal("ECDSA signature to DER: " + common::OpenSslError());
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

// The SubjectPublicKeyInfo of an uncompressed P-256 point. OpenSSL decodes the point, so a
// point off the curve is refused here rather than in every verifier.
common::Result<std::string> P256Spki(const std::string& point) {
  char group[] = "prime256v1";
  std::string point_copy = point;
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
                         OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
                                                           point_copy.data(), point_copy.size()),
                         OSSL_PARAM_construct_end()};
  common::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    return Error::InvalidInput("the token's P-256 public key is not a point on the curve: " +
                               common::OpenSslError());
  }
  common::EvpPkeyPtr key(raw);
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(key.get(), &der);
  if (len <= 0) return Error::Internal("P-256 SubjectPublicKeyInfo: " + common::OpenSslError());
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

}  // namespace
}  // namespace pkcs11

std::string Pkcs11PrivateKeyUri(const std::string& token_label, const std::string& key_label) {
  return "pkcs11:token=" + pkcs11::PercentEncode(token_label) +
         ";object=" + pkcs11::PercentEncode(key_label) + ";type=private";
}

common::Result<std::unique_ptr<Pkcs11Ed25519Key>> Pkcs11Ed25519Key::Open(
    const Pkcs11Options& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<pkcs11::TokenKey> key,
                   pkcs11::TokenKey::Open(options, pkcs11::Curve::kEd25519));
  notary::Ed25519PublicKey pub{};
  std::copy(key->point().begin(), key->point().end(), pub.begin());
  return std::unique_ptr<Pkcs11Ed25519Key>(new Pkcs11Ed25519Key(std::move(key), pub));
}

Pkcs11Ed25519Key::Pkcs11Ed25519Key(std::unique_ptr<pkcs11::TokenKey> key,
                                   const notary::Ed25519PublicKey& pub)
    : key_(std::move(key)), public_key_(pub) {}

Pkcs11Ed25519Key::~Pkcs11Ed25519Key() = default;

common::Result<notary::Ed25519Signature> Pkcs11Ed25519Key::Sign(
    std::span<const uint8_t> message) const {
  ASSIGN_OR_RETURN(std::string sig, key_->Sign(message));
  notary::Ed25519Signature out{};
  std::copy(sig.begin(), sig.end(), out.begin());  // TokenKey::Sign checked the size
  return out;
}

std::string Pkcs11Ed25519Key::uri() const { return key_->uri(); }
bool Pkcs11Ed25519Key::generated() const { return key_->generated(); }

common::Result<std::unique_ptr<Pkcs11EcdsaP256Key>> Pkcs11EcdsaP256Key::Open(
    const Pkcs11Options& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<pkcs11::TokenKey> key,
                   pkcs11::TokenKey::Open(options, pkcs11::Curve::kP256));
  ASSIGN_OR_RETURN(std::string spki, pkcs11::P256Spki(key->point()));
  return std::unique_ptr<Pkcs11EcdsaP256Key>(new Pkcs11EcdsaP256Key(std::move(key), spki));
}

Pkcs11EcdsaP256Key::Pkcs11EcdsaP256Key(std::unique_ptr<pkcs11::TokenKey> key, std::string spki_der)
    : key_(std::move(key)), spki_der_(std::move(spki_der)) {}

Pkcs11EcdsaP256Key::~Pkcs11EcdsaP256Key() = default;

common::Result<std::string> Pkcs11EcdsaP256Key::SignDigest(std::span<const uint8_t> sha256) const {
  if (sha256.size() != 32) {
    return common::Error::InvalidInput("a SHA-256 digest has 32 bytes, not " +
                                       std::to_string(sha256.size()));
  }
  ASSIGN_OR_RETURN(std::string rs, key_->Sign(sha256));
  return pkcs11::EcdsaRawToDer(rs);
}

std::string Pkcs11EcdsaP256Key::uri() const { return key_->uri(); }
bool Pkcs11EcdsaP256Key::generated() const { return key_->generated(); }

}  // namespace signer
