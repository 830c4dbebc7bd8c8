#include "signer/key_wrap_body.h"

#include "common/byte_reader.h"
#include "common/bytes.h"

namespace signer {
namespace {

using common::Error;

constexpr size_t kMaxName = 64;
constexpr size_t kMaxWrapped = 256;  // a wrapped key is 92 bytes

bool Count(common::ByteReader& in, uint32_t& n) {
  return in.U32(n) && n >= 1 && n <= vault::KeyHolder::kMaxKeysPerCall;
}

bool KeyOf(common::ByteReader& in, vault::Key& k) { return in.Fixed(k); }

void AppendKey(std::string& out, const vault::Key& k) {
  out.append(reinterpret_cast<const char*>(k.data()), k.size());
}

}  // namespace

std::string EncodeTenantKeyRequest(const std::string& tenant) {
  std::string out;
  common::AppendLengthPrefixed(out, tenant);
  return out;
}

common::Result<std::string> DecodeTenantKeyRequest(std::string_view body) {
  common::ByteReader in(body);
  std::string tenant;
  if (!in.String(tenant, kMaxName) || !in.done()) {
    return Error::InvalidInput("tenant-key: not one tenant name");
  }
  return tenant;
}

std::string EncodeTenantKeyAnswer(const vault::TenantKey& key) {
  std::string out;
  common::AppendLengthPrefixed(out, key.kek_id);
  common::AppendBytes(out, key.public_key);
  return out;
}

common::Result<vault::TenantKey> DecodeTenantKeyAnswer(std::string_view body) {
  common::ByteReader in(body);
  vault::TenantKey key;
  if (!in.String(key.kek_id, kMaxName) || key.kek_id.empty() || !in.Fixed(key.public_key) ||
      !in.done()) {
    return Error::InvalidInput("tenant key: malformed");
  }
  return key;
}

std::string EncodeDestroyKeyRequest(const DestroyKeyRequest& r) {
  std::string out;
  common::AppendLengthPrefixed(out, r.tenant);
  common::AppendLengthPrefixed(out, r.kek_id);
  return out;
}

common::Result<DestroyKeyRequest> DecodeDestroyKeyRequest(std::string_view body) {
  common::ByteReader in(body);
  DestroyKeyRequest r;
  if (!in.String(r.tenant, kMaxName) || !in.String(r.kek_id, kMaxName) || r.kek_id.empty() ||
      !in.done()) {
    return Error::InvalidInput("destroy-tenant-key: not a tenant and a key pair");
  }
  return r;
}

std::string EncodeUnwrapRequest(const UnwrapRequest& r) {
  std::string out;
  common::AppendLengthPrefixed(out, r.tenant);
  common::AppendLengthPrefixed(out, r.kek_id);
  common::AppendU32(out, static_cast<uint32_t>(r.wrapped.size()));
  for (const auto& s : r.wrapped) common::AppendLengthPrefixed(out, s);
  return out;
}

common::Result<UnwrapRequest> DecodeUnwrapRequest(std::string_view body) {
  common::ByteReader in(body);
  UnwrapRequest r;
  uint32_t n = 0;
  if (!in.String(r.tenant, kMaxName) || !in.String(r.kek_id, kMaxName) || !Count(in, n)) {
    return Error::InvalidInput("unwrap-keys: bad header");
  }
  r.wrapped.resize(n);
  for (auto& s : r.wrapped) {
    if (!in.String(s, kMaxWrapped)) return Error::InvalidInput("unwrap-keys: truncated");
  }
  if (!in.done()) return Error::InvalidInput("unwrap-keys: trailing bytes");
  return r;
}

std::string EncodeUnwrapAnswer(const std::vector<vault::Key>& keys) {
  std::string out;
  common::AppendU32(out, static_cast<uint32_t>(keys.size()));
  for (const auto& k : keys) AppendKey(out, k);
  return out;
}

common::Result<std::vector<vault::Key>> DecodeUnwrapAnswer(std::string_view body) {
  common::ByteReader in(body);
  uint32_t n = 0;
  if (!Count(in, n)) return Error::InvalidInput("data keys: bad header");
  std::vector<vault::Key> keys(n);
  for (auto& k : keys) {
    if (!KeyOf(in, k)) return Error::InvalidInput("data keys: truncated");
  }
  if (!in.done()) return Error::InvalidInput("data keys: trailing bytes");
  return keys;
}

}  // namespace signer
