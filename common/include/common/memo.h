// Memo: answers of a pure function remembered by the SHA-256 of its arguments, for the
// verifier's OpenSSL decodes that a case's production repeats once per message (a block's
// tokens and keys are the same for every message of the block). Only for functions whose
// answer depends on their arguments alone: no clock, no file, no state.
//
// Bounded: at most `max_entries` answers; when full it starts again (the callers' working
// set is a few blocks at a time).
//
// Thread-safety: thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string_view>

#include "common/bytes.h"
#include "common/sha256.h"

namespace common {

// SHA-256 over the parts, each preceded by its length (8 bytes, host order: the key never
// leaves the process), so that no two argument lists share a key.
class MemoKey {
 public:
  MemoKey& Add(std::string_view part) {
    const uint64_t n = part.size();
    h_.Update(std::string_view(reinterpret_cast<const char*>(&n), sizeof n));
    h_.Update(part);
    return *this;
  }
  Hash Finish() { return h_.Finish(); }

 private:
  Sha256 h_;
};

template <typename V>
class Memo {
 public:
  explicit Memo(size_t max_entries) : max_(max_entries) {}

  std::optional<V> Find(const Hash& key) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = answers_.find(key);
    if (it == answers_.end()) return std::nullopt;
    return it->second;
  }

  void Put(const Hash& key, const V& answer) {
    std::lock_guard<std::mutex> lock(mu_);
    if (answers_.size() >= max_) answers_.clear();
    answers_.insert_or_assign(key, answer);
  }

 private:
  const size_t max_;
  std::mutex mu_;
  std::map<Hash, V> answers_;
};

}  // namespace common
