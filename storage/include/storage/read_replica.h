// ReadReplica: reads from a standby (notaryd --read-database-url) that never see less than the
// primary had acknowledged when they began, nor anything the primary's history does not hold.
//
// Enter() reads the primary's WAL flush position (at or past the end of every commit the
// primary has acknowledged) and timeline, and waits up to max_wait for the replica to have
// replayed that far on the same timeline. If it has, the Scope it fills makes every
// transaction this thread runs on the replica's Database while the Scope lives check the same
// first, on its own connection: a pool's connections may reach different standbys, and one
// behind the others fails the transaction with kUnavailable instead of reading an older view.
// If the replica is not there in time, Enter returns false and the caller reads from the
// primary.
//
// The timeline: after a failover, a standby that followed the old primary further than the
// promoted one had (asynchronous standbys can) holds commits the new history lacks, until
// Patroni rewinds it; its replay position alone cannot tell. A standby's timeline is read from
// its last restartpoint (pg_control_checkpoint(), which the application role may call), so a
// standby that follows the new primary properly is read again only once it has made a
// restartpoint on the new timeline (at most checkpoint_timeout later); meanwhile the primary
// answers. A replica URL that reaches the primary itself (target_session_attrs=prefer-standby
// with no standby up) is always fresh; an old primary not yet fenced is on the old timeline.
//
// Thread-safety: thread-safe; a Scope belongs to the thread that filled it.
#pragma once

#include <atomic>
#include <chrono>
#include <string>

#include "common/result.h"
#include "storage/database.h"

namespace storage {

class ReadReplica {
 public:
  // The floor of the transactions this thread runs on the replica, from Enter() to its end.
  class Scope {
   public:
    Scope() = default;
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    friend class ReadReplica;
    bool set_ = false;
  };

  ReadReplica(Database& primary, Database& replica, std::chrono::milliseconds max_wait)
      : primary_(primary), replica_(replica), max_wait_(max_wait) {}

  // True: the replica has replayed what the primary acknowledged before this call, and
  // `scope` (which must be empty) now holds that floor. False: it has not within max_wait,
  // or cannot be reached; read from the primary. Errors: the primary cannot be reached
  // (kUnavailable).
  common::Result<bool> Enter(Scope& scope);

  Database& replica() { return replica_; }
  uint64_t fresh() const { return fresh_.load(std::memory_order_relaxed); }
  uint64_t behind() const { return behind_.load(std::memory_order_relaxed); }

 private:
  Database& primary_;
  Database& replica_;
  const std::chrono::milliseconds max_wait_;
  std::atomic<uint64_t> fresh_{0};   // Enter() calls that found the replica fresh
  std::atomic<uint64_t> behind_{0};  // ... that sent the read to the primary
};

}  // namespace storage
