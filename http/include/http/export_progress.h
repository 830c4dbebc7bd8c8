// How far each case export being built has got, for the console's progress bar
// (GET /v1/cases/{id}/export/progress). The client names its export with a random token of its
// own (?progress= on the export); the registry holds each for a while after it ends, so that a
// poll that comes late still learns the outcome.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "common/thread_annotations.h"

namespace http {

class ExportProgress {
 public:
  enum class State { kBuilding, kReady, kFailed };
  struct Snapshot {
    State state = State::kBuilding;
    int64_t done = 0;
    int64_t total = -1;  // unknown until the case's messages are read
    std::string error;   // kFailed: the reason the export got
  };

  static constexpr size_t kMaxEntries = 64;
  static constexpr int64_t kKeepAfterEndUs = 10LL * 60 * 1000000;

  static ExportProgress& Instance();

  // A token is 16 to 64 characters of [0-9a-f]: a client's random name, never a secret the
  // notary relies on (every poll is also checked against the tenant and the case).
  static bool ValidToken(const std::string& token);

  enum class Begun { kStarted, kInUse, kFull };
  // Starts tracking. kInUse: the token is someone's already (any tenant or case); kFull:
  // kMaxEntries exports are being followed now (ended ones make room).
  Begun Begin(const std::string& tenant, const std::string& case_id, const std::string& token,
              int64_t now_us);
  void Update(const std::string& token, int64_t done, int64_t total);
  void End(const std::string& token, bool ok, const std::string& error, int64_t now_us);
  // Only the tenant's own export of that case is found.
  std::optional<Snapshot> Find(const std::string& tenant, const std::string& case_id,
                               const std::string& token, int64_t now_us);

 private:
  struct Entry {
    std::string tenant;
    std::string case_id;
    Snapshot snapshot;
    int64_t ended_at_us = 0;  // 0 while building
  };
  void DropStaleLocked(int64_t now_us) REQUIRES(mu_);

  common::Mutex mu_;
  std::map<std::string, Entry> entries_ GUARDED_BY(mu_);  // by token
};

}  // namespace http
