#include "storage/receipt_index.h"

#include "transaction.h"

namespace storage {
namespace {

// Takes the receipts that `pick` (a SELECT of index_pending rows, locked) names out of the
// queue and indexes those not erased meanwhile, in one statement; returns how many it took.
// The queue row carries the searchable fields (migration 0016): a receipt's own are sealed.
std::string IndexStatement(const std::string& pick) {
  return "WITH q AS (DELETE FROM index_pending WHERE receipt_id IN (" + pick +
         ") RETURNING *), i AS (INSERT INTO receipt_index (receipt_id, tenant_id,"
         " received_at_us, envelope_from, hdr_from, subject, message_id, addresses,"
         " attachment_names) SELECT q.receipt_id, q.tenant_id, q.received_at_us,"
         " q.envelope_from, q.hdr_from, q.subject, q.message_id, q.addresses,"
         " q.attachment_names FROM q"
         " WHERE NOT EXISTS (SELECT 1 FROM erasures e WHERE e.receipt_id = q.receipt_id)"
         " ON CONFLICT (receipt_id) DO NOTHING RETURNING 1)"
         " SELECT count(*) FROM q";
}

const std::string& BatchSql() {
  // SKIP LOCKED: indexers on several nodes take different receipts.
  static const std::string sql =
      IndexStatement("SELECT receipt_id FROM index_pending LIMIT $1 FOR UPDATE SKIP LOCKED");
  return sql;
}

const std::string& TenantSql() {
  // Without SKIP LOCKED: a row an indexer holds is waited for, and once that indexer commits
  // it is gone from the queue and in the index.
  static const std::string sql = IndexStatement(
      "SELECT p.receipt_id FROM index_pending p JOIN tenants t ON t.id = p.tenant_id"
      " WHERE t.name = $1 LIMIT $2 FOR UPDATE OF p");
  return sql;
}

const std::string& ReceiptSql() {
  static const std::string sql =
      IndexStatement("SELECT receipt_id FROM index_pending WHERE receipt_id = $1::uuid FOR UPDATE");
  return sql;
}

}  // namespace

common::Result<int64_t> ReceiptIndex::IndexBatch(int limit) {
  return InAutocommit<int64_t>(db_, [&](pqxx::nontransaction& tx) -> common::Result<int64_t> {
    return tx.exec_params(BatchSql(), limit)[0][0].as<int64_t>();
  });
}

common::Result<int64_t> ReceiptIndex::CatchUp(const std::string& tenant) {
  // Usually nothing is queued (the indexer keeps up): one read says so, without taking locks.
  // A row an indexer holds is still seen here until that indexer commits.
  ASSIGN_OR_RETURN(const bool queued,
                   InAutocommit<bool>(db_, [&](pqxx::nontransaction& tx) -> common::Result<bool> {
                     return tx
                         .exec_params(
                             "SELECT EXISTS (SELECT 1 FROM index_pending p JOIN tenants t"
                             " ON t.id = p.tenant_id WHERE t.name = $1)",
                             tenant)[0][0]
                         .as<bool>();
                   }));
  if (!queued) return 0;
  int64_t total = 0;
  // Batches that commit one by one, so that a long queue holds no lock for long. What ingest
  // adds meanwhile may be indexed too; it need not be.
  while (true) {
    ASSIGN_OR_RETURN(
        int64_t n,
        InAutocommit<int64_t>(db_, [&](pqxx::nontransaction& tx) -> common::Result<int64_t> {
          return tx.exec_params(TenantSql(), tenant, kCatchUpBatch)[0][0].as<int64_t>();
        }));
    total += n;
    if (n < kCatchUpBatch) return total;
  }
}

common::Result<int64_t> ReceiptIndex::Backlog() {
  return InAutocommit<int64_t>(db_, [&](pqxx::nontransaction& tx) -> common::Result<int64_t> {
    return tx.exec("SELECT count(*) FROM index_pending")[0][0].as<int64_t>();
  });
}

void IndexReceiptTx(pqxx::transaction_base& tx, const std::string& receipt_id) {
  tx.exec_params(ReceiptSql(), receipt_id);
}

}  // namespace storage
