#include "storage/audit_store.h"

#include <algorithm>
#include <array>
#include <pqxx/pqxx>

#include "libpq_util.h"
#include "transaction.h"

namespace storage {
namespace {

// Leaves in leaf order with everything their records are rebuilt from, as binary results
// (bytes as stored, no hex text on either side); every integer is int8. LEFT JOINs: a leaf
// whose receipt (or, with the bytes, its bytes) is gone must still come out, for the audit to
// name it. Without the bytes, the stored bytes are checked by one scan of message_blobs
// instead (storage/blob_scan.h), which saves a look-up per leaf and the bytes' hex text.
// An authentication record's leaf (migration 0010): its row, and the leaf hash of the message
// it names, which the record must carry.
#define AUTHENTICATION_COLUMNS \
  " l.authentication_of::text, a.record, a.results, a.dns_archive, ar.leaf_hash"
#define AUTHENTICATION_JOINS                                           \
  " LEFT JOIN authentications a ON a.receipt_id = l.authentication_of" \
  " LEFT JOIN receipts ar ON ar.id = a.receipt_id"                     \
  " LEFT JOIN tenants atn ON atn.id = ar.tenant_id" ACTION_JOINS
// An action record's leaf (migration 0011): its row, with its tenant's name.
#define ACTION_COLUMNS \
  ", x.id, x.action, x.subject, x.acted_at_us, x.actor, x.details, x.record, xt.name"
#define ACTION_JOINS                           \
  " LEFT JOIN actions x ON x.id = l.action_of" \
  " LEFT JOIN tenants xt ON xt.id = x.tenant_id"
// A receipt's personal fields sealed at rest (migration 0016): its envelope is checked
// against the envelope digest once they are opened.
#define FIELDS_COLUMNS ", f.kek_id, f.wrapped_key, f.data"
#define FIELDS_JOINS " LEFT JOIN receipt_fields f ON f.receipt_id = r.id"
// An authentication record's results and DNS archive sealed at rest (migration 0019), with the
// tenant whose key pair opens them.
#define AUTHENTICATION_SEALED_COLUMNS ", atn.name, a.kek_id, a.wrapped_key, a.sealed"
constexpr const char* kLeafRange =
    "SELECT l.leaf_index, l.block_height, r.leaf_record, l.leaf_hash, r.id::text, t.name,"
    " r.received_at_us, r.raw_sha256, r.canonical_sha256, r.parts_root, r.envelope_digest,"
    " r.salt, r.canon_version::int8, r.envelope_from, r.envelope_to, r.client_ip,"
    " r.client_port::int8, r.helo, r.tls_protocol, r.tls_cipher, r.leaf_version::int8,"
    " r.source, r.listener, r.node, r.client_name, r.auth_user, r.queue_id, r.asserted_by,"
    " r.journal_report_sha256," AUTHENTICATION_COLUMNS ACTION_COLUMNS FIELDS_COLUMNS
        AUTHENTICATION_SEALED_COLUMNS
    " FROM leaves l"
    " LEFT JOIN receipts r ON r.id = l.receipt_id"
    " LEFT JOIN tenants t ON t.id = r.tenant_id" FIELDS_JOINS AUTHENTICATION_JOINS
    " WHERE l.leaf_index >= $1 AND l.leaf_index < $2"
    " ORDER BY l.leaf_index";
constexpr const char* kLeafRangeWithBytes =
    "SELECT l.leaf_index, l.block_height, r.leaf_record, l.leaf_hash, r.id::text, t.name,"
    " r.received_at_us, r.raw_sha256, r.canonical_sha256, r.parts_root, r.envelope_digest,"
    " r.salt, r.canon_version::int8, r.envelope_from, r.envelope_to, r.client_ip,"
    " r.client_port::int8, r.helo, r.tls_protocol, r.tls_cipher, r.leaf_version::int8,"
    " r.source, r.listener, r.node, r.client_name, r.auth_user, r.queue_id, r.asserted_by,"
    " r.journal_report_sha256," AUTHENTICATION_COLUMNS ACTION_COLUMNS FIELDS_COLUMNS
        AUTHENTICATION_SEALED_COLUMNS
    ", b.data,"
    " (SELECT array_agg(p.salt ORDER BY p.ordinal) FROM message_parts p"
    "  WHERE p.receipt_id = r.id), sb.kek_id, sb.wrapped_key, sb.data"
    " FROM leaves l"
    " LEFT JOIN receipts r ON r.id = l.receipt_id"
    " LEFT JOIN tenants t ON t.id = r.tenant_id" FIELDS_JOINS
    " LEFT JOIN message_blobs b ON b.sha256 = r.raw_sha256"
    " LEFT JOIN sealed_blobs sb ON b.sha256 IS NULL AND sb.tenant_id = r.tenant_id"
    " AND sb.sha256 = r.raw_sha256" AUTHENTICATION_JOINS
    " WHERE l.leaf_index >= $1 AND l.leaf_index < $2"
    " ORDER BY l.leaf_index";

constexpr const char* kDeclareBlocks =
    "DECLARE audit_blocks NO SCROLL CURSOR FOR"
    " SELECT height, prev_hash, batch_root, first_leaf, leaf_count, tree_size, tree_root,"
    " sealed_at_us, key_id, header, signature, block_hash, checkpoint FROM blocks"
    " ORDER BY height";

// Hex digit values; -1 for anything else (so that OR-ing values shows a bad digit).
constexpr std::array<int8_t, 256> kHexDigits = [] {
  std::array<int8_t, 256> t{};
  t.fill(-1);
  for (int c = 0; c < 10; ++c) t['0' + c] = static_cast<int8_t>(c);
  for (int c = 0; c < 6; ++c) {
    t['a' + c] = static_cast<int8_t>(10 + c);
    t['A' + c] = static_cast<int8_t>(10 + c);
  }
  return t;
}();

// bytea in PostgreSQL's hex output form ("\x0a1b..."), decoded into `out`. The escape form
// (bytea_output = escape) goes through libpqxx's decoder.
bool DecodeBytea(const pqxx::field& f, std::string& out) {
  out.clear();
  if (f.is_null()) return true;
  const char* s = f.c_str();
  const size_t n = f.size();
  if (n < 2 || s[0] != '\\' || s[1] != 'x') {
    out = pqxx::binarystring(f).str();
    return true;
  }
  if (n % 2 != 0) return false;
  out.resize((n - 2) / 2);
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  const auto* in = reinterpret_cast<const unsigned char*>(s + 2);
  int bad = 0;
  for (size_t i = 0, m = out.size(); i < m; ++i) {
    const int hi = kHexDigits[in[2 * i]], lo = kHexDigits[in[2 * i + 1]];
    bad |= hi | lo;
    o[i] = static_cast<unsigned char>((hi << 4) | lo);
  }
  return bad >= 0;
}

// A stored hash column into a fixed-size hash; false when it is not 32 bytes.
bool HashColumn(const pqxx::field& f, common::Hash& out) {
  std::string s;
  if (!DecodeBytea(f, s) || s.size() != out.size()) {
    out = common::Hash{};
    return false;
  }
  std::copy(s.begin(), s.end(), out.begin());
  return true;
}

}  // namespace

// The column types of a leaf range, as PostgreSQL's type OIDs (pg_type.dat).
constexpr Oid kInt8 = 20, kBytea = 17, kText = 25, kTextArray = 1009, kByteaArray = 1001;
constexpr Oid kLeafTypes[] = {
    kInt8, kInt8, kBytea, kBytea, kText, kText, kInt8, kBytea, kBytea, kBytea, kBytea, kBytea,
    kInt8, kText, kTextArray, kText, kInt8, kText, kText, kText,
    // leaf_version, source, listener, node, client_name, auth_user, queue_id, asserted_by,
    // journal_report_sha256 (migration 0007), then the bytes when asked for.
    kInt8, kText, kText, kText, kText, kText, kText, kText, kBytea,
    // An authentication record's leaf: the message it names, the record, results, DNS
    // archive, and the message's leaf hash (migration 0010).
    kText, kBytea, kBytea, kBytea, kBytea,
    // An action record's leaf: id, action, subject, time, actor, details, record, tenant
    // (migration 0011).
    kInt8, kText, kText, kInt8, kText, kBytea, kBytea, kText,
    // The receipt's sealed personal fields (migration 0016).
    kText, kBytea, kBytea,
    // An authentication record's sealed results and archive, and its tenant (migration 0019).
    kText, kText, kBytea, kBytea,
    // With the bytes: the bytes, and the receipt's part salts (canonical form version 2); the
    // bytes sealed at rest instead (migration 0012).
    kBytea, kByteaArray, kText, kBytea, kBytea};

struct LeafChunk::Impl {
  PgResultPtr rows;
  bool with_bytes = false;

