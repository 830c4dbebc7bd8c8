// SealNotifier: tells this process's waiting requests (GET .../evidence?wait=) that a block was
// committed, so they re-read their receipt once instead of polling the database. Two sources
// feed it: this process's sealer, right after its seal commits, and the LISTEN connection
// (storage::SealListener) for blocks sealed by another notaryd sharing the database. Each
// new height bumps a generation counter once, whichever source reported it first; a waiter
// remembers the generation it read before its database check and sleeps until it changes.
// The number of waiters is bounded: each one holds an HTTP worker thread while it sleeps.
//
// Thread-safety: thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/thread_annotations.h"

namespace pipeline {

class SealNotifier {
 public:
  enum class Source {
    kLocal,      // this process's sealer committed the block
    kListen,     // a NOTIFY on the sealed channel (any node's sealer)
    kReconnect,  // the LISTEN connection was (re)opened: notifications may have been lost
  };
  enum class Wake { kNotified, kTimeout };

  struct Stats {
    uint64_t notified_local = 0, notified_listen = 0, notified_reconnect = 0;
    uint64_t generation = 0;
    uint64_t waiters = 0, max_waiters = 0;
    uint64_t woken_notified = 0, woken_timeout = 0;
    uint64_t refused = 0;  // waits refused because max_waiters were waiting
  };

  explicit SealNotifier(uint64_t max_waiters) : max_waiters_(max_waiters) {}
  SealNotifier(const SealNotifier&) = delete;
  SealNotifier& operator=(const SealNotifier&) = delete;

  // A block of `height` was committed. Wakes every waiter when the height is new (a block is
  // reported twice on the sealing node: by the sealer and by its own NOTIFY). kReconnect
  // carries no height and always wakes them.
  void Notify(Source source, int64_t height = -1) EXCLUDES(mu_);

  uint64_t generation() const EXCLUDES(mu_);

  // Called (outside the lock, on the notifying thread) after each Notify that bumped the
  // generation: the checkpoint publisher asks witnesses right after a seal. It must return
  // quickly and must not call back into the notifier. nullptr removes it.
  void SetListener(std::function<void()> listener) EXCLUDES(mu_);

  // A place among the bounded waiters, held for the whole wait of one request.
  class Ticket {
   public:
    explicit Ticket(SealNotifier* n) : n_(n) {}
    Ticket(Ticket&& o) noexcept : n_(o.n_) { o.n_ = nullptr; }
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    Ticket& operator=(Ticket&&) = delete;
    ~Ticket();

   private:
    SealNotifier* n_;
  };
  // False when max_waiters already wait (the caller answers 429).
  bool TryEnter(std::optional<Ticket>& ticket) EXCLUDES(mu_);

  // Sleeps until the generation differs from `seen` or `until` passes. Never queries
  // anything: the caller re-reads its receipt afterwards, whichever way it woke.
  Wake WaitUntil(uint64_t seen, std::chrono::steady_clock::time_point until) EXCLUDES(mu_);

  Stats stats() const EXCLUDES(mu_);
  // Appends the seal_notifications_total, evidence_waiters and evidence_wait_* families.
  void AppendMetrics(std::string& out) const EXCLUDES(mu_);

 private:
  const uint64_t max_waiters_;
  mutable common::Mutex mu_;
  std::condition_variable_any cv_;
  int64_t highest_ GUARDED_BY(mu_) = -1;
  std::function<void()> listener_ GUARDED_BY(mu_);
  Stats stats_ GUARDED_BY(mu_);
};

}  // namespace pipeline
