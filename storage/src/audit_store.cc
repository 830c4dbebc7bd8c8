#include "storage/audit_store.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <pqxx/pqxx>

#include "pg_util.h"
#include "transaction.h"

namespace storage {
namespace {

// Leaves in leaf order with everything their records are rebuilt from. LEFT JOINs: a leaf
// whose receipt or bytes are gone must still come out, for the audit to name it.
constexpr const char* kLeafRange =
    "SELECT l.leaf_index, l.block_height, l.leaf_record, l.leaf_hash, r.id::text, t.name,"
    " r.received_at_us, b.data, r.raw_sha256, r.canonical_sha256, r.parts_root,"
    " r.envelope_digest, r.salt, r.canon_version, r.envelope_from,"
    " array_to_json(r.envelope_to)::text, r.client_ip, r.client_port, r.helo, r.tls_protocol,"
    " r.tls_cipher"
    " FROM leaves l"
    " LEFT JOIN receipts r ON r.id = l.receipt_id"
    " LEFT JOIN tenants t ON t.id = r.tenant_id"
    " LEFT JOIN message_blobs b ON b.sha256 = r.raw_sha256"
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

bool DecodeInt(const pqxx::field& f, int64_t& out) {
  out = 0;
  if (f.is_null()) return true;
  const char* s = f.c_str();
  auto [p, ec] = std::from_chars(s, s + f.size(), out);
  return ec == std::errc() && p == s + f.size();
}

void DecodeText(const pqxx::field& f, std::string& out) {
  if (f.is_null()) {
    out.clear();
  } else {
    out.assign(f.c_str(), f.size());
  }
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

struct LeafChunk::Impl {
  pqxx::result rows;
};

size_t LeafChunk::size() const { return impl_->rows.size(); }

int64_t LeafChunk::LeafIndexAt(size_t i) const {
  int64_t v = 0;
  (void)DecodeInt(impl_->rows[static_cast<pqxx::result::size_type>(i)][0], v);
  return v;
}

common::Status LeafChunk::Decode(size_t i, StoredLeaf& out) const {
  const pqxx::row r = impl_->rows[static_cast<pqxx::result::size_type>(i)];
  bool ok = DecodeInt(r[0], out.leaf_index) && DecodeInt(r[1], out.block_height) &&
            DecodeBytea(r[2], out.record) && DecodeBytea(r[3], out.leaf_hash);
  out.has_receipt = !r[4].is_null();
  DecodeText(r[4], out.receipt_id);
  DecodeText(r[5], out.tenant);
  ok = ok && DecodeInt(r[6], out.received_at_us);
  out.has_bytes = !r[7].is_null();
  ok = ok && DecodeBytea(r[7], out.raw) && DecodeBytea(r[8], out.raw_sha256) &&
       DecodeBytea(r[9], out.canonical_sha256) && DecodeBytea(r[10], out.parts_root) &&
       DecodeBytea(r[11], out.envelope_digest) && DecodeBytea(r[12], out.salt) &&
       DecodeInt(r[13], out.canon_version);
  DecodeText(r[14], out.envelope_from);
  out.envelope_to = JsonTextArray(r[15]);
  DecodeText(r[16], out.client_ip);
  ok = ok && DecodeInt(r[17], out.client_port);
  DecodeText(r[18], out.helo);
  DecodeText(r[19], out.tls_protocol);
  DecodeText(r[20], out.tls_cipher);
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
  auto conn = db.pool().Acquire();
  if (!conn.ok()) return conn.error();
  impl->conn = std::move(*conn);
  Impl* i = impl.get();
  auto st = Guard<bool>(i->broken, [&] {
    i->tx = std::make_unique<pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>>(*i->conn);
    i->tx->exec(kDeclareBlocks);
    return true;
  });
  if (!st.ok()) return st.error();
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
      b.well_formed = HashColumn(r[1], row.prev_hash) & HashColumn(r[2], row.batch_root) &
                      HashColumn(r[6], row.tree_root) & HashColumn(r[11], row.block_hash) &
                      DecodeBytea(r[9], row.header) & DecodeBytea(r[10], row.signature);
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

struct LeafRangeReader::Impl {
  std::unique_ptr<pqxx::connection> conn;
  bool broken = false;
};

LeafRangeReader::LeafRangeReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LeafRangeReader::~LeafRangeReader() = default;

common::Result<std::unique_ptr<LeafRangeReader>> LeafRangeReader::Open(Database& db) {
  auto impl = std::make_unique<Impl>();
  Impl* i = impl.get();
  auto st = Guard<bool>(i->broken, [&] {
    i->conn = std::make_unique<pqxx::connection>(db.pool().options.url);
    i->conn->prepare("audit_leaf_range", kLeafRange);
    return true;
  });
  if (!st.ok()) return st.error();
  return std::unique_ptr<LeafRangeReader>(new LeafRangeReader(std::move(impl)));
}

common::Result<LeafChunk> LeafRangeReader::Read(int64_t first, int64_t end) {
  return Guard<LeafChunk>(impl_->broken, [&] {
    // One statement, so its own snapshot: enough for rows that are never changed (see the
    // header).
    pqxx::nontransaction tx(*impl_->conn);
    auto chunk = std::make_shared<LeafChunk::Impl>();
    chunk->rows = tx.exec_prepared("audit_leaf_range", first, end);
    return LeafChunk(std::move(chunk));
  });
}

}  // namespace storage
