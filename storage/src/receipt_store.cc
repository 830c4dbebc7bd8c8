#include "storage/receipt_store.h"

#include <pqxx/pqxx>
#include <set>

#include "common/rfc6962.h"
#include "common/sha256.h"
#include "common/utf8.h"
#include "pg_util.h"
#include "receipt_rows.h"
#include "storage/leaf_input.h"
#include "transaction.h"

namespace storage {
namespace {

std::vector<std::string> Clean(const std::vector<std::string>& v) {
  std::vector<std::string> out;
  out.reserve(v.size());
  for (const auto& s : v) out.push_back(common::SanitizeUtf8(s));
  return out;
}

std::string C(const std::string& s) { return common::SanitizeUtf8(s); }

// What the leaf record takes from a receipt, exactly as stored.
PendingLeaf PendingLeafOf(const NewReceipt& m) {
  PendingLeaf p;
  p.receipt_id = m.id;
  p.tenant = m.tenant;
  p.received_at_us = m.received_at_us;
  p.raw_sha256 = m.raw_sha256;
  p.canonical_sha256 = m.canonical_sha256;
  p.canon_version = m.canon_version;
  p.parts_root = m.parts_root;
  p.envelope_digest = m.envelope_digest;
  p.salt = m.salt;
  return p;
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

// Multi-row statements take text parameters (bytea as hex, decoded in SQL), so that a
// whole group commits in a handful of round trips instead of several per message.
class Params {
 public:
  std::string Add(std::optional<std::string> v) {
    values_.push_back(std::move(v));
    return "$" + std::to_string(values_.size());
  }
  std::string Hex(const common::Hash& h) { return "decode(" + Add(common::ToHex(h)) + ", 'hex')"; }
  size_t size() const { return values_.size(); }
  auto Dynamic() const { return pqxx::prepare::make_dynamic_params(values_); }

 private:
  std::vector<std::optional<std::string>> values_;
};

// PostgreSQL accepts at most 65,535 parameters per statement.
constexpr size_t kMaxParams = 60000;

// A lightly loaded notary commits groups of one or two messages (a milter in fail-closed
// mode, a trickle of SMTP), and planning each of their statements cost PostgreSQL about
// half as much as running it. Statements for up to kPreparedRows rows are therefore
// prepared once per connection, named after a digest of their text (the text is fixed for
// a given number of rows); larger groups spread one plan over many rows and are run
// unprepared, so that a connection keeps a bounded set of prepared statements.
constexpr size_t kPreparedRows = 8;

template <typename DynamicParams>
pqxx::result ExecGroup(pqxx::work& tx, const std::string& sql, size_t rows,
                       const DynamicParams& params) {
  if (rows > kPreparedRows) return tx.exec_params(sql, params);
  common::Sha256 digest;
  digest.Update(sql);
  const std::string name = "ingest_" + common::ToHex(digest.Finish()).substr(0, 32);
  tx.conn().prepare(name, sql);
  return tx.exec_prepared(name, params);
}

}  // namespace

common::Result<std::vector<InsertedReceipt>> ReceiptStore::Insert(
    const std::vector<const NewReceipt*>& batch) {
  return InTransaction<std::vector<InsertedReceipt>>(
      db_, [&](pqxx::work& tx) -> common::Result<std::vector<InsertedReceipt>> {
        // Bytes: the group's distinct blobs in as few statements as their size allows, as
        // binary parameters (no hex: a message may be 50 MiB). One statement per message cost
        // a round trip, a parse and a plan each: the largest item of a small group's commit.
        {
          std::set<common::Hash> seen;
          std::vector<pqxx::binarystring> params;
          std::string values;
          size_t bytes = 0;
          auto flush = [&] {
            if (params.empty()) return;
            ExecGroup(tx,
                      "INSERT INTO message_blobs (sha256, size, data) SELECT h, length(d), d"
                      " FROM (VALUES " +
                          values + ") AS v(h, d) ON CONFLICT (sha256) DO NOTHING",
                      params.size() / 2, pqxx::prepare::make_dynamic_params(params));
            params.clear();
            values.clear();
            bytes = 0;
          };
          for (const NewReceipt* m : batch) {
            if (!seen.insert(m->raw_sha256).second) continue;
            if (bytes > 0 && bytes + m->raw.size() > (16u << 20)) flush();
            params.push_back(Bytea(m->raw_sha256));
            params.push_back(Bytea(m->raw));
            values += (values.empty() ? "($" : ", ($") + std::to_string(params.size() - 1) +
                      "::bytea, $" + std::to_string(params.size()) + "::bytea)";
            bytes += m->raw.size();
          }
          flush();
        }
        // Receipts, and the queue entries of those inserted, in one statement: a repeated
        // idempotency key inserts neither. Each receipt holds its leaf record and hash, built
        // now (every field is known; the leaf index is not part of it); the queue takes the
        // hash from the inserted row, so the sealer reads 32 bytes per receipt and copies no
        // record (docs/architecture.md, "Sealing").
        std::set<std::string> inserted;
        for (size_t first = 0; first < batch.size();) {
          Params p;
          std::string sql =
              "WITH r AS (INSERT INTO receipts (id, tenant_id, received_at, received_at_us, node, "
              "source, "
              " listener, envelope_from, envelope_to, client_ip, client_port, client_name, helo,"
              " tls_protocol, tls_cipher, auth_user, queue_id, smtputf8, body_type, size,"
              " raw_sha256, canonical_sha256, canon_version, parts_root, envelope_digest, salt,"
              " hdr_from, hdr_sender, hdr_reply_to, hdr_to, hdr_cc, subject, date_header,"
              " date_utc, message_id, in_reply_to, addresses, attachment_names,"
              " parse_warnings, idempotency_key, leaf_record, leaf_hash) VALUES ";
          size_t i = first;
          for (; i < batch.size() && p.size() + 64 < kMaxParams; ++i) {
            const NewReceipt* m = batch[i];
            auto record = LeafRecordOf(PendingLeafOf(*m)).Encode();
            if (!record.ok()) return record.error();
            const std::string us = p.Add(std::to_string(m->received_at_us));
            std::optional<std::string> date_utc;
            if (m->date_utc_unix) date_utc = std::to_string(*m->date_utc_unix);
            sql += (i == first ? "(" : ", (") + p.Add(m->id) +
                   "::uuid, (SELECT id FROM tenants WHERE name = " + p.Add(m->tenant) +
                   "), to_timestamp(" + us + "::bigint / 1e6), " + us + "::bigint, " +
                   p.Add(C(m->node)) + ", " + p.Add(C(m->source)) + ", " + p.Add(C(m->listener)) +
                   ", " + p.Add(C(m->envelope_from)) + ", " +
                   p.Add(TextArray(Clean(m->envelope_to))) + "::text[], " + p.Add(C(m->client_ip)) +
                   ", " + p.Add(std::to_string(m->client_port)) + "::int, " +
                   p.Add(C(m->client_name)) + ", " + p.Add(C(m->helo)) + ", " +
                   p.Add(C(m->tls_protocol)) + ", " + p.Add(C(m->tls_cipher)) + ", " +
                   p.Add(C(m->auth_user)) + ", " + p.Add(C(m->queue_id)) + ", " +
                   p.Add(m->smtputf8 ? "true" : "false") + "::boolean, " + p.Add(C(m->body_type)) +
                   ", " + p.Add(std::to_string(m->raw.size())) + "::bigint, " +
                   p.Hex(m->raw_sha256) + ", " + p.Hex(m->canonical_sha256) + ", " +
                   p.Add(std::to_string(m->canon_version)) + "::int, " + p.Hex(m->parts_root) +
                   ", " + p.Hex(m->envelope_digest) + ", " + p.Hex(m->salt) + ", " +
                   p.Add(C(m->hdr_from)) + ", " + p.Add(C(m->hdr_sender)) + ", " +
                   p.Add(C(m->hdr_reply_to)) + ", " + p.Add(TextArray(Clean(m->hdr_to))) +
                   "::text[], " + p.Add(TextArray(Clean(m->hdr_cc))) + "::text[], " +
                   p.Add(C(m->subject)) + ", " + p.Add(C(m->date_header)) + ", to_timestamp(" +
                   p.Add(date_utc) + "::bigint), " + p.Add(C(m->message_id)) + ", " +
                   p.Add(C(m->in_reply_to)) + ", " + p.Add(TextArray(Clean(m->addresses))) +
                   "::text[], " + p.Add(TextArray(Clean(m->attachment_names))) + "::text[], " +
                   p.Add(TextArray(Clean(m->parse_warnings))) + "::text[], " +
                   p.Add(m->idempotency_key) + ", decode(" +
                   p.Add(common::ToHex(common::AsBytes(*record))) + ", 'hex'), " +
                   p.Hex(common::HashLeaf(*record)) + ")";
          }
          sql +=
              " ON CONFLICT (tenant_id, idempotency_key) DO NOTHING RETURNING id, seq, leaf_hash)"
              " INSERT INTO pending (seq, receipt_id, leaf_hash)"
              " SELECT seq, id, leaf_hash FROM r RETURNING receipt_id::text";
          for (const auto& row : ExecGroup(tx, sql, i - first, p.Dynamic()))
            inserted.insert(row[0].as<std::string>());
          first = i;
        }
        // Parts of the new receipts, as many rows per statement as the parameter limit allows.
        {
          Params p;
          std::string sql;
          size_t rows = 0;
          auto flush = [&] {
            if (sql.empty()) return;
            ExecGroup(tx,
                      "INSERT INTO message_parts (receipt_id, ordinal, position, content_type,"
                      " charset, disposition, filename, size, sha256) VALUES " +
                          sql,
                      rows, p.Dynamic());
            p = Params();
            sql.clear();
            rows = 0;
          };
          for (const NewReceipt* m : batch) {
            if (!inserted.count(m->id)) continue;
            int ordinal = 0;
            for (const PartRow& part : m->parts) {
              if (p.size() + 16 > kMaxParams) flush();
              sql += (sql.empty() ? "(" : ", (") + p.Add(m->id) + "::uuid, " +
                     p.Add(std::to_string(ordinal++)) + "::int, " + p.Add(C(part.position)) + ", " +
                     p.Add(C(part.content_type)) + ", " + p.Add(C(part.charset)) + ", " +
                     p.Add(C(part.disposition)) + ", " + p.Add(C(part.filename)) + ", " +
                     p.Add(std::to_string(part.size)) + "::bigint, " + p.Hex(part.sha256) + ")";
              ++rows;
            }
          }
          flush();
        }
        std::vector<InsertedReceipt> out;
        for (const NewReceipt* m : batch) {
          if (inserted.count(m->id)) {
            out.push_back({m->id, false, m->received_at_us});
            continue;
          }
          // A repeated idempotency key: the earlier receipt stands; nothing new is stored.
          pqxx::result ex = tx.exec_params(
              "SELECT r.id::text, r.received_at_us FROM receipts r JOIN tenants t"
              " ON t.id = r.tenant_id WHERE t.name = $1 AND r.idempotency_key = $2",
              m->tenant, m->idempotency_key);
          if (ex.empty()) return common::Error::Internal("receipt neither inserted nor found");
          out.push_back({ex[0][0].as<std::string>(), true, ex[0][1].as<int64_t>()});
        }
        return out;
      });
}

common::Result<std::optional<ReceiptRow>> ReceiptStore::Get(
    const std::string& id, const std::optional<std::string>& tenant) {
  if (!IsUuid(id)) return std::optional<ReceiptRow>();
  return InTransaction<std::optional<ReceiptRow>>(
      db_, [&](pqxx::work& tx) -> common::Result<std::optional<ReceiptRow>> {
        pqxx::result r =
            tx.exec_params(std::string("SELECT ") + kReceiptColumns + kReceiptFrom +
                               "WHERE r.id = $1::uuid AND ($2::text IS NULL OR t.name = $2)",
                           id, tenant);
        if (r.empty()) return std::optional<ReceiptRow>();
        ReceiptRow row = ReadRow(r[0]);
        LoadParts(tx, {&row});
        return std::optional<ReceiptRow>(std::move(row));
      });
}

common::Result<std::string> ReceiptStore::GetRaw(const common::Hash& raw_sha256) {
  return InTransaction<std::string>(db_, [&](pqxx::work& tx) -> common::Result<std::string> {
    pqxx::result r =
        tx.exec_params("SELECT data FROM message_blobs WHERE sha256 = $1", Bytea(raw_sha256));
    if (r.empty()) return common::Error::NotFound("message bytes not found");
    return BytesField(r[0][0]);
  });
}

common::Result<int64_t> ReceiptStore::PendingCount() {
  return InTransaction<int64_t>(db_, [](pqxx::work& tx) -> common::Result<int64_t> {
    return tx.exec("SELECT count(*) FROM pending")[0][0].as<int64_t>();
  });
}

}  // namespace storage
