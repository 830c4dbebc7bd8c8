// common::Mutex and common::MutexLock (common/thread_annotations.h): they lock, a
// std::condition_variable_any waits on a MutexLock, and the code below passes clang's
// -Wthread-safety (the clang build compiles it with -Werror).
#include "common/thread_annotations.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <thread>
#include <vector>

namespace common {
namespace {

class Counter {
 public:
  void Add(int n) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    AddLocked(n);
  }
  int value() EXCLUDES(mu_) {
    MutexLock lock(mu_);
    return value_;
  }

 private:
  void AddLocked(int n) REQUIRES(mu_) { value_ += n; }

  Mutex mu_;
  int value_ GUARDED_BY(mu_) = 0;
};

class Queue {
 public:
  void Push(int v) EXCLUDES(mu_) {
    {
      MutexLock lock(mu_);
      items_.push_back(v);
    }
    cv_.notify_one();
  }
  int Pop() EXCLUDES(mu_) {
    MutexLock lock(mu_);
    cv_.wait(lock, [&]() REQUIRES(mu_) { return !items_.empty(); });
    const int v = items_.front();
    items_.pop_front();
    return v;
  }

 private:
  Mutex mu_;
  std::condition_variable_any cv_;
  std::deque<int> items_ GUARDED_BY(mu_);
};

TEST(MutexTest, ExcludesOtherThreads) {
  Counter c;
  std::vector<std::jthread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&c] {
      for (int i = 0; i < 10000; ++i) c.Add(1);
    });
  }
  threads.clear();  // joins
  EXPECT_EQ(c.value(), 40000);
}

TEST(MutexTest, TryLockFailsWhileHeld) {
  Mutex mu;
  MutexLock lock(mu);
  bool got = true;
  std::thread([&] {
    got = false;
    if (mu.try_lock()) {  // the analysis follows try_lock() only as a condition
      got = true;
      mu.unlock();
    }
  }).join();
  EXPECT_FALSE(got);
}

TEST(MutexTest, ReleasedAtTheEndOfTheScope) {
  Mutex mu;
  { MutexLock lock(mu); }
  if (mu.try_lock()) {
    mu.unlock();
  } else {
    ADD_FAILURE() << "the mutex is still held";
  }
}

TEST(MutexTest, AConditionVariableWaitsOnAMutexLock) {
  Queue q;
  std::jthread producer([&q] {
    for (int i = 0; i < 100; ++i) q.Push(i);
  });
  for (int i = 0; i < 100; ++i) EXPECT_EQ(q.Pop(), i);
}

}  // namespace
}  // namespace common
