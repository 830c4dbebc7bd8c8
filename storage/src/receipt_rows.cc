#include "receipt_rows.h"

#include <map>

#include "pg_util.h"

namespace storage {

const char* const kReceiptColumns =
    "r.id::text, t.name, r.received_at_us, r.node, r.source, r.listener, "
    "r.envelope_from, array_to_json(r.envelope_to)::text, r.client_ip, r.client_port, "
    "r.client_name, r.helo, r.tls_protocol, r.tls_cipher, r.auth_user, r.queue_id, r.smtputf8, "
    "r.body_type, r.size, r.raw_sha256, r.canonical_sha256, r.parts_root, r.envelope_digest, "
    "r.salt, r.canon_version, r.hdr_from, r.hdr_sender, r.hdr_reply_to, "
    "array_to_json(r.hdr_to)::text, array_to_json(r.hdr_cc)::text, r.subject, r.date_header, "
    "extract(epoch from r.date_utc)::bigint, r.message_id, r.in_reply_to, "
    "array_to_json(r.attachment_names)::text, array_to_json(r.parse_warnings)::text, "
    "l.leaf_index, l.block_height, r.leaf_version, r.asserted_by, r.journal_report_sha256, "
    "(SELECT e.erased_at_us FROM erasures e WHERE e.receipt_id = r.id), f.kek_id, f.wrapped_key,"
    " f.data";

#define NOTARY_RECEIPT_JOINS                          \
  " JOIN tenants t ON t.id = r.tenant_id"             \
  " LEFT JOIN leaves l ON l.receipt_id = r.id"        \
  " LEFT JOIN receipt_index x ON x.receipt_id = r.id" \
  " LEFT JOIN receipt_fields f ON f.receipt_id = r.id "
const char* const kReceiptJoins = NOTARY_RECEIPT_JOINS;
const char* const kReceiptFrom = " FROM receipts r" NOTARY_RECEIPT_JOINS;
#undef NOTARY_RECEIPT_JOINS

notary::Receipt ReadRow(const pqxx::row& row, std::optional<SealedFields>& sealed) {
  notary::Receipt r;
  notary::Envelope& e = r.envelope;
  notary::Provenance& p = r.provenance;
  mime::Metadata& md = r.metadata;
  int i = 0;
  r.id = row[i++].as<std::string>();
  r.tenant = row[i++].as<std::string>();
  r.received_at_us = row[i++].as<int64_t>();
  p.node = row[i++].as<std::string>();
  p.source = row[i++].as<std::string>();
  p.listener = row[i++].as<std::string>();
  e.mail_from = row[i++].as<std::string>();
  e.recipients = JsonTextArray(row[i++]);
  e.client_ip = row[i++].as<std::string>();
  e.client_port = static_cast<uint16_t>(row[i++].as<int>());  // a CHECK keeps it in range
  p.client_name = row[i++].as<std::string>();
  e.helo = row[i++].as<std::string>();
  e.tls_protocol = row[i++].as<std::string>();
  e.tls_cipher = row[i++].as<std::string>();
  p.auth_user = row[i++].as<std::string>();
  p.queue_id = row[i++].as<std::string>();
  r.smtputf8 = row[i++].as<bool>();
  r.body_type = row[i++].as<std::string>();
  r.size = row[i++].as<uint64_t>();
  r.raw_sha256 = HashField(row[i++]);
  r.canonical_sha256 = HashField(row[i++]);
  r.parts_root = HashField(row[i++]);
  r.envelope_digest = HashField(row[i++]);
  r.salt = HashField(row[i++]);
  r.canon_version = row[i++].as<uint32_t>();
  md.from = row[i++].as<std::string>();
  md.sender = row[i++].as<std::string>();
  md.reply_to = row[i++].as<std::string>();
  md.to = JsonTextArray(row[i++]);
  md.cc = JsonTextArray(row[i++]);
  md.subject = row[i++].as<std::string>();
  md.date = row[i++].as<std::string>();
  if (!row[i].is_null()) md.date_utc_unix = row[i].as<int64_t>();
  ++i;
  md.message_id = row[i++].as<std::string>();
  md.in_reply_to = row[i++].as<std::string>();
  md.attachment_names = JsonTextArray(row[i++]);
  r.parse_warnings = JsonTextArray(row[i++]);
  if (!row[i].is_null()) r.leaf_index = row[i].as<int64_t>();
  ++i;
  if (!row[i].is_null()) r.block_height = row[i].as<int64_t>();
  ++i;
  r.leaf_version = row[i++].as<uint32_t>();
  p.asserted_by = row[i++].as<std::string>();
  if (!row[i].is_null()) p.journal_report_sha256 = HashField(row[i]);
  ++i;
  if (!row[i].is_null()) r.erased_at_us = row[i].as<int64_t>();
  ++i;
  sealed.reset();
  if (!row[i].is_null()) {
    sealed = SealedFields{row[i].as<std::string>(), BytesField(row[i + 1]), BytesField(row[i + 2])};
  }
  return r;
}

namespace {

notary::Part ReadPart(const pqxx::row& p, int first) {
  notary::Part part;
  part.position = p[first].as<std::string>();
  part.content_type = p[first + 1].as<std::string>();
  part.charset = p[first + 2].as<std::string>();
  part.disposition = p[first + 3].as<std::string>();
  part.filename = p[first + 4].as<std::string>();
  part.size = p[first + 5].as<uint64_t>();
  part.sha256 = HashField(p[first + 6]);
  if (!p[first + 7].is_null()) part.salt = HashField(p[first + 7]);
  return part;
}

}  // namespace

void LoadParts(pqxx::work& tx, std::vector<notary::Receipt*> rows) {
  if (rows.empty()) return;
  std::map<std::string, notary::Receipt*> by_id;
  std::vector<std::string> ids;
  for (notary::Receipt* r : rows) {
    by_id[r->id] = r;
    ids.push_back(r->id);
  }
  pqxx::result pr = ExecPrepared(
      tx,
      "SELECT receipt_id::text, position, content_type, charset, disposition, filename, size,"
      " sha256, salt FROM message_parts WHERE receipt_id = ANY($1::uuid[]) ORDER BY receipt_id, "
      "ordinal",
      TextArray(ids));
  for (const auto& p : pr) by_id[p[0].as<std::string>()]->parts.push_back(ReadPart(p, 1));
}

common::Status OpenRows(vault::Wrapper* wrapper, const std::vector<notary::Receipt*>& rows,
                        std::vector<std::optional<SealedFields>>& sealed) {
  std::vector<FieldsToOpen> to_open;
  std::vector<notary::Receipt*> owners;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (!sealed[i]) continue;
    to_open.push_back({rows[i]->tenant, rows[i]->id, std::move(*sealed[i])});
    owners.push_back(rows[i]);
  }
  if (to_open.empty()) return common::Ok();
  if (wrapper == nullptr) {
    return common::Error::Unavailable("the receipt's fields are sealed and no key holder is set");
  }
  ASSIGN_OR_RETURN(auto opened, OpenFields(*wrapper, to_open));
  for (size_t i = 0; i < opened.size(); ++i) {
    common::Status st = opened[i].ok() ? PutFields(std::move(*opened[i]), *owners[i])
                                       : common::Status(opened[i].error());
    if (!st.ok()) {
      return common::Error::Internal("the stored fields of receipt " + owners[i]->id +
                                     " do not open (" + st.error().message() + ")");
    }
  }
  return common::Ok();
}

}  // namespace storage
