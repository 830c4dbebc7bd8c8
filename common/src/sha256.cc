#include "common/sha256.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "common/check.h"

namespace common {

Hash Sha256Of(std::span<const uint8_t> data) {
  Hash h;
  CHECK(EVP_Digest(data.data(), data.size(), h.data(), nullptr, EVP_sha256(), nullptr) == 1);
  return h;
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  CHECK(ctx_ && EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) == 1);
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
