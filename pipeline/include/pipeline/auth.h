// API keys: "nk_<key id>_<secret>". Only a salted SHA-256 of the secret is stored; the
// presented secret is hashed with the stored salt and compared in constant time. Keys carry
// scopes, may expire and may be revoked. Scopes: ingest (POST messages), read (search,
// receipts, evidence), admin (the tenant's access trail), relay (an ingest key may state what
// the forwarding MTA observed: client address, HELO, TLS, AUTH user, queue id; for the milter),
// journal (the key's submissions are a trusted journaling source: Exchange journal reports
// are unwrapped), tsa (POST /v1/tsa, the built-in time-stamp authority, unless notaryd runs
// with --public-tsa). A per-key token bucket limits the request rate.
//
// Thread-safety: thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/thread_annotations.h"
#include "storage/admin_store.h"

namespace pipeline {

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

// Makes a key for `tenant` (scopes validated against the list above).
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

  // Failed attempts (a malformed, unknown, expired or revoked key) per client address: a
  // burst of kFailureBurst, then kFailuresPerMinute; past that, every attempt from that
  // address is refused as rate limited until the bucket refills, so keys cannot be guessed
  // at network speed (issue 17, finding 9).
  static constexpr double kFailureBurst = 20;
  static constexpr double kFailuresPerMinute = 10;
  static constexpr size_t kMaxTrackedAddresses = 65536;

  Authenticator(storage::AdminStore& store, uint32_t per_minute);
  // `authorization` is the Authorization header value ("Bearer <key>") or empty; `client` the
  // peer address the failure limit counts against. `now_us` (the caller's injected clock)
  // decides expiry and refills both rate limits; a step back in time refills nothing.
  Outcome Authenticate(const std::string& authorization, int64_t now_us,
                       const std::string& client = "") EXCLUDES(mu_);

 private:
  struct Bucket {
    double tokens;
    int64_t last_us;
  };
  // The key check itself, without the failure limit.
  Outcome Check(const std::string& authorization, int64_t now_us) EXCLUDES(mu_);
  // REQUIRES: mu_ held. Refills and returns the failure bucket of `client`.
  Bucket& FailureBucketLocked(const std::string& client, int64_t now_us) REQUIRES(mu_);

  storage::AdminStore& store_;
  const double per_minute_;
  common::Mutex mu_;
  std::map<std::string, Bucket> buckets_ GUARDED_BY(mu_);
  std::map<std::string, Bucket> failures_ GUARDED_BY(mu_);  // by client address
};

}  // namespace pipeline
