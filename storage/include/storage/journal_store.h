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

namespace storage {

struct JournalReportRow {
  std::string receipt_id;  // UUID text of the receipt of the journaled original
  common::Hash sha256{};   // SHA-256 of `data`
  std::string data;        // the journal report's exact bytes
};

class JournalStore {
 public:
  explicit JournalStore(Database& db) : db_(db) {}

  // Stores every row in one transaction: all or none.
  common::Status Append(const std::vector<const JournalReportRow*>& rows);
  // nullopt when the receipt has no journal report.
  common::Result<std::optional<JournalReportRow>> Get(const std::string& receipt_id);

 private:
  Database& db_;
};

}  // namespace storage
