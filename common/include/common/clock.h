// The wall clock, injected: the pipeline reads the time only through a Clock, so a test can
// set it (tests/support's ManualClock) instead of sleeping, and every component of one
// process agrees on what "now" is.
//
// Thread-safety: implementations must be safe for concurrent use.
#pragma once

#include <cstdint>

namespace common {

class Clock {
 public:
  virtual ~Clock() = default;
  // Microseconds since 1970-01-01T00:00:00Z (UTC, leap seconds not counted).
  virtual int64_t NowMicros() const = 0;

  // The system's real-time clock (std::chrono::system_clock).
  static const Clock& System();
};

}  // namespace common
