// X25519 + HKDF-SHA256 + AES-256-GCM wrapping of data keys (key_wrapper.h).
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include <algorithm>
#include <map>

#include "common/bytes.h"
#include "vault/key_wrapper.h"

namespace vault {
namespace {

using Pkey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)>;

std::string_view View(const uint8_t* p, size_t n) { return {reinterpret_cast<const char*>(p), n}; }

Pkey PrivatePkey(const PrivateKey& k) {
  return Pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, k.data(), k.size()),
              EVP_PKEY_free);
}

// Our side of X25519 agreements: the private key as OpenSSL holds it and a derivation context
// for it, made once and used for every peer of a batch. Making the key from its raw bytes costs
// a scalar multiplication (OpenSSL derives the public half), as much as an agreement: made per
// peer, it doubled the cost of opening a page of search results whose keys were wrapped apart.
class Agreement {
 public:
  explicit Agreement(const PrivateKey& priv)
      : key_(PrivatePkey(priv)), ctx_(nullptr, EVP_PKEY_CTX_free) {
    if (key_) ctx_.reset(EVP_PKEY_CTX_new(key_.get(), nullptr));
    if (ctx_ && EVP_PKEY_derive_init(ctx_.get()) != 1) ctx_.reset();
  }
  bool ok() const { return key_ && ctx_; }

  common::Result<PublicKey> Public() const {
    PublicKey out{};
    size_t len = out.size();
    if (!key_ || EVP_PKEY_get_raw_public_key(key_.get(), out.data(), &len) != 1 ||
        len != out.size()) {
      return common::Error::Internal("X25519 public key failed");
    }
    return out;
  }

  // X25519(private, peer), refusing the all-zero result of a low-order peer point
  // (RFC 7748 §6.1).
  common::Result<Key> With(const PublicKey& peer) {
    Pkey theirs(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, peer.data(), peer.size()),
                EVP_PKEY_free);
    if (!ok() || !theirs) return common::Error::InvalidInput("not an X25519 key");
    Key out{};
    size_t len = out.size();
    if (EVP_PKEY_derive_set_peer(ctx_.get(), theirs.get()) != 1 ||
        EVP_PKEY_derive(ctx_.get(), out.data(), &len) != 1 || len != out.size()) {
      return common::Error::InvalidInput("X25519 failed");
    }
    uint8_t any = 0;
    for (uint8_t b : out) any |= b;
    if (any == 0) return common::Error::InvalidInput("X25519 with a low-order point");
    return out;
  }

 private:
  Pkey key_;
  PkeyCtx ctx_;
};

common::Result<Key> Hkdf(const Key& ikm, std::string salt, std::string info) {
  // Fetched once per process (a fetch searches the provider's algorithms); an EVP_KDF is
  // immutable and may be shared by threads, and each call has a context of its own.
  static EVP_KDF* const kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  if (kdf == nullptr) return common::Error::Internal("no HKDF");
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  if (ctx == nullptr) return common::Error::Internal("no HKDF context");
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(ikm.data()),
                                        ikm.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt.data(), salt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info.data(), info.size()),
      OSSL_PARAM_construct_end()};
  Key out{};
  const bool ok = EVP_KDF_derive(ctx, out.data(), out.size(), params) == 1;
  EVP_KDF_CTX_free(ctx);
  if (!ok) return common::Error::Internal("HKDF failed");
  return out;
}

common::Result<Key> WrapKeyFor(const Key& shared, const PublicKey& ephemeral,
                               const PublicKey& tenant_public, const std::string& tenant,
                               const std::string& kek_id) {
  std::string salt(View(ephemeral.data(), ephemeral.size()));
  salt.append(View(tenant_public.data(), tenant_public.size()));
  std::string info = "email-notary/wrap-key/v1\n";
  common::AppendLengthPrefixed(info, tenant);
  common::AppendLengthPrefixed(info, kek_id);
  return Hkdf(shared, std::move(salt), std::move(info));
}

}  // namespace

std::string WrapAad(const std::string& tenant, const std::string& kek_id) {
  std::string aad = "email-notary/data-key\n";
  common::AppendLengthPrefixed(aad, tenant);
  common::AppendLengthPrefixed(aad, kek_id);
  return aad;
}

