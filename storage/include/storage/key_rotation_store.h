// KeyRotationStore: the rows whose data keys are wrapped for a tenant's key pairs, re-wrapped
// for the current pair, and the earlier pairs retired so that they can be destroyed
// (migration 0021, docs/retention.md "Rotation").
//
// Four tables keep a wrapped data key beside their ciphertext: sealed_blobs (a row per tenant
// and distinct bytes, keyed by the bytes' SHA-256), receipt_fields, authentications and
// journal_reports (a row per receipt). Re-wrapping updates rows, which only the schema owner
// may do: open the Database with the owner's URL.
//
// Thread-safety: thread-safe (uses the Database pool).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "storage/database.h"
#include "storage/hold_store.h"

namespace storage {

enum class WrappedTable { kSealedBlobs, kReceiptFields, kAuthentications, kJournalReports };
inline constexpr WrappedTable kWrappedTables[] = {
    WrappedTable::kSealedBlobs, WrappedTable::kReceiptFields, WrappedTable::kAuthentications,
    WrappedTable::kJournalReports};
const char* TableName(WrappedTable table);

struct WrappedRow {
  // The row's key: the bytes' SHA-256 (32 bytes) in sealed_blobs, the receipt id elsewhere.
  std::string key;
  std::string kek_id;
  std::string wrapped_key;  // 92 bytes
};

class KeyRotationStore {
 public:
  explicit KeyRotationStore(Database& db) : db_(db) {}

  // Up to `limit` of the tenant's rows in `table` whose key is wrapped for a pair other than
  // `current`, with keys after `after` (empty: from the first), in key order. kNotFound: no
  // such tenant.
  common::Result<std::vector<WrappedRow>> WrappedForOthers(WrappedTable table,
                                                           const std::string& tenant,
                                                           const std::string& current,
                                                           const std::string& after, int limit);
  // Replaces the wrapping of each row of `rows` (as WrappedForOthers gave them) by
  // `new_kek` / `new_wrapped[i]`, where the row is still wrapped as it was (a row erased or
  // re-wrapped since is left alone). Returns how many rows were re-wrapped.
  common::Result<int64_t> Rewrap(WrappedTable table, const std::string& tenant,
                                 std::span<const WrappedRow> rows, const std::string& new_kek,
                                 std::span<const std::string> new_wrapped);
  // Lists `kek_id` as retired for the tenant (again: no change): from then on no row of the
  // tenant wrapped for it is stored. kNotFound: no such tenant.
  common::Status Retire(const std::string& tenant, const std::string& kek_id);
  // Appends `action` (a pair made current, data keys re-wrapped, a pair destroyed) to the log
  // as the tenant's action record, queued to seal after every message already queued.
  // kNotFound: no such tenant.
  common::Status Record(const std::string& tenant, const NewAction& action);
  // The pairs the tenant's rows are wrapped for, with how many rows each, in kek_id order.
  common::Result<std::vector<std::pair<std::string, int64_t>>> PairsInUse(
      const std::string& tenant);

 private:
  Database& db_;
};

}  // namespace storage
