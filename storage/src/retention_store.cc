#include "storage/retention_store.h"

#include <pqxx/pqxx>

#include "hold_coverage.h"
#include "pg_util.h"
#include "transaction.h"

namespace storage {
namespace {

// The latest setting of each tenant, with where the log holds its record.
constexpr const char* kPolicySelect =
    "SELECT DISTINCT ON (s.tenant_id) t.name, s.days, s.set_at_us, s.set_by, s.action_id,"
    " a.leaf_hash, l.leaf_index, l.block_height FROM retention_settings s"
    " JOIN tenants t ON t.id = s.tenant_id JOIN actions a ON a.id = s.action_id"
    " LEFT JOIN leaves l ON l.action_of = a.id ";
constexpr const char* kPolicyOrder = " ORDER BY s.tenant_id, s.id DESC";

std::optional<int64_t> OptInt(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<int64_t>();
}

RetentionPolicy ReadPolicy(const pqxx::row& r) {
  RetentionPolicy p;
  p.tenant = r[0].as<std::string>();
  if (!r[1].is_null()) p.days = r[1].as<int>();
  p.set_at_us = r[2].as<int64_t>();
  p.set_by = r[3].as<std::string>();
  p.action.id = r[4].as<int64_t>();
  p.action.leaf_hash = HashField(r[5]);
  p.action.leaf_index = OptInt(r[6]);
  p.action.block_height = OptInt(r[7]);
  return p;
}

std::optional<RetentionPolicy> GetTx(pqxx::work& tx, const std::string& tenant) {
  pqxx::result r =
      tx.exec_params(std::string(kPolicySelect) + "WHERE t.name = $1" + kPolicyOrder, tenant);
  if (r.empty()) return std::nullopt;
  return ReadPolicy(r[0]);
}

}  // namespace

common::Result<RetentionPolicy> RetentionStore::Set(const std::string& tenant,
                                                    std::optional<int> days,
                                                    const NewAction& action) {
  return InTransaction<RetentionPolicy>(
      db_, [&](pqxx::work& tx) -> common::Result<RetentionPolicy> {
        if (tx.exec_params("SELECT 1 FROM tenants WHERE name = $1", tenant).empty()) {
          return common::Error::NotFound("no such tenant");
        }
        const int64_t action_id = InsertAction(tx, tenant, action);
        tx.exec_params(
            "INSERT INTO retention_settings (tenant_id, days, set_at_us, set_by, action_id)"
            " SELECT t.id, $2, $3, $4, $5 FROM tenants t WHERE t.name = $1",
            tenant, days, action.acted_at_us, action.actor, action_id);
        auto p = GetTx(tx, tenant);
        if (!p) return common::Error::Internal("the retention setting just stored is missing");
        return std::move(*p);
      });
}

common::Result<std::optional<RetentionPolicy>> RetentionStore::Get(const std::string& tenant) {
  return InTransaction<std::optional<RetentionPolicy>>(
      db_, [&](pqxx::work& tx) -> common::Result<std::optional<RetentionPolicy>> {
        return GetTx(tx, tenant);
      });
}

common::Result<std::vector<RetentionPolicy>> RetentionStore::Periods() {
  return InTransaction<std::vector<RetentionPolicy>>(
      db_, [&](pqxx::work& tx) -> common::Result<std::vector<RetentionPolicy>> {
        std::vector<RetentionPolicy> out;
        for (const auto& r : tx.exec(std::string("SELECT * FROM (") + kPolicySelect + kPolicyOrder +
                                     ") p WHERE p.days IS NOT NULL")) {
          out.push_back(ReadPolicy(r));
        }
        return out;
      });
}

common::Result<std::vector<ExpiredMessage>> RetentionStore::Expired(
    const std::string& tenant, int64_t cutoff_us, const std::optional<ExpiredMessage>& after,
    int limit) {
  return InTransaction<std::vector<ExpiredMessage>>(
      db_, [&](pqxx::work& tx) -> common::Result<std::vector<ExpiredMessage>> {
        // On receipts_tenant_time_us: the tenant's oldest first, from the cursor on.
        pqxx::result rows = tx.exec_params(
            "SELECT r.received_at_us, r.id::text FROM receipts r JOIN tenants t"
            " ON t.id = r.tenant_id WHERE t.name = $1 AND r.received_at_us < $2"
            " AND ($3::bigint IS NULL OR (r.received_at_us, r.id) > ($3::bigint, $4::uuid))"
            " AND NOT EXISTS (SELECT 1 FROM erasures e WHERE e.receipt_id = r.id)"
            " AND EXISTS (SELECT 1 FROM leaves l WHERE l.receipt_id = r.id)"
            " AND NOT EXISTS (SELECT 1 FROM pending p WHERE p.authentication_of = r.id)"
            " ORDER BY r.received_at_us, r.id LIMIT $5",
            tenant, cutoff_us, after ? std::optional<int64_t>(after->received_at_us) : std::nullopt,
            after ? std::optional<std::string>(after->receipt_id) : std::nullopt, limit);
        std::vector<ExpiredMessage> out;
        for (const auto& r : rows) out.push_back({r[0].as<int64_t>(), r[1].as<std::string>()});
        return out;
      });
}

}  // namespace storage
