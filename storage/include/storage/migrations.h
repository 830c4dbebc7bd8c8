// Versioned schema migrations: migrations/NNNN_name.sql, applied in order, each in its own
// transaction, recorded in schema_migrations with the SHA-256 of its text. Applying twice
// is a no-op; an applied migration whose text changed is refused, naming it. Concurrent
// migrators serialise on an advisory lock.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace storage {

struct Migration {
  int version;
  std::string name;  // e.g. "0001_init"
  std::string sql;
};

// The migrations compiled into this build, in version order.
std::vector<Migration> BuiltinMigrations();

// Applies what is missing as the schema owner at `url`. Returns how many were applied.
// Refuses (Conflict, naming it) a database that holds a migration newer than any of
// `migrations`: the schema of a newer notaryd, which an older one must not run on.
common::Result<int> Migrate(const std::string& url, const std::vector<Migration>& migrations);

}  // namespace storage
