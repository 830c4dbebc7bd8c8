// HoldStore: legal holds (migration 0011, docs/retention.md). A hold names receipts or a
// search; placing and releasing one each append an action record (log/action_record.h) that
// is queued for sealing in the same transaction, so a hold exists exactly when the log says
// it was placed. Every read and write is confined to one tenant.
//
// Thread-safety: thread-safe (uses the Database pool).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"
#include "storage/database.h"
#include "storage/list_page.h"
#include "storage/receipt_store.h"

namespace storage {

// An action record ready to store: the encoded record, the details it binds by digest, and
// the fields it encodes (kept as columns so that the audit can compare the two).
struct NewAction {
  std::string action, subject, actor;
  int64_t acted_at_us = 0;
  std::string details;  // the JSON text the record's details_sha256 covers
  std::string record;   // notary::ActionRecord::Encode()
  common::Hash leaf_hash{};
};

// A stored action and, once sealed, where the log holds it.
struct ActionRef {
  int64_t id = 0;
  common::Hash leaf_hash{};
  std::optional<int64_t> leaf_index, block_height;
};

struct Hold {
  std::string id, tenant, name, reason;
  // By search: the query (SearchQueryToJson), and whether it also covers mail received after
  // the hold was placed. By list: nullopt.
  std::optional<std::string> query;
  bool include_future = false;
  // On a case (migration 0018): its messages when placed and every one added while in force,
  // kept as the hold's list. nullopt for other holds.
  std::optional<std::string> case_id;
  int64_t created_at_us = 0;
  std::string created_by;  // API key id
  ActionRef placed;
  std::optional<int64_t> released_at_us;
  std::string released_by, release_reason;
  std::optional<ActionRef> released;
};

using HoldPage = ListPage<Hold>;

struct NewHold {
  std::string id, tenant, name, reason;
  std::optional<std::string> query;  // SearchQueryToJson, or nullopt with receipt_ids
  bool include_future = false;
  // On a case: receipt_ids are its members as read before the record was made, sorted; Create
  // refuses (kConflict) when they are no longer the members.
  std::optional<std::string> case_id;
  int64_t created_at_us = 0;
  std::string created_by;
  std::vector<std::string> receipt_ids;  // distinct UUIDs, each the tenant's
  NewAction action;
};

struct HoldRef {
  std::string id, name;
};

// A search as stored with a hold: JSON with the query's filters (not its tenant, page or
// cursor), and back.
std::string SearchQueryToJson(const SearchQuery& q);
common::Result<SearchQuery> SearchQueryFromJson(const std::string& json, const std::string& tenant);

class HoldStore {
 public:
  explicit HoldStore(Database& db) : db_(db) {}

  // kNotFound when a listed receipt is not the tenant's (or does not exist: the two look the
  // same, so that a hold cannot probe another tenant's ids); kConflict when a case hold's case
  // changed since its members were read.
  common::Result<Hold> Create(const NewHold& hold);
  // A case's messages now, sorted: what a hold placed on it now names. kNotFound when the
  // tenant has no such case.
  common::Result<std::vector<std::string>> CaseMembers(const std::string& tenant,
                                                       const std::string& case_id);
  // The tenant's holds, newest first, released ones too, `limit` (1 to 1000) at a time: after
  // the one `after` names (a cursor of HoldPage::next; "" for the first page). kInvalidInput
  // when `after` is not such a cursor.
  static constexpr int kMaxListLimit = 1000;
  common::Result<HoldPage> List(const std::string& tenant, int limit, const std::string& after);
  common::Result<std::optional<Hold>> Get(const std::string& tenant, const std::string& id);
  // kNotFound: no such hold of the tenant; kConflict: released already.
  common::Result<Hold> Release(const std::string& tenant, const std::string& id,
                               const std::string& reason, const NewAction& action);
  // The hold's messages now: its list, or what its search matches.
  common::Result<int64_t> CountCovered(const Hold& hold);
  // The holds in force on one of the tenant's receipts, oldest first.
  common::Result<std::vector<HoldRef>> Covering(const std::string& tenant,
                                                const std::string& receipt_id);

 private:
  Database& db_;
};

}  // namespace storage
