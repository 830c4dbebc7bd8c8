// ReceiptStore: commits received copies (bytes, envelope, canonical hashes, parts) and
// reads them back. Every insert of a batch lands in one transaction, so a caller may
// acknowledge the whole batch after Insert returns ok, and none of it otherwise.
//
// Thread-safety: thread-safe (uses the Database pool).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "storage/database.h"
#include "storage/records.h"
#include "vault/key_wrapper.h"

namespace storage {

struct SearchQuery {
  std::string tenant;             // required: results never cross tenants
  std::optional<std::string> id;  // one receipt (a hold's coverage of it), a UUID
  std::optional<std::string> message_id, from, to, subject, sha256, attachment_sha256,
      attachment_name, status;
  // Sender evidence (migration 0010): a DKIM signature by this d= (case-insensitive) and/or
  // with this result.
  std::optional<std::string> dkim_domain, dkim_result;
  // The messages in a case now (migration 0017), a UUID; a case of another tenant has none
  // of this tenant's.
  std::optional<std::string> case_id;
  std::optional<int64_t> since_us, until_us;
  std::optional<std::string> after;  // cursor from a previous page
  int limit = 50;
  // Newest first (by reception time, then id) unless asked otherwise; a cursor continues in
  // the order of the page it came from.
  bool oldest_first = false;
};

struct SearchPage {
  std::vector<notary::Receipt> items;
  std::optional<std::string> next;  // cursor, when more may follow
};

class ReceiptStore {
 public:
  // With a wrapper, new bytes are sealed for their tenant (migration 0012, docs/retention.md)
  // and sealed bytes can be read; without one, new bytes are stored in the clear
  // (message_blobs), and sealed ones cannot be read (kUnavailable).
  explicit ReceiptStore(Database& db, vault::Wrapper* wrapper = nullptr)
      : db_(db), wrapper_(wrapper) {}

  common::Result<std::vector<InsertedReceipt>> Insert(const std::vector<const NewReceipt*>& batch);
  // nullopt when missing or when `tenant` is given and the receipt belongs to another one.
  common::Result<std::optional<notary::Receipt>> Get(const std::string& id,
                                                     const std::optional<std::string>& tenant);
  // The bytes of the tenant's receipts with this raw_sha256: opened when sealed.
  common::Result<std::string> GetRaw(const std::string& tenant, const common::Hash& raw_sha256);
  common::Result<SearchPage> Search(const SearchQuery& q);
  common::Result<int64_t> PendingCount();

 private:
  common::Result<std::vector<InsertedReceipt>> InsertGroup(
      const std::vector<const NewReceipt*>& batch);

  Database& db_;
  vault::Wrapper* wrapper_;
};

// True when `s` is a canonical UUID text (what receipt ids are).
bool IsUuid(const std::string& s);

}  // namespace storage
