#include "storage/journal_store.h"

#include <pqxx/pqxx>

#include "pg_util.h"
#include "storage/receipt_store.h"
#include "storage/sealed_blobs.h"
#include "transaction.h"

namespace storage {
namespace {

// "email-notary/journal-report\n" || str(tenant) || str(receipt id) || sha256 (32 bytes).
std::string JournalAad(const std::string& tenant, const std::string& receipt_id,
                       const common::Hash& sha256) {
  std::string aad = "email-notary/journal-report\n";
  common::AppendLengthPrefixed(aad, tenant);
  common::AppendLengthPrefixed(aad, receipt_id);
  common::AppendBytes(aad, sha256);
  return aad;
}

}  // namespace

common::Status JournalStore::Append(const std::vector<const JournalReportRow*>& rows) {
  for (const JournalReportRow* r : rows) {
    if (!IsUuid(r->receipt_id)) return common::Error::InvalidInput("receipt id is not a UUID");
  }
  // Sealed like the message bytes (storage/sealed_blobs.h).
  std::vector<SealedValue> sealed;
  if (wrapper_ != nullptr) {
    std::vector<PlainValue> values;
    for (const JournalReportRow* r : rows) {
      values.push_back({r->tenant, r->data, JournalAad(r->tenant, r->receipt_id, r->sha256)});
    }
    ASSIGN_OR_RETURN(sealed, SealForTenants(*wrapper_, values));
  }
  auto status = InTransaction<bool>(db_, [&](pqxx::work& tx) -> common::Result<bool> {
    const std::string* named_tenant = nullptr;  // what notary.row_tenant holds in this tx
    for (size_t i = 0; i < rows.size(); ++i) {
      const JournalReportRow* r = rows[i];
      const SealedValue* s = sealed.empty() ? nullptr : &sealed[i];
      if (s != nullptr) {
        // The report is stored before its receipt: the retired-pair guard (migration 0022)
        // reads the row's tenant from here. Set again only when the tenant changes.
        if (named_tenant == nullptr || *named_tenant != r->tenant) {
          tx.exec_params("SELECT set_config('notary.row_tenant', $1, true)", r->tenant);
          named_tenant = &r->tenant;
        }
        tx.exec_params(
            "INSERT INTO journal_reports (receipt_id, sha256, size, data, kek_id, wrapped_key)"
            " VALUES ($1::uuid, $2, $3, $4, $5, $6)",
            r->receipt_id, Bytea(r->sha256), static_cast<int64_t>(r->data.size()), Bytea(s->data),
            s->kek_id, Bytea(s->wrapped_key));
      } else {
        tx.exec_params(
            "INSERT INTO journal_reports (receipt_id, sha256, size, data)"
            " VALUES ($1::uuid, $2, $3, $4)",
            r->receipt_id, Bytea(r->sha256), static_cast<int64_t>(r->data.size()), Bytea(r->data));
      }
    }
    return true;
  });
  // Refused for a key pair retired meanwhile (migration 0021): the retry asks for the current.
  if (!status.ok() && wrapper_ != nullptr) {
    for (const JournalReportRow* r : rows) wrapper_->RefreshSoon(r->tenant);
  }
  RETURN_IF_ERROR(status);
  return common::Ok();
}

common::Result<std::optional<JournalReportRow>> JournalStore::Get(const std::string& receipt_id,
                                                                  const std::string& tenant) {
  using Out = std::optional<JournalReportRow>;
  if (!IsUuid(receipt_id)) return Out();
  std::optional<std::pair<std::string, std::string>> key;  // kek_id, wrapped key
  ASSIGN_OR_RETURN(
      Out row, InAutocommit<Out>(db_, [&](pqxx::nontransaction& tx) -> common::Result<Out> {
        pqxx::result r = ExecPrepared(
            tx,
            "SELECT receipt_id::text, sha256, data, kek_id, wrapped_key FROM journal_reports"
            " WHERE receipt_id = $1::uuid",
            receipt_id);
        if (r.empty()) return Out();
        JournalReportRow out;
        out.receipt_id = r[0][0].as<std::string>();
        out.tenant = tenant;
        out.sha256 = HashField(r[0][1]);
        out.data = BytesField(r[0][2]);
        if (!r[0][3].is_null()) key.emplace(r[0][3].as<std::string>(), BytesField(r[0][4]));
        return Out(std::move(out));
      }));
  if (!row || !key) return row;
  if (wrapper_ == nullptr) {
    return common::Error::Unavailable("the journal report is sealed and no key holder is set");
  }
  auto plain = OpenSealed(*wrapper_, tenant, key->first, key->second, row->data,
                          JournalAad(tenant, receipt_id, row->sha256), row->sha256);
  if (!plain.ok()) {
    if (plain.error().code() == common::ErrorCode::kUnavailable) return plain.error();
    return common::Error::Internal("the stored journal report does not open (" +
                                   plain.error().message() + ")");
  }
  row->data = std::move(*plain);
  return row;
}

}  // namespace storage
