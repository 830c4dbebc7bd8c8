#include "storage/receipt_index.h"

#include "pg_array.h"
#include "pg_util.h"
#include "storage/receipt_fields.h"
#include "transaction.h"

namespace storage {
namespace {

// The receipts that `pick` (a SELECT of index_pending rows, locked) names, with their
// searchable fields: in the clear before migration 0016, sealed in receipt_fields since.
std::string TakeSql(const std::string& pick) {
  return "SELECT q.receipt_id::text, r.tenant_id, r.received_at_us, t.name, r.envelope_from,"
         " r.hdr_from, r.subject, r.message_id, array_to_json(r.addresses)::text,"
         " array_to_json(r.attachment_names)::text, f.kek_id, f.wrapped_key, f.data,"
         " EXISTS (SELECT 1 FROM erasures e WHERE e.receipt_id = r.id)"
         " FROM (" +
         pick +
         ") q JOIN receipts r ON r.id = q.receipt_id JOIN tenants t ON t.id = r.tenant_id"
         " LEFT JOIN receipt_fields f ON f.receipt_id = r.id";
}

const std::string& BatchSql() {
  // SKIP LOCKED: indexers on several nodes take different receipts.
  static const std::string sql =
      TakeSql("SELECT receipt_id FROM index_pending LIMIT $1 FOR UPDATE SKIP LOCKED");
  return sql;
}

const std::string& TenantSql() {
  // Without SKIP LOCKED: a row an indexer holds is waited for, and once that indexer commits
  // it is gone from the queue and in the index.
  static const std::string sql = TakeSql(
      "SELECT p.receipt_id FROM index_pending p JOIN tenants t ON t.id = p.tenant_id"
      " WHERE t.name = $1 LIMIT $2 FOR UPDATE OF p");
  return sql;
}

const std::string& ReceiptSql() {
  static const std::string sql =
      TakeSql("SELECT receipt_id FROM index_pending WHERE receipt_id = $1::uuid FOR UPDATE");
  return sql;
}

// Arrays of text arrays cannot be ragged: the address and name lists go as one array literal
// per row, cast back to text[] one by one.
constexpr const char* kInsertIndex =
    "WITH v AS (SELECT * FROM unnest($1::text[], $2::int8[], $3::int8[], $4::text[], $5::text[],"
    " $6::text[], $7::text[], $8::text[], $9::text[]) AS v(id, tenant_id, us, envelope_from,"
    " hdr_from, subject, message_id, addresses, attachment_names)), i AS (INSERT INTO"
    " receipt_index (receipt_id, tenant_id, received_at_us, envelope_from, hdr_from, subject,"
    " message_id, addresses, attachment_names) SELECT v.id::uuid, v.tenant_id, v.us,"
    " v.envelope_from, v.hdr_from, v.subject, v.message_id, v.addresses::text[],"
    " v.attachment_names::text[] FROM v ON CONFLICT (receipt_id) DO NOTHING)"
    " DELETE FROM index_pending WHERE receipt_id = ANY($10::text[]::uuid[])";

// Indexes the receipts `taken` lists (TakeSql's rows, locked in `tx`) and takes them out of
// the queue. Erased ones leave the queue unindexed. Sealed fields are opened with `wrapper`;
// a row that does not open is indexed with no fields (found by none), and counted.
common::Result<int64_t> IndexTaken(pqxx::transaction_base& tx, vault::Wrapper* wrapper,
                                   const pqxx::result& taken, int64_t* unreadable) {
  if (taken.empty()) return 0;
  struct Row {
    std::string id;
    int64_t tenant_id = 0, us = 0;
    std::string envelope_from, hdr_from, subject, message_id;
    std::vector<std::string> addresses, attachment_names;
  };
  std::vector<Row> rows;
  std::vector<FieldsToOpen> sealed;
  std::vector<size_t> sealed_at;
  PgArray all_ids(PgArray::Type::kText);
  for (const auto& t : taken) {
    all_ids.Add(t[0].as<std::string>());
    if (t[13].as<bool>()) continue;  // erased meanwhile
    Row r;
    r.id = t[0].as<std::string>();
    r.tenant_id = t[1].as<int64_t>();
    r.us = t[2].as<int64_t>();
    if (!t[10].is_null()) {
      sealed.push_back(
          {t[3].as<std::string>(), r.id,
           SealedFields{t[10].as<std::string>(), BytesField(t[11]), BytesField(t[12])}});
      sealed_at.push_back(rows.size());
    } else {
      r.envelope_from = t[4].as<std::string>();
      r.hdr_from = t[5].as<std::string>();
      r.subject = t[6].as<std::string>();
      r.message_id = t[7].as<std::string>();
      r.addresses = JsonTextArray(t[8]);
      r.attachment_names = JsonTextArray(t[9]);
    }
    rows.push_back(std::move(r));
  }
  if (!sealed.empty()) {
    if (wrapper == nullptr) {
      return common::Error::Unavailable("receipt fields are sealed and no key holder is set");
    }
    ASSIGN_OR_RETURN(auto opened, OpenFields(*wrapper, sealed));
    for (size_t i = 0; i < opened.size(); ++i) {
      if (!opened[i].ok()) {
        if (unreadable != nullptr) ++*unreadable;
        continue;
      }
      Row& r = rows[sealed_at[i]];
      PersonalFields& f = *opened[i];
      r.envelope_from = std::move(f.mail_from);
      r.hdr_from = std::move(f.from);
      r.subject = std::move(f.subject);
      r.message_id = std::move(f.message_id);
      r.addresses = std::move(f.addresses);
      r.attachment_names = std::move(f.attachment_names);
    }
  }
  using T = PgArray::Type;
  PgArray id(T::kText), tenant(T::kInt8), us(T::kInt8), envelope_from(T::kText), hdr_from(T::kText),
      subject(T::kText), message_id(T::kText), addresses(T::kText), names(T::kText);
  for (const Row& r : rows) {
    id.Add(r.id);
    tenant.AddInt8(r.tenant_id);
    us.AddInt8(r.us);
    envelope_from.Add(r.envelope_from);
    hdr_from.Add(r.hdr_from);
    subject.Add(r.subject);
    message_id.Add(r.message_id);
    addresses.Add(TextArray(r.addresses));
    names.Add(TextArray(r.attachment_names));
  }
  tx.conn().prepare("index_receipts", kInsertIndex);  // a no-op once this connection has it
  tx.exec_prepared("index_receipts", id.Param(), tenant.Param(), us.Param(), envelope_from.Param(),
                   hdr_from.Param(), subject.Param(), message_id.Param(), addresses.Param(),
                   names.Param(), all_ids.Param());
  return static_cast<int64_t>(taken.size());
}

}  // namespace

common::Result<int64_t> ReceiptIndex::IndexBatch(int limit, int64_t* unreadable) {
  return InTransaction<int64_t>(db_, [&](pqxx::work& tx) -> common::Result<int64_t> {
    return IndexTaken(tx, wrapper_, tx.exec_params(BatchSql(), limit), unreadable);
  });
}

common::Result<int64_t> ReceiptIndex::CatchUp(const std::string& tenant) {
  // Usually nothing is queued (the indexer keeps up): one statement says so, instead of a
  // transaction's three. A row an indexer holds is still seen here until that indexer commits.
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
        int64_t n, InTransaction<int64_t>(db_, [&](pqxx::work& tx) -> common::Result<int64_t> {
          return IndexTaken(tx, wrapper_, tx.exec_params(TenantSql(), tenant, kCatchUpBatch),
                            nullptr);
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

common::Status IndexReceiptTx(pqxx::transaction_base& tx, vault::Wrapper* wrapper,
                              const std::string& receipt_id) {
  auto n = IndexTaken(tx, wrapper, tx.exec_params(ReceiptSql(), receipt_id), nullptr);
  if (!n.ok()) return n.error();
  return common::Ok();
}

}  // namespace storage
