// SenderChecker: the sender checks of stored messages, after their 250 (docs/sender-evidence.md).
// For each message received since the feature is on, it verifies every DKIM signature with the
// key published in DNS, keeps every DNS answer it used, and stores the results and the answers
// with an authentication record, which the sealer then seals as a leaf of its own. DNS comes
// through a notary::DnsLookup that notaryd wires to dns::Resolver: pipeline opens no sockets.
//
// Nothing is lost when the checks lag or fail: a message stays "unchecked" until a pass stores
// its row, and a lookup that fails is recorded as a temperror, not retried into a different
// answer. Messages received more than `max_delay` before the checker started are not checked
// at all (those stored before the checks were switched on): what DNS says now is no longer
// what it said then. A backlog that builds up while it runs is worked off, however late; the
// record's checked_at shows the delay.
//
// Thread-safety: Start/Stop/Wake from any thread; RunOnce is for tests and benchmarks, while
// the threads are not running.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "common/thread_annotations.h"
#include "sender/authentication_json.h"
#include "sender/dns_answer.h"
#include "sender/dnssec.h"
#include "storage/authentication_store.h"

namespace pipeline {

// The checks of one message, with the lookups it made archived in order (and, with `anchors`,
// the DNSSEC chain of each secure answer). Pure but for `lookup` and the clock (for checked_at)
// and the salt's randomness.
common::Result<storage::AuthenticationRow> CheckSender(
    const storage::UncheckedMessage& message, const notary::DnsLookup& lookup,
    const common::Clock& clock, const notary::DnssecAnchors* anchors = nullptr);

// A stored row read back for people and the API: results and answers decoded.
common::Result<notary::AuthenticationView> AuthenticationViewOf(
    const storage::AuthenticationRow& row);

struct SenderCheckerOptions {
  int workers = 32;  // messages checked at once (each waits on DNS most of the time)
  int batch = 256;   // messages read per pass
  std::chrono::milliseconds poll_interval{1000};
  std::chrono::seconds max_delay{3600};
  // True while ingest has messages waiting: the checks then give way (they share the CPU and
  // the database with the path to the 250) and catch up when it is idle, but never give way
  // for longer than `max_yield` in a row. Null: never busy.
  std::function<bool()> busy;
  std::chrono::milliseconds max_yield{10000};
  // The resolver's trust anchors: each secure answer's chain up to one is archived too.
  std::shared_ptr<const notary::DnssecAnchors> anchors;
};

class SenderChecker {
 public:
  SenderChecker(storage::AuthenticationStore& store, notary::DnsLookup lookup,
                const common::Clock& clock, SenderCheckerOptions options);
  ~SenderChecker();
  SenderChecker(const SenderChecker&) = delete;
  SenderChecker& operator=(const SenderChecker&) = delete;

  void Start();
  void Stop();
  // A message was stored: run a pass now instead of at the next interval.
  void Wake();

  // One pass over what waits now, on the calling thread and `workers` helpers: the number of
  // messages read (a full batch means more may wait).
  common::Result<int> RunOnce();
  // Authentication rows this process stored.
  uint64_t checked() const { return checked_.load(); }

 private:
  void Loop();

  storage::AuthenticationStore& store_;
  notary::DnsLookup lookup_;
  const common::Clock& clock_;
  const SenderCheckerOptions options_;
  int64_t cursor_ = 0;      // receipts' seq below which every message has been seen (loop thread)
  const int64_t since_us_;  // older messages are never checked

  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> checked_{0};

  common::Mutex mu_;
  std::condition_variable_any cv_;
  bool stop_ GUARDED_BY(mu_) = false;
  bool woken_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace pipeline
