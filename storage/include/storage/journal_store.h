// JournalStore: keeps the Exchange / Microsoft 365 journal reports whose journaled originals
// were notarised, one row per receipt, in the append-only table journal_reports.
//
// Thread-safety: thread-safe (uses the Database pool).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"
#include "storage/database.h"
#include "vault/key_wrapper.h"

namespace storage {

struct JournalReportRow {
  std::string receipt_id;  // UUID text of the receipt of the journaled original
  std::string tenant;      // the receipt's tenant, whose key pair seals the report
  common::Hash sha256{};   // SHA-256 of `data`
  std::string data;        // the journal report's exact bytes
};

class JournalStore {
 public:
  // With a wrapper, reports are sealed at rest like the message bytes (migration 0012,
  // docs/retention.md): AES-256-GCM under a data key of their own, wrapped for the tenant.
  explicit JournalStore(Database& db, vault::Wrapper* wrapper = nullptr)
      : db_(db), wrapper_(wrapper) {}

  // Stores every row in one transaction: all or none.
  common::Status Append(const std::vector<const JournalReportRow*>& rows);
  // nullopt when the receipt has no journal report. `tenant` is the receipt's: a sealed
  // report opens only for it (kInternal when it does not open).
  common::Result<std::optional<JournalReportRow>> Get(const std::string& receipt_id,
                                                      const std::string& tenant);

 private:
  Database& db_;
  vault::Wrapper* wrapper_;
};

}  // namespace storage
