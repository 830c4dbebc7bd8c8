#include "witness/data_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "durable_file.h"

namespace witness {

common::Status MakeDataDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return common::Error::Unavailable("cannot create " + dir + ": " + std::strerror(errno));
  }
  return common::Ok();
}

common::Result<int> LockDataDir(const std::string& dir) {
  RETURN_IF_ERROR(MakeDataDir(dir));
  const std::string path = dir + "/lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return common::Error::Unavailable("cannot open " + path + ": " + std::strerror(errno));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    ::close(fd);
    if (e == EWOULDBLOCK) {
      return common::Error::Conflict("another notary-witness uses " + dir);
    }
    return common::Error::Unavailable("cannot lock " + path + ": " + std::strerror(e));
  }
  return fd;
}

common::Result<notary::Ed25519Signer> LoadOrCreateKey(const std::string& dir) {
  const std::string path = dir + "/" + kKeyFileName;
  auto pem = ReadSmallFile(path, 64 * 1024);
  if (!pem.ok() && pem.error().code() == common::ErrorCode::kNotFound) {
    ASSIGN_OR_RETURN(auto fresh, notary::Ed25519Signer::Generate());
    ASSIGN_OR_RETURN(std::string text, fresh.PrivatePem());
    auto created = CreateSecretFile(path, text);
    if (created.ok()) return fresh;
    // kConflict: another process (a --print-vkey beside a starting witness) made it first.
    if (created.error().code() != common::ErrorCode::kConflict) return created.error();
    pem = ReadSmallFile(path, 64 * 1024);
  }
  RETURN_IF_ERROR(pem);
  struct stat sb {};
  if (::stat(path.c_str(), &sb) != 0 || (sb.st_mode & 077) != 0) {
    return common::Error::PermissionDenied(path + " may be read by others: chmod 600 it");
  }
  auto key = notary::Ed25519Signer::FromPrivatePem(*pem);
  if (!key.ok()) return common::Error::InvalidInput(path + " is not an Ed25519 private key");
  return key;
}

}  // namespace witness
