#include "storage/journal_store.h"

#include <pqxx/pqxx>

#include "pg_util.h"
#include "storage/receipt_store.h"
#include "transaction.h"

namespace storage {

common::Status JournalStore::Append(const std::vector<const JournalReportRow*>& rows) {
  for (const JournalReportRow* r : rows) {
    if (!IsUuid(r->receipt_id)) return common::Error::InvalidInput("receipt id is not a UUID");
  }
  auto status = InTransaction<bool>(db_, [&](pqxx::work& tx) -> common::Result<bool> {
    for (const JournalReportRow* r : rows) {
      tx.exec_params(
          "INSERT INTO journal_reports (receipt_id, sha256, size, data)"
          " VALUES ($1::uuid, $2, $3, $4)",
          r->receipt_id, Bytea(r->sha256), static_cast<int64_t>(r->data.size()), Bytea(r->data));
    }
    return true;
  });
  RETURN_IF_ERROR(status);
  return common::Ok();
}

common::Result<std::optional<JournalReportRow>> JournalStore::Get(const std::string& receipt_id) {
  if (!IsUuid(receipt_id)) return std::optional<JournalReportRow>();
  return InTransaction<std::optional<JournalReportRow>>(
      db_, [&](pqxx::work& tx) -> common::Result<std::optional<JournalReportRow>> {
        pqxx::result r = tx.exec_params(
            "SELECT receipt_id::text, sha256, data FROM journal_reports"
            " WHERE receipt_id = $1::uuid",
            receipt_id);
        if (r.empty()) return std::optional<JournalReportRow>();
        JournalReportRow row;
        row.receipt_id = r[0][0].as<std::string>();
        row.sha256 = HashField(r[0][1]);
        row.data = BytesField(r[0][2]);
        return std::optional<JournalReportRow>(std::move(row));
      });
}

}  // namespace storage