  std::string_view Value(int row, int col) const {
    return {PQgetvalue(rows.get(), row, col),
            static_cast<size_t>(PQgetlength(rows.get(), row, col))};
  }
  bool Null(int row, int col) const { return PQgetisnull(rows.get(), row, col) != 0; }
  bool Int(int row, int col, int64_t& out) const {
    out = 0;
    if (Null(row, col)) return true;
    std::string_view v = Value(row, col);
    if (v.size() != 8) return false;
    out = static_cast<int64_t>(Be64(v.data()));
    return true;
  }
  void Bytes(int row, int col, std::string& out) const {
    if (Null(row, col)) {
      out.clear();
    } else {
      out.assign(Value(row, col));
    }
  }
  // A one-dimensional text[] (or bytea[]) in binary form: dimensions, flags, element type,
  // then each element as a length and its bytes.
  bool TextArray(int row, int col, std::vector<std::string>& out, Oid element = kText) const {
    out.clear();
    if (Null(row, col)) return true;
    std::string_view v = Value(row, col);
    if (v.size() < 12) return false;
    const uint32_t ndim = Be32(v.data());
    if (ndim == 0) return true;
    if (ndim != 1 || v.size() < 20 || Be32(v.data() + 8) != element) return false;
    const uint32_t n = Be32(v.data() + 12);
    size_t at = 20;
    for (uint32_t k = 0; k < n; ++k) {
      if (v.size() - at < 4) return false;
      const uint32_t len = Be32(v.data() + at);
      at += 4;
      if (len == 0xffffffffu) {  // NULL element: not stored by the notary, shown as empty
        out.emplace_back();
        continue;
      }
      if (v.size() - at < len) return false;
      out.emplace_back(v.substr(at, len));
      at += len;
    }
    return at == v.size();
  }
};

size_t LeafChunk::size() const { return static_cast<size_t>(PQntuples(impl_->rows.get())); }

int64_t LeafChunk::LeafIndexAt(size_t i) const {
  int64_t v = 0;
  (void)impl_->Int(static_cast<int>(i), 0, v);
  return v;
}

bool LeafChunk::SealedFieldsAt(size_t i, FieldsToOpen& out) const {
  const Impl& c = *impl_;
  const int r = static_cast<int>(i);
  if (c.Null(r, 42)) return false;
  c.Bytes(r, 5, out.tenant);
  c.Bytes(r, 4, out.receipt_id);
  c.Bytes(r, 42, out.sealed.kek_id);
  c.Bytes(r, 43, out.sealed.wrapped_key);
  c.Bytes(r, 44, out.sealed.data);
  return true;
}

bool LeafChunk::SealedSenderEvidenceAt(size_t i, SenderEvidenceToOpen& out) const {
  const Impl& c = *impl_;
  const int r = static_cast<int>(i);
  if (c.Null(r, 48)) return false;
  c.Bytes(r, 45, out.tenant);
  c.Bytes(r, 29, out.receipt_id);
  c.Bytes(r, 30, out.record);
  c.Bytes(r, 46, out.kek_id);
  c.Bytes(r, 47, out.wrapped_key);
  c.Bytes(r, 48, out.data);
  return true;
}

common::Status LeafChunk::Decode(size_t i, StoredLeaf& out) const {
  const Impl& c = *impl_;
  const int r = static_cast<int>(i);
  bool ok = c.Int(r, 0, out.leaf_index) && c.Int(r, 1, out.block_height);
  c.Bytes(r, 2, out.record);
  c.Bytes(r, 3, out.leaf_hash);
  out.has_receipt = !c.Null(r, 4);
  c.Bytes(r, 4, out.receipt_id);
  c.Bytes(r, 5, out.tenant);
  ok = ok && c.Int(r, 6, out.received_at_us);
  c.Bytes(r, 7, out.raw_sha256);
  c.Bytes(r, 8, out.canonical_sha256);
  c.Bytes(r, 9, out.parts_root);
  c.Bytes(r, 10, out.envelope_digest);
  c.Bytes(r, 11, out.salt);
  ok = ok && c.Int(r, 12, out.canon_version);
  c.Bytes(r, 13, out.envelope_from);
  ok = ok && c.TextArray(r, 14, out.envelope_to);
  c.Bytes(r, 15, out.client_ip);
  ok = ok && c.Int(r, 16, out.client_port);
  c.Bytes(r, 17, out.helo);
  c.Bytes(r, 18, out.tls_protocol);
  c.Bytes(r, 19, out.tls_cipher);
  if (out.has_receipt) {
    ok = ok && c.Int(r, 20, out.leaf_version);
  } else {
    out.leaf_version = 0;
  }
  c.Bytes(r, 21, out.source);
  c.Bytes(r, 22, out.listener);
  c.Bytes(r, 23, out.node);
  c.Bytes(r, 24, out.client_name);
  c.Bytes(r, 25, out.auth_user);
  c.Bytes(r, 26, out.queue_id);
  c.Bytes(r, 27, out.asserted_by);
  out.has_journal_report = !c.Null(r, 28);
  c.Bytes(r, 28, out.journal_report_sha256);
  out.is_authentication = !c.Null(r, 29);
  c.Bytes(r, 29, out.authentication_of);
  c.Bytes(r, 30, out.authentication_record);
  c.Bytes(r, 31, out.authentication_results);
  c.Bytes(r, 32, out.authentication_dns_archive);
  c.Bytes(r, 33, out.authenticated_leaf_hash);
  out.is_action = !c.Null(r, 34);
  ok = ok && c.Int(r, 34, out.action_id);
  c.Bytes(r, 35, out.action);
  c.Bytes(r, 36, out.action_subject);
  ok = ok && c.Int(r, 37, out.acted_at_us);
  c.Bytes(r, 38, out.action_actor);
  c.Bytes(r, 39, out.action_details);
  c.Bytes(r, 40, out.action_record);
  c.Bytes(r, 41, out.action_tenant);
  out.erased = false;  // the caller knows (AuditSnapshot::ErasedReceipts)
  out.bytes_read = c.with_bytes;
  out.fields_sealed = !c.Null(r, 42);
  out.fields_opened = false;
  out.fields_bad = false;
  out.fields_beside = out.fields_sealed && (!out.envelope_from.empty() || !out.envelope_to.empty());
  c.Bytes(r, 42, out.fields_kek_id);
  c.Bytes(r, 43, out.fields_wrapped_key);
  c.Bytes(r, 44, out.fields_data);
  out.authentication_sealed = !c.Null(r, 48);
  out.authentication_opened = false;
  out.authentication_bad = false;
  c.Bytes(r, 45, out.authentication_tenant);
  c.Bytes(r, 46, out.authentication_kek_id);
  c.Bytes(r, 47, out.authentication_wrapped_key);
  c.Bytes(r, 48, out.authentication_sealed_data);
  out.sealed = out.bytes_read && c.Null(r, 49) && !c.Null(r, 51);
  out.sealed_bad = false;
  out.has_bytes = out.bytes_read && (!c.Null(r, 49) || out.sealed);
  out.part_salts.clear();
  if (out.bytes_read) {
    ok = ok && c.TextArray(r, 50, out.part_salts, kBytea);
    c.Bytes(r, 49, out.raw);
    c.Bytes(r, 51, out.sealed_kek_id);
    c.Bytes(r, 52, out.sealed_wrapped_key);
    c.Bytes(r, 53, out.sealed_data);
  } else {
    out.raw.clear();
  }
  if (!ok) return common::Error::Internal("a stored value of the leaf does not parse");
  return common::Ok();
}

namespace {

// Runs `fn`, mapping libpqxx exceptions to errors; sets `broken` when the connection is
// lost (so that it is not reused).
template <typename T, typename F>
common::Result<T> Guard(bool& broken, F&& fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    common::Error err = MapDbException(e);
    if (err.code() == common::ErrorCode::kUnavailable) broken = true;
    return err;
  }
}

}  // namespace

