// Forwarder: the fail-open mode's background thread. Sends spooled copies to notaryd oldest
// first, one at a time, and deletes each only after notaryd confirmed it. Every copy is sent
// with Idempotency-Key "notary-milter-<spool id>", so a copy sent again after a crash between
// confirmation and deletion is recorded once (notaryd answers with the first receipt).
// While notaryd is unreachable it waits with exponential backoff (0.2 s doubling to 30 s)
// and keeps the order: a later copy is never sent before an earlier one was confirmed.
//
// Thread-safety: Wake may be called from any thread. Owns its thread; the destructor stops
// and joins it (a copy being sent then stays in the spool and is sent at the next start).
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "notary_client.h"
#include "spool.h"
#include "stats.h"

namespace milter {

class Forwarder {
 public:
  Forwarder(Spool& spool, const NotaryClient& client, Stats& stats);
  ~Forwarder();
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  void Wake();  // a new file was spooled

 private:
  void Run(std::stop_token stop);
  // Waits up to `d` or until woken/stopped; true when stopping.
  bool Sleep(std::stop_token& stop, std::chrono::milliseconds d);

  Spool& spool_;
  const NotaryClient& client_;
  Stats& stats_;
  std::mutex mu_;
  std::condition_variable_any cv_;
  bool woken_ = false;  // GUARDED_BY(mu_)
  std::jthread thread_;
};

std::string IdempotencyKeyFor(const std::string& spool_id);

}  // namespace milter
