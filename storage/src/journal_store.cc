#include "storage/journal_store.h"

#include <openssl/crypto.h>

#include <map>
#include <pqxx/pqxx>

#include "common/sha256.h"
#include "pg_util.h"
#include "storage/receipt_store.h"
#include "transaction.h"
#include "vault/aead.h"

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
  // Sealed: a data key per report, wrapped once per tenant present.
  struct Sealed {
    std::string kek_id, wrapped_key, data;
  };
  std::vector<std::optional<Sealed>> sealed(rows.size());
  if (wrapper_ != nullptr) {
    std::map<std::string, std::vector<size_t>> by_tenant;
    for (size_t i = 0; i < rows.size(); ++i) by_tenant[rows[i]->tenant].push_back(i);
    for (const auto& [tenant, positions] : by_tenant) {
      std::vector<vault::Key> keys;
      for (size_t k = 0; k < positions.size(); ++k) {
        ASSIGN_OR_RETURN(vault::Key key, vault::NewKey());
        keys.push_back(key);
      }
      auto wrapped = wrapper_->Wrap(tenant, keys);
      common::Status failed = common::Ok();
      if (!wrapped.ok()) failed = wrapped.error();
      for (size_t k = 0; failed.ok() && k < positions.size(); ++k) {
        const JournalReportRow& r = *rows[positions[k]];
        auto data = vault::Seal(keys[k], r.data, JournalAad(tenant, r.receipt_id, r.sha256));
        if (!data.ok()) {
          failed = data.error();
        } else {
          sealed[positions[k]] = Sealed{wrapped->kek_id, wrapped->wrapped[k], std::move(*data)};
        }
      }
      for (vault::Key& k : keys) OPENSSL_cleanse(k.data(), k.size());
      if (!failed.ok()) return failed.error();
    }
  }
  auto status = InTransaction<bool>(db_, [&](pqxx::work& tx) -> common::Result<bool> {
    for (size_t i = 0; i < rows.size(); ++i) {
      const JournalReportRow* r = rows[i];
      const std::optional<Sealed>& s = sealed[i];
      if (s) {
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
  RETURN_IF_ERROR(status);
  return common::Ok();
}

common::Result<std::optional<JournalReportRow>> JournalStore::Get(const std::string& receipt_id,
                                                                  const std::string& tenant) {
  using Out = std::optional<JournalReportRow>;
  if (!IsUuid(receipt_id)) return Out();
  std::optional<std::pair<std::string, std::string>> key;  // kek_id, wrapped key
  ASSIGN_OR_RETURN(
      Out row, InTransaction<Out>(db_, [&](pqxx::work& tx) -> common::Result<Out> {
        pqxx::result r = tx.exec_params(
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
  auto keys = wrapper_->Unwrap(tenant, key->first, std::span<const std::string>(&key->second, 1));
  common::Result<std::string> plain =
      keys.ok() ? vault::Open((*keys)[0], row->data, JournalAad(tenant, receipt_id, row->sha256))
                : common::Result<std::string>(keys.error());
  if (keys.ok()) OPENSSL_cleanse((*keys)[0].data(), (*keys)[0].size());
  if (plain.ok() && common::Sha256Of(*plain) != row->sha256) {
    plain = common::Error::VerifyFailed("the journal report does not hash to its digest");
  }
  if (!plain.ok()) {
    if (plain.error().code() == common::ErrorCode::kUnavailable) return plain.error();
    return common::Error::Internal("the stored journal report does not open (" +
                                   plain.error().message() + ")");
  }
  row->data = std::move(*plain);
  return row;
}

}  // namespace storage
