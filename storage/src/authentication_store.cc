#include "storage/authentication_store.h"

#include <openssl/crypto.h>

#include <optional>
#include <pqxx/pqxx>

#include "common/byte_reader.h"
#include "common/sha256.h"
#include "log/authentication_record.h"
#include "pg_util.h"
#include "storage/receipt_fields.h"
#include "storage/receipt_store.h"
#include "storage/sealed_blobs.h"
#include "transaction.h"
#include "vault/aead.h"

namespace storage {

namespace {

std::string SenderEvidenceAad(const std::string& tenant, const std::string& receipt_id) {
  std::string aad = "email-notary/sender-evidence\n";
  common::AppendLengthPrefixed(aad, tenant);
  common::AppendLengthPrefixed(aad, receipt_id);
  return aad;
}

common::Result<SenderEvidence> OpenOne(const vault::Key& key, const SenderEvidenceToOpen& row) {
  ASSIGN_OR_RETURN(std::string plain,
                   vault::Open(key, row.data, SenderEvidenceAad(row.tenant, row.receipt_id)));
  common::ByteReader in(plain);
  SenderEvidence out;
  const bool whole =
      in.String(out.results, plain.size()) && in.String(out.dns_archive, plain.size()) && in.done();
  OPENSSL_cleanse(plain.data(), plain.size());
  if (!whole) return common::Error::VerifyFailed("it is not a pair of results and DNS archive");
  auto record = notary::AuthenticationRecord::Decode(row.record);
  if (!record.ok()) return common::Error::VerifyFailed("its record does not decode");
  if (common::Sha256Of(out.results) != record->results_sha256 ||
      common::Sha256Of(out.dns_archive) != record->dns_archive_sha256) {
    return common::Error::VerifyFailed(
        "it does not match the digests its authentication record binds");
  }
  return out;
}

}  // namespace

common::Result<SealedValue> SealSenderEvidence(vault::Wrapper& wrapper, const std::string& tenant,
                                               const std::string& receipt_id,
                                               std::string_view results,
                                               std::string_view dns_archive) {
  std::string plain;
  plain.reserve(8 + results.size() + dns_archive.size());
  common::AppendLengthPrefixed(plain, results);
  common::AppendLengthPrefixed(plain, dns_archive);
  auto sealed = SealForTenants(wrapper, {{tenant, plain, SenderEvidenceAad(tenant, receipt_id)}});
  OPENSSL_cleanse(plain.data(), plain.size());
  if (!sealed.ok()) return sealed.error();
  return std::move((*sealed)[0]);
}

common::Result<std::vector<common::Result<SenderEvidence>>> OpenSenderEvidence(
    vault::Wrapper& wrapper, const std::vector<SenderEvidenceToOpen>& rows) {
  std::vector<WrappedKeyRef> refs;
  refs.reserve(rows.size());
  for (const SenderEvidenceToOpen& r : rows) refs.push_back({&r.tenant, &r.kek_id, &r.wrapped_key});
  std::vector<common::Result<SenderEvidence>> out(rows.size(),
                                                  common::Error::Internal("not opened"));
  RETURN_IF_ERROR(UnwrapEach(
      wrapper, refs, [&](size_t i, const vault::Key& key) { out[i] = OpenOne(key, rows[i]); },
      [&](size_t i, const common::Error& e) { out[i] = e; }));
  return out;
}

common::Result<bool> AuthenticationStore::Append(const AuthenticationRow& row) {
  if (!IsUuid(row.receipt_id)) return common::Error::InvalidInput("receipt id is not a UUID");
  std::optional<SealedValue> sealed;
  if (wrapper_ != nullptr) {
    if (row.tenant.empty()) return common::Error::InvalidInput("no tenant to seal the row for");
    ASSIGN_OR_RETURN(sealed, SealSenderEvidence(*wrapper_, row.tenant, row.receipt_id, row.results,
                                                row.dns_archive));
  }
  auto appended = InTransaction<bool>(db_, [&](pqxx::work& tx) -> common::Result<bool> {
    // The record queues in receipts' order: its place is the next value of their sequence,
    // so it seals after the message it names. Sealed, the row's results and archive are empty
    // and its ciphertext carries them (migration 0019).
    const std::string sql =
        "WITH a AS (INSERT INTO authentications (receipt_id, checked_at_us, results,"
        " dns_archive, record, leaf_hash, dkim_domains, dkim_results, kek_id, wrapped_key,"
        " sealed)"
        " VALUES ($1::uuid, $2, $3, $4, $5, $6, $7::text[], $8::text[], " +
        std::string(sealed ? "$9, $10, $11" : "NULL, NULL, NULL") +
        ") ON CONFLICT (receipt_id) DO NOTHING RETURNING receipt_id, leaf_hash)"
        " INSERT INTO pending (seq, authentication_of, leaf_hash)"
        " SELECT nextval(pg_get_serial_sequence('receipts', 'seq')), receipt_id, leaf_hash FROM a"
        " RETURNING seq";
    pqxx::result r =
        sealed ? tx.exec_params(sql, row.receipt_id, row.checked_at_us, Bytea(""), Bytea(""),
                                Bytea(row.record), Bytea(row.leaf_hash),
                                TextArray(row.dkim_domains), TextArray(row.dkim_results),
                                sealed->kek_id, Bytea(sealed->wrapped_key), Bytea(sealed->data))
               : tx.exec_params(sql, row.receipt_id, row.checked_at_us, Bytea(row.results),
                                Bytea(row.dns_archive), Bytea(row.record), Bytea(row.leaf_hash),
                                TextArray(row.dkim_domains), TextArray(row.dkim_results));
    return !r.empty();
  });
  // Refused for a key pair retired meanwhile (migration 0021): the retry asks for the current.
  if (!appended.ok() && sealed) wrapper_->RefreshSoon(row.tenant);
  return appended;
}

common::Result<std::optional<AuthenticationRow>> AuthenticationStore::Get(
    const std::string& receipt_id) {
  using Out = std::optional<AuthenticationRow>;
  if (!IsUuid(receipt_id)) return Out();
  std::optional<SenderEvidenceToOpen> sealed;
  ASSIGN_OR_RETURN(
      Out row, InAutocommit<Out>(db_, [&](pqxx::nontransaction& tx) -> common::Result<Out> {
        pqxx::result r = ExecPrepared(
            tx,
            "SELECT a.receipt_id::text, a.checked_at_us, a.results, a.dns_archive, a.record,"
            " a.leaf_hash, array_to_json(a.dkim_domains), array_to_json(a.dkim_results),"
            " l.leaf_index, t.name, a.kek_id, a.wrapped_key, a.sealed FROM authentications a"
            " JOIN receipts rc ON rc.id = a.receipt_id JOIN tenants t ON t.id = rc.tenant_id"
            " LEFT JOIN leaves l ON l.authentication_of = a.receipt_id"
            " WHERE a.receipt_id = $1::uuid",
            receipt_id);
        if (r.empty()) return Out();
        AuthenticationRow row;
        row.receipt_id = r[0][0].as<std::string>();
        row.checked_at_us = r[0][1].as<int64_t>();
        row.results = BytesField(r[0][2]);
        row.dns_archive = BytesField(r[0][3]);
        row.record = BytesField(r[0][4]);
        row.leaf_hash = HashField(r[0][5]);
        row.dkim_domains = JsonTextArray(r[0][6]);
        row.dkim_results = JsonTextArray(r[0][7]);
        if (!r[0][8].is_null()) row.leaf_index = r[0][8].as<int64_t>();
        row.tenant = r[0][9].as<std::string>();
        if (!r[0][12].is_null()) {
          sealed = SenderEvidenceToOpen{row.tenant,           row.receipt_id,
                                        row.record,           r[0][10].as<std::string>(),
                                        BytesField(r[0][11]), BytesField(r[0][12])};
        }
        return Out(std::move(row));
      }));
  if (!row || !sealed) return row;
  if (wrapper_ == nullptr) {
    return common::Error::Unavailable("the sender evidence is sealed and no key holder is set");
  }
  ASSIGN_OR_RETURN(auto opened, OpenSenderEvidence(*wrapper_, {*sealed}));
  if (!opened[0].ok()) {
    return common::Error::Internal("the stored sender evidence of receipt " + row->receipt_id +
                                   " does not open: " + opened[0].error().message());
  }
  row->results = std::move(opened[0]->results);
  row->dns_archive = std::move(opened[0]->dns_archive);
  return row;
}

common::Result<std::vector<UncheckedMessage>> AuthenticationStore::Unchecked(int64_t after_seq,
                                                                             int64_t since_us,
                                                                             int limit) {
  using Out = std::vector<UncheckedMessage>;
  // The messages whose bytes are sealed (migration 0012), and what opens them.
  std::vector<size_t> positions;
  std::vector<SealedBlob> sealed;
  // The messages whose envelope and headers are sealed (migration 0016).
  std::vector<size_t> field_positions;
  std::vector<FieldsToOpen> fields;
  ASSIGN_OR_RETURN(
      Out out, InTransaction<Out>(db_, [&](pqxx::work& tx) -> common::Result<Out> {
        Out rows;
        positions.clear();
        sealed.clear();
        field_positions.clear();
        fields.clear();
        for (
            const auto& row : tx.exec_params(
                "SELECT r.id::text, r.seq, r.received_at_us, r.leaf_hash, r.envelope_from,"
                " r.client_ip, r.helo, r.hdr_from, b.data, t.name, s.kek_id, s.wrapped_key, s.data,"
                " r.raw_sha256, f.kek_id, f.wrapped_key, f.data"
                " FROM receipts r JOIN tenants t ON t.id = r.tenant_id"
                " LEFT JOIN receipt_fields f ON f.receipt_id = r.id"
                " LEFT JOIN sealed_blobs s ON s.tenant_id = r.tenant_id AND s.sha256 = r.raw_sha256"
                " LEFT JOIN message_blobs b ON s.sha256 IS NULL AND b.sha256 = r.raw_sha256"
                " WHERE r.seq > $1 AND r.received_at_us >= $2 AND r.leaf_hash IS NOT NULL"
                " AND (s.sha256 IS NOT NULL OR b.sha256 IS NOT NULL)"
                " AND NOT EXISTS (SELECT 1 FROM authentications a WHERE a.receipt_id = r.id)"
                " AND NOT EXISTS (SELECT 1 FROM erasures e WHERE e.receipt_id = r.id)"
                " ORDER BY r.seq LIMIT $3",
                after_seq, since_us, limit)) {
          UncheckedMessage m;
          m.receipt_id = row[0].as<std::string>();
          m.seq = row[1].as<int64_t>();
          m.received_at_us = row[2].as<int64_t>();
          m.leaf_hash = HashField(row[3]);
          m.mail_from = row[4].as<std::string>();
          m.client_ip = row[5].as<std::string>();
          m.helo = row[6].as<std::string>();
          m.header_from = row[7].as<std::string>();
          m.tenant = row[9].as<std::string>();
          if (!row[14].is_null()) {
            field_positions.push_back(rows.size());
            fields.push_back({row[9].as<std::string>(), m.receipt_id,
                              SealedFields{row[14].as<std::string>(), BytesField(row[15]),
                                           BytesField(row[16])}});
          }
          if (!row[8].is_null()) {
            m.data = BytesField(row[8]);
          } else {
            SealedBlob b;
            b.tenant = row[9].as<std::string>();
            b.kek_id = row[10].as<std::string>();
            b.wrapped_key = BytesField(row[11]);
            b.data = BytesField(row[12]);
            b.sha256 = HashField(row[13]);
            positions.push_back(rows.size());
            sealed.push_back(std::move(b));
          }
          rows.push_back(std::move(m));
        }
        return rows;
      }));
  if (sealed.empty() && fields.empty()) return out;
  if (wrapper_ == nullptr) {
    return common::Error::Unavailable("messages are sealed and no key holder is set");
  }
  std::vector<bool> keep(out.size(), true);
  ASSIGN_OR_RETURN(auto opened_fields, OpenFields(*wrapper_, fields));
  for (size_t i = 0; i < opened_fields.size(); ++i) {
    UncheckedMessage& m = out[field_positions[i]];
    if (opened_fields[i].ok()) {
      m.mail_from = std::move(opened_fields[i]->mail_from);
      m.header_from = std::move(opened_fields[i]->from);
    } else {
      keep[field_positions[i]] = false;  // as for bytes that do not open, below
    }
  }
  ASSIGN_OR_RETURN(auto opened, OpenBlobs(*wrapper_, sealed));
  for (size_t i = 0; i < opened.size(); ++i) {
    if (opened[i].ok()) {
      out[positions[i]].data = std::move(*opened[i]);
    } else {
      // Bytes that do not open (altered behind the notary's back) are left unchecked rather
      // than checked as something else; the audit names them.
      keep[positions[i]] = false;
    }
  }
  Out kept;
  for (size_t i = 0; i < out.size(); ++i) {
    if (keep[i]) kept.push_back(std::move(out[i]));
  }
  return kept;
}

}  // namespace storage
