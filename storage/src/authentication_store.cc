#include "storage/authentication_store.h"

#include <pqxx/pqxx>

#include "pg_util.h"
#include "storage/receipt_fields.h"
#include "storage/receipt_store.h"
#include "storage/sealed_blobs.h"
#include "transaction.h"

namespace storage {

common::Result<bool> AuthenticationStore::Append(const AuthenticationRow& row) {
  if (!IsUuid(row.receipt_id)) return common::Error::InvalidInput("receipt id is not a UUID");
  return InTransaction<bool>(db_, [&](pqxx::work& tx) -> common::Result<bool> {
    // The record queues in receipts' order: its place is the next value of their sequence,
    // so it seals after the message it names.
    pqxx::result r = tx.exec_params(
        "WITH a AS (INSERT INTO authentications (receipt_id, checked_at_us, results,"
        " dns_archive, record, leaf_hash, dkim_domains, dkim_results)"
        " VALUES ($1::uuid, $2, $3, $4, $5, $6, $7::text[], $8::text[])"
        " ON CONFLICT (receipt_id) DO NOTHING RETURNING receipt_id, leaf_hash)"
        " INSERT INTO pending (seq, authentication_of, leaf_hash)"
        " SELECT nextval(pg_get_serial_sequence('receipts', 'seq')), receipt_id, leaf_hash FROM a"
        " RETURNING seq",
        row.receipt_id, row.checked_at_us, Bytea(row.results), Bytea(row.dns_archive),
        Bytea(row.record), Bytea(row.leaf_hash), TextArray(row.dkim_domains),
        TextArray(row.dkim_results));
    return !r.empty();
  });
}

common::Result<std::optional<AuthenticationRow>> AuthenticationStore::Get(
    const std::string& receipt_id) {
  using Out = std::optional<AuthenticationRow>;
  if (!IsUuid(receipt_id)) return Out();
  return InTransaction<Out>(db_, [&](pqxx::work& tx) -> common::Result<Out> {
    pqxx::result r = tx.exec_params(
        "SELECT a.receipt_id::text, a.checked_at_us, a.results, a.dns_archive, a.record,"
        " a.leaf_hash, array_to_json(a.dkim_domains), array_to_json(a.dkim_results),"
        " l.leaf_index FROM authentications a"
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
    return Out(std::move(row));
  });
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
