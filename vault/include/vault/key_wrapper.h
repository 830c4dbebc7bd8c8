// Data keys wrapped for a tenant (docs/retention.md, "Encryption at rest").
//
// Each tenant has an X25519 key pair, the key-encryption key (KEK). Its private half stays
// with a KeyHolder: notary-signer (signer/client.h), or, without a signer, a key file in
// notaryd's data folder (FileKeyHolder). Its public half is all that wrapping needs, so
// notaryd wraps the data keys of new mail itself, with no round trip and while the signer is
// down; unwrapping (reading stored mail) needs the holder.
//
// A wrapped key (92 bytes) is
//
//   ephemeral public key (32) || vault::Seal(wrap key, data key, WrapAad(tenant, kek_id))
//
// where wrap key = HKDF-SHA256(ikm = X25519(ephemeral private, tenant public),
//                              salt = ephemeral public || tenant public,
//                              info = "email-notary/wrap-key/v1\n" || str(tenant) || str(kek_id)),
// 32 bytes: the base mode of RFC 9180 (HPKE) in spirit, built from OpenSSL 3.0's primitives.
// One ephemeral key may serve several data keys wrapped together (a group of messages); the
// nonce of each seal is random.
//
// Thread-safety: the functions are pure; KeyHolder implementations and Wrapper are
// thread-safe.
#pragma once

#include <array>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "vault/aead.h"

namespace vault {

inline constexpr size_t kPublicKeyBytes = 32;
inline constexpr size_t kWrappedKeyBytes = kPublicKeyBytes + kSealOverhead + kKeyBytes;  // 92

using PublicKey = std::array<uint8_t, kPublicKeyBytes>;

struct TenantKey {
  std::string kek_id;  // the holder's name for the key pair and its epoch, e.g. "file/1"
  PublicKey public_key{};
};

// "email-notary/data-key\n" || str(tenant) || str(kek_id), str as in evidence-format.md.
std::string WrapAad(const std::string& tenant, const std::string& kek_id);

// True for a tenant name as the database allows it (^[a-z0-9][a-z0-9._-]{0,62}$): safe as a
// file name.
bool IsTenantName(const std::string& tenant);

// Wraps `keys` for the tenant's public key, all under one fresh ephemeral key.
common::Result<std::vector<std::string>> WrapKeys(const std::string& tenant, const TenantKey& kek,
                                                  std::span<const Key> keys);

// The private half: a raw X25519 private key (32 bytes).
using PrivateKey = std::array<uint8_t, 32>;
common::Result<PrivateKey> NewPrivateKey();
common::Result<PublicKey> PublicKeyOf(const PrivateKey& key);
// kVerifyFailed when a wrapped key was not wrapped for this tenant and key pair.
common::Result<std::vector<Key>> UnwrapKeys(const std::string& tenant, const std::string& kek_id,
                                            const PrivateKey& key,
                                            std::span<const std::string> wrapped);

// Where the tenants' private keys are.
class KeyHolder {
 public:
  static constexpr size_t kMaxKeysPerCall = 512;

  virtual ~KeyHolder() = default;
  // The tenant's current key pair's public half, the pair made on first use.
  virtual common::Result<TenantKey> PublicKeyFor(const std::string& tenant) = 0;
  // 1 to kMaxKeysPerCall wrapped keys. kVerifyFailed: one was not wrapped for this tenant and
  // key pair; kNotFound: the key pair is gone (destroyed, or never existed here).
  virtual common::Result<std::vector<Key>> Unwrap(const std::string& tenant,
                                                  const std::string& kek_id,
                                                  std::span<const std::string> wrapped) = 0;
  // Makes a new key pair current for the tenant and returns its public half: data keys
  // wrapped from then on are wrapped for it. The older pairs stay, to unwrap what was
  // wrapped for them. The reason to rotate: a pair whose private half may have leaked
  // reads no mail stored after the rotation.
  virtual common::Result<TenantKey> Rotate(const std::string& tenant) = 0;
  // Deletes an earlier key pair of the tenant: whatever was wrapped for it, wherever a copy
  // is kept, no longer opens. The caller checks that nothing stored still needs it
  // (pipeline::DestroyTenantKey). kConflict: it is the current pair; kNotFound: no such pair.
  virtual common::Status Destroy(const std::string& tenant, const std::string& kek_id) = 0;
};

// Key pairs as files `<dir>/<tenant>.kek.<epoch>` (the 32-byte private key, mode 0600, made
// on first use: written aside, fsync, linked into place); kek_id "file/<epoch>/<16 hex digits
// of SHA-256 of the public key>". Nodes that share a database and no signer must share the
// folder. The first pair is epoch 1; Rotate makes the next one (epoch + 1), and the highest
// epoch in the folder is the current pair: every PublicKeyFor looks for the next epoch's
// file (one stat), so a rotation by another process (notaryctl, a node sharing the folder)
// is seen at the next call. Unwrap opens the epoch its kek_id names.
class FileKeyHolder final : public KeyHolder {
 public:
  // `dir` must exist; it should be readable by the key holder only.
  static common::Result<std::unique_ptr<FileKeyHolder>> Open(std::string dir);
  ~FileKeyHolder() override;

  common::Result<TenantKey> PublicKeyFor(const std::string& tenant) override;
  common::Result<std::vector<Key>> Unwrap(const std::string& tenant, const std::string& kek_id,
                                          std::span<const std::string> wrapped) override;
  common::Result<TenantKey> Rotate(const std::string& tenant) override;
  // Overwrites the pair's file with zeros (fsync) and unlinks it. What the file system or the
  // disk keeps of the old blocks is beyond this: keep keks.d on an encrypted volume.
  common::Status Destroy(const std::string& tenant, const std::string& kek_id) override;

 private:
  struct Impl;
  explicit FileKeyHolder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// notaryd's side: wraps with the tenants' public keys, fetched from the holder and kept for
// `refresh` (so a rotation reaches new mail within that time; zero asks the holder for every
// call); unwraps through the holder, in calls of at most KeyHolder::kMaxKeysPerCall. A key
// due for refresh that the holder cannot give (notary-signer down) is used as it is, so mail
// is still taken.
class Wrapper {
 public:
  static constexpr std::chrono::milliseconds kDefaultRefresh{60'000};
  explicit Wrapper(KeyHolder& holder, std::chrono::milliseconds refresh = kDefaultRefresh)
      : holder_(holder), refresh_(refresh) {}

  struct Wrapped {
    std::string kek_id;
    std::vector<std::string> wrapped;  // in the order of the keys
  };
  common::Result<Wrapped> Wrap(const std::string& tenant, std::span<const Key> keys);
  common::Result<std::vector<Key>> Unwrap(const std::string& tenant, const std::string& kek_id,
                                          std::span<const std::string> wrapped);
  // Makes the tenant's kept key due, so the next Wrap asks the holder for the current pair
  // (keeping this one if the holder cannot answer): after the database refused a group, whose
  // pair may have been retired (migration 0021).
  void RefreshSoon(const std::string& tenant);

 private:
  struct Kept {
    TenantKey key;
    std::chrono::steady_clock::time_point fetched;
    bool stale = false;  // RefreshSoon: ask at the next Wrap
  };
  KeyHolder& holder_;
  const std::chrono::milliseconds refresh_;
  std::mutex mu_;
  std::map<std::string, Kept> keys_;  // by tenant
};

}  // namespace vault
