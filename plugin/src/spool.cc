#include "spool.h"

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
#include <vector>

#include "common/bytes.h"
#include "spool_frame.h"

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

common::Status WriteAll(int fd, std::string_view data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return common::Error::Unavailable(std::string("spool write: ") + strerror(errno));
    done += static_cast<size_t>(n);
  }
  return common::Ok();
}

bool ReadAt(int fd, uint64_t offset, size_t n, std::string& out) {
  out.resize(n);
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, out.data() + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    done += static_cast<size_t>(r);
  }
  return true;
}

uint64_t FileSize(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

// Writes a small file durably under its final name (tmp, fsync, rename, fsync dir).
common::Status WriteFileDurably(const std::string& dir, const std::string& name,
                                std::string_view data) {
  const std::string tmp = dir + "/." + name + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return common::Error::Unavailable(std::string("spool open: ") + strerror(errno));
  common::Status st = WriteAll(fd, data);
  if (st.ok() && ::fdatasync(fd) != 0) st = common::Error::Unavailable("spool fsync failed");
  ::close(fd);
  if (st.ok() && ::rename(tmp.c_str(), (dir + "/" + name).c_str()) != 0) {
    st = common::Error::Unavailable("spool rename failed");
  }
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  return SyncDir(dir);
}

// Segment numbers in <dir>/log, ascending.
std::vector<uint64_t> Segments(const std::string& log_dir) {
  std::vector<uint64_t> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(log_dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() != 24 || name.compare(20, 4, ".seg") != 0) continue;
    if (name.find_first_not_of("0123456789") != 20) continue;
    out.push_back(std::stoull(name.substr(0, 20)));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Walks the valid frames of `fd` from `offset` up to `end`; returns where they stop.
uint64_t ScanFrames(int fd, uint64_t offset, uint64_t end, bool check_digest, uint64_t* bytes,
                    uint64_t* records) {
  std::string header, body;
  while (offset + kFrameHeaderBytes <= end) {
    if (!ReadAt(fd, offset, kFrameHeaderBytes, header)) break;
    auto h = DecodeFrameHeader(header, end - offset);
    if (!h) break;
    if (check_digest &&
        (!ReadAt(fd, offset + kFrameHeaderBytes, h->id_bytes + h->data_bytes, body) ||
         !FrameBodyMatches(*h, body))) {
      break;
    }
    offset += h->frame_bytes();
    *bytes += h->frame_bytes();
    *records += 1;
  }
  return offset;
}

}  // namespace

struct Spool::Batch {
  std::string buf;
  uint64_t records = 0;
  bool done = false;
  common::Status status = common::Ok();
};

Spool::Spool(std::string dir, uint64_t max_bytes, uint64_t segment_bytes)
    : dir_(std::move(dir)), max_bytes_(max_bytes), segment_bytes_(segment_bytes) {}

Spool::~Spool() {
  if (fd_ >= 0) ::close(fd_);
  if (read_fd_ >= 0) ::close(read_fd_);
}

std::string Spool::SegmentPath(uint64_t seq) const {
  char name[32];
  std::snprintf(name, sizeof name, "%020llu.seg", static_cast<unsigned long long>(seq));
  return dir_ + "/log/" + name;
}

common::Result<std::unique_ptr<Spool>> Spool::Open(const std::string& dir, uint64_t max_bytes,
                                                   uint64_t segment_bytes) {
  std::error_code ec;
  for (const char* sub : {"log", "failed"}) {
    fs::create_directories(fs::path(dir) / sub, ec);
    if (ec) return common::Error::Unavailable("cannot create spool directory " + dir);
  }
  std::unique_ptr<Spool> spool(new Spool(dir, max_bytes, segment_bytes));
  if (auto st = spool->Recover(); !st.ok()) return st.error();
  if (auto st = spool->TakeOverOldSpool(); !st.ok()) return st.error();
  return spool;
}

common::Status Spool::Recover() {
  const std::string log_dir = dir_ + "/log";
  uint64_t cursor_seq = 0, cursor_offset = 0;
  {
    std::ifstream in(dir_ + "/cursor");
    if (in) in >> cursor_seq >> cursor_offset;
  }
  std::vector<uint64_t> segs = Segments(log_dir);
  // Segments wholly before the cursor were forwarded; a crash came before their deletion.
  while (!segs.empty() && segs.front() < cursor_seq) {
    ::unlink(SegmentPath(segs.front()).c_str());
    segs.erase(segs.begin());
  }
  read_seq_ = segs.empty() ? 0 : segs.front();
  read_offset_ = (!segs.empty() && segs.front() == cursor_seq) ? cursor_offset : 0;
  uint64_t bytes = 0, records = 0;
  for (uint64_t seq : segs) {
    int fd = ::open(SegmentPath(seq).c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return common::Error::Unavailable("cannot open spool segment");
    const uint64_t size = FileSize(fd);
    const uint64_t from = seq == read_seq_ ? std::min(read_offset_, size) : 0;
    const bool last = seq == segs.back();
    // Only the last segment can have a torn tail: a batch that was being written.
    uint64_t end = ScanFrames(fd, from, size, last, &bytes, &records);
    if (last && end < size) {
      if (::ftruncate(fd, static_cast<off_t>(end)) != 0 || ::fsync(fd) != 0) {
        ::close(fd);
        return common::Error::Unavailable("cannot cut the torn tail of a spool segment");
      }
    }
    ::close(fd);
  }
  bytes_ = bytes;
  records_ = records;
  const uint64_t next = segs.empty() ? std::max<uint64_t>(cursor_seq, 1) : segs.back() + 1;
  if (segs.empty()) read_seq_ = next, read_offset_ = 0;
  if (auto st = StartSegment(next); !st.ok()) return st;
  durable_seq_ = seq_;
  durable_size_ = 0;
  return common::Ok();
}

common::Status Spool::TakeOverOldSpool() {
  // The earlier format: one file per message in new/ (name order is arrival order), files
  // in tmp/ never acknowledged. Its file stems stay the ids, so keys are unchanged.
  const fs::path old_new = fs::path(dir_) / "new";
  std::error_code ec;
  fs::remove_all(fs::path(dir_) / "tmp", ec);
  if (!fs::is_directory(old_new, ec)) return common::Ok();
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(old_new, ec)) {
    std::string name = e.path().filename().string();
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".msg") == 0) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    std::ifstream in(old_new / name, std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) return common::Error::Unavailable("cannot read old spool file " + name);
    // Taken over whatever the limit: these were acknowledged to the MTA already.
    auto id = Append(name.substr(0, name.size() - 4), data, /*enforce_limit=*/false);
    if (!id.ok()) return id.error();
    fs::remove(old_new / name, ec);
  }
  if (auto st = SyncDir(old_new.string()); !st.ok()) return st;
  fs::remove(old_new, ec);  // only when empty
  return common::Ok();
}

