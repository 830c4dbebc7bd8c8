#include "storage/receipt_store.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>
#include <pqxx/pqxx>
#include <set>

#include "common/bytes.h"
#include "common/rfc6962.h"
#include "common/utf8.h"
#include "pg_array.h"
#include "pg_util.h"
#include "receipt_rows.h"
#include "storage/receipt_fields.h"
#include "storage/sealed_blobs.h"
#include "transaction.h"

namespace storage {
namespace {

std::string C(const std::string& s) { return common::SanitizeUtf8(s); }

// True when every text the leaf record binds is valid UTF-8, i.e. what a text column will
// hold byte for byte. Otherwise the stored receipt would not match its own leaf record.
bool BoundTextIsUtf8(const notary::Receipt& r) {
  const notary::Envelope& e = r.envelope;
  const notary::Provenance& p = r.provenance;
  for (const std::string* s : {&r.id, &r.tenant, &e.mail_from, &e.client_ip, &e.helo,
                               &e.tls_protocol, &e.tls_cipher, &p.source, &p.listener, &p.node,
                               &p.client_name, &p.auth_user, &p.queue_id, &p.asserted_by}) {
    if (C(*s) != *s) return false;
  }
  for (const std::string& t : e.recipients) {
    if (C(t) != t) return false;
  }
  return true;
}

}  // namespace

bool IsUuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

namespace {

// Statements take a group's rows as one binary array per column (pg_array.h), so their text
// is fixed: each is prepared once per connection and serves a group of any size. Parsing and
// planning a statement built for its number of rows had cost PostgreSQL a fifth of its CPU
// per message (groups of up to 8 rows were prepared by size; larger ones were not).
template <typename... Arrays>
pqxx::result ExecArrays(pqxx::transaction_base& tx, const char* name, const char* sql,
                        Arrays&... arrays) {
  tx.conn().prepare(name, sql);  // a no-op once this connection has it
  return tx.exec_prepared(name, arrays.Param()...);
}

// message_blobs or sealed_blobs: the group's distinct bytes, when they are too many for one
// statement.
constexpr size_t kBlobBytesPerStatement = 16u << 20;
constexpr const char* kInsertBlobs =
    "INSERT INTO message_blobs (sha256, size, data) SELECT h, length(d), d"
    " FROM unnest($1::bytea[], $2::bytea[]) AS v(h, d) ON CONFLICT (sha256) DO NOTHING";
constexpr const char* kInsertSealedBlobs =
    "INSERT INTO sealed_blobs (tenant_id, sha256, size, kek_id, wrapped_key, data)"
    " SELECT (SELECT t.id FROM tenants t WHERE t.name = v.tn), v.h, v.n, v.k, v.w, v.d"
    " FROM unnest($1::text[], $2::bytea[], $3::int8[], $4::text[], $5::bytea[], $6::bytea[])"
    " AS v(tn, h, n, k, w, d) ON CONFLICT (tenant_id, sha256) DO NOTHING";

// The group's bytes (unless they went ahead in statements of their own), receipts, the queue
// entries and the parts of the receipts inserted, in one statement: a repeated idempotency
// key inserts none of them, and the foreign keys are checked at its end, with the bytes in.
// Each receipt holds its leaf record and hash, built at ingest (every field is known; the
// leaf index is not part of it); the queue takes the hash from the inserted row, so the
// sealer reads 32 bytes per receipt and copies no record (docs/architecture.md, "Sealing").
// Columns that are text[] arrive as one array literal per row (text[][] cannot be ragged).
// An unknown tenant makes tenant_id NULL, which fails the statement. The arrays go through a
// materialised CTE (`a`) so that the planner sees their lengths neither in a custom plan nor
// in the generic one: both then cost the same, and PostgreSQL settles on the generic plan
// after its first five executions. Given the arrays themselves, it re-planned the statement
// on every execution (custom plans looked cheaper), about 100 µs each. `v` names its own
// columns only: two statements read it, so PostgreSQL materialises it, and `a.*` there would
// copy every array (the bytes among them) into each row.
constexpr const char* kInsertReceipts =
    "WITH a AS MATERIALIZED (SELECT $1::text[] AS c1, $2::text[] AS c2, $3::int8[] AS c3,"
    " $4::text[] AS c4, $5::text[] AS c5, $6::text[] AS c6, $7::text[] AS c7, $8::text[] AS"
    " c8, $9::text[] AS c9, $10::int4[] AS c10, $11::text[] AS c11, $12::text[] AS c12,"
    " $13::text[] AS c13, $14::text[] AS c14, $15::text[] AS c15, $16::text[] AS c16,"
    " $17::bool[] AS c17, $18::text[] AS c18, $19::int8[] AS c19, $20::bytea[] AS c20,"
    " $21::bytea[] AS c21, $22::int4[] AS c22, $23::bytea[] AS c23, $24::bytea[] AS c24,"
    " $25::bytea[] AS c25, $26::text[] AS c26, $27::text[] AS c27, $28::text[] AS c28,"
    " $29::text[] AS c29, $30::text[] AS c30, $31::text[] AS c31, $32::text[] AS c32,"
    " $33::int8[] AS c33, $34::text[] AS c34, $35::text[] AS c35, $36::text[] AS c36,"
    " $37::text[] AS c37, $38::text[] AS c38, $39::text[] AS c39, $40::bytea[] AS c40,"
    " $41::bytea[] AS c41, $42::text[] AS c42, $43::int4[] AS c43, $44::text[] AS c44,"
    " $45::text[] AS c45, $46::text[] AS c46, $47::text[] AS c47, $48::text[] AS c48,"
    " $49::int8[] AS c49, $50::bytea[] AS c50, $51::bytea[] AS c51, $52::bytea[] AS c52,"
    " $53::text[] AS c53, $54::bytea[] AS c54, $55::int4[] AS c55, $56::bytea[] AS c56,"
    " $57::text[] AS c57, $58::bytea[] AS c58, $59::int8[] AS c59, $60::text[] AS c60,"
    " $61::bytea[] AS c61, $62::bytea[] AS c62, $63::text[] AS c63, $64::text[] AS c64,"
    " $65::bytea[] AS c65, $66::bytea[] AS c66, $67::text[] AS c67, $68::text[] AS c68,"
    " $69::text[] AS c69, $70::text[] AS c70, $71::text[] AS c71, $72::text[] AS c72), b"
    " AS (INSERT INTO message_blobs (sha256, size, data) SELECT h, length(d), d FROM a,"
    " unnest(a.c51, a.c52) AS b(h, d) ON CONFLICT (sha256) DO NOTHING), s AS (INSERT INTO"
    " sealed_blobs (tenant_id, sha256, size, kek_id, wrapped_key, data) SELECT (SELECT t.id"
    " FROM tenants t WHERE t.name = s.tn), s.h, s.n, s.k, s.w, s.d FROM a, unnest(a.c57, a.c58,"
    " a.c59, a.c60, a.c61, a.c62) AS s(tn, h, n, k, w, d) ON CONFLICT (tenant_id, sha256) DO"
    " NOTHING), v AS (SELECT v.* FROM"
    " a, unnest(a.c1, a.c2, a.c3, a.c4, a.c5, a.c6, a.c7, a.c8, a.c9, a.c10, a.c11, a.c12,"
    " a.c13, a.c14, a.c15, a.c16, a.c17, a.c18, a.c19, a.c20, a.c21, a.c22, a.c23, a.c24,"
    " a.c25, a.c26, a.c27, a.c28, a.c29, a.c30, a.c31, a.c32, a.c33, a.c34, a.c35, a.c36,"
    " a.c37, a.c38, a.c39, a.c40, a.c41, a.c53, a.c54, a.c55, a.c67, a.c68, a.c69, a.c70,"
    " a.c71, a.c72) AS v(id, tenant, us, node,"
    " source, listener,"
    " envelope_from, envelope_to, client_ip, client_port, client_name, helo, tls_protocol,"
    " tls_cipher, auth_user, queue_id, smtputf8, body_type, size, raw_sha256,"
    " canonical_sha256, canon_version, parts_root, envelope_digest, salt, hdr_from,"
    " hdr_sender, hdr_reply_to, hdr_to, hdr_cc, subject, date_header, date_utc, message_id,"
    " in_reply_to, addresses, attachment_names, parse_warnings, idempotency_key,"
    " leaf_record, leaf_hash, asserted_by, journal_report_sha256, leaf_version, ix_envelope_from,"
    " ix_hdr_from, ix_subject, ix_message_id, ix_addresses, ix_attachment_names)), r AS"
    " (INSERT INTO receipts (id, tenant_id, received_at,"
    " received_at_us, node, source, listener, envelope_from, envelope_to, client_ip,"
    " client_port, client_name, helo, tls_protocol, tls_cipher, auth_user, queue_id,"
    " smtputf8, body_type, size, raw_sha256, canonical_sha256, canon_version, parts_root,"
    " envelope_digest, salt, hdr_from, hdr_sender, hdr_reply_to, hdr_to, hdr_cc, subject,"
    " date_header, date_utc, message_id, in_reply_to, addresses, attachment_names,"
    " parse_warnings, idempotency_key, leaf_record, leaf_hash, asserted_by,"
    " journal_report_sha256, leaf_version) SELECT v.id::uuid, (SELECT"
    " t.id FROM tenants t WHERE t.name = v.tenant), to_timestamp(v.us / 1e6), v.us, v.node,"
    " v.source, v.listener, v.envelope_from, v.envelope_to::text[], v.client_ip,"
    " v.client_port, v.client_name, v.helo, v.tls_protocol, v.tls_cipher, v.auth_user,"
    " v.queue_id, v.smtputf8, v.body_type, v.size, v.raw_sha256, v.canonical_sha256,"
    " v.canon_version, v.parts_root, v.envelope_digest, v.salt, v.hdr_from, v.hdr_sender,"
    " v.hdr_reply_to, v.hdr_to::text[], v.hdr_cc::text[], v.subject, v.date_header,"
    " to_timestamp(v.date_utc), v.message_id, v.in_reply_to, v.addresses::text[],"
    " v.attachment_names::text[], v.parse_warnings::text[], v.idempotency_key,"
    " v.leaf_record, v.leaf_hash, v.asserted_by, v.journal_report_sha256, v.leaf_version"
    " FROM v ON CONFLICT (tenant_id, idempotency_key) DO NOTHING"
    " RETURNING id, seq, leaf_hash, tenant_id), q AS (INSERT INTO pending (seq, receipt_id,"
    " leaf_hash) SELECT seq, id, leaf_hash FROM r), ix AS (INSERT INTO index_pending"
    " (receipt_id, tenant_id, received_at_us, envelope_from, hdr_from, subject, message_id,"
    " addresses, attachment_names) SELECT r.id, r.tenant_id, v.us, v.ix_envelope_from,"
    " v.ix_hdr_from, v.ix_subject, v.ix_message_id, v.ix_addresses::text[],"
    " v.ix_attachment_names::text[] FROM r JOIN v ON v.id::uuid = r.id),"
    " p AS (INSERT INTO message_parts "
    "(receipt_id,"
    " ordinal, position, content_type, charset, disposition, filename, size, sha256, salt)"
    " SELECT p.receipt_id::uuid, p.ordinal, p.position, p.content_type, p.charset,"
    " p.disposition, p.filename, p.size, p.sha256, p.salt FROM a, unnest(a.c42, a.c43, a.c44,"
    " a.c45, a.c46, a.c47, a.c48, a.c49, a.c50, a.c56) AS p(receipt_id, ordinal, position,"
    " content_type, charset, disposition, filename, size, sha256, salt) WHERE"
    " p.receipt_id::uuid IN (SELECT id FROM r)), f AS (INSERT INTO receipt_fields (receipt_id,"
    " kek_id, wrapped_key, data) SELECT f.id::uuid, f.k, f.w, f.d FROM a, unnest(a.c63, a.c64,"
    " a.c65, a.c66) AS f(id, k, w, d) WHERE f.id::uuid IN (SELECT id FROM r))"
    " SELECT id::text FROM r";

// The receipts statement's columns, in its parameter order.
struct ReceiptArrays {
  using T = PgArray::Type;
  PgArray id{T::kText}, tenant{T::kText}, us{T::kInt8}, node{T::kText}, source{T::kText},
      listener{T::kText}, envelope_from{T::kText}, envelope_to{T::kText}, client_ip{T::kText},
      client_port{T::kInt4}, client_name{T::kText}, helo{T::kText}, tls_protocol{T::kText},
      tls_cipher{T::kText}, auth_user{T::kText}, queue_id{T::kText}, smtputf8{T::kBool},
      body_type{T::kText}, size{T::kInt8}, raw_sha256{T::kBytea}, canonical_sha256{T::kBytea},
      canon_version{T::kInt4}, parts_root{T::kBytea}, envelope_digest{T::kBytea}, salt{T::kBytea},
      hdr_from{T::kText}, hdr_sender{T::kText}, hdr_reply_to{T::kText}, hdr_to{T::kText},
      hdr_cc{T::kText}, subject{T::kText}, date_header{T::kText}, date_utc{T::kInt8},
      message_id{T::kText}, in_reply_to{T::kText}, addresses{T::kText}, attachment_names{T::kText},
      parse_warnings{T::kText}, idempotency_key{T::kText}, leaf_record{T::kBytea},
      leaf_hash{T::kBytea}, asserted_by{T::kText}, journal_report_sha256{T::kBytea},
      leaf_version{T::kInt4}, ix_envelope_from{T::kText}, ix_hdr_from{T::kText},
      ix_subject{T::kText}, ix_message_id{T::kText}, ix_addresses{T::kText},
      ix_attachment_names{T::kText};
  PgArray part_receipt{T::kText}, part_ordinal{T::kInt4}, part_position{T::kText},
      part_content_type{T::kText}, part_charset{T::kText}, part_disposition{T::kText},
      part_filename{T::kText}, part_size{T::kInt8}, part_sha256{T::kBytea}, part_salt{T::kBytea};

