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
#include "vault/key_wrapper.h"

namespace storage {

class ReceiptIndex {
 public:
  static constexpr int kCatchUpBatch = 5000;

  // `wrapper` opens the fields of receipts stored sealed (migration 0016); without one, a
  // batch holding such a receipt fails with kUnavailable.
  explicit ReceiptIndex(Database& db, vault::Wrapper* wrapper = nullptr)
      : db_(db), wrapper_(wrapper) {}

  // Indexes up to `limit` queued receipts of any tenant, passing over those another indexer
  // is working on. Returns how many it took from the queue. A receipt whose sealed fields do
  // not open (altered behind the notary's back) is indexed with none, so that it is found by
  // no personal field, and counted in `unreadable`.
  common::Result<int64_t> IndexBatch(int limit, int64_t* unreadable = nullptr);
  // Indexes every receipt of the tenant queued when it starts, waiting for an indexer that
  // holds some until it commits: afterwards the index shows each of them. Returns how many it
  // indexed itself.
  common::Result<int64_t> CatchUp(const std::string& tenant);
  // Receipts waiting to be indexed.
  common::Result<int64_t> Backlog();

 private:
  Database& db_;
  vault::Wrapper* wrapper_;
};

// In the caller's transaction: indexes one receipt if it is still queued (waiting for an
// indexer that holds it). Used by the erasure before it weighs holds by search.
common::Status IndexReceiptTx(pqxx::transaction_base& tx, vault::Wrapper* wrapper,
                              const std::string& receipt_id);

}  // namespace storage