common::Status Spool::StartSegment(uint64_t seq) {
  const std::string path = SegmentPath(seq);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return common::Error::Unavailable(std::string("spool segment: ") + strerror(errno));
  // The new name must be durable before any record in it is acknowledged.
  if (auto st = SyncDir(dir_ + "/log"); !st.ok()) {
    ::close(fd);
    ::unlink(path.c_str());
    return st;
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  seq_ = seq;
  size_ = 0;
  return common::Ok();
}

std::string Spool::NewId() {
  // <microseconds since the epoch, 17 digits>-<counter, 8 digits>-<random>: unique across
  // restarts and hosts, so it serves as the idempotency key.
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  uint8_t rnd[8];
  if (RAND_bytes(rnd, sizeof rnd) != 1) std::fill(std::begin(rnd), std::end(rnd), 0);
  char head[64];
  std::snprintf(head, sizeof head, "%017lld-%08llu-", static_cast<long long>(us),
                static_cast<unsigned long long>(counter_.fetch_add(1) % 100000000));
  return std::string(head) + common::ToHex(std::span<const uint8_t>(rnd, sizeof rnd));
}

common::Result<std::string> Spool::Put(const std::string& data) {
  return Append(NewId(), data, true);
}

common::Result<std::string> Spool::Append(std::string id, const std::string& data,
                                          bool enforce_limit) {
  std::string frame = EncodeFrame(id, data);  // hashing outside the lock
  std::unique_lock lock(mu_);
  if (enforce_limit && bytes_.load() + frame.size() > max_bytes_) {
    return common::Error::Unavailable("spool full");
  }
  bytes_ += frame.size();
  if (!open_) open_ = std::make_shared<Batch>();
  std::shared_ptr<Batch> mine = open_;
  mine->buf += frame;
  mine->records += 1;
  while (!mine->done) {
    if (writing_) {
      cv_.wait(lock);
      continue;
    }
    // No leader: this thread writes the open batch, its own record among them.
    std::shared_ptr<Batch> batch = std::move(open_);
    open_.reset();
    writing_ = true;
    lock.unlock();
    common::Status st = WriteBatch(batch->buf);
    lock.lock();
    writing_ = false;
    batch->done = true;
    batch->status = st;
    if (st.ok()) {
      durable_seq_ = seq_;
      durable_size_ = size_;
      records_ += batch->records;
    } else {
      bytes_ -= batch->buf.size();
    }
    cv_.notify_all();
  }
  if (!mine->status.ok()) return mine->status.error();
  return id;
}

common::Status Spool::WriteBatch(const std::string& buf) {
  if (fd_ < 0 || size_ >= segment_bytes_) {
    if (auto st = StartSegment(seq_ + 1); !st.ok()) return st;
  }
  const uint64_t start = size_;
  common::Status st = WriteAll(fd_, buf);
  if (st.ok() && ::fdatasync(fd_) != 0) st = common::Error::Unavailable("spool fdatasync failed");
  commits_.fetch_add(1);
  if (st.ok()) {
    size_ += buf.size();
    return st;
  }
  // Not acknowledged: cut the batch off so that no reader meets half a frame; when that
  // fails too, the next batch starts a new segment and the reader sets this one aside.
  if (::ftruncate(fd_, static_cast<off_t>(start)) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
  return st;
}

void Spool::FinishReadSegment(bool corrupt) {
  const uint64_t finished = read_seq_;
  if (read_fd_ >= 0) ::close(read_fd_);
  read_fd_ = -1;
  uint64_t next = 0;
  for (uint64_t seq : Segments(dir_ + "/log")) {
    if (seq > finished) {
      next = seq;
      break;
    }
  }
  read_seq_ = next;
  read_offset_ = 0;
  cursor_dirty_ = true;
  // The cursor moves past the segment before the segment goes.
  (void)SaveCursor();
  if (corrupt) {
    // Kept for the administrator; a crash would replay it from the cursor otherwise.
    const std::string name = SegmentPath(finished).substr(dir_.size() + 5);
    (void)::rename(SegmentPath(finished).c_str(), (dir_ + "/failed/" + name).c_str());
  } else {
    ::unlink(SegmentPath(finished).c_str());
  }
}

common::Result<std::optional<Spool::Entry>> Spool::Next() {
  for (;;) {
    uint64_t dseq, dsize;
    {
      std::lock_guard lock(mu_);
      dseq = durable_seq_;
      dsize = durable_size_;
    }
    if (read_seq_ == 0 || read_seq_ > dseq) return std::optional<Entry>();
    if (read_fd_ < 0 || read_fd_seq_ != read_seq_) {
      if (read_fd_ >= 0) ::close(read_fd_);
      read_fd_ = ::open(SegmentPath(read_seq_).c_str(), O_RDONLY | O_CLOEXEC);
      if (read_fd_ < 0) {
        if (read_seq_ == dseq) return common::Error::Unavailable("cannot open spool segment");
        FinishReadSegment(false);  // gone: nothing left in it
        continue;
      }
      read_fd_seq_ = read_seq_;
    }
    const bool active = read_seq_ == dseq;
    const uint64_t end = active ? dsize : FileSize(read_fd_);
    if (read_offset_ >= end) {
      if (active) return std::optional<Entry>();
      FinishReadSegment(false);
      continue;
    }
    std::string header, body;
    std::optional<FrameHeader> h;
    if (ReadAt(read_fd_, read_offset_, kFrameHeaderBytes, header)) {
      h = DecodeFrameHeader(header, end - read_offset_);
    }
    if (!h ||
        !ReadAt(read_fd_, read_offset_ + kFrameHeaderBytes, h->id_bytes + h->data_bytes, body) ||
        !FrameBodyMatches(*h, body)) {
      if (active) return common::Error::Internal("spool segment unreadable at its durable part");
      FinishReadSegment(true);
      return common::Error::InvalidInput("spool segment unreadable; set aside in failed/");
    }
    Entry e;
    e.id = body.substr(0, h->id_bytes);
    e.data = body.substr(h->id_bytes);
    e.seq = read_seq_;
    e.offset = read_offset_;
    e.frame_bytes = h->frame_bytes();
    return std::optional<Entry>(std::move(e));
  }
}

void Spool::Done(const Entry& e) {
  read_seq_ = e.seq;
  read_offset_ = e.offset + e.frame_bytes;
  bytes_ -= std::min<uint64_t>(e.frame_bytes, bytes_.load());
  if (records_.load() > 0) records_ -= 1;
  cursor_dirty_ = true;
  if (++done_since_save_ >= 64) (void)SaveCursor();
}

common::Status Spool::SaveCursor() {
  if (!cursor_dirty_) return common::Ok();
  const std::string text = std::to_string(read_seq_) + " " + std::to_string(read_offset_) + "\n";
  auto st = WriteFileDurably(dir_, "cursor", text);
  if (st.ok()) {
    cursor_dirty_ = false;
    done_since_save_ = 0;
  }
  return st;
}

common::Status Spool::Quarantine(const Entry& e) {
  if (auto st = WriteFileDurably(dir_ + "/failed", e.id + ".msg", e.data); !st.ok()) return st;
  Done(e);
  return common::Ok();
}

}  // namespace milter