  // `sealed`: the personal fields go to receipt_fields (AddFields), and their columns here
  // stay empty.
  common::Status Add(const NewReceipt& n, bool sealed) {
    const notary::Receipt& m = n.receipt;
    if (!BoundTextIsUtf8(m)) {
      return common::Error::InvalidInput("receipt " + m.id + ": bound text is not UTF-8");
    }
    ASSIGN_OR_RETURN(auto record, notary::LeafRecordOf(m).Encode());
    const notary::Envelope& e = m.envelope;
    const notary::Provenance& p = m.provenance;
    const mime::Metadata& md = m.metadata;
    // The search index's fields travel in its queue row either way (migration 0016).
    const PersonalFields all = FieldsOf(m);
    const PersonalFields none;
    const PersonalFields& f = sealed ? none : all;
    id.Add(m.id);
    tenant.Add(m.tenant);
    us.AddInt8(m.received_at_us);
    node.Add(p.node);
    source.Add(p.source);
    listener.Add(p.listener);
    envelope_from.Add(f.mail_from);
    envelope_to.Add(TextArray(f.recipients));
    client_ip.Add(e.client_ip);
    client_port.AddInt4(e.client_port);
    client_name.Add(p.client_name);
    helo.Add(e.helo);
    tls_protocol.Add(e.tls_protocol);
    tls_cipher.Add(e.tls_cipher);
    auth_user.Add(p.auth_user);
    queue_id.Add(p.queue_id);
    smtputf8.AddBool(m.smtputf8);
    body_type.Add(C(m.body_type));
    size.AddInt8(static_cast<int64_t>(n.raw.size()));
    raw_sha256.Add(common::AsChars(m.raw_sha256));
    canonical_sha256.Add(common::AsChars(m.canonical_sha256));
    canon_version.AddInt4(static_cast<int32_t>(m.canon_version));
    parts_root.Add(common::AsChars(m.parts_root));
    envelope_digest.Add(common::AsChars(m.envelope_digest));
    salt.Add(common::AsChars(m.salt));
    hdr_from.Add(f.from);
    hdr_sender.Add(f.sender);
    hdr_reply_to.Add(f.reply_to);
    hdr_to.Add(TextArray(f.to));
    hdr_cc.Add(TextArray(f.cc));
    subject.Add(f.subject);
    date_header.Add(f.date);
    if (md.date_utc_unix) {
      date_utc.AddInt8(*md.date_utc_unix);
    } else {
      date_utc.AddNull();
    }
    message_id.Add(f.message_id);
    in_reply_to.Add(f.in_reply_to);
    addresses.Add(TextArray(f.addresses));
    attachment_names.Add(TextArray(f.attachment_names));
    parse_warnings.Add(TextArray(f.parse_warnings));
    ix_envelope_from.Add(all.mail_from);
    ix_hdr_from.Add(all.from);
    ix_subject.Add(all.subject);
    ix_message_id.Add(all.message_id);
    ix_addresses.Add(TextArray(all.addresses));
    ix_attachment_names.Add(TextArray(all.attachment_names));
    if (n.idempotency_key) {
      idempotency_key.Add(*n.idempotency_key);
    } else {
      idempotency_key.AddNull();
    }
    leaf_record.Add(record);
    leaf_hash.Add(common::AsChars(common::HashLeaf(record)));
    asserted_by.Add(p.asserted_by);
    // No journal report is stored as NULL, not as 32 zero bytes (the record's encoding of it).
    if (p.journal_report_sha256 != common::Hash{}) {
      journal_report_sha256.Add(common::AsChars(p.journal_report_sha256));
    } else {
      journal_report_sha256.AddNull();
    }
    leaf_version.AddInt4(static_cast<int32_t>(m.leaf_version));
    int32_t ordinal = 0;
    for (const notary::Part& part : m.parts) {
      part_receipt.Add(m.id);
      part_ordinal.AddInt4(ordinal++);
      part_position.Add(C(part.position));
      part_content_type.Add(C(part.content_type));
      part_charset.Add(C(part.charset));
      part_disposition.Add(C(part.disposition));
      part_filename.Add(sealed ? std::string() : C(part.filename));
      part_size.AddInt8(static_cast<int64_t>(part.size));
      part_sha256.Add(common::AsChars(part.sha256));
      // Version 1 part records are unsalted: NULL, not zeros.
      if (m.canon_version >= 2) {
        part_salt.Add(common::AsChars(part.salt));
      } else {
        part_salt.AddNull();
      }
    }
    return common::Ok();
  }

