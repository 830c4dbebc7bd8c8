// AdminStore: tenants, API keys (only salted hashes), signing keys and the access trail.
//
// Thread-safety: thread-safe (uses the Database pool).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "storage/database.h"
#include "storage/records.h"

namespace storage {

struct ApiKeyRow {
  std::string key_id;
  std::string tenant;
  std::string label;
  std::vector<std::string> scopes;
  std::string salt, hash;  // raw bytes
  int64_t created_at_us = 0;
  std::optional<int64_t> expires_at_us, revoked_at_us;
};

struct AccessEntry {
  std::string key_id, tenant, route, receipt_id, client_ip, detail;
  int64_t at_us = 0;
};

class AdminStore {
 public:
  explicit AdminStore(Database& db) : db_(db) {}

  common::Status CreateTenant(const std::string& name);  // kConflict when it exists
  common::Result<std::vector<std::string>> ListTenants();

  common::Status InsertApiKey(const ApiKeyRow& row);  // kNotFound for an unknown tenant
  common::Result<std::optional<ApiKeyRow>> FindApiKey(const std::string& key_id);
  common::Result<std::vector<ApiKeyRow>> ListApiKeys(const std::optional<std::string>& tenant);
  common::Status RevokeApiKey(const std::string& key_id);  // kNotFound when unknown

  common::Status InsertSigningKey(const KeyRow& key);
  common::Result<std::vector<KeyRow>> ListSigningKeys();
  // Ends the validity of every key but `current` at now().
  common::Status RetireSigningKeysExcept(const std::string& current);

  common::Status LogAccess(const AccessEntry& e);
  common::Result<std::vector<AccessEntry>> ListAccess(const std::string& tenant,
                                                      std::optional<std::string> receipt_id,
                                                      int limit);

 private:
  Database& db_;
};

}  // namespace storage
