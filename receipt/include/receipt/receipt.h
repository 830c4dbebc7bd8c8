// One receipt: what the notary committed for one received copy of a message. The same type
// travels from ingest (pipeline/) through storage (storage/) to the evidence bundle
// (evidence/) and the API's JSON (http/); nothing copies it field by field into another
// struct on the way.
//
//   bound by the leaf record (docs/evidence-format.md): id, tenant, received_at_us, the
//     hashes, canon_version, parts_root, the envelope (through its digest), the salt, and,
//     from leaf record version 2 on, the provenance;
//   not bound: the transport flags, the search metadata and the sealing state, which the
//     notary states beside the evidence.
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "log/leaf_record.h"
#include "mime/canonical.h"

namespace notary {

// A leaf MIME part as its part record states it (docs/canonical-form.md): the canonicaliser's
// own type. Its salt is zero for canonical form version 1, whose records are unsalted.
using Part = mime::Part;

struct Receipt {
  std::string id;  // UUID text
  std::string tenant;
  int64_t received_at_us = 0;  // µs since 1970-01-01T00:00:00Z

  Envelope envelope;      // MAIL FROM, RCPT TO, client address, HELO, TLS
  Provenance provenance;  // how it reached the notary and who stated what
  // The leaf record's format version: 2 binds `provenance`; for 1 it is the notary's
  // statement only (receipts recorded before migration 0007).
  uint32_t leaf_version = LeafRecord::kLatestFormatVersion;

  uint64_t size = 0;  // bytes of the message
  common::Hash raw_sha256{};
  common::Hash canonical_sha256{};
  uint32_t canon_version = 0;
  std::vector<Part> parts;  // every leaf part, in order
  common::Hash parts_root{};
  common::Hash envelope_digest{};  // EnvelopeDigest(envelope) as committed
  common::Hash salt{};             // the leaf record's salt: private to the receipt

  // Transport facts the front end saw (not bound).
  bool smtputf8 = false;
  std::string body_type;  // "7BIT", "8BITMIME", "BINARYMIME" or ""

  // For search and display (not bound; derived from the bytes, which are).
  mime::Metadata metadata;
  std::vector<std::string> parse_warnings;

  // Sealing state: set once a block holds the receipt's leaf.
  std::optional<int64_t> leaf_index;
  std::optional<int64_t> block_height;

  // Set once the message was erased (docs/retention.md, "Erasure"): its personal fields are
  // empty and its bytes gone; the hashes, salt, provenance and proofs stay.
  std::optional<int64_t> erased_at_us;

  bool provenance_bound() const { return leaf_version >= 2; }
};

// The leaf record the receipt commits to (its Encode() checks the fields' limits).
LeafRecord LeafRecordOf(const Receipt& receipt);

}  // namespace notary
