#include "storage/migrations.h"

#include <algorithm>
#include <pqxx/pqxx>

#include "common/bytes.h"
#include "common/sha256.h"
#include "transaction.h"

namespace storage {
namespace {
constexpr int64_t kMigrationLock = 0x6e6f7461727901;  // "notary" + 1
}

common::Result<int> Migrate(const std::string& url, const std::vector<Migration>& migrations) {
  try {
    pqxx::connection conn(url);
    {
      pqxx::nontransaction nt(conn);
      nt.exec_params("SELECT pg_advisory_lock($1)", kMigrationLock);
      nt.exec(
          "CREATE TABLE IF NOT EXISTS schema_migrations ("
          " version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
          " applied_at timestamptz NOT NULL DEFAULT now())");
    }
    // A database a newer notaryd migrated: this build would run on a schema it does not know
    // (triggers, columns, record kinds), so it stops before anything is read or written.
    int known = 0;
    for (const Migration& m : migrations) known = std::max(known, m.version);
    {
      pqxx::work tx(conn);
      pqxx::result newer = tx.exec_params(
          "SELECT version, name FROM schema_migrations WHERE version > $1 ORDER BY version "
          "LIMIT 1",
          known);
      if (!newer.empty()) {
        return common::Error::Conflict(
            "the database was migrated by a newer notaryd (migration " +
            newer[0][1].as<std::string>() + "); this one knows migrations up to " +
            std::to_string(known) +
            ": install the newer version again (going back needs a restore from a backup "
            "taken before the upgrade, docs/operations.md)");
      }
    }
    int applied = 0;
    for (const Migration& m : migrations) {
      const std::string checksum = common::ToHex(common::Sha256Of(m.sql));
      pqxx::work tx(conn);
      pqxx::result r = tx.exec_params(
          "SELECT name, checksum FROM schema_migrations WHERE version = $1", m.version);
      if (!r.empty()) {
        if (r[0][1].as<std::string>() != checksum) {
          return common::Error::Conflict("migration " + m.name +
                                         " was already applied with different contents "
                                         "(checksum mismatch); write a new migration instead");
        }
        continue;
      }
      tx.exec(m.sql);
      tx.exec_params("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                     m.version, m.name, checksum);
      tx.commit();
      ++applied;
    }
    pqxx::nontransaction nt(conn);
    nt.exec_params("SELECT pg_advisory_unlock($1)", kMigrationLock);
    return applied;
  } catch (const pqxx::sql_error& e) {
    common::Error mapped = MapDbException(e);
    if (mapped.code() == common::ErrorCode::kUnavailable) return mapped;
    return common::Error::Internal("migration failed: " + std::string(e.what()));
  } catch (const std::exception& e) {
    return MapDbException(e);
  }
}

}  // namespace storage
