#include "log/ed25519.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/memo.h"
#include "common/ossl.h"
#include "common/sha256.h"

namespace notary {
namespace {

using common::Error;

common::BioPtr MemBio(std::string_view data) {
  return common::BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

common::Result<Ed25519PublicKey> RawPublic(EVP_PKEY* key) {
  Ed25519PublicKey pub{};
  size_t len = pub.size();
  if (EVP_PKEY_get_raw_public_key(key, pub.data(), &len) != 1 || len != pub.size()) {
    return Error::Internal("reading the Ed25519 public key: " + common::OpenSslError());
  }
  return pub;
}

common::EvpPkeyPtr PublicPkey(const Ed25519PublicKey& key) {
  return common::EvpPkeyPtr(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, key.data(), key.size()));
}

bool LooksLikePem(std::string_view s) { return s.find("-----BEGIN ") != std::string_view::npos; }

}  // namespace

common::Result<Ed25519Signer> Ed25519Signer::Generate() {
  common::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    return Error::Internal("Ed25519 key generation: " + common::OpenSslError());
  }
  common::EvpPkeyPtr key(raw);
  ASSIGN_OR_RETURN(Ed25519PublicKey pub, RawPublic(key.get()));
  return Ed25519Signer(std::move(key), pub);
}

common::Result<Ed25519Signer> Ed25519Signer::FromPrivatePem(std::string_view pem) {
  common::BioPtr bio = MemBio(pem);
  if (!bio) return Error::Internal("BIO_new_mem_buf failed");
  common::EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    common::OpenSslError();  // clear the queue
    return Error::InvalidInput("not a PEM private key");
  }
  if (EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519) {
    return Error::InvalidInput("the PEM private key is not an Ed25519 key");
  }
  ASSIGN_OR_RETURN(Ed25519PublicKey pub, RawPublic(key.get()));
  return Ed25519Signer(std::move(key), pub);
}

common::Result<Ed25519Signer> Ed25519Signer::FromSeed(std::span<const uint8_t> seed) {
  if (seed.size() != 32) return Error::InvalidInput("an Ed25519 seed has 32 bytes");
  common::EvpPkeyPtr key(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
  if (!key) return Error::Internal("Ed25519 key from seed: " + common::OpenSslError());
  ASSIGN_OR_RETURN(Ed25519PublicKey pub, RawPublic(key.get()));
  return Ed25519Signer(std::move(key), pub);
}

common::Result<std::string> Ed25519Signer::PrivatePem() const {
  common::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return Error::Internal("writing the private key PEM: " + common::OpenSslError());
  }
  return common::BioContents(bio.get());
}

std::string Ed25519Signer::PublicPem() const { return Ed25519PublicPem(public_key_); }

common::Result<Ed25519Signature> Ed25519Signer::Sign(std::span<const uint8_t> message) const {
  common::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  Ed25519Signature sig{};
  size_t len = sig.size();
  // Pure Ed25519 takes no digest and signs in one shot.
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), sig.data(), &len, message.data(), message.size()) != 1 ||
      len != sig.size()) {
    return Error::Internal("Ed25519 signing: " + common::OpenSslError());
  }
  return sig;
}

namespace {
common::Result<Ed25519PublicKey> ParsePublicKeyOnce(std::string_view raw_or_pem);
}  // namespace

common::Result<Ed25519PublicKey> ParseEd25519PublicKey(std::string_view raw_or_pem) {
  // Remembered (common/memo.h): a production's bundles carry the same PEM keys, and
  // PEM_read_bio_PUBKEY goes through OpenSSL 3.0's decoders each time.
  static auto* memo = new common::Memo<common::Result<Ed25519PublicKey>>(256);  // until exit
  const common::Hash key = common::MemoKey().Add(raw_or_pem).Finish();
  if (auto known = memo->Find(key)) return std::move(*known);
  common::Result<Ed25519PublicKey> parsed = ParsePublicKeyOnce(raw_or_pem);
  memo->Put(key, parsed);
  return parsed;
}

