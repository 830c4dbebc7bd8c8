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

// Leaf record version 2: how the message reached the notary and who stated what. Version 1
// left these informational; version 2 binds them (docs/evidence-format.md).
struct Provenance {
  static constexpr size_t kMaxFieldBytes = 255;
  static constexpr size_t kMaxKeyIdBytes = 64;

  std::string source;       // "smtp", "http", "milter" or "journal"
  std::string listener;     // the listener that received it, e.g. "smtp:127.0.0.1:2525", "http"
  std::string node;         // the notaryd node that received it
  std::string client_name;  // as the forwarding MTA reported it (milter); "" when unknown
  std::string auth_user;    // SMTP AUTH user the forwarding MTA reported; "" when none
  std::string queue_id;     // the forwarding MTA's queue id; "" when unknown
  // The id of the API key whose holder stated the envelope (HTTP ingest, the milter); "" when
  // the notary observed it itself on its SMTP listener.
  std::string asserted_by;
  // SHA-256 of the Exchange journal report the message was unwrapped from (the envelope is
  // the one the report states); 32 zero bytes when it did not arrive in one.
  common::Hash journal_report_sha256{};

  bool operator==(const Provenance&) const = default;
};

struct LeafRecord {
  static constexpr uint32_t kFormatVersion = 1;  // what Decode of an old record gives
  static constexpr uint32_t kLatestFormatVersion = 2;
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
  Provenance provenance;           // version 2 only (empty and not encoded in version 1)
  std::array<uint8_t, 32> salt{};  // random, private

  bool operator==(const LeafRecord&) const = default;

  // kInvalidInput for an unknown version, a receipt id / tenant / provenance field of the
  // wrong length, or a version 1 record with provenance set (version 1 cannot carry it).
  common::Result<std::string> Encode() const;
  // kInvalidInput for a wrong tag, an unknown version, truncation, bad lengths or trailing
  // bytes: Decode(x) succeeds only when Encode() of the result gives back x exactly.
  static common::Result<LeafRecord> Decode(std::string_view bytes);
  // HashLeaf(Encode()).
  common::Result<common::Hash> LeafHash() const;
};

}  // namespace notary