bool IsTenantName(const std::string& t) {
  if (t.empty() || t.size() > 63) return false;
  for (size_t i = 0; i < t.size(); ++i) {
    const char c = t[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-'))) return false;
  }
  return true;
}

common::Result<PrivateKey> NewPrivateKey() {
  PrivateKey k;
  if (RAND_bytes(k.data(), static_cast<int>(k.size())) != 1) {
    return common::Error::Internal("no randomness for a key pair");
  }
  return k;
}

common::Result<PublicKey> PublicKeyOf(const PrivateKey& key) {
  Pkey p = PrivatePkey(key);
  PublicKey out{};
  size_t len = out.size();
  if (!p || EVP_PKEY_get_raw_public_key(p.get(), out.data(), &len) != 1 || len != out.size()) {
    return common::Error::Internal("X25519 public key failed");
  }
  return out;
}

common::Result<std::vector<std::string>> WrapKeys(const std::string& tenant, const TenantKey& kek,
                                                  std::span<const Key> keys) {
  if (!IsTenantName(tenant)) return common::Error::InvalidInput("not a tenant name");
  ASSIGN_OR_RETURN(PrivateKey eph, NewPrivateKey());
  Agreement agreement(eph);
  OPENSSL_cleanse(eph.data(), eph.size());
  auto eph_public = agreement.Public();
  if (!eph_public.ok()) return eph_public.error();
  auto shared = agreement.With(kek.public_key);
  if (!shared.ok()) return shared.error();
  auto wrap_key = WrapKeyFor(*shared, *eph_public, kek.public_key, tenant, kek.kek_id);
  OPENSSL_cleanse(shared->data(), shared->size());
  if (!wrap_key.ok()) return wrap_key.error();
  const std::string aad = WrapAad(tenant, kek.kek_id);
  std::vector<std::string> out;
  out.reserve(keys.size());
  common::Status failed = common::Ok();
  for (const Key& k : keys) {
    auto sealed = Seal(*wrap_key, View(k.data(), k.size()), aad);
    if (!sealed.ok()) {
      failed = sealed.error();
      break;
    }
    std::string w(View(eph_public->data(), eph_public->size()));
    w += *sealed;
    out.push_back(std::move(w));
  }
  OPENSSL_cleanse(wrap_key->data(), wrap_key->size());
  if (!failed.ok()) return failed.error();
  return out;
}

common::Result<std::vector<Key>> UnwrapKeys(const std::string& tenant, const std::string& kek_id,
                                            const PrivateKey& key,
                                            std::span<const std::string> wrapped) {
  Agreement agreement(key);
  if (!agreement.ok()) return common::Error::InvalidInput("not an X25519 key");
  ASSIGN_OR_RETURN(PublicKey tenant_public, agreement.Public());
  const std::string aad = WrapAad(tenant, kek_id);
  // Keys wrapped together share their ephemeral key: one X25519 per distinct one.
  std::map<std::string, Key> wrap_keys;
  std::vector<Key> out;
  out.reserve(wrapped.size());
  common::Status failed = common::Ok();
  for (const std::string& w : wrapped) {
    if (w.size() != kWrappedKeyBytes) {
      failed = common::Error::VerifyFailed("a wrapped key is not 92 bytes");
      break;
    }
    const std::string eph_bytes = w.substr(0, kPublicKeyBytes);
    auto it = wrap_keys.find(eph_bytes);
    if (it == wrap_keys.end()) {
      PublicKey eph;
      std::copy(eph_bytes.begin(), eph_bytes.end(), eph.begin());
      auto shared = agreement.With(eph);
      if (!shared.ok()) {
        failed = common::Error::VerifyFailed("a wrapped key's ephemeral key is not usable");
        break;
      }
      auto wk = WrapKeyFor(*shared, eph, tenant_public, tenant, kek_id);
      OPENSSL_cleanse(shared->data(), shared->size());
      if (!wk.ok()) {
        failed = wk.error();
        break;
      }
      it = wrap_keys.emplace(eph_bytes, *wk).first;
    }
    auto k = Open(it->second, std::string_view(w).substr(kPublicKeyBytes), aad);
    if (!k.ok()) {
      failed = k.error();
      break;
    }
    Key data_key;
    std::copy(k->begin(), k->end(), data_key.begin());
    OPENSSL_cleanse(k->data(), k->size());
    out.push_back(data_key);
  }
  for (auto& [e, wk] : wrap_keys) OPENSSL_cleanse(wk.data(), wk.size());
  if (!failed.ok()) {
    for (Key& k : out) OPENSSL_cleanse(k.data(), k.size());
    return failed.error();
  }
  return out;
}

common::Result<Wrapper::Wrapped> Wrapper::Wrap(const std::string& tenant,
                                               std::span<const Key> keys) {
  TenantKey kek;
  bool due = true;
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    auto it = keys_.find(tenant);
    if (it != keys_.end()) {
      kek = it->second.key;
      due = it->second.stale || now - it->second.fetched >= refresh_;
    }
  }
  if (due) {
    auto fresh = holder_.PublicKeyFor(tenant);
    if (fresh.ok()) {
      kek = *fresh;
      std::lock_guard lock(mu_);
      keys_[tenant] = Kept{kek, now, false};
    } else if (kek.kek_id.empty()) {
      return fresh.error();
    } else {
      // Asked again after another `refresh`, not at every group: a signer that hangs would
      // otherwise hold up every group for its time-out.
      std::lock_guard lock(mu_);
      keys_[tenant].fetched = now;
      keys_[tenant].stale = false;
    }
  }
  Wrapped out;
  out.kek_id = kek.kek_id;
  ASSIGN_OR_RETURN(out.wrapped, WrapKeys(tenant, kek, keys));
  return out;
}

void Wrapper::RefreshSoon(const std::string& tenant) {
  std::lock_guard lock(mu_);
  if (auto it = keys_.find(tenant); it != keys_.end()) {
    it->second.stale = true;
  }
}

common::Result<std::vector<Key>> Wrapper::Unwrap(const std::string& tenant,
                                                 const std::string& kek_id,
                                                 std::span<const std::string> wrapped) {
  std::vector<Key> out;
  out.reserve(wrapped.size());
  for (size_t at = 0; at < wrapped.size(); at += KeyHolder::kMaxKeysPerCall) {
    const size_t n = std::min(KeyHolder::kMaxKeysPerCall, wrapped.size() - at);
    auto keys = holder_.Unwrap(tenant, kek_id, wrapped.subspan(at, n));
    if (!keys.ok()) {
      for (Key& k : out) OPENSSL_cleanse(k.data(), k.size());
      return keys.error();
    }
    out.insert(out.end(), keys->begin(), keys->end());
  }
  return out;
}

}  // namespace vault
