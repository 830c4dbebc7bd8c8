// AuthenticationStore: sender evidence (docs/sender-evidence.md). One append-only row per
// checked message in `authentications` (the encoded results, the encoded DNS archive, the
// authentication record and its leaf hash), queued for sealing in the same transaction; and
// the messages still waiting for their checks. With a key holder, the results and the DNS
// archive are sealed at rest for the message's tenant (migration 0019, docs/retention.md) and
// checked against the record's digests when opened.
//
// Thread-safety: thread-safe (uses the Database pool).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"
#include "storage/database.h"
#include "storage/sealed_blobs.h"
#include "vault/key_wrapper.h"

namespace storage {

struct AuthenticationRow {
  std::string receipt_id;  // UUID text
  std::string tenant;      // the receipt's tenant (name): whose key pair seals the row
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
  std::string tenant;
  int64_t seq = 0;
  int64_t received_at_us = 0;
  common::Hash leaf_hash{};
  std::string mail_from, client_ip, helo;
  std::string header_from;  // the From: header as displayed ("Alice <alice@acme.example>")
  std::string data;         // the message's bytes as stored
};

// The results and the DNS archive as a row stores them sealed: str(results) ||
// str(dns_archive) under a fresh data key wrapped for `tenant`, with associated data
// "email-notary/sender-evidence\n" || str(tenant) || str(receipt id), so a row copied to
// another receipt or tenant does not open.
common::Result<SealedValue> SealSenderEvidence(vault::Wrapper& wrapper, const std::string& tenant,
                                               const std::string& receipt_id,
                                               std::string_view results,
                                               std::string_view dns_archive);

// A sealed row, as read, and what it must match once opened.
struct SenderEvidenceToOpen {
  std::string tenant, receipt_id;
  std::string record;  // the authentication record, whose digests the opened values must have
  std::string kek_id, wrapped_key, data;
};
struct SenderEvidence {
  std::string results, dns_archive;
};
// Each row of `rows` opened and checked: out[i] is its results and archive, or kVerifyFailed
// when it does not open (altered, or moved from another receipt), is not a pair, or does not
// match its record's digests (sealed anew). One unwrapping per tenant and key pair. The Result
// fails only when the key holder does (unreachable, or a key pair gone).
common::Result<std::vector<common::Result<SenderEvidence>>> OpenSenderEvidence(
    vault::Wrapper& wrapper, const std::vector<SenderEvidenceToOpen>& rows);

class AuthenticationStore {
 public:
  // The wrapper opens message bytes sealed at rest (migration 0012) for Unchecked, seals what
  // Append stores and opens what Get reads; without one, rows are stored in the clear.
  explicit AuthenticationStore(Database& db, vault::Wrapper* wrapper = nullptr)
      : db_(db), wrapper_(wrapper) {}

  // Stores the row and queues its record for the next block, in one transaction. false when
  // the message already has one (another node checked it first): the first stays.
  common::Result<bool> Append(const AuthenticationRow& row);
  // nullopt when the message has not been checked (yet, or ever). A sealed row is opened and
  // its results and archive checked against the record's digests: kInternal naming the
  // receipt when it does not open or does not match (altered, moved, or sealed anew), and
  // kUnavailable when there is no key holder or it cannot be reached.
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
