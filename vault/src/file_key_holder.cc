// FileKeyHolder (key_wrapper.h): the tenants' X25519 private keys as files.
#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>

#include "common/bytes.h"
#include "common/sha256.h"
#include "vault/key_wrapper.h"

namespace vault {
namespace {

constexpr const char* kEpoch = "1";

// "file/<epoch>/<first 16 hex digits of SHA-256(public key)>": names the key pair itself, so
// that a node asked for another's key says it has none rather than failing to open.
std::string KekIdOf(const PublicKey& pub) {
  return std::string("file/") + kEpoch + "/" + common::ToHex(common::Sha256Of(pub)).substr(0, 16);
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
  // A tenant's key pair of the current epoch, its public half and name derived once.
  struct Pair {
    PrivateKey key;
    TenantKey pub;
  };
  std::map<std::string, Pair> loaded;  // by tenant

  ~Impl() {
    for (auto& [t, p] : loaded) OPENSSL_cleanse(p.key.data(), p.key.size());
  }

  // The tenant's key pair, read, or made when `create`; with mu held. The reference stays
  // valid while mu is held.
  common::Result<const Pair*> Load(const std::string& tenant, bool create) {
    if (!IsTenantName(tenant)) return common::Error::InvalidInput("not a tenant name");
    if (auto it = loaded.find(tenant); it != loaded.end()) return &it->second;
    const std::string path = dir + "/" + tenant + ".kek." + kEpoch;
    auto k = ReadKeyFile(path);
    if (!k.ok() && k.error().code() == common::ErrorCode::kNotFound && create) {
      ASSIGN_OR_RETURN(PrivateKey fresh, NewPrivateKey());
      auto st = CreateKeyFile(dir, path, fresh);
      if (st.ok()) {
        k = fresh;
      } else if (st.error().code() == common::ErrorCode::kConflict) {
        k = ReadKeyFile(path);  // another process made it first
      } else {
        k = st.error();
      }
      OPENSSL_cleanse(fresh.data(), fresh.size());
    }
    if (!k.ok()) return k.error();
    auto pub = PublicKeyOf(*k);
    if (!pub.ok()) {
      OPENSSL_cleanse(k->data(), k->size());
      return pub.error();
    }
    Pair& pair = loaded[tenant];
    pair.key = *k;
    pair.pub = TenantKey{KekIdOf(*pub), *pub};
    OPENSSL_cleanse(k->data(), k->size());
    return &pair;
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
  ASSIGN_OR_RETURN(const Impl::Pair* pair, impl_->Load(tenant, /*create=*/true));
  return pair->pub;
}

common::Result<std::vector<Key>> FileKeyHolder::Unwrap(const std::string& tenant,
                                                       const std::string& kek_id,
                                                       std::span<const std::string> wrapped) {
  if (wrapped.empty() || wrapped.size() > kMaxKeysPerCall) {
    return common::Error::InvalidInput("unwrap 1 to 512 keys per call");
  }
  std::lock_guard lock(impl_->mu);
  auto pair = impl_->Load(tenant, /*create=*/false);
  if (!pair.ok() && pair.error().code() != common::ErrorCode::kNotFound) return pair.error();
  if (!pair.ok() || (*pair)->pub.kek_id != kek_id) {
    return common::Error::NotFound("no key pair " + kek_id + " for " + tenant + " here");
  }
  return UnwrapKeys(tenant, kek_id, (*pair)->key, wrapped);
}

}  // namespace vault
