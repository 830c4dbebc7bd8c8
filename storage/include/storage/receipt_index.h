// ReceiptIndex: the search index of migration 0015 (docs/retention.md, "The search index").
// Ingest queues each receipt in index_pending in the transaction that stores it; this copies
// the queued receipts' searchable fields into receipt_index afterwards, off the path that
// answers the sender. An erasure takes the receipt's row with it (a trigger of 0015).
//
// Two callers: the indexer (pipeline/indexer.h) works through the queue in batches, several
// nodes side by side; a search first catches up on its tenant, so that it finds every message
// committed before it, as when the indexes were on receipts.
//
// Thread-safety: thread-safe (uses the Database pool).
#pragma once

#include <cstdint>
#include <pqxx/pqxx>
#include <string>

#include "common/result.h"
#include "storage/database.h"

namespace storage {

class ReceiptIndex {
 public:
  static constexpr int kCatchUpBatch = 5000;

  explicit ReceiptIndex(Database& db) : db_(db) {}

  // Indexes up to `limit` queued receipts of any tenant, passing over those another indexer
  // is working on. Returns how many it took from the queue.
  common::Result<int64_t> IndexBatch(int limit);
  // Indexes every receipt of the tenant queued when it starts, waiting for an indexer that
  // holds some until it commits: afterwards the index shows each of them. Returns how many it
  // indexed itself.
  common::Result<int64_t> CatchUp(const std::string& tenant);
  // Receipts waiting to be indexed.
  common::Result<int64_t> Backlog();

 private:
  Database& db_;
};

// In the caller's transaction: indexes one receipt if it is still queued (waiting for an
// indexer that holds it). Used by the erasure before it weighs holds by search.
void IndexReceiptTx(pqxx::transaction_base& tx, const std::string& receipt_id);

}  // namespace storage
