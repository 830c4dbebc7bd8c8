// The bodies of notary-signer's encryption-at-rest requests (frame.h: tenant-key,
// unwrap-keys) and their answers. `str` is a u32 big-endian length then the bytes; `n` a u32
// count, 1 to vault::KeyHolder::kMaxKeysPerCall (512), so that every body fits a frame.
//
//   tenant-key    str(tenant)                                    -> str(kek_id) || 32-byte X25519
//   public key unwrap-keys   str(tenant) || str(kek_id) || n || n x str(wrapped key)  -> n || n x
//   32-byte data key
//
// Decoders accept exactly one encoding (no trailing bytes).
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "vault/key_wrapper.h"

namespace signer {

struct UnwrapRequest {
  std::string tenant, kek_id;
  std::vector<std::string> wrapped;
};

std::string EncodeTenantKeyRequest(const std::string& tenant);
common::Result<std::string> DecodeTenantKeyRequest(std::string_view body);
std::string EncodeTenantKeyAnswer(const vault::TenantKey& key);
common::Result<vault::TenantKey> DecodeTenantKeyAnswer(std::string_view body);
// destroy-tenant-key: str(tenant) || str(kek_id).
struct DestroyKeyRequest {
  std::string tenant, kek_id;
};
std::string EncodeDestroyKeyRequest(const DestroyKeyRequest& r);
common::Result<DestroyKeyRequest> DecodeDestroyKeyRequest(std::string_view body);
std::string EncodeUnwrapRequest(const UnwrapRequest& r);
common::Result<UnwrapRequest> DecodeUnwrapRequest(std::string_view body);
std::string EncodeUnwrapAnswer(const std::vector<vault::Key>& keys);
common::Result<std::vector<vault::Key>> DecodeUnwrapAnswer(std::string_view body);

}  // namespace signer
