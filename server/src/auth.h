// API keys: "nk_<key id>_<secret>". Only a salted SHA-256 of the secret is stored; the
// presented secret is hashed with the stored salt and compared in constant time. Keys carry
// scopes (ingest, read, admin), may expire and may be revoked. A per-key token bucket
// limits the request rate.
//
// Thread-safety: thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "storage/admin_store.h"

namespace server {

struct Principal {
  std::string key_id;
  std::string tenant;
  std::vector<std::string> scopes;
  bool Has(const std::string& scope) const;
};

struct NewApiKey {
  std::string key;  // shown once
  storage::ApiKeyRow row;
};

// Makes a key for `tenant` (scopes validated: ingest, read, admin).
common::Result<NewApiKey> GenerateApiKey(const std::string& tenant,
                                         const std::vector<std::string>& scopes,
                                         std::optional<int64_t> expires_at_us,
                                         const std::string& label);

class Authenticator {
 public:
  enum class Failure {
    kMissing,
    kMalformed,
    kUnknown,
    kExpired,
    kRevoked,
    kRateLimited,
    kUnavailable
  };
  struct Outcome {
    std::optional<Principal> principal;
    Failure failure = Failure::kMissing;
    int retry_after_s = 0;
  };

  Authenticator(storage::AdminStore& store, uint32_t per_minute);
  // `authorization` is the Authorization header value ("Bearer <key>") or empty.
  Outcome Authenticate(const std::string& authorization, int64_t now_us);

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point last;
  };
  storage::AdminStore& store_;
  const double per_minute_;
  std::mutex mu_;
  std::map<std::string, Bucket> buckets_;  // GUARDED_BY(mu_)
};

}  // namespace server
