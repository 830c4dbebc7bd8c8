// The leaf record: what the log commits to for each receipt, and the SMTP envelope digest it
// carries. Byte layouts are specified in docs/evidence-format.md.
//
//   leaf_hash = SHA-256(0x00 || LeafRecord::Encode())          (RFC 6962 leaf hash)
//
// The record includes a random 32-byte salt that stays private with the receipt: the
// published log and other people's proofs show only leaf hashes, and without the salt nobody
// can confirm a guess of a message's content from them.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"

namespace notary {

// The SMTP session facts bound to a receipt.
struct Envelope {
  std::string mail_from;                // MAIL FROM reverse-path, without <>; "" for the null path
  std::vector<std::string> recipients;  // RCPT TO forward-paths, without <>, in SMTP order
  std::string client_ip;                // textual, as inet_ntop() writes it
  uint16_t client_port = 0;
  std::string helo;          // HELO/EHLO argument
  std::string tls_protocol;  // e.g. "TLSv1.3"; "" without TLS
  std::string tls_cipher;    // e.g. "TLS_AES_256_GCM_SHA384"; "" without TLS

  bool operator==(const Envelope&) const = default;
};

// "email-notary/envelope/v1\n" followed by the fields (docs/evidence-format.md).
std::string EncodeEnvelope(const Envelope& envelope);
// SHA-256(EncodeEnvelope(envelope)).
common::Hash EnvelopeDigest(const Envelope& envelope);

struct LeafRecord {
  static constexpr uint32_t kFormatVersion = 1;
  static constexpr size_t kMaxReceiptIdBytes = 64;
  static constexpr size_t kMaxTenantBytes = 64;

  uint32_t format_version = kFormatVersion;
  std::string receipt_id;           // 1..64 bytes
  int64_t received_at_us = 0;       // microseconds since 1970-01-01T00:00:00Z
  common::Hash raw_sha256{};        // of the stored message bytes
  common::Hash canonical_sha256{};  // of the canonical form
  uint32_t canonical_version = 0;   // version of the canonicalisation rules
  common::Hash parts_root{};
  common::Hash envelope_digest{};  // EnvelopeDigest()
  std::string tenant;              // 0..64 bytes
  std::array<uint8_t, 32> salt{};  // random, private

  bool operator==(const LeafRecord&) const = default;

  // kInvalidInput for an unknown version or a receipt id / tenant of the wrong length.
  common::Result<std::string> Encode() const;
  // kInvalidInput for a wrong tag, an unknown version, truncation, bad lengths or trailing
  // bytes: Decode(x) succeeds only when Encode() of the result gives back x exactly.
  static common::Result<LeafRecord> Decode(std::string_view bytes);
  // HashLeaf(Encode()).
  common::Result<common::Hash> LeafHash() const;
};

}  // namespace notary
