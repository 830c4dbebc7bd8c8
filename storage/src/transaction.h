// Private: the connection pool behind Database, and InTransaction, which runs a function in
// one committed transaction and maps every libpqxx/std exception to a common::Error
// (InAutocommit: the same for statements that each commit on their own, without BEGIN).
#pragma once

#include <condition_variable>
#include <functional>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/thread_annotations.h"
#include "storage/database.h"

namespace storage {

// Connection problems, shutdowns and serialization failures are kUnavailable, unique
// violations kConflict, the rest kInternal with the SQLSTATE only (never SQL text or values,
// which may hold message content).
common::Error MapDbException(const std::exception& e);

struct Database::Pool {
  explicit Pool(Options o) : options(std::move(o)) {}
  common::Result<std::unique_ptr<pqxx::connection>> Acquire() EXCLUDES(mu);
  void Release(std::unique_ptr<pqxx::connection> conn, bool broken) EXCLUDES(mu);
  common::Status Run(const std::function<common::Status(pqxx::work&)>& fn);
  // Statements with no transaction around them, each committed on its own: one round trip
  // instead of three (BEGIN, the statement, COMMIT). For the lookups every request makes, and
  // for writes that one statement makes atomic.
  common::Status RunAutocommit(const std::function<common::Status(pqxx::nontransaction&)>& fn);

  const Options options;
  common::Mutex mu;
  std::condition_variable_any cv;
  std::vector<std::unique_ptr<pqxx::connection>> idle GUARDED_BY(mu);
  size_t open GUARDED_BY(mu) = 0;
};

namespace internal {

// Where the primary's WAL stood when a read began: the flush position and the timeline it is
// on (read_replica.h).
struct WalPosition {
  std::string lsn;
  int64_t timeline = 0;
};

// The floor ReadReplica::Enter set for this thread: transactions on `pool` first check that
// their server shows `at` (ShowsPosition).
struct ReplicaFloor {
  const Database::Pool* pool = nullptr;
  WalPosition at;
};
ReplicaFloor& ThreadReplicaFloor();

// The timeline of a server that is not in recovery, as the name of its current WAL file gives
// it.
inline constexpr const char* kCurrentTimelineSql =
    "('x' || substr(pg_walfile_name(pg_current_wal_flush_lsn()), 1, 8))::bit(32)::integer";

// Whether the server `tx` runs on shows every transaction up to `at`, on the same history: a
// standby that has replayed that far and whose last restartpoint is on the same timeline (a
// standby left on the timeline of a primary that failed may have replayed WAL the new primary
// never had), or a primary on the same timeline (an old primary not yet fenced is not).
template <typename Tx>
bool ShowsPosition(Tx& tx, const WalPosition& at) {
  return tx
      .exec_params(std::string("SELECT CASE WHEN pg_is_in_recovery() THEN "
                               "coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false) AND "
                               "(SELECT timeline_id FROM pg_control_checkpoint()) = $2 ELSE ") +
                       kCurrentTimelineSql + " = $2 END",
                   at.lsn, at.timeline)[0][0]
      .template as<bool>();
}

// Runs `fn` through `run` (a Pool entry point) and hands back its result, or the error that
// running it met.
template <typename T, typename Tx, typename Run>
common::Result<T> Collect(const Run& run, const std::function<common::Result<T>(Tx&)>& fn) {
  std::optional<common::Result<T>> out;
  common::Status st = run([&](Tx& tx) -> common::Status {
    out.emplace(fn(tx));
    if (!out->ok()) return out->error();
    return common::Ok();
  });
  if (!st.ok()) return st.error();
  return std::move(*out);
}

}  // namespace internal

template <typename T>
common::Result<T> InTransaction(Database& db,
                                const std::function<common::Result<T>(pqxx::work&)>& fn) {
  return internal::Collect<T, pqxx::work>(
      [&](const std::function<common::Status(pqxx::work&)>& f) { return db.pool().Run(f); }, fn);
}

template <typename T>
common::Result<T> InAutocommit(Database& db,
                               const std::function<common::Result<T>(pqxx::nontransaction&)>& fn) {
  return internal::Collect<T, pqxx::nontransaction>(
      [&](const std::function<common::Status(pqxx::nontransaction&)>& f) {
        return db.pool().RunAutocommit(f);
      },
      fn);
}

}  // namespace storage
