// Spool: the durable fail-open queue of notary-milter, an append-only log of records in
// segment files <dir>/log/<seq>.seg (format: spool_frame.h), read in order by the forwarder.
//
// Put group-commits: the records that arrive while a write is under way are appended
// together by one thread and made durable by one fdatasync, as Postfix's queue and database
// logs do; each Put returns only once its own record is on disk (the MTA says 250 only then).
// The segment being written is zero-filled ahead of the records (kZeroAheadBytes at a time,
// synced with the batch that needed them), so that a commit overwrites blocks that already
// exist: its fdatasync then writes the data and nothing else (no block allocation, no inode
// update for a new size, no journal commit), as a database's preallocated log does. The
// zeros are cut off when the segment is closed; a reader stops at them (a frame never starts
// with a zero byte).
// <dir>/cursor holds the reader's position: records before it were confirmed by notaryd. It
// is saved every 64 records and when the log is drained, so a crash may lose the last
// moments of progress and a few records are sent again; their idempotency keys make notaryd
// answer with the first receipt. A copy too many is harmless, a copy missing is not.
//
// At Open: a torn tail of the last segment (written, never acknowledged) is cut off;
// segments before the cursor are deleted; a spool of the earlier one-file-per-message
// format (<dir>/new/*.msg) is taken over in name order; writing starts in a new segment.
// Records notaryd refused for good go to <dir>/failed/<id>.msg, never deleted.
//
// Thread-safety: Put from any number of threads; Next, Done, Quarantine and SaveCursor from
// one reader thread; the counters from anywhere.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/thread_annotations.h"

namespace milter {

class Spool {
 public:
  static constexpr uint64_t kDefaultSegmentBytes = 64ull << 20;
  static constexpr uint64_t kZeroAheadBytes = 4ull << 20;

  static common::Result<std::unique_ptr<Spool>> Open(const std::string& dir, uint64_t max_bytes,
                                                     uint64_t segment_bytes = kDefaultSegmentBytes);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Stores `data` durably; returns its id (unique across restarts and hosts, an idempotency
  // key). kUnavailable "spool full" when the spool holds max_bytes already (nothing
  // written), or when the disk refuses.
  // The record's data is the concatenation of `parts`, which are written where they lie.
  common::Result<std::string> Put(std::span<const std::string_view> parts);
  common::Result<std::string> Put(std::string_view data) {
    return Put(std::span<const std::string_view>(&data, 1));
  }

  struct Entry {
    std::string id, data;
    uint64_t seq = 0, offset = 0, frame_bytes = 0;
  };
  // The oldest durable record not yet Done; nullopt when there is none.
  common::Result<std::optional<Entry>> Next() EXCLUDES(mu_);
  // `e` (the last Next) was forwarded: the reader moves past it.
  void Done(const Entry& e);
  // `e` was refused for good: kept in failed/, then Done.
  common::Status Quarantine(const Entry& e);
  // Makes the reader's position durable when it moved since the last save.
  common::Status SaveCursor();

  uint64_t bytes() const { return bytes_.load(); }      // bytes of records not yet Done
  uint64_t records() const { return records_.load(); }  // records not yet Done
  uint64_t commits() const { return commits_.load(); }  // fdatasyncs of the write side
  uint64_t max_bytes() const { return max_bytes_; }
  const std::string& dir() const { return dir_; }

 private:
  Spool(std::string dir, uint64_t max_bytes, uint64_t segment_bytes);
  std::string NewId();
  common::Result<std::string> Append(std::string id, std::span<const std::string_view> parts,
                                     bool enforce_limit) EXCLUDES(mu_);
  struct Batch;
  common::Status WriteBatch(const Batch& batch) EXCLUDES(mu_);  // the leader of a group commit
  common::Status ZeroAhead(uint64_t end);  // the leader: zeros up to at least `end`
  void CloseSegment();                     // the leader: cut the zeros, close
  common::Status StartSegment(uint64_t seq);
  common::Status Recover() EXCLUDES(mu_);
  common::Status TakeOverOldSpool();
  void FinishReadSegment(bool corrupt);
  std::string SegmentPath(uint64_t seq) const;

  const std::string dir_;
  const uint64_t max_bytes_, segment_bytes_;
  std::atomic<uint64_t> bytes_{0}, records_{0}, commits_{0}, counter_{0};
  std::string id_suffix_;  // random, drawn once per Open: ids stay unique across processes

  // Write side. The first record of a batch makes its thread the batch's leader: it waits
  // (leader_cv_) until no other batch is being written, then writes its batch; the others in
  // the batch wait on the batch's own condition. Each wait thus ends with one wake-up.
  common::Mutex mu_;
  std::condition_variable_any leader_cv_;
  std::shared_ptr<Batch> open_ GUARDED_BY(mu_);  // the batch new records join
  bool writing_ GUARDED_BY(mu_) = false;         // a leader is writing a batch
  uint64_t durable_seq_ GUARDED_BY(mu_) = 0;     // the readable end of the log
  uint64_t durable_size_ GUARDED_BY(mu_) = 0;
  int fd_ = -1;  // the segment being written; only the leader touches these
  uint64_t seq_ = 0, size_ = 0;
  uint64_t zeroed_ = 0;  // the segment's length, zeros beyond size_ included

  // Read side (reader thread only).
  uint64_t read_seq_ = 0, read_offset_ = 0;
  int read_fd_ = -1;
  uint64_t read_fd_seq_ = 0;
  int done_since_save_ = 0;
  bool cursor_dirty_ = false;
};

}  // namespace milter
