// CaseStore: cases (matters) and the changes to their messages (migration 0017,
// docs/cases.md). Opening a case and each addition or removal append an action record
// (log/action_record.h), queued for sealing in the same transaction, so that what a case held
// at any moment, and who changed it, is in the log. Every read and write is confined to one
// tenant; the database also refuses a receipt of another tenant in a case.
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
#include "storage/list_page.h"
#include "storage/receipt_store.h"

namespace storage {

struct Case {
  std::string id, tenant, name, description, reference;
  int64_t created_at_us = 0;
  std::string created_by;  // API key id
  ActionRef opened;
  int64_t messages = 0;  // in the case now
};

// One page of a tenant's cases, and the cursor of the next ("" after the last).
using CasePage = ListPage<Case>;

struct NewCase {
  std::string id, tenant, name, description, reference;
  int64_t created_at_us = 0;
  std::string created_by;
  NewAction action;
};

struct CaseChange {
  int64_t id = 0;
  std::string change;                // "add" or "remove"
  std::optional<std::string> query;  // an addition by search: SearchQueryToJson
  std::string reason;
  int64_t acted_at_us = 0;
  std::string actor;
  ActionRef record;
  int64_t receipts = 0;  // how many it named
};

struct NewCaseChange {
  std::string tenant, case_id, change;   // "add" or "remove"
  std::optional<std::string> query;      // with "add": the search that found receipt_ids
  std::vector<std::string> receipt_ids;  // distinct, sorted UUIDs
  std::string reason;
  NewAction action;
};

struct NewCaseExport {
  std::string tenant, case_id;
  std::string bates_prefix;
  int64_t bates_start = 1;
  int bates_width = 6;
  // (receipt id, Bates number), in Bates order: the case's messages at the time.
  std::vector<std::pair<std::string, std::string>> receipts;
  NewAction action;
};

struct CaseExport {
  int64_t id = 0;
  ActionRef record;
};

// One event in a message's chain of custody (custody.json), from the append-only tables:
// "received", "sealed", "access" (the access trail), "case-add", "case-remove", "export",
// "hold", "hold-release", "erasure".
struct CustodyEvent {
  std::string receipt_id;
  int64_t at_us = 0;
  std::string event;
  std::string actor;  // API key id, or "" for the notary itself
  std::string detail;
  std::optional<ActionRef> record;  // the action record, or for "sealed" the leaf
};

class CaseStore {
 public:
  explicit CaseStore(Database& db) : db_(db) {}

  common::Result<Case> Create(const NewCase& c);
  // The tenant's cases, newest first, `limit` (1 to 1000) at a time: after the one `after`
  // names (a cursor of CasePage::next; "" for the first page). kInvalidInput when `after` is
  // not such a cursor.
  static constexpr int kMaxListLimit = 1000;
  common::Result<CasePage> List(const std::string& tenant, int limit, const std::string& after);
  common::Result<std::optional<Case>> Get(const std::string& tenant, const std::string& id);
  // The receipts a search matches, sorted by id: kInvalidInput when more than `max` do.
  common::Result<std::vector<std::string>> Matching(const SearchQuery& q, size_t max);
  // kNotFound: no such case of the tenant, or a listed receipt is not the tenant's (the two
  // look the same to a caller, so that a case cannot probe another tenant's ids).
  // kInvalidInput: a removal names a receipt not in the case. An addition of a receipt in
  // the case already is recorded, and changes nothing.
  common::Result<CaseChange> Change(const NewCaseChange& change);
  // Every change to the case, oldest first. kNotFound: no such case of the tenant.
  common::Result<std::vector<CaseChange>> Changes(const std::string& tenant,
                                                  const std::string& case_id);
  // The receipts in the case now, in order of reception (then id). kNotFound as above.
  common::Result<std::vector<std::string>> Members(const std::string& tenant,
                                                   const std::string& case_id);
  // Whether the receipt is in the case now. kNotFound as above.
  common::Result<bool> HasMember(const std::string& tenant, const std::string& case_id,
                                 const std::string& receipt_id);
  // How many of the case's messages are not sealed yet.
  common::Result<int64_t> UnsealedMembers(const std::string& tenant, const std::string& case_id);
  // Records an export and the Bates number of each message, with its action record queued
  // for sealing. kNotFound: no such case of the tenant.
  common::Result<CaseExport> RecordExport(const NewCaseExport& e);
  // The custody events of the tenant's receipts `ids` (at most 1000), by receipt, oldest
  // first.
  common::Result<std::vector<CustodyEvent>> Custody(const std::string& tenant,
                                                    const std::vector<std::string>& ids);

 private:
  Database& db_;
};

}  // namespace storage
