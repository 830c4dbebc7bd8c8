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
// Thread-safety: Wake may be called from any thread. Owns its thread; the destructor stops
// and joins it (a record being sent then stays in the spool and is sent at the next start).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "notary_client.h"
#include "spool.h"
#include "stats.h"

namespace milter {

enum class ForwarderPriority { kIdle, kNormal };

class Forwarder {
 public:
  Forwarder(Spool& spool, const NotaryClient& client, Stats& stats, ForwarderPriority priority);
  ~Forwarder();
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  void Wake();  // a new record was spooled

 private:
  void Run(std::stop_token stop);
  void ApplyPriority();
  void UpdateGauges();
  // Waits up to `d` or until woken/stopped; true when stopping.
  bool Sleep(std::stop_token& stop, std::chrono::milliseconds d);
  // Waits out `d` whatever wakes arrive; true when stopping.
  bool Backoff(std::stop_token& stop, std::chrono::milliseconds d);

  Spool& spool_;
  const NotaryClient& client_;
  Stats& stats_;
  const ForwarderPriority priority_;
  std::mutex mu_;
  std::condition_variable_any cv_;
  bool woken_ = false;  // GUARDED_BY(mu_)
  std::jthread thread_;
};

std::string IdempotencyKeyFor(const std::string& spool_id);

}  // namespace milter
