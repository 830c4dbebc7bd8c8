// A clock a test sets by hand (common::Clock), so that time-dependent behaviour is tested
// without sleeping.
#pragma once

#include <atomic>
#include <cstdint>

#include "common/clock.h"

namespace testsupport {

class ManualClock final : public common::Clock {
 public:
  explicit ManualClock(int64_t now_us) : now_us_(now_us) {}
  int64_t NowMicros() const override { return now_us_.load(); }
  void Set(int64_t now_us) { now_us_.store(now_us); }
  void Advance(int64_t us) { now_us_.fetch_add(us); }

 private:
  std::atomic<int64_t> now_us_;
};

}  // namespace testsupport