namespace {
common::Result<Ed25519PublicKey> ParsePublicKeyOnce(std::string_view raw_or_pem) {
  if (raw_or_pem.size() == 32 && !LooksLikePem(raw_or_pem)) {
    Ed25519PublicKey key{};
    std::copy(raw_or_pem.begin(), raw_or_pem.end(), key.begin());
    return key;
  }
  common::BioPtr bio = MemBio(raw_or_pem);
  if (!bio) return Error::Internal("BIO_new_mem_buf failed");
  common::EvpPkeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    common::OpenSslError();
    return Error::InvalidInput("neither a raw 32-byte key nor a PEM public key");
  }
  if (EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519) {
    return Error::InvalidInput("the PEM public key is not an Ed25519 key");
  }
  return RawPublic(key.get());
}
}  // namespace

std::string Ed25519PublicPem(const Ed25519PublicKey& key) {
  common::EvpPkeyPtr pkey = PublicPkey(key);
  common::BioPtr bio(BIO_new(BIO_s_mem()));
  // Every 32-byte string is accepted by EVP_PKEY_new_raw_public_key; failure is an OOM.
  if (!pkey || !bio || PEM_write_bio_PUBKEY(bio.get(), pkey.get()) != 1) std::abort();
  return common::BioContents(bio.get());
}

std::string Ed25519PublicDer(const Ed25519PublicKey& key) {
  // RFC 8410 §4: SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING { 0 unused bits, key } }
  // has these twelve bytes before the key, whatever the key. Written out, not through
  // i2d_PUBKEY: OpenSSL 3.0 runs its provider encoders for it, and a production's verifier
  // asks a block key's fingerprint once per message (docs/benchmarks.md).
  static constexpr char kPrefix[] = "\x30\x2a\x30\x05\x06\x03\x2b\x65\x70\x03\x21\x00";
  std::string out(kPrefix, sizeof(kPrefix) - 1);
  out.append(reinterpret_cast<const char*>(key.data()), key.size());
  return out;
}

std::string Fingerprint(const Ed25519PublicKey& key) {
  return common::ToHex(common::Sha256Of(Ed25519PublicDer(key)));
}

std::string KeyId(const Ed25519PublicKey& key) { return Fingerprint(key).substr(0, 16); }

namespace {
common::Status VerifyOnce(const Ed25519PublicKey& key, std::span<const uint8_t> message,
                          std::span<const uint8_t> signature);
}  // namespace

common::Status Ed25519Verify(const Ed25519PublicKey& key, std::span<const uint8_t> message,
                             std::span<const uint8_t> signature) {
  if (signature.size() != 64) return Error::InvalidInput("an Ed25519 signature has 64 bytes");
  // Remembered (common/memo.h): every message of a block carries the block's signature, and
  // checking a production checks it once per message. The answer is a function of the three
  // byte strings alone, all of them in the key.
  static auto* memo = new common::Memo<common::Status>(1024);  // until exit
  auto as_view = [](std::span<const uint8_t> s) {
    return std::string_view(reinterpret_cast<const char*>(s.data()), s.size());
  };
  const common::Hash memo_key =
      common::MemoKey().Add(as_view(key)).Add(as_view(message)).Add(as_view(signature)).Finish();
  if (auto known = memo->Find(memo_key)) return std::move(*known);
  common::Status answer = VerifyOnce(key, message, signature);
  // Not an OpenSSL failure (out of memory): that says nothing about the signature.
  if (answer.ok() || answer.error().code() == common::ErrorCode::kVerifyFailed) {
    memo->Put(memo_key, answer);
  }
  return answer;
}

namespace {
common::Status VerifyOnce(const Ed25519PublicKey& key, std::span<const uint8_t> message,
                          std::span<const uint8_t> signature) {
  common::EvpPkeyPtr pkey = PublicPkey(key);
  if (!pkey) return Error::InvalidInput("unusable Ed25519 public key");
  common::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1) {
    return Error::Internal("Ed25519 verification setup: " + common::OpenSslError());
  }
  const int rc = EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(),
                                  message.size());
  if (rc != 1) {
    common::OpenSslError();  // a bad signature leaves an error on the queue
    return Error::VerifyFailed("Ed25519 signature does not verify");
  }
  return common::Ok();
}
}  // namespace

common::Status Ed25519Verify(std::string_view public_raw_or_pem, std::span<const uint8_t> message,
                             std::span<const uint8_t> signature) {
  ASSIGN_OR_RETURN(Ed25519PublicKey key, ParseEd25519PublicKey(public_raw_or_pem));
  return Ed25519Verify(key, message, signature);
}

}  // namespace notary
