#include "vault/aead.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <climits>
#include <memory>

namespace vault {
namespace {

using Ctx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

const unsigned char* U(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

bool FitsInt(size_t n) { return n <= static_cast<size_t>(INT_MAX); }

}  // namespace

common::Result<Key> NewKey() {
  Key k;
  if (RAND_bytes(k.data(), static_cast<int>(k.size())) != 1) {
    return common::Error::Internal("no randomness for a data key");
  }
  return k;
}

common::Result<std::string> SealWithNonce(const Key& key, std::string_view nonce,
                                          std::string_view plaintext, std::string_view aad) {
  if (nonce.size() != kNonceBytes) return common::Error::InvalidInput("a nonce is 12 bytes");
  if (!FitsInt(plaintext.size()) || !FitsInt(aad.size())) {
    return common::Error::TooLarge("too large to seal in one piece");
  }
  Ctx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  std::string out(kNonceBytes + plaintext.size() + kTagBytes, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  std::copy(nonce.begin(), nonce.end(), out.begin());
  int len = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), o) != 1 ||
      (!aad.empty() &&
       EVP_EncryptUpdate(ctx.get(), nullptr, &len, U(aad), static_cast<int>(aad.size())) != 1) ||
      EVP_EncryptUpdate(ctx.get(), o + kNonceBytes, &len, U(plaintext),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), o + kNonceBytes + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagBytes),
                          o + kNonceBytes + plaintext.size()) != 1) {
    return common::Error::Internal("AES-256-GCM encryption failed");
  }
  return out;
}

common::Result<std::string> Seal(const Key& key, std::string_view plaintext, std::string_view aad) {
  unsigned char nonce[kNonceBytes];
  if (RAND_bytes(nonce, sizeof nonce) != 1) {
    return common::Error::Internal("no randomness for a nonce");
  }
  return SealWithNonce(key, std::string_view(reinterpret_cast<const char*>(nonce), sizeof nonce),
                       plaintext, aad);
}

common::Result<std::string> Open(const Key& key, std::string_view sealed, std::string_view aad) {
  if (sealed.size() < kSealOverhead) {
    return common::Error::InvalidInput("sealed value shorter than its nonce and tag");
  }
  if (!FitsInt(sealed.size()) || !FitsInt(aad.size())) {
    return common::Error::TooLarge("too large to open in one piece");
  }
  const size_t n = sealed.size() - kSealOverhead;
  Ctx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  std::string out(n, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  std::string tag(sealed.substr(kNonceBytes + n));
  int len = 0;
  if (!ctx ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), U(sealed)) != 1 ||
      (!aad.empty() &&
       EVP_DecryptUpdate(ctx.get(), nullptr, &len, U(aad), static_cast<int>(aad.size())) != 1) ||
      EVP_DecryptUpdate(ctx.get(), o, &len, U(sealed) + kNonceBytes, static_cast<int>(n)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagBytes),
                          tag.data()) != 1) {
    return common::Error::Internal("AES-256-GCM decryption failed");
  }
  if (EVP_DecryptFinal_ex(ctx.get(), o + len, &len) != 1) {
    OPENSSL_cleanse(out.data(), out.size());
    return common::Error::VerifyFailed("sealed value does not open: altered, moved or wrong key");
  }
  return out;
}

}  // namespace vault
