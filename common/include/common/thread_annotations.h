// Thread-safety annotations for clang's static analysis (-Wthread-safety), and the annotated
// mutex the analysis needs: libstdc++'s std::mutex carries no capability attributes, so a
// member cannot be GUARDED_BY one. common::Mutex wraps std::mutex; common::MutexLock is the
// scoped lock that holds one.
//
// Under clang each macro is the attribute of the same meaning
// (https://clang.llvm.org/docs/ThreadSafetyAnalysis.html); under other compilers (GCC) they
// expand to nothing. The build checks them with clang (CMakeLists.txt, `warnings`).
//
//   common::Mutex mu_;
//   int count_ GUARDED_BY(mu_) = 0;
//   void BumpLocked() REQUIRES(mu_);
//   void Bump() EXCLUDES(mu_) { common::MutexLock lock(mu_); BumpLocked(); }
//
// The analysis does not follow a lambda into the function that calls it: a predicate given to
// a condition variable is annotated `[&]() REQUIRES(mu_) { ... }`.
//
// Mutex and MutexLock are BasicLockable, so a std::condition_variable_any waits on a
// MutexLock:
//
//   common::MutexLock lock(mu_);
//   cv_.wait(lock, [&]() REQUIRES(mu_) { return !queue_.empty(); });
//
// The analysis treats the wait as holding mu_ throughout, which is what the code after it
// sees. Code that needs a std::mutex itself (a std::condition_variable) has native(), which
// the analysis cannot follow. Thread-safety: as std::mutex; neither type copies or moves.
#pragma once

#include <mutex>

#if defined(__clang__)
#define NOTARY_THREAD_ATTRIBUTE(x) __attribute__((x))
#else
#define NOTARY_THREAD_ATTRIBUTE(x)
#endif

// A type whose objects are capabilities (a mutex); `name` appears in the warnings.
#define CAPABILITY(name) NOTARY_THREAD_ATTRIBUTE(capability(name))
// An RAII type that holds a capability for its lifetime.
#define SCOPED_CAPABILITY NOTARY_THREAD_ATTRIBUTE(scoped_lockable)
// A member read or written only with the capability held.
#define GUARDED_BY(cap) NOTARY_THREAD_ATTRIBUTE(guarded_by(cap))
// A pointer member whose pointee is read or written only with the capability held.
#define PT_GUARDED_BY(cap) NOTARY_THREAD_ATTRIBUTE(pt_guarded_by(cap))
// The caller must hold the capabilities (exclusively).
#define REQUIRES(...) NOTARY_THREAD_ATTRIBUTE(requires_capability(__VA_ARGS__))
// The caller must not hold the capabilities (the function takes them itself).
#define EXCLUDES(...) NOTARY_THREAD_ATTRIBUTE(locks_excluded(__VA_ARGS__))
// The function takes the capabilities (or `this` when none is named) and returns holding them.
#define ACQUIRE(...) NOTARY_THREAD_ATTRIBUTE(acquire_capability(__VA_ARGS__))
// The function gives up the capabilities (or `this` when none is named).
#define RELEASE(...) NOTARY_THREAD_ATTRIBUTE(release_capability(__VA_ARGS__))
// The function takes the capabilities when it returns `result`.
#define TRY_ACQUIRE(...) NOTARY_THREAD_ATTRIBUTE(try_acquire_capability(__VA_ARGS__))
// The function checks at run time that the capability is held; the analysis then assumes it.
#define ASSERT_CAPABILITY(cap) NOTARY_THREAD_ATTRIBUTE(assert_capability(cap))
// The function returns a reference to the capability given.
#define RETURN_CAPABILITY(cap) NOTARY_THREAD_ATTRIBUTE(lock_returned(cap))
// Turns the analysis off for one function: for locking the analysis cannot follow. Say why.
#define NO_THREAD_SAFETY_ANALYSIS NOTARY_THREAD_ATTRIBUTE(no_thread_safety_analysis)

namespace common {

class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }
  bool try_lock() TRY_ACQUIRE(true) { return mu_.try_lock(); }

  // For the analysis only: states that the caller holds this mutex (not checked at run time).
  void AssertHeld() const ASSERT_CAPABILITY(this) {}

  std::mutex& native() { return mu_; }

 private:
  std::mutex mu_;
};

// Holds `mu` from construction to destruction. unlock()/lock() let a condition variable
// release and retake it while waiting; the analysis does not see those (they are called from
// the standard library), so it assumes the lock held for the whole scope.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~MutexLock() RELEASE() {
    if (held_) mu_.unlock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  // BasicLockable, for std::condition_variable_any.
  void lock() ACQUIRE() {
    mu_.lock();
    held_ = true;
  }
  void unlock() RELEASE() {
    held_ = false;
    mu_.unlock();
  }

 private:
  Mutex& mu_;
  bool held_ = true;
};

}  // namespace common
