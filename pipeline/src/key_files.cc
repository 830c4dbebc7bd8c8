#include "pipeline/key_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace pipeline {

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

common::Result<std::string> ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return common::Error::NotFound("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {
common::Status WriteWithMode(const std::string& path, const std::string& data, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    return common::Error::Unavailable("cannot create " + path + ": " + std::strerror(errno));
  }
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return common::Error::Unavailable("cannot write " + path + ": " + std::strerror(errno));
    }
    off += static_cast<size_t>(n);
  }
  ::fchmod(fd, mode);  // umask must not widen or narrow what we asked for
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    return common::Error::Unavailable("cannot sync " + path);
  }
  return common::Ok();
}
}  // namespace

common::Status WriteSecretFile(const std::string& path, const std::string& data) {
  return WriteWithMode(path, data, 0600);
}

common::Status WritePublicFile(const std::string& path, const std::string& data) {
  return WriteWithMode(path, data, 0644);
}

common::Status EnsurePrivateDir(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return common::Error::Unavailable("cannot create " + path + ": " + ec.message());
  ::chmod(path.c_str(), 0700);
  return common::Ok();
}

common::Result<std::unique_ptr<vault::KeyHolder>> OpenLocalKeyHolder(const std::string& data_dir) {
  RETURN_IF_ERROR(EnsurePrivateDir(data_dir));
  const std::string dir = data_dir + "/keks.d";
  RETURN_IF_ERROR(EnsurePrivateDir(dir));
  ASSIGN_OR_RETURN(auto holder, vault::FileKeyHolder::Open(dir));
  return std::unique_ptr<vault::KeyHolder>(std::move(holder));
}

}  // namespace pipeline
