// FileKeyHolder (key_wrapper.h): the tenants' X25519 private keys as files.
#include <dirent.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <string_view>
#include <utility>

#include "common/bytes.h"
#include "common/sha256.h"
#include "vault/key_wrapper.h"

namespace vault {
namespace {

// Epochs run from 1; the bound keeps a name's number small and a rotation loop finite.
constexpr uint32_t kMaxEpoch = 1'000'000;

// "file/<epoch>/<first 16 hex digits of SHA-256(public key)>": names the key pair itself, so
// that a node asked for another's key says it has none rather than failing to open.
std::string KekIdOf(uint32_t epoch, const PublicKey& pub) {
  return "file/" + std::to_string(epoch) + "/" + common::ToHex(common::Sha256Of(pub)).substr(0, 16);
}

// The epoch of a decimal with no leading zero, 1 to kMaxEpoch; 0 for anything else.
uint32_t ParseEpoch(std::string_view digits) {
  if (digits.empty() || digits.size() > 7 || digits[0] == '0') return 0;
  uint32_t e = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return 0;
    e = e * 10 + static_cast<uint32_t>(c - '0');
  }
  return e <= kMaxEpoch ? e : 0;
}

// The epoch a kek_id of this holder names ("file/<epoch>/..."); 0 when it names none.
uint32_t EpochOfKekId(std::string_view kek_id) {
  constexpr std::string_view kPrefix = "file/";
  if (kek_id.substr(0, kPrefix.size()) != kPrefix) return 0;
  kek_id.remove_prefix(kPrefix.size());
  const size_t slash = kek_id.find('/');
  if (slash == std::string_view::npos) return 0;
  return ParseEpoch(kek_id.substr(0, slash));
}

std::string Errno(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

common::Result<PrivateKey> ReadKeyFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return common::Error::NotFound("no key " + path);
    return common::Error::Unavailable(Errno("cannot open", path));
  }
  PrivateKey k{};
  const ssize_t got = ::read(fd, k.data(), k.size());
  char extra;
  const ssize_t more = got == static_cast<ssize_t>(k.size()) ? ::read(fd, &extra, 1) : 0;
  ::close(fd);
  if (got != static_cast<ssize_t>(k.size()) || more != 0) {
    OPENSSL_cleanse(k.data(), k.size());
    return common::Error::Internal("key file " + path + " is not 32 bytes");
  }
  return k;
}

// Creates `path` (0600) holding `k`, durably and whole: written aside, fsync, then linked
// into place, so that another process (nodes sharing the folder) never reads half a key.
// kConflict when it exists already.
common::Status CreateKeyFile(const std::string& dir, const std::string& path, const PrivateKey& k) {
  const std::string aside = path + ".new." + std::to_string(::getpid());
  int fd = ::open(aside.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return common::Error::Unavailable(Errno("cannot create", aside));
  const bool ok =
      ::write(fd, k.data(), k.size()) == static_cast<ssize_t>(k.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(aside.c_str());
    return common::Error::Unavailable(Errno("cannot write", aside));
  }
  const int linked = ::link(aside.c_str(), path.c_str());
  const int link_errno = errno;
  ::unlink(aside.c_str());
  if (linked != 0) {
    if (link_errno == EEXIST) return common::Error::Conflict("exists");
    errno = link_errno;
    return common::Error::Unavailable(Errno("cannot create", path));
  }
  const int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d >= 0) {
    (void)::fsync(d);
    ::close(d);
  }
  return common::Ok();
}

}  // namespace

struct FileKeyHolder::Impl {
  std::string dir;
  std::mutex mu;
  // A key pair read, its public half and name derived once.
  struct Pair {
    PrivateKey key;
    TenantKey pub;
  };
  std::map<std::pair<std::string, uint32_t>, Pair> loaded;  // by tenant and epoch
  std::map<std::string, uint32_t> current;                  // the tenant's newest epoch seen

  ~Impl() {
    for (auto& [t, p] : loaded) OPENSSL_cleanse(p.key.data(), p.key.size());
  }

  std::string PathOf(const std::string& tenant, uint32_t epoch) const {
    return dir + "/" + tenant + ".kek." + std::to_string(epoch);
  }

