// Database: a bounded pool of PostgreSQL connections (libpqxx). Nothing from libpqxx
// crosses this header; storage's own sources run transactions through src/transaction.h,
// the single place where libpqxx exceptions become common::Error values.
//
// A database that is down or restarting surfaces as ErrorCode::kUnavailable (retry later);
// broken connections are dropped and replaced on the next use, so the pool reconnects by
// itself.
// Thread-safety: thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/result.h"

namespace storage {

class Database {
 public:
  struct Options {
    std::string url;
    size_t max_connections = 8;
    std::chrono::milliseconds acquire_timeout{5000};
  };

  // Connects once to check the URL; the pool then grows on demand up to max_connections.
  static common::Result<std::unique_ptr<Database>> Open(Options options);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // True when a trivial query succeeds.
  bool Ping();

  struct Pool;  // defined in src/transaction.h
  Pool& pool() { return *pool_; }

 private:
  explicit Database(std::unique_ptr<Pool> pool);
  std::unique_ptr<Pool> pool_;
};

}  // namespace storage
