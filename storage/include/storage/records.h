// Plain rows exchanged with the storage layer. No libpqxx types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"

namespace storage {

struct PartRow {
  std::string position, content_type, charset, disposition, filename;
  uint64_t size = 0;
  common::Hash sha256{};
  std::optional<common::Hash> salt;  // parts of canonical form version 2 only
};

// How a receipt reached the notary, bound by leaf record version 2 (notary::Provenance).
struct ProvenanceColumns {
  uint32_t leaf_version = 1;  // the leaf record's format version
  std::string asserted_by;    // API key id that stated the envelope; "" when observed
  std::optional<common::Hash> journal_report_sha256;
};

// What ingest commits for one received copy.
struct NewReceipt {
  std::string id;      // UUID text
  std::string tenant;  // tenant name
  int64_t received_at_us = 0;
  std::string node, source, listener;
  std::string envelope_from;
  std::vector<std::string> envelope_to;
  std::string client_ip;
  uint16_t client_port = 0;
  std::string client_name, helo, tls_protocol, tls_cipher, auth_user, queue_id;
  bool smtputf8 = false;
  std::string body_type;
  std::string raw;  // the exact bytes
  common::Hash raw_sha256{};
  common::Hash canonical_sha256{};
  uint32_t canon_version = 0;
  common::Hash parts_root{};
  common::Hash envelope_digest{};
  common::Hash salt{};
  std::string hdr_from, hdr_sender, hdr_reply_to;
  std::vector<std::string> hdr_to, hdr_cc;
  std::string subject, date_header;
  std::optional<int64_t> date_utc_unix;
  std::string message_id, in_reply_to;
  std::vector<std::string> addresses, attachment_names, parse_warnings;
  std::vector<PartRow> parts;
  std::optional<std::string> idempotency_key;
  ProvenanceColumns provenance;
};

struct InsertedReceipt {
  std::string id;  // the new id, or the existing one for a repeated idempotency key
  bool duplicate = false;
  int64_t received_at_us = 0;
  // A repeated idempotency key whose earlier receipt has other bytes or another envelope:
  // nothing was stored, and the caller must not hand out the earlier id.
  bool conflict = false;
};

// A stored receipt with its sealing state.
struct ReceiptRow {
  std::string id;
  int64_t seq = 0;
  std::string tenant;
  int64_t received_at_us = 0;
  std::string node, source, listener, envelope_from;
  std::vector<std::string> envelope_to;
  std::string client_ip;
  int client_port = 0;
  std::string client_name, helo, tls_protocol, tls_cipher, auth_user, queue_id;
  bool smtputf8 = false;
  std::string body_type;
  int64_t size = 0;
  common::Hash raw_sha256{}, canonical_sha256{}, parts_root{}, envelope_digest{}, salt{};
  uint32_t canon_version = 0;
  std::string hdr_from, hdr_sender, hdr_reply_to;
  std::vector<std::string> hdr_to, hdr_cc;
  std::string subject, date_header;
  std::optional<int64_t> date_utc_unix;
  std::string message_id, in_reply_to;
  std::vector<std::string> attachment_names, parse_warnings;
  std::vector<PartRow> parts;
  ProvenanceColumns provenance;
  // Sealing state: present once sealed.
  std::optional<int64_t> leaf_index, block_height;
};

struct BlockRow {
  int64_t height = 0;
  common::Hash prev_hash{}, batch_root{}, tree_root{}, block_hash{};
  int64_t first_leaf = 0, leaf_count = 0, tree_size = 0, sealed_at_us = 0;
  std::string key_id;
  std::string header, signature;  // encoded header and Ed25519 signature bytes
  std::string checkpoint;
};

struct TokenRow {
  int64_t block_height = 0;
  std::string tsa;
  int64_t gen_time_us = 0;
  std::string token;  // DER TimeStampToken
};

struct KeyRow {
  std::string key_id, algorithm, public_pem, fingerprint;
  std::string public_key;  // raw bytes
  int64_t valid_from_us = 0;
  std::optional<int64_t> valid_until_us;
};

}  // namespace storage
