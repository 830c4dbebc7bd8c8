#include "storage/erasure_store.h"

#include <pqxx/pqxx>

#include "hold_coverage.h"
#include "pg_util.h"
#include "storage/receipt_index.h"
#include "transaction.h"

namespace storage {
namespace {

constexpr const char* kErasureSelect =
    "SELECT e.receipt_id::text, t.name, e.reason, e.erased_at_us, e.erased_by, e.action_id,"
    " a.leaf_hash, l.leaf_index, l.block_height, a.record, a.details FROM erasures e"
    " JOIN tenants t ON t.id = e.tenant_id JOIN actions a ON a.id = e.action_id"
    " LEFT JOIN leaves l ON l.action_of = a.id ";

std::optional<int64_t> OptInt(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<int64_t>();
}

Erasure ReadErasure(const pqxx::row& r) {
  Erasure e;
  e.receipt_id = r[0].as<std::string>();
  e.tenant = r[1].as<std::string>();
  e.reason = r[2].as<std::string>();
  e.erased_at_us = r[3].as<int64_t>();
  e.erased_by = r[4].as<std::string>();
  e.action.id = r[5].as<int64_t>();
  e.action.leaf_hash = HashField(r[6]);
  e.action.leaf_index = OptInt(r[7]);
  e.action.block_height = OptInt(r[8]);
  e.record = BytesField(r[9]);
  e.details = BytesField(r[10]);
  return e;
}

std::optional<Erasure> GetTx(pqxx::work& tx, const std::string& tenant,
                             const std::string& receipt_id) {
  pqxx::result r =
      tx.exec_params(std::string(kErasureSelect) + "WHERE t.name = $1 AND e.receipt_id = $2::uuid",
                     tenant, receipt_id);
  if (r.empty()) return std::nullopt;
  return ReadErasure(r[0]);
}

}  // namespace

common::Result<Erasure> ErasureStore::Erase(const std::string& tenant,
                                            const std::string& receipt_id,
                                            const std::string& reason, const NewAction& action) {
  if (!IsUuid(receipt_id)) return common::Error::NotFound("no such message");
  return InTransaction<Erasure>(db_, [&](pqxx::work& tx) -> common::Result<Erasure> {
    LockHolds(tx, tenant);
    pqxx::result cur = tx.exec_params(
        "SELECT EXISTS (SELECT 1 FROM erasures e WHERE e.receipt_id = r.id),"
        " EXISTS (SELECT 1 FROM pending p WHERE p.receipt_id = r.id"
        " OR p.authentication_of = r.id)"
        " FROM receipts r JOIN tenants t ON t.id = r.tenant_id"
        " WHERE t.name = $1 AND r.id = $2::uuid",
        tenant, receipt_id);
    if (cur.empty()) return common::Error::NotFound("no such message");
    if (cur[0][0].as<bool>()) return common::Error::Conflict("the message was erased already");
    if (cur[0][1].as<bool>()) {
      return common::Error::Conflict(
          "the message is not sealed yet; erase it once it is (within seconds)");
    }
    // A hold by search is weighed against the message's searchable fields: a receipt still
    // queued for the index (migration 0015) is indexed first.
    IndexReceiptTx(tx, receipt_id);
    ASSIGN_OR_RETURN(std::vector<HoldRef> holds, CoveringTx(db_, tx, tenant, receipt_id));
    if (!holds.empty()) {
      std::string names;
      for (const HoldRef& h : holds) {
        names += (names.empty() ? "" : ", ") + std::string("'") + h.name + "' (" + h.id + ")";
      }
      return common::Error::Conflict("the message is under legal hold: " + names);
    }
    const int64_t action_id = InsertAction(tx, tenant, action);
    const int64_t removed =
        tx.exec_params("SELECT notary_erase($1::uuid, $2, $3)", receipt_id, action_id, reason)[0][0]
            .as<int64_t>();
    auto e = GetTx(tx, tenant, receipt_id);
    if (!e) return common::Error::Internal("the erasure just stored is missing");
    e->copies_removed = removed;
    return std::move(*e);
  });
}

common::Result<std::optional<Erasure>> ErasureStore::Get(const std::string& tenant,
                                                         const std::string& receipt_id) {
  if (!IsUuid(receipt_id)) return std::optional<Erasure>();
  return InTransaction<std::optional<Erasure>>(
      db_, [&](pqxx::work& tx) -> common::Result<std::optional<Erasure>> {
        return GetTx(tx, tenant, receipt_id);
      });
}

common::Result<std::optional<std::string>> ErasureStore::TenantOf(const std::string& receipt_id) {
  if (!IsUuid(receipt_id)) return std::optional<std::string>();
  return InTransaction<std::optional<std::string>>(
      db_, [&](pqxx::work& tx) -> common::Result<std::optional<std::string>> {
        pqxx::result r = tx.exec_params(
            "SELECT t.name FROM receipts r JOIN tenants t ON t.id = r.tenant_id"
            " WHERE r.id = $1::uuid",
            receipt_id);
        if (r.empty()) return std::optional<std::string>();
        return std::optional<std::string>(r[0][0].as<std::string>());
      });
}

}  // namespace storage
