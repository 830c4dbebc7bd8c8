// RetentionStore: each tenant's retention period (migration 0014, docs/retention.md
// "Retention"), every change recorded as an action record of kind "retention", and the
// messages a period has expired. The erasing itself is ErasureStore's.
//
// Thread-safety: thread-safe (uses the Database pool).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "storage/database.h"
#include "storage/hold_store.h"

namespace storage {

struct RetentionPolicy {
  std::string tenant;
  std::optional<int> days;  // nullopt: kept until erased by hand
  int64_t set_at_us = 0;
  std::string set_by;
  ActionRef action;
};

// A message past its tenant's period, in (received_at_us, id) order.
struct ExpiredMessage {
  int64_t received_at_us = 0;
  std::string receipt_id;
};

class RetentionStore {
 public:
  explicit RetentionStore(Database& db) : db_(db) {}

  // Records the tenant's new period with its action (queued for sealing). kNotFound: no such
  // tenant.
  common::Result<RetentionPolicy> Set(const std::string& tenant, std::optional<int> days,
                                      const NewAction& action);
  // The period in force; nullopt when none was ever set (kept until erased by hand).
  common::Result<std::optional<RetentionPolicy>> Get(const std::string& tenant);
  // Every tenant whose period in force has a number of days.
  common::Result<std::vector<RetentionPolicy>> Periods();
  // Up to `limit` of the tenant's messages received before `cutoff_us`, after `after` in
  // (received_at_us, id) order, not erased, sealed with their sender evidence (so that an
  // erasure is admissible); held ones are included (the erasure refuses them).
  common::Result<std::vector<ExpiredMessage>> Expired(const std::string& tenant, int64_t cutoff_us,
                                                      const std::optional<ExpiredMessage>& after,
                                                      int limit);

 private:
  Database& db_;
};

}  // namespace storage
