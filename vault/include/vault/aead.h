// AES-256-GCM (NIST SP 800-38D) as the notary stores it: a random 96-bit nonce, the
// ciphertext, then the 128-bit tag, in one byte string. The associated data names what the
// bytes are and whose (a tenant, a receipt, a field), so that a sealed value moved to another
// row or tenant fails to open rather than being read as that row's.
//
//   sealed = nonce (12) || ciphertext (as long as the plaintext) || tag (16)
//
// A data key seals at most a handful of values (one message's bytes and fields), far below
// GCM's limit of 2^32 random nonces per key.
//
// Thread-safety: pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace vault {

inline constexpr size_t kKeyBytes = 32;
inline constexpr size_t kNonceBytes = 12;
inline constexpr size_t kTagBytes = 16;
inline constexpr size_t kSealOverhead = kNonceBytes + kTagBytes;

using Key = std::array<uint8_t, kKeyBytes>;

// A fresh random key (OpenSSL's DRBG).
common::Result<Key> NewKey();

common::Result<std::string> Seal(const Key& key, std::string_view plaintext, std::string_view aad);
// kVerifyFailed when the bytes, the associated data or the key are not those it was sealed
// with (nothing of the plaintext is returned then); kInvalidInput when too short.
common::Result<std::string> Open(const Key& key, std::string_view sealed, std::string_view aad);

// The same with a given nonce: for published test vectors only.
common::Result<std::string> SealWithNonce(const Key& key, std::string_view nonce,
                                          std::string_view plaintext, std::string_view aad);

}  // namespace vault
