#include "common/sha256.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "common/check.h"

namespace common {
namespace {

// Fetched once: EVP_sha256() makes OpenSSL 3 look the implementation up again (under a lock)
// on every digest, a tenth of the audit's CPU, where millions of small inputs are hashed.
const EVP_MD* Sha256Md() {
  static const EVP_MD* const md = [] {
    EVP_MD* m = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    CHECK(m != nullptr);
    return m;
  }();
  return md;
}

}  // namespace

Hash Sha256Of(std::span<const uint8_t> data) {
  Hash h;
  CHECK(EVP_Digest(data.data(), data.size(), h.data(), nullptr, Sha256Md(), nullptr) == 1);
  return h;
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  CHECK(ctx_ && EVP_DigestInit_ex(ctx_.get(), Sha256Md(), nullptr) == 1);
}

void Sha256::Update(std::span<const uint8_t> data) {
  CHECK(EVP_DigestUpdate(ctx_.get(), data.data(), data.size()) == 1);
}

Hash Sha256::Finish() {
  Hash h;
  CHECK(EVP_DigestFinal_ex(ctx_.get(), h.data(), nullptr) == 1);
  return h;
}

}  // namespace common
