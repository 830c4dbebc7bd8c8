#include "storage/key_rotation_store.h"

#include <pqxx/pqxx>

#include "hold_coverage.h"
#include "pg_array.h"
#include "pg_util.h"
#include "transaction.h"

namespace storage {
namespace {

// The nil UUID sorts before every receipt id: the start of a scan of the receipt tables.
constexpr const char* kFirstReceipt = "00000000-0000-0000-0000-000000000000";

int64_t TenantIdTx(pqxx::work& tx, const std::string& tenant) {
  pqxx::result r = tx.exec_params("SELECT id FROM tenants WHERE name = $1", tenant);
  return r.empty() ? 0 : r[0][0].as<int64_t>();
}

// Each receipt table's rows, scoped to the tenant through their receipt.
std::string ReceiptTableSelect(const char* table) {
  return std::string("SELECT x.receipt_id::text, x.kek_id, x.wrapped_key FROM ") + table +
         " x JOIN receipts r ON r.id = x.receipt_id WHERE r.tenant_id = $1 AND x.kek_id <> $2"
         " AND x.receipt_id > $3::uuid ORDER BY x.receipt_id LIMIT $4";
}

std::string ReceiptTableUpdate(const char* table) {
  return std::string("UPDATE ") + table +
         " x SET kek_id = $2, wrapped_key = u.w"
         " FROM unnest($3::text[], $4::text[], $5::bytea[]) AS u(k, old_kek, w)"
         " WHERE x.receipt_id = u.k::uuid AND x.kek_id = u.old_kek"
         " AND EXISTS (SELECT 1 FROM receipts r WHERE r.id = x.receipt_id AND r.tenant_id = $1)";
}

}  // namespace

const char* TableName(WrappedTable table) {
  switch (table) {
    case WrappedTable::kSealedBlobs:
      return "sealed_blobs";
    case WrappedTable::kReceiptFields:
      return "receipt_fields";
    case WrappedTable::kAuthentications:
      return "authentications";
    case WrappedTable::kJournalReports:
      return "journal_reports";
  }
  return "";
}

common::Result<std::vector<WrappedRow>> KeyRotationStore::WrappedForOthers(
    WrappedTable table, const std::string& tenant, const std::string& current,
    const std::string& after, int limit) {
  return InTransaction<std::vector<WrappedRow>>(
      db_, [&](pqxx::work& tx) -> common::Result<std::vector<WrappedRow>> {
        const int64_t tenant_id = TenantIdTx(tx, tenant);
        if (tenant_id == 0) return common::Error::NotFound("no such tenant");
        pqxx::result r;
        if (table == WrappedTable::kSealedBlobs) {
          r = tx.exec_params(
              "SELECT sha256, kek_id, wrapped_key FROM sealed_blobs WHERE tenant_id = $1"
              " AND kek_id <> $2 AND sha256 > $3 ORDER BY sha256 LIMIT $4",
              tenant_id, current, Bytea(after), limit);
        } else {
          r = tx.exec_params(ReceiptTableSelect(TableName(table)), tenant_id, current,
                             after.empty() ? std::string(kFirstReceipt) : after, limit);
        }
        std::vector<WrappedRow> out;
        out.reserve(r.size());
        for (const auto& row : r) {
          WrappedRow w;
          w.key =
              table == WrappedTable::kSealedBlobs ? BytesField(row[0]) : row[0].as<std::string>();
          w.kek_id = row[1].as<std::string>();
          w.wrapped_key = BytesField(row[2]);
          out.push_back(std::move(w));
        }
        return out;
      });
}

common::Result<int64_t> KeyRotationStore::Rewrap(WrappedTable table, const std::string& tenant,
                                                 std::span<const WrappedRow> rows,
                                                 const std::string& new_kek,
                                                 std::span<const std::string> new_wrapped) {
  if (rows.size() != new_wrapped.size()) {
    return common::Error::InvalidInput("a new wrapping for each row");
  }
  if (rows.empty()) return int64_t{0};
  return InTransaction<int64_t>(db_, [&](pqxx::work& tx) -> common::Result<int64_t> {
    const int64_t tenant_id = TenantIdTx(tx, tenant);
    if (tenant_id == 0) return common::Error::NotFound("no such tenant");
    // The triggers of migration 0021 let this transaction change the wrapping, and only it.
    tx.exec("SET LOCAL notary.rewrap = 'on'");
    PgArray keys(table == WrappedTable::kSealedBlobs ? PgArray::Type::kBytea
                                                     : PgArray::Type::kText);
    PgArray olds(PgArray::Type::kText), wrapped(PgArray::Type::kBytea);
    for (size_t i = 0; i < rows.size(); ++i) {
      keys.Add(rows[i].key);
      olds.Add(rows[i].kek_id);
      wrapped.Add(new_wrapped[i]);
    }
    pqxx::result r;
    if (table == WrappedTable::kSealedBlobs) {
      r = tx.exec_params(
          "UPDATE sealed_blobs s SET kek_id = $2, wrapped_key = u.w"
          " FROM unnest($3::bytea[], $4::text[], $5::bytea[]) AS u(k, old_kek, w)"
          " WHERE s.tenant_id = $1 AND s.sha256 = u.k AND s.kek_id = u.old_kek",
          tenant_id, new_kek, keys.Param(), olds.Param(), wrapped.Param());
    } else {
      r = tx.exec_params(ReceiptTableUpdate(TableName(table)), tenant_id, new_kek, keys.Param(),
                         olds.Param(), wrapped.Param());
    }
    return static_cast<int64_t>(r.affected_rows());
  });
}

common::Status KeyRotationStore::Record(const std::string& tenant, const NewAction& action) {
  auto done = InTransaction<bool>(db_, [&](pqxx::work& tx) -> common::Result<bool> {
    if (TenantIdTx(tx, tenant) == 0) return common::Error::NotFound("no such tenant");
    InsertAction(tx, tenant, action);
    return true;
  });
  if (!done.ok()) return done.error();
  return common::Ok();
}

common::Status KeyRotationStore::Retire(const std::string& tenant, const std::string& kek_id) {
  auto done = InTransaction<bool>(db_, [&](pqxx::work& tx) -> common::Result<bool> {
    const int64_t tenant_id = TenantIdTx(tx, tenant);
    if (tenant_id == 0) return common::Error::NotFound("no such tenant");
    // Waits for the inserts in flight (ROW EXCLUSIVE until their commit) and keeps new ones
    // out until this commits: every row stored after it is checked against the list, and
    // every row stored before it is counted by whoever reads after. The order is
    // notary_erase's, sealed_blobs first.
    tx.exec(
        "LOCK TABLE sealed_blobs, receipt_fields, authentications, journal_reports"
        " IN SHARE ROW EXCLUSIVE MODE");
    tx.exec_params(
        "INSERT INTO retired_keks (tenant_id, kek_id) VALUES ($1, $2)"
        " ON CONFLICT (tenant_id, kek_id) DO NOTHING",
        tenant_id, kek_id);
    return true;
  });
  if (!done.ok()) return done.error();
  return common::Ok();
}

common::Result<std::vector<std::pair<std::string, int64_t>>> KeyRotationStore::PairsInUse(
    const std::string& tenant) {
  using Pairs = std::vector<std::pair<std::string, int64_t>>;
  return InTransaction<Pairs>(db_, [&](pqxx::work& tx) -> common::Result<Pairs> {
    const int64_t tenant_id = TenantIdTx(tx, tenant);
    if (tenant_id == 0) return common::Error::NotFound("no such tenant");
    pqxx::result r = tx.exec_params(
        "SELECT kek_id, sum(n)::bigint FROM ("
        " SELECT kek_id, count(*) AS n FROM sealed_blobs WHERE tenant_id = $1 GROUP BY kek_id"
        " UNION ALL SELECT x.kek_id, count(*) FROM receipt_fields x JOIN receipts r"
        "  ON r.id = x.receipt_id WHERE r.tenant_id = $1 GROUP BY x.kek_id"
        " UNION ALL SELECT x.kek_id, count(*) FROM authentications x JOIN receipts r"
        "  ON r.id = x.receipt_id WHERE r.tenant_id = $1 AND x.kek_id IS NOT NULL"
        "  GROUP BY x.kek_id"
        " UNION ALL SELECT x.kek_id, count(*) FROM journal_reports x JOIN receipts r"
        "  ON r.id = x.receipt_id WHERE r.tenant_id = $1 AND x.kek_id IS NOT NULL"
        "  GROUP BY x.kek_id) p GROUP BY kek_id ORDER BY kek_id",
        tenant_id);
    Pairs out;
    for (const auto& row : r) out.emplace_back(row[0].as<std::string>(), row[1].as<int64_t>());
    return out;
  });
}

}  // namespace storage
