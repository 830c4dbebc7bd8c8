// Canonicalisation of an RFC 5322 message: exact bytes in, a canonical form, its hash,
// per-part hashes, search metadata and parse warnings out. Specified byte for byte in
// docs/canonical-form.md; shared by notaryd (at ingest) and notary-verify (offline).
//
// Pure: no I/O, no clock, no logging. Never fails and never throws on malformed input:
// problems become parse_warnings.
// Thread-safety: Canonicalize may be called from many threads at once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"

namespace mime {

// The canonical-form version this build produces. Stored with every receipt.
inline constexpr uint32_t kCanonVersion = 1;

// One leaf MIME part (or the single body of a non-multipart message).
struct Part {
  std::string position;      // "1", "1.2.1": 1-based indexes down the MIME tree
  std::string content_type;  // lower case "type/subtype"
  std::string charset;       // lower case, empty when none
  std::string disposition;   // "inline", "attachment" or empty
  std::string filename;      // decoded to UTF-8 (RFC 2231 / RFC 2047), empty when none
  uint64_t size = 0;         // decoded byte count
  common::Hash sha256{};     // SHA-256 of the decoded bytes (what a mail client saves)
};

// The byte-exact part record hashed into parts_root (docs/canonical-form.md §parts).
std::string EncodePartRecord(const Part& part);
// RFC 6962 Merkle root over HashLeaf(EncodePartRecord(p)) for the parts in order.
common::Hash PartsRoot(const std::vector<Part>& parts);

struct Metadata {
  std::string from, sender, reply_to;    // decoded to UTF-8, as displayed
  std::vector<std::string> to, cc;       // one address (with display name) per entry
  std::vector<std::string> addresses;    // bare lower-case addr-specs of From/To/Cc/etc.
  std::string subject;                   // decoded to UTF-8
  std::string date;                      // the Date header as written
  std::optional<int64_t> date_utc_unix;  // parsed Date in seconds since the epoch, UTC
  std::string message_id;                // without angle brackets
  std::string in_reply_to;               // without angle brackets
  std::vector<std::string> attachment_names;
};

struct Canonical {
  uint32_t canon_version = kCanonVersion;
  std::string canonical;  // the canonical bytes
  common::Hash canonical_sha256{};
  std::vector<Part> parts;
  common::Hash parts_root{};
  Metadata metadata;
  std::vector<std::string> warnings;  // parse_warnings: short, content-free descriptions
};

// Canonicalises `raw`, the exact bytes received (CRLF or LF, optional mbox "From " line).
Canonical Canonicalize(std::string_view raw);

}  // namespace mime
