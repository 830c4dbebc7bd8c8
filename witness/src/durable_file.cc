#include "durable_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace witness {
namespace {

std::string Why(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

common::Status WriteAll(int fd, std::string_view data, const std::string& path, bool sync) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return common::Error::Unavailable(Why("cannot write", path));
    data.remove_prefix(static_cast<size_t>(n));
  }
  if (sync && ::fsync(fd) != 0) return common::Error::Unavailable(Why("cannot fsync", path));
  return common::Ok();
}

common::Status SyncDirOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return common::Error::Unavailable(Why("cannot open", dir));
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return common::Error::Unavailable(Why("cannot fsync", dir));
  return common::Ok();
}

}  // namespace

common::Status WriteDurably(const std::string& path, std::string_view data, bool sync) {
  const std::string tmp = path + ".new";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return common::Error::Unavailable(Why("cannot create", tmp));
  common::Status st = WriteAll(fd, data, tmp, sync);
  if (::close(fd) != 0 && st.ok()) st = common::Error::Unavailable(Why("cannot close", tmp));
  RETURN_IF_ERROR(st);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return common::Error::Unavailable(Why("cannot replace", path));
  }
  return sync ? SyncDirOf(path) : common::Ok();
}

common::Status CreateSecretFile(const std::string& path, std::string_view data) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  ::unlink(tmp.c_str());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return common::Error::Unavailable(Why("cannot create", tmp));
  common::Status st = WriteAll(fd, data, tmp, /*sync=*/true);
  ::close(fd);
  if (st.ok() && ::link(tmp.c_str(), path.c_str()) != 0) {
    st = errno == EEXIST ? common::Status(common::Error::Conflict(path + " exists"))
                         : common::Status(common::Error::Unavailable(Why("cannot create", path)));
  }
  ::unlink(tmp.c_str());
  RETURN_IF_ERROR(st);
  return SyncDirOf(path);
}

common::Result<std::string> ReadSmallFile(const std::string& path, size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return common::Error::NotFound(path + " does not exist");
    return common::Error::Unavailable(Why("cannot open", path));
  }
  std::string out;
  char buf[8192];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return common::Error::Unavailable(Why("cannot read", path));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes) {
      ::close(fd);
      return common::Error::InvalidInput(path + " is larger than expected");
    }
  }
  ::close(fd);
  return out;
}

}  // namespace witness
