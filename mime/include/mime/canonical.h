// Canonicalisation of an RFC 5322 message: exact bytes in, a canonical form, its hash,
// per-part hashes, search metadata and parse warnings out. Specified byte for byte in
// docs/canonical-form.md; shared by notaryd (at ingest) and notary-verify (offline).
//
// Versions: every receipt stores the version of the form it was issued with, and evidence
// of version N is always re-checked with version N's rules. Version 1 (GMime's parser and
// glibc's iconv) stays verifiable forever, byte for byte. Version 2 depends on no library's
// behaviour: every rule is ours and stated in docs/canonical-form.md ("Version 2"), with
// test vectors in tests/data/canonical-v2/.
//
// Pure: no I/O, no clock, no logging. Never fails and never throws on malformed input:
// problems become parse_warnings.
// Thread-safety: Canonicalize and Differences may be called from many threads at once.
// Ownership: every result is a plain value; nothing refers back to the input bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"

namespace mime {

// The version that the overloads without a `version` argument use: 1, so that callers written
// for version 1 keep getting it bit for bit. notaryd issues kLatestCanonVersion (ingest draws
// the part salts that version 2 records need, see Part::salt).
inline constexpr uint32_t kCanonVersion = 1;
// The newest version this build can produce and verify.
inline constexpr uint32_t kLatestCanonVersion = 2;

// True for the versions this build implements (1 and 2). A version read from a receipt or
// bundle must be checked with this before it is passed to the functions below.
constexpr bool IsSupportedCanonVersion(uint32_t version) {
  return version >= 1 && version <= kLatestCanonVersion;
}

// Version 2: a message with more leaf parts than this is canonicalised as "unparsed" (no
// parts), so that no receipt ever lists more parts than a bundle reader accepts. The bundle
// reader uses this constant as its limit.
inline constexpr size_t kMaxParts = 10000;

// One leaf MIME part (or the single body of a non-multipart message).
struct Part {
  std::string position;      // "1", "1.2.1": 1-based indexes down the MIME tree
  std::string content_type;  // lower case "type/subtype"
  std::string charset;       // lower case, empty when none
  std::string disposition;   // "inline", "attachment" or empty
  std::string filename;      // decoded to UTF-8 (RFC 2231 / RFC 2047), empty when none
  uint64_t size = 0;         // decoded byte count
  common::Hash sha256{};     // SHA-256 of the decoded bytes (what a mail client saves)
  // Version 2 only: 32 random bytes drawn by notaryd per part at ingest and disclosed only
  // with that part, so that a withheld attachment cannot be confirmed by hashing a guess.
  // Canonicalize leaves it zero (it cannot know the salt); version 1 records ignore it.
  common::Hash salt{};

  // Not part of the part record; what the canonical form carries for this part.
  // true: an inline text part whose content was converted to UTF-8 and normalised
  // (docs/canonical-form.md §text); content_sha256 is over that normalised text.
  // false: content_sha256 == sha256 (the decoded bytes).
  bool normalised_text = false;
  common::Hash content_sha256{};
};

// The byte-exact part record hashed into parts_root (docs/canonical-form.md §3, and §V2.9 for
// version 2, whose record starts with the salt).
// REQUIRES: IsSupportedCanonVersion(version).
std::string EncodePartRecord(const Part& part, uint32_t version = kCanonVersion);
// RFC 6962 Merkle root over HashLeaf(EncodePartRecord(p, version)) for the parts in order.
// For version 2 the parts' salts must have been set first.
// REQUIRES: IsSupportedCanonVersion(version).
common::Hash PartsRoot(const std::vector<Part>& parts, uint32_t version = kCanonVersion);

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

// One allow-listed header as it enters the canonical form: lower-case name, value
// unfolded, RFC 2047-decoded to UTF-8 and whitespace-collapsed.
struct CanonicalHeader {
  std::string name;
  std::string value;
};

// A multipart container (not a leaf); its subtype is visible (mixed vs alternative).
struct Multipart {
  std::string position;      // "" for the message's top-level body, else like Part
  std::string content_type;  // lower case "multipart/subtype"
};

struct Canonical {
  uint32_t canon_version = kCanonVersion;
  std::string canonical;  // the canonical bytes
  common::Hash canonical_sha256{};
  std::vector<Part> parts;
  // Version 1: PartsRoot(parts, 1). Version 2: all zero, because the root depends on the
  // salts, which the caller draws after canonicalising: set parts[i].salt, then compute
  // PartsRoot(parts, 2).
  common::Hash parts_root{};
  Metadata metadata;
  std::vector<std::string> warnings;  // parse_warnings: short, content-free descriptions

  // The inputs of the canonical form, kept so that two results can be compared.
  std::vector<CanonicalHeader> headers;  // allow-list order, then message order
  std::vector<Multipart> multiparts;     // depth-first pre-order
};

// The allow-list of header names (lower case, in canonical order) that enter the form.
const std::vector<std::string>& CanonicalHeaderNames();

// Canonicalises `raw`, the exact bytes received (CRLF or LF, optional mbox "From " line),
// with the rules of `version`. Version 2 results have zero salts and a zero parts_root (see
// Canonical::parts_root).
// REQUIRES: IsSupportedCanonVersion(version).
Canonical Canonicalize(std::string_view raw, uint32_t version = kCanonVersion);

// The decoded bytes of the leaf part at `position` (what a mail client saves), from the same
// walk as Canonicalize(raw, version); nullopt when no part has that position. For selective
// disclosure.
// REQUIRES: IsSupportedCanonVersion(version).
std::optional<std::string> ExtractPart(std::string_view raw, const std::string& position,
                                       uint32_t version = kCanonVersion);

// Human-readable differences between the notarised message and another copy, for
// `notary-verify --eml`: which canonical headers differ, which parts were added, removed,
// moved or changed (content, type, file name, disposition). Empty when the canonical hashes
// are equal. Header values appear in the output (truncated), as the judge needs them.
std::vector<std::string> Differences(const Canonical& notarised, const Canonical& other);

}  // namespace mime
