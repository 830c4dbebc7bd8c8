#include "spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/bytes.h"

namespace milter {
namespace {

namespace fs = std::filesystem;

common::Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return common::Error::Unavailable("cannot open spool directory");
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return common::Error::Unavailable("cannot fsync spool directory");
  return common::Ok();
}

common::Status WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return common::Error::Unavailable(std::string("spool write: ") + strerror(errno));
    done += static_cast<size_t>(n);
  }
  return common::Ok();
}

bool IsSpoolName(const std::string& name) {
  return name.size() > 4 && name.compare(name.size() - 4, 4, ".msg") == 0;
}

}  // namespace

common::Result<std::unique_ptr<Spool>> Spool::Open(const std::string& dir, uint64_t max_bytes) {
  std::error_code ec;
  for (const char* sub : {"tmp", "new", "failed"}) {
    fs::create_directories(fs::path(dir) / sub, ec);
    if (ec) return common::Error::Unavailable("cannot create spool directory " + dir);
  }
  std::unique_ptr<Spool> spool(new Spool(dir, max_bytes));
  for (const auto& e : fs::directory_iterator(fs::path(dir) / "tmp", ec)) {
    fs::remove(e.path(), ec);  // never renamed, so never acknowledged to the MTA
  }
  uint64_t total = 0;
  for (const auto& e : fs::directory_iterator(fs::path(dir) / "new", ec)) {
    if (e.is_regular_file(ec)) total += e.file_size(ec);
  }
  spool->bytes_ = total;
  return spool;
}

std::string Spool::NewId() {
  // <microseconds since the epoch, 17 digits>-<counter, 8 digits>-<random>: name order is
  // arrival order within one process; the random part keeps ids unique across restarts
  // and hosts, so they can serve as idempotency keys.
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  uint8_t rnd[8];
  if (RAND_bytes(rnd, sizeof rnd) != 1) std::fill(std::begin(rnd), std::end(rnd), 0);
  char head[64];
  std::snprintf(head, sizeof head, "%017lld-%08llu-", static_cast<long long>(us),
                static_cast<unsigned long long>(counter_.fetch_add(1) % 100000000));
  return std::string(head) + common::ToHex(std::span<const uint8_t>(rnd, sizeof rnd)) + ".msg";
}

common::Result<std::string> Spool::Put(const std::string& data) {
  {
    // Reserve the space; the write itself runs unlocked so that concurrent sessions' fsyncs
    // overlap instead of queueing behind one another.
    std::lock_guard lock(mu_);
    if (bytes_.load() + data.size() > max_bytes_) {
      return common::Error::Unavailable("spool full");
    }
    bytes_ += data.size();
  }
  const std::string id = NewId();
  const std::string tmp = dir_ + "/tmp/" + id;
  common::Status st = common::Ok();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    st = common::Error::Unavailable(std::string("spool open: ") + strerror(errno));
  } else {
    st = WriteAll(fd, data);
    if (st.ok() && ::fsync(fd) != 0) st = common::Error::Unavailable("spool fsync failed");
    if (::close(fd) != 0 && st.ok()) st = common::Error::Unavailable("spool close failed");
    if (st.ok() && ::rename(tmp.c_str(), (dir_ + "/new/" + id).c_str()) != 0) {
      st = common::Error::Unavailable("spool rename failed");
    }
    if (!st.ok()) ::unlink(tmp.c_str());
  }
  if (st.ok()) st = SyncDir(dir_ + "/new");
  if (!st.ok()) {
    // Not acknowledged: the MTA answers 4xx. A file already renamed stays and is forwarded
    // (a copy too many is harmless; a copy missing is not), so its bytes stay counted.
    if (!std::filesystem::exists(dir_ + "/new/" + id)) bytes_ -= data.size();
    return st.error();
  }
  return id;
}

std::vector<std::string> Spool::List() const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(dir_) / "new", ec)) {
    std::string name = e.path().filename().string();
    if (IsSpoolName(name)) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

common::Result<std::string> Spool::Read(const std::string& id) const {
  std::ifstream in(dir_ + "/new/" + id, std::ios::binary);
  if (!in) return common::Error::NotFound("spool file vanished");
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return common::Error::Unavailable("spool read failed");
  return data;
}

common::Status Spool::Remove(const std::string& id) {
  const std::string path = dir_ + "/new/" + id;
  struct stat st {};
  uint64_t size = ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  if (::unlink(path.c_str()) != 0) return common::Error::Unavailable("spool unlink failed");
  bytes_ -= std::min<uint64_t>(size, bytes_.load());
  return SyncDir(dir_ + "/new");
}

common::Status Spool::Quarantine(const std::string& id) {
  const std::string from = dir_ + "/new/" + id;
  struct stat st {};
  uint64_t size = ::stat(from.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  if (::rename(from.c_str(), (dir_ + "/failed/" + id).c_str()) != 0) {
    return common::Error::Unavailable("spool quarantine failed");
  }
  bytes_ -= std::min<uint64_t>(size, bytes_.load());
  if (auto s = SyncDir(dir_ + "/failed"); !s.ok()) return s;
  return SyncDir(dir_ + "/new");
}

}  // namespace milter
