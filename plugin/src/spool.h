// Spool: the durable fail-open queue of notary-milter, one file per message in <dir>/new,
// named so that name order is arrival order. A file appears there only complete and on disk:
// written to <dir>/tmp, fsync'd, renamed, then the directory fsync'd. Files left in tmp by a
// crash were never acknowledged to the MTA and are removed at start. Files notaryd refused
// for good (bad request) move to <dir>/failed, never deleted.
//
// Thread-safety: thread-safe; Put may run from many milter threads while the forwarder lists,
// reads and removes.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"

namespace milter {

class Spool {
 public:
  // Creates <dir>/{tmp,new,failed} when missing, removes leftovers in tmp, counts the bytes.
  static common::Result<std::unique_ptr<Spool>> Open(const std::string& dir, uint64_t max_bytes);

  // Stores `data` durably; returns its id (the file name). kUnavailable when the spool holds
  // max_bytes already (nothing written) or the disk refuses.
  common::Result<std::string> Put(const std::string& data);
  // Ids waiting in new/, oldest first.
  std::vector<std::string> List() const;
  common::Result<std::string> Read(const std::string& id) const;
  // Deletes a forwarded file and makes the deletion durable.
  common::Status Remove(const std::string& id);
  // Moves a file notaryd refused for good to failed/.
  common::Status Quarantine(const std::string& id);

  uint64_t bytes() const { return bytes_.load(); }
  uint64_t max_bytes() const { return max_bytes_; }
  const std::string& dir() const { return dir_; }

 private:
  Spool(std::string dir, uint64_t max_bytes) : dir_(std::move(dir)), max_bytes_(max_bytes) {}
  std::string NewId();

  const std::string dir_;
  const uint64_t max_bytes_;
  std::atomic<uint64_t> bytes_{0};  // bytes in new/
  std::atomic<uint64_t> counter_{0};
  std::mutex mu_;  // serialises the size check and reservation in Put
};

}  // namespace milter
