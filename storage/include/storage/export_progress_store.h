// How far each case export being built has got, for the console's progress bar
// (GET /v1/cases/{id}/export/progress). The client names its export with a random token of its
// own (?progress= on the export). The progress lives in PostgreSQL (migration 0020), so that
// a poll answered by any notaryd node behind a load balancer sees the export another node is
// building; it is kept a while after the export ends, so that a poll that comes late still
// learns the outcome.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/result.h"
#include "storage/database.h"

namespace storage {

class ExportProgressStore {
 public:
  enum class State { kBuilding, kReady, kFailed };
  struct Snapshot {
    State state = State::kBuilding;
    int64_t done = 0;
    int64_t total = -1;  // unknown until the case's messages are read
    std::string error;   // kFailed: the reason the export got
  };

  // Exports of one tenant followed at a time (those ended make room, oldest first).
  static constexpr int kMaxPerTenant = 64;
  // An ended export's outcome is kept this long.
  static constexpr int64_t kKeepAfterEndUs = 10LL * 60 * 1000000;
  // An export with no word from its node for this long is reported failed: the node stopped
  // (or lost the database) while building it. Its node writes at least every few seconds
  // while messages are written; the longest silence is the final zip of a large case.
  static constexpr int64_t kSilentUs = 10LL * 60 * 1000000;
  static constexpr size_t kMaxErrorBytes = 1000;

  ExportProgressStore(Database& db, std::string node) : db_(db), node_(std::move(node)) {}

  // A token is 16 to 64 characters of [0-9a-f]: a client's random name, never a secret the
  // notary relies on (every poll is also checked against the tenant and the case).
  static bool ValidToken(const std::string& token);

  enum class Begun { kStarted, kInUse, kFull };
  // Starts following. kInUse: the token is someone's already (any tenant or case); kFull: the
  // tenant has kMaxPerTenant exports being built or kept. kNotFound: a case id that is not a
  // UUID; kInvalidInput: not a token.
  common::Result<Begun> Begin(const std::string& tenant, const std::string& case_id,
                              const std::string& token, int64_t now_us);
  // Changes only an export still being built.
  common::Status Update(const std::string& token, int64_t done, int64_t total, int64_t now_us);
  common::Status End(const std::string& token, bool ok, const std::string& error, int64_t now_us);
  // Only the tenant's own export of that case is found.
  common::Result<std::optional<Snapshot>> Find(const std::string& tenant,
                                               const std::string& case_id, const std::string& token,
                                               int64_t now_us);

 private:
  Database& db_;
  const std::string node_;  // names the builder in a silent export's reason
};

}  // namespace storage
