// The authentication record: a leaf of its own kind that binds, after the fact, what the
// sender's domain said about a message (DKIM, SPF, DMARC results) and the DNS answers those
// rested on, to that message's leaf. The message's leaf is fixed at reception, before the 250;
// the checks need DNS round trips and run afterwards (docs/sender-evidence.md), so their
// results are sealed as a second leaf that names the first. Byte layout: docs/evidence-format.md.
//
//   leaf_hash = SHA-256(0x00 || AuthenticationRecord::Encode())
//
// Its tag differs from the message leaf record's, so one can never be read as the other. The
// salt keeps the published leaf hash from confirming a guess of the results.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/result.h"

namespace notary {

struct AuthenticationRecord {
  static constexpr uint32_t kFormatVersion = 1;
  static constexpr size_t kMaxReceiptIdBytes = 64;

  uint32_t format_version = kFormatVersion;
  std::string receipt_id;             // the message's receipt, 1..64 bytes
  common::Hash receipt_leaf_hash{};   // the message's leaf hash
  int64_t checked_at_us = 0;          // when the checks finished, µs since the epoch, UTC
  common::Hash results_sha256{};      // SHA-256 of the encoded results
  common::Hash dns_archive_sha256{};  // SHA-256 of the encoded DNS archive
  std::array<uint8_t, 32> salt{};     // random, private

  bool operator==(const AuthenticationRecord&) const = default;

  common::Result<std::string> Encode() const;
  // Decode(x) succeeds only when Encode() of the result gives back x exactly.
  static common::Result<AuthenticationRecord> Decode(std::string_view bytes);
  common::Result<common::Hash> LeafHash() const;
};

}  // namespace notary
