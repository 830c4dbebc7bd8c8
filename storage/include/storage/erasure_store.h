// ErasureStore: erasing a message (migration 0013, docs/retention.md "Erasure"). An erasure
// appends an action record of kind "erasure" (queued for sealing), and in the same
// transaction the database's notary_erase() blanks the receipt's personal fields and deletes
// its bytes (when no live receipt of the tenant shares them), search index row, journal report
// and sender evidence. The hashes, leaf record and proofs stay: the receipt still proves that a
// message with those hashes was received.
//
// Thread-safety: thread-safe (uses the Database pool).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/result.h"
#include "storage/database.h"
#include "storage/hold_store.h"

namespace storage {

struct Erasure {
  std::string receipt_id, tenant, reason;
  int64_t erased_at_us = 0;
  std::string erased_by;  // API key id, or "notaryctl:<user>" or "retention"
  ActionRef action;
  std::string record;          // the action record (notary::ActionRecord::Encode()), as sealed
  std::string details;         // the JSON text its details_sha256 covers
  int64_t copies_removed = 0;  // stored copies of the bytes deleted (Erase only)
};

class ErasureStore {
 public:
  explicit ErasureStore(Database& db) : db_(db) {}

  // kNotFound: not one of the tenant's receipts. kConflict: erased already, under a hold
  // (the message names each hold in force), or not sealed yet (retry shortly).
  common::Result<Erasure> Erase(const std::string& tenant, const std::string& receipt_id,
                                const std::string& reason, const NewAction& action);
  common::Result<std::optional<Erasure>> Get(const std::string& tenant,
                                             const std::string& receipt_id);
  // The tenant of a receipt (for notaryctl, which names the receipt alone); nullopt: none.
  common::Result<std::optional<std::string>> TenantOf(const std::string& receipt_id);

 private:
  Database& db_;
};

}  // namespace storage
