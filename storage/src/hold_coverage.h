// Private: what HoldStore, ErasureStore and CaseStore share. An erasure and the placing of a
// hold on the same tenant take one lock (LockHolds), so that an erasure either sees a hold
// committed before it or finishes before the hold exists; never erases a message a hold placed
// meanwhile covers. An addition to a case takes it too, since it extends the case's holds
// (migration 0018); a case's changes, and the placing of a hold on it, take the case's lock
// (LockCase) after it, always in that order.
#pragma once

#include <cstdint>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/result.h"
#include "storage/database.h"
#include "storage/hold_store.h"

namespace storage {

// pg_advisory_xact_lock's first key for the per-tenant holds lock (the second is the tenant).
inline constexpr int kHoldsLockClass = 0x686f6c64;  // "hold"

void LockHolds(pqxx::work& tx, const std::string& tenant);
// False when the tenant has no such case.
bool LockCase(pqxx::work& tx, const std::string& tenant, const std::string& case_id);

// Inserts the action and queues its record in receipts' order (the next value of their
// sequence), so that it seals after every message already queued. Returns its id.
int64_t InsertAction(pqxx::work& tx, const std::string& tenant, const NewAction& a);

// The holds in force on one of the tenant's receipts, oldest first, as `tx` sees them.
common::Result<std::vector<HoldRef>> CoveringTx(Database& db, pqxx::work& tx,
                                                const std::string& tenant,
                                                const std::string& receipt_id);

}  // namespace storage
