// Retention periods (docs/retention.md, "Retention"): setting a tenant's period, recorded in
// the log, and the sweeper that erases (pipeline/erasure.h) the messages a period has expired
// unless a legal hold covers them. Every erasure it makes has its own record, by the actor
// "retention", with the period in its reason.
//
// Thread-safety: SetRetention is a pure function over thread-safe stores; RetentionSweeper runs
// one thread of its own, and SweepOnce must not run concurrently with it (tests call it on a
// sweeper that was never started).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/result.h"
#include "storage/erasure_store.h"
#include "storage/retention_store.h"

namespace pipeline {

inline constexpr int kMaxRetentionDays = 36600;  // a hundred years

// `days` nullopt: kept until erased by hand. kInvalidInput outside 1 to 36600 days.
common::Result<storage::RetentionPolicy> SetRetention(storage::RetentionStore& store,
                                                      const std::string& tenant,
                                                      std::optional<int> days,
                                                      const std::string& actor, int64_t now_us);

struct SweepStats {
  uint64_t examined = 0;  // expired messages looked at
  uint64_t erased = 0;
  uint64_t held = 0;  // refused: under a legal hold (or erased meanwhile by someone else)
  uint64_t failed = 0;
};

class RetentionSweeper {
 public:
  struct Options {
    std::chrono::seconds interval{3600};
    // Expired messages read at once. A sweep goes on page after page while pages erase
    // something; a page that erases nothing (all held) ends the tenant's sweep, so a tenant
    // whose expired mail is all held costs one page each sweep, and the next goes on after it.
    int batch = 1000;
    const common::Clock* clock = &common::Clock::System();
  };

  RetentionSweeper(Options options, storage::RetentionStore& retention,
                   storage::ErasureStore& erasures);
  ~RetentionSweeper();

  void Start();
  void Stop();
  SweepStats SweepOnce(int64_t now_us);
  SweepStats totals() const;

 private:
  void Loop(std::stop_token stop);
  SweepStats Finish(const SweepStats& s);  // adds a sweep to the totals

  const Options options_;
  storage::RetentionStore& retention_;
  storage::ErasureStore& erasures_;
  // Where each tenant's next sweep goes on from (the sweeper's thread only).
  std::map<std::string, std::optional<storage::ExpiredMessage>> cursor_;
  mutable std::mutex mu_;
  std::condition_variable_any wake_;
  SweepStats totals_;  // guarded by mu_
  std::jthread thread_;
};

}  // namespace pipeline
