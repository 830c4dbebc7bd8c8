// Ingestor: the MessageSink behind SMTP and HTTP intake. Received messages wait in a
// bounded queue; worker threads canonicalise them (mime/) and leave them ready to commit.
// One commit runs at a time: the worker that gets to commit takes every message that is
// ready, its own and the other workers', and commits them in one PostgreSQL transaction
// (group commit), and only then answers each sender. So canonicalisation overlaps the
// commit in flight, and groups grow with the load instead of being split between
// concurrent transactions (smaller groups cost notaryd and PostgreSQL more CPU per
// message). A database that is down answers every waiting sender with a temporary
// failure; nothing is acknowledged that is not committed.
//
// Thread-safety: Submit is thread-safe. Owns its worker threads; the destructor drains the
// queue (answering what remains) and joins them.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/metrics.h"
#include "common/thread_annotations.h"
#include "pipeline/message_sink.h"
#include "pipeline/tenant_router.h"
#include "storage/journal_store.h"
#include "storage/receipt_store.h"

namespace pipeline {

class Ingestor : public MessageSink {
 public:
  struct Options {
    std::string node;
    size_t workers = 2;  // threads that canonicalise; one of them commits at a time
    size_t max_queue_messages = 4096;
    size_t max_queue_bytes = 1ull << 30;
    size_t max_group = 256;  // messages a worker takes at a time; a commit takes what is ready
    // Where journal reports are kept; null: journal reports are notarised as received.
    storage::JournalStore* journal_store = nullptr;
    // The time each message is received at (its receipt id and received_at_us).
    const common::Clock* clock = &common::Clock::System();
    // A message whose commit is not confirmed within this time is answered "try again" while
    // its commit may still complete (a primary waiting for a synchronous standby that is gone,
    // a database that stopped answering): the sender resends, so the worst case is a
    // duplicate, never an acknowledged message lost nor a sender held without an answer.
    // 0: wait as long as the commit takes.
    std::chrono::milliseconds answer_timeout{60000};
  };
  Ingestor(Options options, storage::ReceiptStore& store, const TenantRouter& router,
           common::Metrics& metrics);
  ~Ingestor() override;

  // HTTP intake (and the milter through it) may carry a tenant and idempotency key in `extra`.
  void Submit(Arrival arrival, std::string raw, std::function<void(SubmitOutcome)> done) override;
  struct Extra {
    std::string tenant;           // set by HTTP intake from the API key; else routed
    std::string idempotency_key;  // empty: none
  };
  void SubmitWithExtra(Arrival arrival, std::string raw, Extra extra,
                       std::function<void(SubmitOutcome)> done);

  size_t queued() const EXCLUDES(mu_);
  // Messages handed to Submit so far (the sender checks give way while this grows).
  uint64_t submitted() const { return submitted_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> submitted_{0};
  // One message's answer, given once: by its commit, or by the watchdog at its deadline.
  struct Answer;
  struct Item {
    Arrival arrival;
    std::string raw;
    Extra extra;
    int64_t received_at_us;
    std::shared_ptr<Answer> answer;
  };
  // A message canonicalised and ready to commit.
  struct Ready {
    std::shared_ptr<Answer> answer;
    storage::NewReceipt receipt;
    std::optional<storage::JournalReportRow> report;
  };
  // Gives `out` unless the message was answered already (then says so when it was stored).
  static void Respond(Answer& answer, SubmitOutcome out);
  // Puts `answer` under the watchdog's eye, due answer_timeout from now.
  void Watch(std::shared_ptr<Answer> answer) EXCLUDES(watch_mu_);
  void WatchDeadlines(std::stop_token stop) EXCLUDES(watch_mu_);
  void Work(std::stop_token stop) EXCLUDES(mu_, ready_mu_, commit_mu_);
  Ready Prepare(Item item) const;
  // Commits everything ready, unless another worker is committing: it then takes ours too.
  void CommitReady() EXCLUDES(ready_mu_, commit_mu_);
  void CommitGroup(std::vector<Ready>& group) REQUIRES(commit_mu_) EXCLUDES(ready_mu_);

  const Options options_;
  storage::ReceiptStore& store_;
  const TenantRouter& router_;
  common::Metrics& metrics_;
  mutable common::Mutex mu_;
  std::condition_variable_any cv_;
  std::deque<Item> queue_ GUARDED_BY(mu_);
  size_t queued_bytes_ GUARDED_BY(mu_) = 0;
  common::Mutex ready_mu_;
  std::vector<Ready> ready_ GUARDED_BY(ready_mu_);
  common::Mutex commit_mu_;  // held by the one worker committing
  common::Mutex watch_mu_;
  std::condition_variable_any watch_cv_;
  // In deadline order (deadlines are submission time + answer_timeout); answered entries
  // leave when they reach the front.
  std::deque<std::pair<std::chrono::steady_clock::time_point, std::shared_ptr<Answer>>> watched_
      GUARDED_BY(watch_mu_);
  std::vector<std::jthread> workers_;
  std::jthread watchdog_;
};

// A random, time-ordered UUID (RFC 9562 version 7) as text.
std::string NewReceiptId(int64_t now_us);

}  // namespace pipeline