struct AuditSnapshot::Impl {
  Database& db;
  std::unique_ptr<pqxx::connection> conn;
  std::unique_ptr<pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>> tx;
  bool broken = false;

  explicit Impl(Database& d) : db(d) {}
  ~Impl() {
    try {
      tx.reset();  // aborts: the transaction only read
    } catch (...) {
      broken = true;
    }
    if (conn) db.pool().Release(std::move(conn), broken);
  }
};

AuditSnapshot::AuditSnapshot(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AuditSnapshot::~AuditSnapshot() = default;

common::Result<std::unique_ptr<AuditSnapshot>> AuditSnapshot::Open(Database& db) {
  auto impl = std::make_unique<Impl>(db);
  ASSIGN_OR_RETURN(auto conn, db.pool().Acquire());
  impl->conn = std::move(conn);
  Impl* i = impl.get();
  auto status = Guard<bool>(i->broken, [&] {
    i->tx = std::make_unique<pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>>(*i->conn);
    i->tx->exec(kDeclareBlocks);
    return true;
  });
  RETURN_IF_ERROR(status);
  return std::unique_ptr<AuditSnapshot>(new AuditSnapshot(std::move(impl)));
}

common::Result<std::vector<KeyRow>> AuditSnapshot::SigningKeys() {
  return Guard<std::vector<KeyRow>>(impl_->broken, [&] {
    std::vector<KeyRow> out;
    for (const auto& r : impl_->tx->exec("SELECT key_id, public_key FROM signing_keys")) {
      KeyRow k;
      k.key_id = r[0].as<std::string>();
      (void)DecodeBytea(r[1], k.public_key);
      out.push_back(std::move(k));
    }
    return out;
  });
}

common::Result<std::vector<AuditSnapshot::Block>> AuditSnapshot::NextBlocks() {
  // FETCH takes no parameters; blocks are small, so one constant count serves.
  return Guard<std::vector<Block>>(impl_->broken, [&] {
    std::vector<Block> out;
    for (const auto& r : impl_->tx->exec("FETCH 256 FROM audit_blocks")) {
      Block b;
      BlockRow& row = b.row;
      row.height = r[0].as<int64_t>();
      row.first_leaf = r[3].as<int64_t>();
      row.leaf_count = r[4].as<int64_t>();
      row.tree_size = r[5].as<int64_t>();
      row.sealed_at_us = r[7].as<int64_t>();
      row.key_id = r[8].as<std::string>();
      row.checkpoint = r[12].as<std::string>();
      // Every column is decoded, whichever of them fails.
      const std::array decoded{HashColumn(r[1], row.prev_hash), HashColumn(r[2], row.batch_root),
                               HashColumn(r[6], row.tree_root), HashColumn(r[11], row.block_hash),
                               DecodeBytea(r[9], row.header),   DecodeBytea(r[10], row.signature)};
      b.well_formed = std::ranges::all_of(decoded, std::identity{});
      out.push_back(std::move(b));
    }
    return out;
  });
}

common::Result<int64_t> AuditSnapshot::LeafExtent() {
  return Guard<int64_t>(impl_->broken, [&] {
    const pqxx::row r = impl_->tx->exec1(
        "SELECT least((SELECT max(tree_size) FROM blocks),"
        " (SELECT max(leaf_index) + 1 FROM leaves))");
    return r[0].is_null() ? int64_t{0} : std::max<int64_t>(0, r[0].as<int64_t>());
  });
}

common::Result<std::optional<int64_t>> AuditSnapshot::StrayLeaf(int64_t tree_size) {
  return Guard<std::optional<int64_t>>(impl_->broken, [&] {
    const pqxx::row r = impl_->tx->exec_params1(
        "SELECT least((SELECT min(leaf_index) FROM leaves WHERE leaf_index < 0),"
        " (SELECT min(leaf_index) FROM leaves WHERE leaf_index >= $1))",
        tree_size);
    return r[0].is_null() ? std::optional<int64_t>() : std::optional<int64_t>(r[0].as<int64_t>());
  });
}

common::Result<std::vector<ReceiptKey>> AuditSnapshot::ErasedReceipts() {
  return Guard<std::vector<ReceiptKey>>(impl_->broken, [&] {
    std::vector<ReceiptKey> out;
    // uuid_send: the 16 bytes, in the uuid type's own (bytewise) order.
    for (const auto& r : impl_->tx->exec(
             "SELECT encode(uuid_send(receipt_id), 'hex') FROM erasures ORDER BY receipt_id")) {
      auto key = ReceiptKeyOf(r[0].as<std::string>());
      if (key) out.push_back(*key);
    }
    return out;
  });
}

std::optional<ReceiptKey> ReceiptKeyOf(std::string_view id) {
  ReceiptKey k{};
  size_t n = 0;
  int hi = -1;
  for (char ch : id) {
    if (ch == '-') continue;
    const int v = kHexDigits[static_cast<unsigned char>(ch)];
    if (v < 0 || n >= k.size()) return std::nullopt;
    if (hi < 0) {
      hi = v;
    } else {
      k[n++] = static_cast<uint8_t>(hi << 4 | v);
      hi = -1;
    }
  }
  if (n != k.size() || hi >= 0) return std::nullopt;
  return k;
}

common::Result<std::optional<std::string>> AuditSnapshot::ErasureWithoutRecord() {
  return Guard<std::optional<std::string>>(impl_->broken, [&] {
    pqxx::result r = impl_->tx->exec(
        "SELECT e.receipt_id::text FROM erasures e WHERE NOT EXISTS (SELECT 1 FROM actions a"
        " JOIN receipts rc ON rc.id = e.receipt_id WHERE a.id = e.action_id"
        " AND a.action = 'erasure' AND a.subject = e.receipt_id::text"
        " AND a.tenant_id = e.tenant_id AND rc.tenant_id = e.tenant_id"
        " AND (EXISTS (SELECT 1 FROM leaves l WHERE l.action_of = a.id)"
        " OR EXISTS (SELECT 1 FROM pending p WHERE p.action_of = a.id)))"
        " ORDER BY e.receipt_id LIMIT 1");
    return r.empty() ? std::optional<std::string>()
                     : std::optional<std::string>(r[0][0].as<std::string>());
  });
}

struct LeafRangeReader::Impl {
  PgConnPtr conn;
  bool with_bytes = false;
};

LeafRangeReader::LeafRangeReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LeafRangeReader::~LeafRangeReader() = default;

namespace {

// A failed libpq result as an error: kUnavailable when the connection is gone.
common::Error PqError(PGconn* c, const PGresult* r, const char* what) {
  if (PQstatus(c) != CONNECTION_OK) return common::Error::Unavailable("database connection lost");
  return common::Error::Internal(std::string(what) + ", sqlstate " + SqlState(r));
}

}  // namespace

common::Result<std::unique_ptr<LeafRangeReader>> LeafRangeReader::Open(Database& db,
                                                                       bool with_bytes,
                                                                       bool with_sealed_fields) {
  auto impl = std::make_unique<Impl>();
  impl->with_bytes = with_bytes;
  impl->conn.reset(PQconnectdb(db.pool().options.url.c_str()));
  PGconn* c = impl->conn.get();
  if (!c || PQstatus(c) != CONNECTION_OK) {
    // libpq's message may name the host and user: it stays out of the error.
    return common::Error::Unavailable("cannot connect to the database to read leaves");
  }
  // A range is a few thousand index look-ups: parallel workers and JIT cost more to start
  // than they save (a parallel plan took 60 ms for 4,096 leaves, a serial one 12 ms), and
  // the audit already keeps every core busy with one connection per worker.
  PgResultPtr set(PQexec(c, "SET max_parallel_workers_per_gather = 0; SET jit = off"));
  if (PQresultStatus(set.get()) != PGRES_COMMAND_OK) {
    return PqError(c, set.get(), "cannot set up the leaf reader");
  }
  std::string sql = with_bytes ? kLeafRangeWithBytes : kLeafRange;
  if (!with_sealed_fields) {
    // Whether the fields are sealed, from the primary key's index alone: without a key
    // holder the documents are only counted, and reading them (about 560 bytes a receipt)
    // cost the default audit its pace against the database floor (docs/benchmarks.md).
    const std::string columns = FIELDS_COLUMNS;
    const std::string joins = FIELDS_JOINS;
    sql.replace(sql.find(columns), columns.size(),
                ", CASE WHEN EXISTS (SELECT 1 FROM receipt_fields f WHERE f.receipt_id = r.id)"
                " THEN ''::text END, NULL::bytea, NULL::bytea");
    sql.replace(sql.find(joins), joins.size(), "");
  }
  PgResultPtr prep(PQprepare(c, "audit_leaf_range", sql.c_str(), 2, nullptr));
  if (PQresultStatus(prep.get()) != PGRES_COMMAND_OK) {
    return PqError(c, prep.get(), "cannot prepare the leaf query");
  }
  return std::unique_ptr<LeafRangeReader>(new LeafRangeReader(std::move(impl)));
}

common::Result<LeafChunk> LeafRangeReader::Read(int64_t first, int64_t end) {
  PGconn* c = impl_->conn.get();
  // Parameters as text (two integers), results in binary. One statement, so its own
  // snapshot: enough for rows that are never changed (see the header).
  const std::string a = std::to_string(first), b = std::to_string(end);
  const char* params[] = {a.c_str(), b.c_str()};
  auto chunk = std::make_shared<LeafChunk::Impl>();
  chunk->with_bytes = impl_->with_bytes;
  chunk->rows.reset(PQexecPrepared(c, "audit_leaf_range", 2, params, nullptr, nullptr, 1));
  PGresult* r = chunk->rows.get();
  if (PQresultStatus(r) != PGRES_TUPLES_OK) return PqError(c, r, "reading leaves failed");
  // The decoder reads each column as the type it expects: check them once per range.
  const int columns = impl_->with_bytes ? 54 : 49;
  if (PQnfields(r) != columns) return common::Error::Internal("unexpected leaf columns");
  for (int k = 0; k < columns; ++k) {
    if (PQftype(r, k) != kLeafTypes[k] || PQfformat(r, k) != 1) {
      return common::Error::Internal("unexpected type of leaf column " + std::to_string(k));
    }
  }
  return LeafChunk(std::move(chunk));
}

}  // namespace storage
