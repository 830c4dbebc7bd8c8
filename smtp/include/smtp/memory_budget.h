// MemoryBudget: a process-wide cap on bytes held for messages still being received, shared by
// every SMTP session of a listener (and usable by any front end). 2,000 sessions each holding
// a 50 MiB message would otherwise need 100 GiB; with a budget, the session whose reservation
// fails drops its message, reads it to its end and answers "452 4.3.1" (the sender retries).
//
// Thread-safety: thread-safe (one atomic counter).
#pragma once

#include <atomic>
#include <cstdint>

namespace smtp {

class MemoryBudget {
 public:
  explicit MemoryBudget(uint64_t capacity) : capacity_(capacity) {}
  MemoryBudget(const MemoryBudget&) = delete;
  MemoryBudget& operator=(const MemoryBudget&) = delete;

  // Reserves `bytes`, or nothing when that would pass the capacity.
  bool TryReserve(uint64_t bytes) {
    uint64_t used = used_.load(std::memory_order_relaxed);
    do {
      if (bytes > capacity_ || used > capacity_ - bytes) return false;
    } while (!used_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
    return true;
  }
  // REQUIRES: `bytes` were reserved and not yet released.
  void Release(uint64_t bytes) { used_.fetch_sub(bytes, std::memory_order_relaxed); }

  uint64_t used() const { return used_.load(std::memory_order_relaxed); }
  uint64_t capacity() const { return capacity_; }

 private:
  const uint64_t capacity_;
  std::atomic<uint64_t> used_{0};
};

}  // namespace smtp
