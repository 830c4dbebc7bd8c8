#include "storage/database.h"

#include "transaction.h"

namespace storage {

common::Error MapDbException(const std::exception& e) {
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) {
    return common::Error::Unavailable("database connection lost");
  }
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr) {
    return common::Error::Unavailable("database commit outcome unknown");
  }
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    const std::string& state = sql->sqlstate();
    // 08: connection exception; 57P0x: shutdown / cannot connect now; 53: resources;
    // 40001/40P01: serialization failure / deadlock: all worth a retry.
    if (state.rfind("08", 0) == 0 || state.rfind("57P0", 0) == 0 || state.rfind("53", 0) == 0 ||
        state == "40001" || state == "40P01" || state.empty()) {
      return common::Error::Unavailable("database unavailable (sqlstate " + state + ")");
    }
    if (state == "23505") return common::Error::Conflict("duplicate key");
    return common::Error::Internal("database error, sqlstate " + state);
  }
  return common::Error::Internal("database error");
}

Database::Database(std::unique_ptr<Pool> pool) : pool_(std::move(pool)) {}
Database::~Database() = default;

common::Result<std::unique_ptr<Database>> Database::Open(Options options) {
  std::unique_ptr<Database> db(new Database(std::make_unique<Pool>(std::move(options))));
  ASSIGN_OR_RETURN(std::unique_ptr<pqxx::connection> conn, db->pool_->Acquire());
  db->pool_->Release(std::move(conn), false);
  return db;
}

bool Database::Ping() {
  return InTransaction<int>(*this,
                            [](pqxx::work& tx) -> common::Result<int> {
                              return tx.exec("SELECT 1")[0][0].as<int>();
                            })
      .ok();
}

common::Result<std::unique_ptr<pqxx::connection>> Database::Pool::Acquire() {
  {
    common::MutexLock lock(mu);
    bool got = cv.wait_for(lock, options.acquire_timeout, [&]() REQUIRES(mu) {
      return !idle.empty() || open < options.max_connections;
    });
    if (!got) return common::Error::Unavailable("no database connection free");
    if (!idle.empty()) {
      auto c = std::move(idle.back());
      idle.pop_back();
      return c;
    }
    ++open;  // reserve a slot; connect outside the lock
  }
  try {
    return std::make_unique<pqxx::connection>(options.url);
  } catch (const std::exception& e) {
    {
      common::MutexLock lock(mu);
      --open;
    }
    cv.notify_one();
    return MapDbException(e);
  }
}

void Database::Pool::Release(std::unique_ptr<pqxx::connection> conn, bool broken) {
  {
    common::MutexLock lock(mu);
    if (conn && !broken && conn->is_open()) {
      idle.push_back(std::move(conn));
    } else {
      --open;
    }
  }
  cv.notify_one();
}

namespace internal {

ReplicaFloor& ThreadReplicaFloor() {
  thread_local ReplicaFloor floor;
  return floor;
}

}  // namespace internal

namespace {

template <typename Tx>
common::Status RunOn(Database::Pool& pool, const std::function<common::Status(Tx&)>& fn) {
  ASSIGN_OR_RETURN(std::unique_ptr<pqxx::connection> c, pool.Acquire());
  common::Status result;
  bool broken = false;
  try {
    Tx tx(*c);
    const internal::ReplicaFloor& floor = internal::ThreadReplicaFloor();
    if (floor.pool == &pool && !internal::ShowsPosition(tx, floor.at)) {
      // It reached another standby than the one Enter() asked; a new connection most likely
      // reaches the first one of the URL again.
      result = common::Error::Unavailable(
          "the read replica is behind the primary (this connection reached another standby)");
      broken = true;
    } else {
      result = fn(tx);
      if (result.ok()) tx.commit();
    }
  } catch (const std::exception& e) {
    result = MapDbException(e);
    broken = result.error().code() == common::ErrorCode::kUnavailable;
  }
  if (broken) {
    try {
      c->disconnect();
    } catch (...) {
    }
    c.reset();
  }
  pool.Release(std::move(c), broken);
  return result;
}

}  // namespace

common::Status Database::Pool::Run(const std::function<common::Status(pqxx::work&)>& fn) {
  return RunOn<pqxx::work>(*this, fn);
}

common::Status Database::Pool::RunAutocommit(
    const std::function<common::Status(pqxx::nontransaction&)>& fn) {
  return RunOn<pqxx::nontransaction>(*this, fn);
}

}  // namespace storage
