// SHA-256 over OpenSSL's EVP interface: one-shot and incremental.
//
// Thread-safety: Sha256 objects are not shared; the free functions are pure.
#pragma once

#include <memory>
#include <span>
#include <string_view>

#include "common/bytes.h"
#include "common/ossl.h"

namespace common {

Hash Sha256Of(std::span<const uint8_t> data);
inline Hash Sha256Of(std::string_view data) { return Sha256Of(AsBytes(data)); }

class Sha256 {
 public:
  Sha256();
  void Update(std::span<const uint8_t> data);
  void Update(std::string_view data) { Update(AsBytes(data)); }
  // Returns the digest; the object must not be updated afterwards.
  Hash Finish();

 private:
  EvpMdCtxPtr ctx_;
};

}  // namespace common
