#include "pipeline/key_rotation.h"

#include <openssl/crypto.h>

#include <map>

namespace pipeline {
namespace {

// A batch: at most what the holder unwraps in one call.
constexpr int kBatch = static_cast<int>(vault::KeyHolder::kMaxKeysPerCall);

void Cleanse(std::vector<vault::Key>& keys) {
  for (vault::Key& k : keys) OPENSSL_cleanse(k.data(), k.size());
}

// Re-wraps one table's rows of the tenant; returns how many.
common::Result<int64_t> RewrapTable(storage::KeyRotationStore& store, vault::KeyHolder& holder,
                                    storage::WrappedTable table, const std::string& tenant,
                                    const vault::TenantKey& current) {
  int64_t done = 0;
  std::string after;
  for (;;) {
    ASSIGN_OR_RETURN(std::vector<storage::WrappedRow> rows,
                     store.WrappedForOthers(table, tenant, current.kek_id, after, kBatch));
    if (rows.empty()) return done;
    after = rows.back().key;
    // One unwrapping call per pair the batch names.
    std::map<std::string, std::vector<storage::WrappedRow>> by_pair;
    for (auto& r : rows) by_pair[r.kek_id].push_back(std::move(r));
    for (const auto& [kek_id, group] : by_pair) {
      std::vector<std::string> wrapped;
      wrapped.reserve(group.size());
      for (const auto& r : group) wrapped.push_back(r.wrapped_key);
      auto keys = holder.Unwrap(tenant, kek_id, wrapped);
      if (!keys.ok()) {
        return common::Error(keys.error().code(), std::string(storage::TableName(table)) +
                                                      ": cannot unwrap for key pair " + kek_id +
                                                      ": " + keys.error().message());
      }
      auto fresh = vault::WrapKeys(tenant, current, *keys);
      Cleanse(*keys);
      if (!fresh.ok()) return fresh.error();
      ASSIGN_OR_RETURN(int64_t n, store.Rewrap(table, tenant, group, current.kek_id, *fresh));
      done += n;
    }
  }
}

}  // namespace

common::Result<RewrapReport> RewrapTenant(storage::KeyRotationStore& store,
                                          vault::KeyHolder& holder, const std::string& tenant) {
  ASSIGN_OR_RETURN(vault::TenantKey current, holder.PublicKeyFor(tenant));
  RewrapReport report;
  report.current = current.kek_id;
  for (storage::WrappedTable table : storage::kWrappedTables) {
    ASSIGN_OR_RETURN(int64_t n, RewrapTable(store, holder, table, tenant, current));
    report.rewrapped.emplace_back(storage::TableName(table), n);
  }
  ASSIGN_OR_RETURN(report.in_use, store.PairsInUse(tenant));
  return report;
}

common::Status DestroyTenantKey(storage::KeyRotationStore& store, vault::KeyHolder& holder,
                                const std::string& tenant, const std::string& kek_id) {
  ASSIGN_OR_RETURN(vault::TenantKey current, holder.PublicKeyFor(tenant));
  if (current.kek_id == kek_id) {
    return common::Error::Conflict(kek_id + " is the current key pair: rotate first");
  }
  RETURN_IF_ERROR(store.Retire(tenant, kek_id));
  ASSIGN_OR_RETURN(auto in_use, store.PairsInUse(tenant));
  for (const auto& [id, n] : in_use) {
    if (id == kek_id) {
      return common::Error::Conflict(std::to_string(n) + " stored rows are still wrapped for " +
                                     kek_id + " (it is retired now: re-wrap them, then destroy)");
    }
  }
  return holder.Destroy(tenant, kek_id);
}

}  // namespace pipeline
