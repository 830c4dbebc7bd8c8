#include "storage/blob_scan.h"

#include <pqxx/pqxx>

#include "common/bytes.h"
#include "copy_parser.h"
#include "libpq_util.h"
#include "pg_util.h"
#include "transaction.h"

namespace storage {
namespace {

// Binary COPY, so that the bytes come as they are stored (no hex on either side), in the
// table's physical order (no index, no sort).
constexpr const char* kCopyBlobs =
    "COPY (SELECT sha256, data FROM message_blobs) TO STDOUT (FORMAT binary)";

// The leaf found is the lowest in chain order; its block is the one whose index range holds
// it (blocks.tree_size is unique, so this is an index look-up), as the ordered pass names it.
constexpr const char* kLeafColumns =
    "SELECT l.leaf_index, r.id::text,"
    " (SELECT b.height FROM blocks b WHERE b.tree_size > l.leaf_index ORDER BY b.tree_size"
    " LIMIT 1),"
    " r.raw_sha256";

// Keys come as hex text: one text[] parameter, no bytea escaping.
const std::string kReferencing = std::string(kLeafColumns) +
                                 " FROM receipts r JOIN leaves l ON l.receipt_id = r.id"
                                 " WHERE r.raw_sha256 IN (SELECT decode(k, 'hex')"
                                 " FROM unnest($1::text[]) k)"
                                 " AND l.leaf_index >= 0 AND l.leaf_index < $2"
                                 " ORDER BY l.leaf_index LIMIT 1";

// The anti-join first (receipts against the two blob tables' primary keys; erased receipts,
// whose bytes go by design, left out), then the leaves of the few receipts it finds: never a
// look-up per leaf.
const std::string kWithoutBlob =
    "WITH missing AS MATERIALIZED (SELECT r.raw_sha256 FROM receipts r WHERE NOT EXISTS"
    " (SELECT 1 FROM message_blobs b WHERE b.sha256 = r.raw_sha256) AND NOT EXISTS"
    " (SELECT 1 FROM sealed_blobs s WHERE s.tenant_id = r.tenant_id"
    " AND s.sha256 = r.raw_sha256)"
    " AND NOT EXISTS (SELECT 1 FROM erasures e WHERE e.receipt_id = r.id)) " +
    std::string(kLeafColumns) +
    " FROM missing m JOIN receipts r ON r.raw_sha256 = m.raw_sha256"
    " JOIN leaves l ON l.receipt_id = r.id"
    " WHERE NOT EXISTS (SELECT 1 FROM erasures e WHERE e.receipt_id = r.id)"
    " AND l.leaf_index >= 0 AND l.leaf_index < $1 ORDER BY l.leaf_index LIMIT 1";

}  // namespace

struct BlobScan::Impl {
  PgConnPtr copy;  // the COPY stream (libpq: libpqxx 6 has no binary COPY)
};

BlobScan::BlobScan(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BlobScan::~BlobScan() = default;

common::Result<std::unique_ptr<BlobScan>> BlobScan::Open(Database& db) {
  auto impl = std::make_unique<Impl>();
  impl->copy.reset(PQconnectdb(db.pool().options.url.c_str()));
  if (!impl->copy || PQstatus(impl->copy.get()) != CONNECTION_OK) {
    // libpq's message may name the host and user: it stays out of the error.
    return common::Error::Unavailable("cannot connect to the database for the byte scan");
  }
  return std::unique_ptr<BlobScan>(new BlobScan(std::move(impl)));
}

common::Status BlobScan::ForEach(
    const std::function<bool(std::string_view, std::string_view)>& fn) {
  PGconn* c = impl_->copy.get();
  if (c == nullptr) return common::Error::Unavailable("the byte scan was stopped");
  PgResultPtr start(PQexec(c, kCopyBlobs));
  if (PQresultStatus(start.get()) != PGRES_COPY_OUT) {
    return PQstatus(c) == CONNECTION_OK
               ? common::Error::Internal("cannot start reading the stored bytes, sqlstate " +
                                         SqlState(start.get()))
               : common::Error::Unavailable("database connection lost");
  }
  internal::CopyParser parser;
  bool stopped = false;
  const internal::CopyParser::RowFn row = [&](std::string_view key, std::string_view data) {
    if (!stopped) stopped = !fn(key, data);
  };
  while (!stopped) {
    char* buf = nullptr;
    const int n = PQgetCopyData(c, &buf, 0);
    if (n == -1) break;  // end of the COPY
    if (n < 0) return common::Error::Unavailable("database connection lost while reading bytes");
    std::unique_ptr<char, common::Deleter<PQfreemem>> owned(buf);
    // After the trailer or a bad message the rest is drained; Feed marks the stream bad when
    // data follows the trailer.
    (void)parser.Feed(std::string_view(buf, static_cast<size_t>(n)), row);
  }
  if (stopped) {
    // Mid-COPY the connection cannot take another statement: it goes with the scan.
    impl_->copy.reset();
    return common::Error::Unavailable("the byte scan was stopped");
  }
  // The COPY's own result: an error here (for instance the server stopping) wins.
  bool ok = true;
  while (PGresult* r = PQgetResult(c)) {
    ok = ok && PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
  }
  if (!ok) {
    return PQstatus(c) == CONNECTION_OK
               ? common::Error::Internal("reading the stored bytes failed")
               : common::Error::Unavailable("database connection lost while reading bytes");
  }
  if (!parser.clean_end()) {
    return common::Error::Internal("the stored bytes did not come as well-formed binary COPY");
  }
  return common::Ok();
}

namespace {

std::optional<BlobLeaf> LeafOf(const pqxx::result& r) {
  if (r.empty()) return std::nullopt;
  BlobLeaf b;
  b.leaf_index = r[0][0].as<int64_t>();
  b.receipt_id = r[0][1].as<std::string>();
  b.block_height = r[0][2].is_null() ? -1 : r[0][2].as<int64_t>();
  b.raw_sha256 = pqxx::binarystring(r[0][3]).str();
  return b;
}

}  // namespace

struct SealedBlobScan::Impl {
  std::unique_ptr<pqxx::connection> conn;
};

SealedBlobScan::SealedBlobScan(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SealedBlobScan::~SealedBlobScan() = default;

common::Result<std::unique_ptr<SealedBlobScan>> SealedBlobScan::Open(Database& db) {
  auto impl = std::make_unique<Impl>();
  try {
    impl->conn = std::make_unique<pqxx::connection>(db.pool().options.url);
  } catch (const std::exception& e) {
    return MapDbException(e);
  }
  return std::unique_ptr<SealedBlobScan>(new SealedBlobScan(std::move(impl)));
}

common::Status SealedBlobScan::ForEachBatch(
    size_t batch, const std::function<bool(std::vector<SealedBlob>&)>& fn) {
  if (!impl_->conn) return common::Error::Unavailable("the sealed byte scan was stopped");
  bool stopped = false;
  try {
    // The transaction ends (and aborts) before the connection goes on a stop: it needs it.
    pqxx::read_transaction tx(*impl_->conn);
    tx.exec(
        "DECLARE sealed_scan NO SCROLL CURSOR FOR SELECT t.name, s.sha256, s.kek_id,"
        " s.wrapped_key, s.data FROM sealed_blobs s JOIN tenants t ON t.id = s.tenant_id");
    const std::string fetch =
        "FETCH " + std::to_string(std::max<size_t>(1, batch)) + " FROM sealed_scan";
    std::vector<SealedBlob> rows;
    while (true) {
      pqxx::result r = tx.exec(fetch);
      if (r.empty()) break;
      rows.clear();
      for (const auto& row : r) {
        SealedBlob b;
        b.tenant = row[0].as<std::string>();
        const std::string sha = BytesField(row[1]);
        if (sha.size() == b.sha256.size()) std::copy(sha.begin(), sha.end(), b.sha256.begin());
        b.kek_id = row[2].as<std::string>();
        b.wrapped_key = BytesField(row[3]);
        b.data = BytesField(row[4]);
        b.size = static_cast<int64_t>(b.data.size());
        rows.push_back(std::move(b));
      }
      if (!fn(rows)) {
        stopped = true;
        break;
      }
    }
  } catch (const std::exception& e) {
    impl_->conn.reset();
    return MapDbException(e);
  }
  if (stopped) {
    impl_->conn.reset();
    return common::Error::Unavailable("the sealed byte scan was stopped");
  }
  return common::Ok();
}

struct BlobLeafFinder::Impl {
  std::unique_ptr<pqxx::connection> conn;
};

BlobLeafFinder::BlobLeafFinder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BlobLeafFinder::~BlobLeafFinder() = default;

common::Result<std::unique_ptr<BlobLeafFinder>> BlobLeafFinder::Open(Database& db) {
  auto impl = std::make_unique<Impl>();
  try {
    impl->conn = std::make_unique<pqxx::connection>(db.pool().options.url);
    // Serial plans: the audit keeps both cores busy already, and a parallel hash anti-join
    // over the receipts' heap cost three times the CPU of the merge over the two indexes.
    pqxx::nontransaction setup(*impl->conn);
    setup.exec("SET max_parallel_workers_per_gather = 0");
    setup.exec("SET jit = off");
    setup.commit();
    impl->conn->prepare("audit_blob_referencing", kReferencing);
    impl->conn->prepare("audit_blob_missing", kWithoutBlob);
  } catch (const std::exception& e) {
    return MapDbException(e);
  }
  return std::unique_ptr<BlobLeafFinder>(new BlobLeafFinder(std::move(impl)));
}

common::Result<std::optional<BlobLeaf>> BlobLeafFinder::FirstLeafReferencing(
    const std::vector<std::string>& keys, int64_t extent) {
  if (keys.empty()) return std::optional<BlobLeaf>();
  std::string array = "{";
  for (const auto& k : keys) {
    if (array.size() > 1) array += ',';
    array += common::ToHex(common::AsBytes(k));
  }
  array += '}';
  try {
    pqxx::nontransaction tx(*impl_->conn);
    return LeafOf(tx.exec_prepared("audit_blob_referencing", array, extent));
  } catch (const std::exception& e) {
    return MapDbException(e);
  }
}

common::Result<std::optional<BlobLeaf>> BlobLeafFinder::FirstLeafWithoutBlob(int64_t extent) {
  try {
    pqxx::nontransaction tx(*impl_->conn);
    return LeafOf(tx.exec_prepared("audit_blob_missing", extent));
  } catch (const std::exception& e) {
    return MapDbException(e);
  }
}

}  // namespace storage
