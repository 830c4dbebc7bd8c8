// Legal holds (docs/retention.md): placing and releasing one, each recorded in the log as an
// action record (log/action_record.h) built here with its details and a random salt. The
// checks a request must pass are here too, so that every front end (the HTTP API today,
// notaryctl later) applies the same ones.
//
// Thread-safety: pure functions over a thread-safe store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "storage/hold_store.h"
#include "storage/receipt_store.h"

namespace pipeline {

// An action record for `action` with a fresh salt, binding `details` (JSON text), and the
// form the store keeps.
common::Result<storage::NewAction> MakeAction(std::string_view action, const std::string& tenant,
                                              const std::string& subject, const std::string& actor,
                                              int64_t acted_at_us, std::string details);

struct HoldRequest {
  static constexpr size_t kMaxNameBytes = 200;
  static constexpr size_t kMaxReasonBytes = 2000;
  static constexpr size_t kMaxReceipts = 10000;

  std::string name, reason;
  // Exactly one of: receipt ids (1 to 10,000), a search (its tenant is ignored), or a case:
  // its messages now and every one added to it while the hold is in force (docs/cases.md).
  std::vector<std::string> receipt_ids;
  std::optional<storage::SearchQuery> query;
  std::optional<std::string> case_id;
  bool include_future = false;  // with a search: also mail received after the hold
};

// kInvalidInput for a request that breaks a rule above; kNotFound when a listed receipt or the
// case is not the tenant's; kConflict when the case kept changing while the hold was placed.
common::Result<storage::Hold> PlaceHold(storage::HoldStore& store, const std::string& tenant,
                                        const std::string& actor, const HoldRequest& request,
                                        int64_t now_us);
common::Result<storage::Hold> ReleaseHold(storage::HoldStore& store, const std::string& tenant,
                                          const std::string& hold_id, const std::string& actor,
                                          const std::string& reason, int64_t now_us);

}  // namespace pipeline