  // The group's distinct bytes; empty when they went ahead in statements of their own. In
  // the clear (no wrapper) or sealed (migration 0012), never both.
  PgArray blob_sha256{T::kBytea}, blob_data{T::kBytea};
  PgArray sealed_tenant{T::kText}, sealed_sha256{T::kBytea}, sealed_size{T::kInt8},
      sealed_kek_id{T::kText}, sealed_wrapped{T::kBytea}, sealed_data{T::kBytea};

  // The personal fields of the group's receipts, sealed (migration 0016).
  PgArray fields_receipt{T::kText}, fields_kek_id{T::kText}, fields_wrapped{T::kBytea},
      fields_data{T::kBytea};

  void AddFields(const std::string& receipt_id, const SealedValue& v) {
    fields_receipt.Add(receipt_id);
    fields_kek_id.Add(v.kek_id);
    fields_wrapped.Add(v.wrapped_key);
    fields_data.Add(v.data);
  }

  void AddSealed(const SealedBlob& b) {
    sealed_tenant.Add(b.tenant);
    sealed_sha256.Add(common::AsChars(b.sha256));
    sealed_size.AddInt8(b.size);
    sealed_kek_id.Add(b.kek_id);
    sealed_wrapped.Add(b.wrapped_key);
    sealed_data.Add(b.data);
  }

