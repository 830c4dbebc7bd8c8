#include "spool.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
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

// Writes `iov` (consumed) at `offset`, resuming after short writes.
common::Status WriteAllAt(int fd, uint64_t offset, std::vector<iovec>& iov) {
  size_t first = 0;
  while (first < iov.size()) {
    const int n_iov = static_cast<int>(std::min<size_t>(iov.size() - first, IOV_MAX));
    ssize_t n = ::pwritev(fd, iov.data() + first, n_iov, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return common::Error::Unavailable(std::string("spool write: ") + strerror(errno));
    offset += static_cast<uint64_t>(n);
    for (size_t left = static_cast<size_t>(n); left > 0;) {
      iovec& v = iov[first];
      const size_t take = std::min(left, v.iov_len);
      v.iov_base = static_cast<char*>(v.iov_base) + take;
      v.iov_len -= take;
      left -= take;
      if (v.iov_len == 0) ++first;
    }
    while (first < iov.size() && iov[first].iov_len == 0) ++first;
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

// True when the file holds only zero bytes from `offset` to `end`: the zero-filled space
// ahead of the records of a segment that was not closed cleanly.
bool ZerosToEnd(int fd, uint64_t offset, uint64_t end) {
  std::string buf;
  while (offset < end) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(end - offset, 1 << 16));
    if (!ReadAt(fd, offset, n, buf)) return false;
    if (buf.find_first_not_of('\0') != std::string::npos) return false;
    offset += n;
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

// The records of one group commit. Its iovecs point into the Append frames of its members,
// which wait until `done`, so the bytes stay where they are until the leader wrote them.
// Every member is read and written under Spool::mu_ except by the leader while it writes the
// batch (the analysis cannot name that mutex from here).
struct Spool::Batch {
  std::vector<iovec> iov;
  uint64_t bytes = 0, records = 0;
  bool done = false;
  common::Status status = common::Ok();
  std::condition_variable_any cv;  // the members wait here (on Spool::mu_) for `done`
};

Spool::Spool(std::string dir, uint64_t max_bytes, uint64_t segment_bytes)
    : dir_(std::move(dir)), max_bytes_(max_bytes), segment_bytes_(segment_bytes) {}

Spool::~Spool() {
  CloseSegment();
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
  uint8_t rnd[8];
  if (RAND_bytes(rnd, sizeof rnd) != 1) {
    return common::Error::Unavailable("no random bytes for spool ids");
  }
  spool->id_suffix_ = common::ToHex(std::span<const uint8_t>(rnd, sizeof rnd));
  RETURN_IF_ERROR(spool->Recover());
  RETURN_IF_ERROR(spool->TakeOverOldSpool());
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
  common::MutexLock lock(mu_);  // not shared yet, but the members are guarded
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
    const std::string_view part = data;
    auto status =
        Append(name.substr(0, name.size() - 4), std::span<const std::string_view>(&part, 1),
               /*enforce_limit=*/false);
    RETURN_IF_ERROR(status);
    fs::remove(old_new / name, ec);
  }
  if (auto st = SyncDir(old_new.string()); !st.ok()) return st;
  fs::remove(old_new, ec);  // only when empty
  return common::Ok();
}

common::Status Spool::StartSegment(uint64_t seq) {
  const std::string path = SegmentPath(seq);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return common::Error::Unavailable(std::string("spool segment: ") + strerror(errno));
  // The new name must be durable before any record in it is acknowledged.
  if (auto st = SyncDir(dir_ + "/log"); !st.ok()) {
    ::close(fd);
    ::unlink(path.c_str());
    return st;
  }
  CloseSegment();
  fd_ = fd;
  seq_ = seq;
  size_ = 0;
  zeroed_ = 0;
  return common::Ok();
}

void Spool::CloseSegment() {
  if (fd_ < 0) return;
  // A closed segment holds its records and nothing else. Should the cut not reach the disk,
  // a reader still stops at the zeros.
  if (zeroed_ > size_ && ::ftruncate(fd_, static_cast<off_t>(size_)) == 0) (void)::fdatasync(fd_);
  ::close(fd_);
  fd_ = -1;
}

common::Status Spool::ZeroAhead(uint64_t end) {
  if (end <= zeroed_) return common::Ok();
  // A whole step at a time (a segment's worth at most, but always past `end`): most commits
  // then find their blocks written already.
  const uint64_t step = std::max<uint64_t>(1, std::min(kZeroAheadBytes, segment_bytes_));
  const uint64_t target = std::max(end, zeroed_ + step);
  static const std::string zeros(1 << 16, '\0');
  std::vector<iovec> iov;
  for (uint64_t left = target - zeroed_; left > 0;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(left, zeros.size()));
    iov.push_back({const_cast<char*>(zeros.data()), n});
    left -= n;
  }
  if (auto st = WriteAllAt(fd_, zeroed_, iov); !st.ok()) return st;
  zeroed_ = target;  // made durable by the commit that follows
  return common::Ok();
}

std::string Spool::NewId() {
  // <microseconds since the epoch, 17 digits>-<counter, 8 digits>-<random of this Open>:
  // unique across restarts and hosts, so it serves as the idempotency key. The random part
  // is drawn once: a draw per record would set up OpenSSL's per-thread generator in every
  // libmilter thread, that is for every SMTP connection.
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  char head[64];
  std::snprintf(head, sizeof head, "%017lld-%08llu-", static_cast<long long>(us),
                static_cast<unsigned long long>(counter_.fetch_add(1) % 100000000));
  return std::string(head) + id_suffix_;
}

common::Result<std::string> Spool::Put(std::span<const std::string_view> parts) {
  return Append(NewId(), parts, true);
}

common::Result<std::string> Spool::Append(std::string id, std::span<const std::string_view> parts,
                                          bool enforce_limit) {
  const std::string header = EncodeFrameHeader(id, parts);  // hashing outside the lock
  uint64_t frame_bytes = header.size() + id.size();
  for (std::string_view p : parts) frame_bytes += p.size();
  common::MutexLock lock(mu_);
  if (enforce_limit && bytes_.load() + frame_bytes > max_bytes_) {
    return common::Error::Unavailable("spool full");
  }
  bytes_ += frame_bytes;
  // The first record of a batch leads it. The members hold the batch too: they look at it
  // after the leader has returned.
  const bool leader = open_ == nullptr;
  if (leader) open_ = std::make_shared<Batch>();
  const std::shared_ptr<Batch> mine = open_;
  Batch& batch = *mine;
  batch.iov.push_back({const_cast<char*>(header.data()), header.size()});
  batch.iov.push_back({id.data(), id.size()});
  for (std::string_view p : parts) batch.iov.push_back({const_cast<char*>(p.data()), p.size()});
  batch.bytes += frame_bytes;
  batch.records += 1;
  if (!leader) {
    batch.cv.wait(lock, [&batch] { return batch.done; });
    if (!batch.status.ok()) return batch.status.error();
    return id;
  }
  leader_cv_.wait(lock, [this]() REQUIRES(mu_) { return !writing_; });
  // From here on no record joins this batch: later ones open the next.
  open_.reset();
  writing_ = true;
  lock.unlock();
  common::Status st = WriteBatch(batch);
  lock.lock();
  writing_ = false;
  batch.done = true;
  batch.status = st;
  if (st.ok()) {
    durable_seq_ = seq_;
    durable_size_ = size_;
    records_ += batch.records;
  } else {
    bytes_ -= batch.bytes;
  }
  batch.cv.notify_all();
  leader_cv_.notify_one();  // the leader of the next batch, if one waits
  if (!st.ok()) return st.error();
  return id;
}

common::Status Spool::WriteBatch(const Batch& batch) {
  if (fd_ < 0 || size_ >= segment_bytes_) {
    if (auto st = StartSegment(seq_ + 1); !st.ok()) return st;
  }
  const uint64_t start = size_;
  std::vector<iovec> iov = batch.iov;
  common::Status st = ZeroAhead(start + batch.bytes);
  if (st.ok()) st = WriteAllAt(fd_, start, iov);
  if (st.ok() && ::fdatasync(fd_) != 0) st = common::Error::Unavailable("spool fdatasync failed");
  commits_.fetch_add(1);
  if (st.ok()) {
    size_ += batch.bytes;
    return st;
  }
  // Not acknowledged: cut the batch off so that no reader meets half a frame; when that
  // fails too, the next batch starts a new segment and the reader sets this one aside.
  if (::ftruncate(fd_, static_cast<off_t>(start)) == 0) {
    zeroed_ = start;
  } else {
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
      common::MutexLock lock(mu_);
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
    if (!h && !active && ZerosToEnd(read_fd_, read_offset_, end)) {
      FinishReadSegment(false);  // zero-filled space that was never cut off: the end
      continue;
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
