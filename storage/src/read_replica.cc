#include "storage/read_replica.h"

#include <algorithm>
#include <thread>

#include "transaction.h"

namespace storage {

ReadReplica::Scope::~Scope() {
  if (set_) internal::ThreadReplicaFloor() = {};
}

common::Result<bool> ReadReplica::Enter(Scope& scope) {
  if (scope.set_ || internal::ThreadReplicaFloor().pool != nullptr) {
    return common::Error::Internal("a read replica scope is already open on this thread");
  }
  // The flush position, not the write position: an acknowledged commit is flushed (notaryd
  // commits with synchronous_commit on), and a standby is only ever sent flushed WAL.
  ASSIGN_OR_RETURN(const internal::WalPosition at,
                   InAutocommit<internal::WalPosition>(primary_, [](pqxx::nontransaction& tx) {
                     const pqxx::row r =
                         tx.exec1(std::string("SELECT pg_current_wal_flush_lsn()::text, ") +
                                  internal::kCurrentTimelineSql);
                     return common::Result<internal::WalPosition>(
                         internal::WalPosition{r[0].as<std::string>(), r[1].as<int64_t>()});
                   }));
  const auto deadline = std::chrono::steady_clock::now() + max_wait_;
  auto pause = std::chrono::microseconds(500);
  while (true) {
    auto shows = InAutocommit<bool>(replica_, [&at](pqxx::nontransaction& tx) {
      return common::Result<bool>(internal::ShowsPosition(tx, at));
    });
    if (shows.ok() && *shows) break;
    // An unreachable replica is as good as a late one: the primary answers.
    if (!shows.ok() || std::chrono::steady_clock::now() + pause > deadline) {
      behind_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(20000));
  }
  internal::ThreadReplicaFloor() = {&replica_.pool(), at};
  scope.set_ = true;
  fresh_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

}  // namespace storage