  pqxx::result Exec(pqxx::transaction_base& tx) {
    return ExecArrays(
        tx, "ingest_receipts", kInsertReceipts, id, tenant, us, node, source, listener,
        envelope_from, envelope_to, client_ip, client_port, client_name, helo, tls_protocol,
        tls_cipher, auth_user, queue_id, smtputf8, body_type, size, raw_sha256, canonical_sha256,
        canon_version, parts_root, envelope_digest, salt, hdr_from, hdr_sender, hdr_reply_to,
        hdr_to, hdr_cc, subject, date_header, date_utc, message_id, in_reply_to, addresses,
        attachment_names, parse_warnings, idempotency_key, leaf_record, leaf_hash, part_receipt,
        part_ordinal, part_position, part_content_type, part_charset, part_disposition,
        part_filename, part_size, part_sha256, blob_sha256, blob_data, asserted_by,
        journal_report_sha256, leaf_version, part_salt, sealed_tenant, sealed_sha256, sealed_size,
        sealed_kek_id, sealed_wrapped, sealed_data, fields_receipt, fields_kek_id, fields_wrapped,
        fields_data, ix_envelope_from, ix_hdr_from, ix_subject, ix_message_id, ix_addresses,
        ix_attachment_names);
  }
};

// A group's personal fields (one document per receipt, migration 0016) and distinct bytes
// (0012), sealed in one go: each tenant's data keys are wrapped under one ephemeral key, so
// the group costs one X25519 key agreement per tenant, not two.
struct SealedGroup {
  std::vector<SealedValue> fields;  // in the order of the batch
  std::vector<SealedBlob> blobs;    // in the order of `blobs`
};
common::Result<SealedGroup> SealGroup(vault::Wrapper& wrapper,
                                      const std::vector<const NewReceipt*>& batch,
                                      const std::vector<const NewReceipt*>& blobs) {
  std::vector<std::string> docs, aads;
  docs.reserve(batch.size() + blobs.size());
  aads.reserve(batch.size() + blobs.size());
  for (const NewReceipt* n : batch) {
    docs.push_back(EncodeFields(FieldsOf(n->receipt)));
    aads.push_back(FieldsAad(n->receipt.tenant, n->receipt.id));
  }
  for (const NewReceipt* n : blobs)
    aads.push_back(BlobAad(n->receipt.tenant, n->receipt.raw_sha256));
  std::vector<PlainValue> values;
  values.reserve(batch.size() + blobs.size());
  for (size_t i = 0; i < batch.size(); ++i)
    values.push_back({batch[i]->receipt.tenant, docs[i], aads[i]});
  for (size_t i = 0; i < blobs.size(); ++i) {
    values.push_back({blobs[i]->receipt.tenant, blobs[i]->raw, aads[batch.size() + i]});
  }
  auto sealed = SealForTenants(wrapper, values);
  for (std::string& d : docs) OPENSSL_cleanse(d.data(), d.size());
  if (!sealed.ok()) return sealed.error();
  SealedGroup out;
  out.fields.assign(
      std::make_move_iterator(sealed->begin()),
      std::make_move_iterator(sealed->begin() + static_cast<ptrdiff_t>(batch.size())));
  for (size_t i = 0; i < blobs.size(); ++i) {
    SealedValue& v = (*sealed)[batch.size() + i];
    out.blobs.push_back({blobs[i]->receipt.tenant, blobs[i]->receipt.raw_sha256,
                         static_cast<int64_t>(blobs[i]->raw.size()), std::move(v.kek_id),
                         std::move(v.wrapped_key), std::move(v.data)});
  }
  return out;
}

// Inserts a group whose rows are in `rows`. Bytes too large for one statement have gone
// ahead in statements of their own (in the same transaction).
common::Result<std::vector<InsertedReceipt>> InsertRows(pqxx::transaction_base& tx,
                                                        ReceiptArrays& rows,
                                                        const std::vector<const NewReceipt*>& batch,
                                                        vault::Wrapper* wrapper) {
  std::set<std::string> inserted;
  for (const auto& row : rows.Exec(tx)) inserted.insert(row[0].as<std::string>());
  std::vector<InsertedReceipt> out;
  for (const NewReceipt* n : batch) {
    const notary::Receipt& m = n->receipt;
    if (inserted.count(m.id)) {
      out.push_back({m.id, false, m.received_at_us});
      continue;
    }
    // A repeated idempotency key: the earlier receipt stands; nothing new is stored. The
    // key promises the same message: other bytes or another envelope (sender, recipients)
    // under it are a conflict, never the earlier receipt passed off as theirs. The
    // connection (client port) differs on every retry and is not compared.
    pqxx::result ex = tx.exec_params(
        "SELECT r.id::text, r.received_at_us, r.raw_sha256 = $3, r.envelope_from,"
        " array_to_json(r.envelope_to)::text, f.kek_id, f.wrapped_key, f.data"
        " FROM receipts r JOIN tenants t ON t.id = r.tenant_id"
        " LEFT JOIN receipt_fields f ON f.receipt_id = r.id"
        " WHERE t.name = $1 AND r.idempotency_key = $2",
        m.tenant, n->idempotency_key, Bytea(m.raw_sha256));
    if (ex.empty()) return common::Error::Internal("receipt neither inserted nor found");
    InsertedReceipt dup{ex[0][0].as<std::string>(), true, ex[0][1].as<int64_t>()};
    std::string mail_from = ex[0][3].as<std::string>();
    std::vector<std::string> recipients = JsonTextArray(ex[0][4]);
    if (!ex[0][5].is_null()) {
      // Its envelope is sealed (migration 0016).
      if (wrapper == nullptr) {
        return common::Error::Unavailable(
            "the earlier receipt's fields are sealed and no key "
            "holder is set");
      }
      ASSIGN_OR_RETURN(
          auto opened,
          OpenFields(*wrapper, {{m.tenant, dup.id,
                                 SealedFields{ex[0][5].as<std::string>(), BytesField(ex[0][6]),
                                              BytesField(ex[0][7])}}}));
      if (!opened[0].ok()) return opened[0].error();
      mail_from = std::move(opened[0]->mail_from);
      recipients = std::move(opened[0]->recipients);
    }
    dup.conflict = !ex[0][2].as<bool>() || mail_from != m.envelope.mail_from ||
                   recipients != m.envelope.recipients;
    out.push_back(std::move(dup));
  }
  return out;
}

}  // namespace

common::Result<std::vector<InsertedReceipt>> ReceiptStore::Insert(
    const std::vector<const NewReceipt*>& batch) {
  auto inserted = InsertGroup(batch);
  // A group refused because its tenant's key pair was retired meanwhile (migration 0021) is
  // retried (by its senders, or one by one at once); the retry asks the holder for the
  // current pair. Any failure does: it costs one question to the holder, failures are rare,
  // and a holder that cannot answer leaves the kept key in use.
  if (!inserted.ok() && wrapper_ != nullptr) {
    for (const NewReceipt* m : batch) wrapper_->RefreshSoon(m->receipt.tenant);
  }
  return inserted;
}

common::Result<std::vector<InsertedReceipt>> ReceiptStore::InsertGroup(
    const std::vector<const NewReceipt*>& batch) {
  ReceiptArrays rows;
  // Identical bytes in one group are stored once: once per tenant when sealed.
  std::vector<const NewReceipt*> blobs;
  {
    std::set<std::pair<std::string, common::Hash>> seen;
    for (const NewReceipt* m : batch) {
      RETURN_IF_ERROR(rows.Add(*m, wrapper_ != nullptr));
      const std::string tenant = wrapper_ != nullptr ? m->receipt.tenant : "";
      if (!seen.insert({tenant, m->receipt.raw_sha256}).second) continue;
      blobs.push_back(m);
    }
  }
  std::vector<SealedBlob> sealed;
  size_t blob_bytes = 0;
  if (wrapper_ != nullptr) {
    ASSIGN_OR_RETURN(SealedGroup group, SealGroup(*wrapper_, batch, blobs));
    for (size_t i = 0; i < batch.size(); ++i) rows.AddFields(batch[i]->receipt.id, group.fields[i]);
    sealed = std::move(group.blobs);
    for (const SealedBlob& b : sealed) blob_bytes += b.data.size();
  } else {
    for (const NewReceipt* m : blobs) blob_bytes += m->raw.size();
  }
  // The usual group is one statement and nothing else: it commits on its own, so the group
  // costs one round trip instead of BEGIN, the statement and COMMIT.
  if (blob_bytes <= kBlobBytesPerStatement) {
    if (wrapper_ != nullptr) {
      for (const SealedBlob& b : sealed) rows.AddSealed(b);
    } else {
      for (const NewReceipt* m : blobs) {
        rows.blob_sha256.Add(common::AsChars(m->receipt.raw_sha256));
        rows.blob_data.Add(m->raw);
      }
    }
    return InAutocommit<std::vector<InsertedReceipt>>(
        db_, [&](pqxx::nontransaction& tx) { return InsertRows(tx, rows, batch, wrapper_); });
  }
  // Large bytes go ahead in statements of at most about 16 MiB (a message may be 50 MiB),
  // in the transaction that then inserts the receipts.
  return InTransaction<std::vector<InsertedReceipt>>(
      db_, [&](pqxx::work& tx) -> common::Result<std::vector<InsertedReceipt>> {
        ReceiptArrays part;
        size_t bytes = 0, count = 0;
        auto flush = [&] {
          if (count == 0) return;
          if (wrapper_ != nullptr) {
            ExecArrays(tx, "ingest_sealed_blobs", kInsertSealedBlobs, part.sealed_tenant,
                       part.sealed_sha256, part.sealed_size, part.sealed_kek_id,
                       part.sealed_wrapped, part.sealed_data);
          } else {
            ExecArrays(tx, "ingest_blobs", kInsertBlobs, part.blob_sha256, part.blob_data);
          }
          part = ReceiptArrays();
          bytes = 0;
          count = 0;
        };
        for (size_t i = 0; i < blobs.size(); ++i) {
          const size_t size = wrapper_ != nullptr ? sealed[i].data.size() : blobs[i]->raw.size();
          if (bytes > 0 && bytes + size > kBlobBytesPerStatement) flush();
          if (wrapper_ != nullptr) {
            part.AddSealed(sealed[i]);
          } else {
            part.blob_sha256.Add(common::AsChars(blobs[i]->receipt.raw_sha256));
            part.blob_data.Add(blobs[i]->raw);
          }
          bytes += size;
          ++count;
        }
        flush();
        return InsertRows(tx, rows, batch, wrapper_);  // its arrays of bytes are empty
      });
}

common::Result<std::optional<notary::Receipt>> ReceiptStore::Get(
    const std::string& id, const std::optional<std::string>& tenant) {
  if (!IsUuid(id)) return std::optional<notary::Receipt>();
  std::vector<std::optional<SealedFields>> sealed(1);
  ASSIGN_OR_RETURN(std::optional<notary::Receipt> row,
                   InTransaction<std::optional<notary::Receipt>>(
                       db_, [&](pqxx::work& tx) -> common::Result<std::optional<notary::Receipt>> {
                         pqxx::result r = ExecPrepared(
                             tx,
                             std::string("SELECT ") + kReceiptColumns + kReceiptFrom +
                                 "WHERE r.id = $1::uuid AND ($2::text IS NULL OR t.name = $2)",
                             id, tenant);
                         if (r.empty()) return std::optional<notary::Receipt>();
                         notary::Receipt row = ReadRow(r[0], sealed[0]);
                         LoadParts(tx, {&row});
                         return std::optional<notary::Receipt>(std::move(row));
                       }));
  // Opened after the transaction: the key holder may be a round trip away.
  if (row) RETURN_IF_ERROR(OpenRows(wrapper_, {&*row}, sealed));
  return row;
}

common::Result<std::string> ReceiptStore::GetRaw(const std::string& tenant,
                                                 const common::Hash& raw_sha256) {
  struct Stored {
    bool sealed = false;
    std::string kek_id, wrapped_key, data;
  };
  ASSIGN_OR_RETURN(
      Stored stored, InTransaction<Stored>(db_, [&](pqxx::work& tx) -> common::Result<Stored> {
        pqxx::result r =
            ExecPrepared(tx,
                         "SELECT s.kek_id, s.wrapped_key, s.data FROM sealed_blobs s JOIN tenants t"
                         " ON t.id = s.tenant_id WHERE t.name = $1 AND s.sha256 = $2",
                         tenant, Bytea(raw_sha256));
        if (!r.empty()) {
          return Stored{true, r[0][0].as<std::string>(), BytesField(r[0][1]), BytesField(r[0][2])};
        }
        // Stored in the clear, before migration 0012 (or by a store without a wrapper).
        r = tx.exec_params("SELECT data FROM message_blobs WHERE sha256 = $1", Bytea(raw_sha256));
        if (r.empty()) return common::Error::NotFound("message bytes not found");
        return Stored{false, "", "", BytesField(r[0][0])};
      }));
  if (!stored.sealed) return std::move(stored.data);
  if (wrapper_ == nullptr) {
    return common::Error::Unavailable("the message bytes are sealed and no key holder is set");
  }
  auto plain =
      OpenBlob(*wrapper_, tenant, raw_sha256, stored.kek_id, stored.wrapped_key, stored.data);
  if (!plain.ok() && (plain.error().code() == common::ErrorCode::kVerifyFailed ||
                      plain.error().code() == common::ErrorCode::kNotFound ||
                      plain.error().code() == common::ErrorCode::kInvalidInput)) {
    // Not the caller's fault: the stored row was altered, or its key pair is not with this
    // node's key holder (docs/retention.md). A 500, never a 4xx.
    return common::Error::Internal("the stored message bytes do not open (" +
                                   plain.error().message() + "); notaryctl audit names them");
  }
  return plain;
}

common::Result<int64_t> ReceiptStore::PendingCount() {
  return InTransaction<int64_t>(db_, [](pqxx::work& tx) -> common::Result<int64_t> {
    return tx.exec("SELECT count(*) FROM pending")[0][0].as<int64_t>();
  });
}

}  // namespace storage
