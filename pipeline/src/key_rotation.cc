#include "pipeline/key_rotation.h"

#include <openssl/crypto.h>

#include <map>
#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "log/action_record.h"
#include "pipeline/holds.h"

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

// Records what was just done to the tenant's pair `kek_id`; `done` says what, for the error
// when the record cannot be stored (the change stands).
common::Status RecordKeyAction(storage::KeyRotationStore& store, std::string_view action,
                               const std::string& tenant, const std::string& kek_id,
                               const std::string& actor, nlohmann::json details,
                               const std::string& done) {
  details["kek_id"] = kek_id;
  auto made = MakeAction(action, tenant, kek_id, actor, common::Clock::System().NowMicros(),
                         details.dump());
  common::Status st = made.ok() ? store.Record(tenant, *made) : common::Status(made.error());
  if (!st.ok()) {
    return common::Error(st.error().code(), done + ", but its record in the log was not stored: " +
                                                st.error().message());
  }
  return common::Ok();
}

}  // namespace

common::Result<vault::TenantKey> RotateTenantKey(storage::KeyRotationStore& store,
                                                 vault::KeyHolder& holder,
                                                 const std::string& tenant,
                                                 const std::string& actor) {
  ASSIGN_OR_RETURN(vault::TenantKey made, holder.Rotate(tenant));
  RETURN_IF_ERROR(RecordKeyAction(store, notary::ActionRecord::kKeyRotate, tenant, made.kek_id,
                                  actor, nlohmann::json::object(),
                                  "key pair " + made.kek_id + " is current"));
  return made;
}

common::Result<RewrapReport> RewrapTenant(storage::KeyRotationStore& store,
                                          vault::KeyHolder& holder, const std::string& tenant,
                                          const std::string& actor) {
  ASSIGN_OR_RETURN(vault::TenantKey current, holder.PublicKeyFor(tenant));
  RewrapReport report;
  report.current = current.kek_id;
  nlohmann::json counts = nlohmann::json::object();
  int64_t total = 0;
  for (storage::WrappedTable table : storage::kWrappedTables) {
    ASSIGN_OR_RETURN(int64_t n, RewrapTable(store, holder, table, tenant, current));
    report.rewrapped.emplace_back(storage::TableName(table), n);
    counts[storage::TableName(table)] = n;
    total += n;
  }
  // A re-wrap that found nothing to move changed nothing, and is not recorded.
  if (total > 0) {
    RETURN_IF_ERROR(RecordKeyAction(
        store, notary::ActionRecord::kKeyRewrap, tenant, current.kek_id, actor,
        {{"rewrapped", counts}},
        std::to_string(total) + " data keys were re-wrapped for " + current.kek_id));
  }
  ASSIGN_OR_RETURN(report.in_use, store.PairsInUse(tenant));
  return report;
}

common::Status DestroyTenantKey(storage::KeyRotationStore& store, vault::KeyHolder& holder,
                                const std::string& tenant, const std::string& kek_id,
                                const std::string& actor) {
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
  RETURN_IF_ERROR(holder.Destroy(tenant, kek_id));
  return RecordKeyAction(store, notary::ActionRecord::kKeyDestroy, tenant, kek_id, actor,
                         nlohmann::json::object(), "key pair " + kek_id + " was destroyed");
}

}  // namespace pipeline
