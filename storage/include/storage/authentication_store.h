// AuthenticationStore: sender evidence (docs/sender-evidence.md). One append-only row per
// checked message in `authentications` (the encoded results, the encoded DNS archive, the
// authentication record and its leaf hash), queued for sealing in the same transaction; and
// the messages still waiting for their checks.
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
#include "vault/key_wrapper.h"

namespace storage {

struct AuthenticationRow {
  std::string receipt_id;  // UUID text
  int64_t checked_at_us = 0;
  std::string results;      // notary::AuthenticationResults::Encode()
  std::string dns_archive;  // notary::EncodeDnsArchive()
  std::string record;       // notary::AuthenticationRecord::Encode()
  common::Hash leaf_hash{};
  // For search: each DKIM signature's d= and result, in the results' order.
  std::vector<std::string> dkim_domains;
  std::vector<std::string> dkim_results;
  std::optional<int64_t> leaf_index;  // once sealed (read only)
};

// A stored message whose sender has not been checked yet, with what the checks need.
struct UncheckedMessage {
  std::string receipt_id;
  int64_t seq = 0;
  int64_t received_at_us = 0;
  common::Hash leaf_hash{};
  std::string mail_from, client_ip, helo;
  std::string header_from;  // the From: header as displayed ("Alice <alice@acme.example>")
  std::string data;         // the message's bytes as stored
};

class AuthenticationStore {
 public:
  // The wrapper opens message bytes sealed at rest (migration 0012) for Unchecked.
  explicit AuthenticationStore(Database& db, vault::Wrapper* wrapper = nullptr)
      : db_(db), wrapper_(wrapper) {}

  // Stores the row and queues its record for the next block, in one transaction. false when
  // the message already has one (another node checked it first): the first stays.
  common::Result<bool> Append(const AuthenticationRow& row);
  // nullopt when the message has not been checked (yet, or ever).
  common::Result<std::optional<AuthenticationRow>> Get(const std::string& receipt_id);
  // Messages with receipts' seq > `after_seq`, received at or after `since_us`, that have a
  // leaf hash and no authentication yet, in seq order, at most `limit`.
  common::Result<std::vector<UncheckedMessage>> Unchecked(int64_t after_seq, int64_t since_us,
                                                          int limit);

 private:
  Database& db_;
  vault::Wrapper* wrapper_;
};

}  // namespace storage