  bool Exists(const std::string& tenant, uint32_t epoch) const {
    struct stat st {};
    return ::lstat(PathOf(tenant, epoch).c_str(), &st) == 0;
  }

  // The highest epoch of the tenant's files in the folder; 0 when it has none. Files being
  // written aside ("<name>.new.<pid>") are not key files.
  common::Result<uint32_t> NewestInFolder(const std::string& tenant) const {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return common::Error::Unavailable(Errno("cannot read", dir));
    const std::string prefix = tenant + ".kek.";
    uint32_t newest = 0;
    while (const dirent* e = ::readdir(d)) {
      const std::string_view name = e->d_name;
      if (name.substr(0, prefix.size()) != prefix) continue;
      newest = std::max(newest, ParseEpoch(name.substr(prefix.size())));
    }
    ::closedir(d);
    return newest;
  }

  // The tenant's key pair of `epoch`, read once; with mu held. The pointer stays valid while
  // the holder lives (map nodes do not move).
  common::Result<const Pair*> LoadEpoch(const std::string& tenant, uint32_t epoch) {
    if (auto it = loaded.find({tenant, epoch}); it != loaded.end()) return &it->second;
    ASSIGN_OR_RETURN(PrivateKey k, ReadKeyFile(PathOf(tenant, epoch)));
    auto pub = PublicKeyOf(k);
    if (!pub.ok()) {
      OPENSSL_cleanse(k.data(), k.size());
      return pub.error();
    }
    Pair& pair = loaded[{tenant, epoch}];
    pair.key = k;
    pair.pub = TenantKey{KekIdOf(epoch, *pub), *pub};
    OPENSSL_cleanse(k.data(), k.size());
    return &pair;
  }

  void Forget(const std::string& tenant, uint32_t epoch) {
    auto it = loaded.find({tenant, epoch});
    if (it == loaded.end()) return;
    OPENSSL_cleanse(it->second.key.data(), it->second.key.size());
    loaded.erase(it);
  }

  // Makes the key file of `epoch`; kConflict when it exists (another process made it).
  common::Status CreateEpoch(const std::string& tenant, uint32_t epoch) {
    ASSIGN_OR_RETURN(PrivateKey fresh, NewPrivateKey());
    auto st = CreateKeyFile(dir, PathOf(tenant, epoch), fresh);
    OPENSSL_cleanse(fresh.data(), fresh.size());
    return st;
  }

  // The tenant's current key pair: the newest epoch, following rotations made since, made
  // (epoch 1) when the tenant has none and `create`; with mu held.
  common::Result<const Pair*> Current(const std::string& tenant, bool create) {
    if (!IsTenantName(tenant)) return common::Error::InvalidInput("not a tenant name");
    uint32_t epoch = 0;
    if (auto it = current.find(tenant); it != current.end()) {
      epoch = it->second;
    } else {
      ASSIGN_OR_RETURN(epoch, NewestInFolder(tenant));
    }
    while (epoch > 0 && epoch < kMaxEpoch && Exists(tenant, epoch + 1)) ++epoch;
    if (epoch == 0) {
      if (!create) return common::Error::NotFound("no key pair for " + tenant + " here");
      auto st = CreateEpoch(tenant, 1);
      if (!st.ok() && st.error().code() != common::ErrorCode::kConflict) return st.error();
      epoch = 1;  // ours, or another process's made first
    }
    current[tenant] = epoch;
    return LoadEpoch(tenant, epoch);
  }
};

FileKeyHolder::FileKeyHolder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FileKeyHolder::~FileKeyHolder() = default;

common::Result<std::unique_ptr<FileKeyHolder>> FileKeyHolder::Open(std::string dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return common::Error::InvalidInput("key folder " + dir + " does not exist");
  }
  auto impl = std::make_unique<Impl>();
  impl->dir = std::move(dir);
  return std::unique_ptr<FileKeyHolder>(new FileKeyHolder(std::move(impl)));
}

common::Result<TenantKey> FileKeyHolder::PublicKeyFor(const std::string& tenant) {
  std::lock_guard lock(impl_->mu);
  ASSIGN_OR_RETURN(const Impl::Pair* pair, impl_->Current(tenant, /*create=*/true));
  return pair->pub;
}

