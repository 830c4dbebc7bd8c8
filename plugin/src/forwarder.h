// Forwarder: the fail-open mode's background thread. Sends spooled records to notaryd oldest
// first, one at a time over one kept-alive connection, and moves past each only after
// notaryd confirmed it. Every record is sent with Idempotency-Key "notary-milter-<spool id>",
// so a record sent again after a crash is recorded once (notaryd answers with the first
// receipt). While notaryd is unreachable it waits with exponential backoff (0.2 s doubling
// to 30 s) and keeps the order: a later record is never sent before an earlier one was
// confirmed.
//
// Priority: the MTA must never wait for the notary, and forwarding is work that can wait.
// With ForwarderPriority::kIdle the thread runs under SCHED_IDLE: when the host's CPUs are
// busy it gets the smallest share the scheduler gives, so a busy MTA is not slowed down by
// forwarding; the spool absorbs the difference and drains when there is room. A host busy
// for so long that the spool reaches its limit gets backpressure: Put refuses and the MTA
// answers 4xx. (An unprivileged thread cannot leave SCHED_IDLE again, so the policy is set
// once; ForwarderPriority::kNormal is for hosts that must drain while saturated.)
//
// Pacing: records are not forwarded while the MTA is receiving mail. Forwarding starts once
// no record has been spooled for `quiet`, or once the oldest waiting record has waited
// `max_delay`, whichever comes first; then it goes on until the spool is empty. A burst of
// mail is thus accepted at the MTA's own pace and notarised right after it, and the notary's
// work (in notaryd and PostgreSQL, which do not run at idle priority) does not compete with
// the burst. Under load that lasts longer than `max_delay`, forwarding runs beside it. A
// zero `quiet` turns pacing off.
//
// Thread-safety: Wake may be called from any thread. Owns its thread; the destructor stops
// and joins it (a record being sent then stays in the spool and is sent at the next start).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <optional>
#include <string>
#include <thread>

#include "common/thread_annotations.h"
#include "notary_client.h"
#include "spool.h"
#include "stats.h"

namespace milter {

enum class ForwarderPriority { kIdle, kNormal };

struct ForwarderPacing {
  std::chrono::milliseconds quiet{250};
  std::chrono::milliseconds max_delay{30000};
};

class Forwarder {
 public:
  Forwarder(Spool& spool, const NotaryClient& client, Stats& stats, ForwarderPriority priority,
            ForwarderPacing pacing = {});
  ~Forwarder();
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  void Wake() EXCLUDES(mu_);  // a new record was spooled

 private:
  using Clock = std::chrono::steady_clock;
  // While pacing holds records back: the moment forwarding may start (the later of now and
  // the end of the quiet period, capped by the oldest record's deadline); nullopt when it
  // may start now.
  std::optional<Clock::time_point> HeldUntil(Clock::time_point now) const;
  void Run(std::stop_token stop);
  void ApplyPriority();
  void UpdateGauges();
  // Waits up to `d` or until woken/stopped; true when stopping.
  bool Sleep(std::stop_token& stop, std::chrono::milliseconds d) EXCLUDES(mu_);
  // Waits out `d` whatever wakes arrive; true when stopping.
  bool Backoff(std::stop_token& stop, std::chrono::milliseconds d) EXCLUDES(mu_);

  Spool& spool_;
  const NotaryClient& client_;
  Stats& stats_;
  const ForwarderPriority priority_;
  const ForwarderPacing pacing_;
  std::atomic<int64_t> last_spooled_ns_{0};  // Clock time of the latest Wake
  // Reader thread only: when the forwarder first saw records waiting (unset while the spool
  // is empty), and whether pacing has let this backlog go.
  std::optional<Clock::time_point> backlog_since_;
  bool released_ = false;
  common::Mutex mu_;
  std::condition_variable_any cv_;
  bool woken_ GUARDED_BY(mu_) = false;
  bool idle_ GUARDED_BY(mu_) = false;  // waiting in Sleep for new records
  std::jthread thread_;
};

std::string IdempotencyKeyFor(const std::string& spool_id);

}  // namespace milter