common::Result<std::vector<Key>> FileKeyHolder::Unwrap(const std::string& tenant,
                                                       const std::string& kek_id,
                                                       std::span<const std::string> wrapped) {
  if (wrapped.empty() || wrapped.size() > kMaxKeysPerCall) {
    return common::Error::InvalidInput("unwrap 1 to 512 keys per call");
  }
  if (!IsTenantName(tenant)) return common::Error::InvalidInput("not a tenant name");
  const uint32_t epoch = EpochOfKekId(kek_id);
  std::lock_guard lock(impl_->mu);
  // A pair destroyed by another process (notaryctl on a shared folder) is forgotten here too,
  // not kept in memory: one stat per call.
  if (epoch != 0 && !impl_->Exists(tenant, epoch)) impl_->Forget(tenant, epoch);
  auto pair = epoch == 0 ? common::Result<const Impl::Pair*>(common::Error::NotFound("no epoch"))
                         : impl_->LoadEpoch(tenant, epoch);
  if (!pair.ok() && pair.error().code() != common::ErrorCode::kNotFound) return pair.error();
  if (!pair.ok() || (*pair)->pub.kek_id != kek_id) {
    return common::Error::NotFound("no key pair " + kek_id + " for " + tenant + " here");
  }
  return UnwrapKeys(tenant, kek_id, (*pair)->key, wrapped);
}

common::Result<TenantKey> FileKeyHolder::Rotate(const std::string& tenant) {
  std::lock_guard lock(impl_->mu);
  uint32_t epoch = 0;
  if (auto cur = impl_->Current(tenant, /*create=*/false); cur.ok()) {
    epoch = EpochOfKekId((*cur)->pub.kek_id);
  } else if (cur.error().code() != common::ErrorCode::kNotFound) {
    return cur.error();
  }
  // Another process rotating at the same moment takes the next epoch first; this one then
  // takes the one after, so each rotation makes a pair of its own.
  for (;;) {
    if (epoch >= kMaxEpoch) return common::Error::InvalidInput("no epoch left for " + tenant);
    ++epoch;
    auto st = impl_->CreateEpoch(tenant, epoch);
    if (st.ok()) break;
    if (st.error().code() != common::ErrorCode::kConflict) return st.error();
  }
  impl_->current[tenant] = epoch;
  ASSIGN_OR_RETURN(const Impl::Pair* pair, impl_->LoadEpoch(tenant, epoch));
  return pair->pub;
}

common::Status FileKeyHolder::Destroy(const std::string& tenant, const std::string& kek_id) {
  if (!IsTenantName(tenant)) return common::Error::InvalidInput("not a tenant name");
  const uint32_t epoch = EpochOfKekId(kek_id);
  if (epoch == 0) return common::Error::NotFound("no key pair " + kek_id + " here");
  std::lock_guard lock(impl_->mu);
  ASSIGN_OR_RETURN(const Impl::Pair* current, impl_->Current(tenant, /*create=*/false));
  if (current->pub.kek_id == kek_id) {
    return common::Error::Conflict(kek_id + " is the current key pair of " + tenant);
  }
  auto pair = impl_->LoadEpoch(tenant, epoch);
  if (!pair.ok() || (*pair)->pub.kek_id != kek_id) {
    if (!pair.ok() && pair.error().code() != common::ErrorCode::kNotFound) return pair.error();
    return common::Error::NotFound("no key pair " + kek_id + " for " + tenant + " here");
  }
  const std::string path = impl_->PathOf(tenant, epoch);
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return common::Error::Unavailable(Errno("cannot open", path));
  const PrivateKey zeros{};
  const bool wiped =
      ::write(fd, zeros.data(), zeros.size()) == static_cast<ssize_t>(zeros.size()) &&
      ::fsync(fd) == 0;
  ::close(fd);
  if (!wiped) return common::Error::Unavailable(Errno("cannot overwrite", path));
  if (::unlink(path.c_str()) != 0) return common::Error::Unavailable(Errno("cannot delete", path));
  const int d = ::open(impl_->dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d >= 0) {
    (void)::fsync(d);
    ::close(d);
  }
  impl_->Forget(tenant, epoch);
  return common::Ok();
}

}  // namespace vault
