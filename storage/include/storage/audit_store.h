// The audit's reads, for `notaryctl audit`: one ordered pass over the sealed chain in
// bounded memory, whatever the size of the database.
//   AuditSnapshot: one read-only REPEATABLE READ transaction holding a server-side cursor
//     over blocks in height order, the signing keys, the chain's extent and any stray leaf.
//   LeafRangeReader: one connection of its own per worker thread, reading leaves
//     [first, end) in leaf order joined with their receipts (and, when asked, their stored
//     bytes), as text that the worker decodes (hex, arrays) itself. Without the bytes, the
//     audit checks them in one scan of message_blobs (storage/blob_scan.h).
// Readers on several connections see different snapshots; that is sound because every row
// read is append-only and a block's leaves are committed with the block: leaves below the
// snapshot's tree size are the same in every later snapshot. Leaves beyond it are the
// snapshot's to report (StrayLeaf).
//
// Depends only on the columns of blocks, leaves, receipts (the leaf record is there since
// migration 0006), tenants, message_blobs and signing_keys (migrations/), never on how they were
// written. All SQL is constant text with bound parameters.
//
// Thread-safety: AuditSnapshot and LeafRangeReader are each used by one thread at a time
// (each owns a connection). LeafChunk is immutable: Decode may run on any thread, and a
// chunk may outlive its reader.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "storage/authentication_store.h"
#include "storage/database.h"
#include "storage/receipt_fields.h"
#include "storage/records.h"

namespace storage {

// A receipt id's 16 bytes (a UUID), for compact sets of ids; ReceiptKeyOf parses the text
// form (with or without dashes, either case), nullopt when it is not one.
using ReceiptKey = std::array<uint8_t, 16>;
std::optional<ReceiptKey> ReceiptKeyOf(std::string_view id);

// One leaf as stored, with its receipt and bytes. Hash-valued columns are kept as stored
// (any length), so that a tampered value shows as a mismatch rather than being cut to fit.
struct StoredLeaf {
  int64_t leaf_index = 0;
  int64_t block_height = 0;
  std::string record;     // leaf_record
  std::string leaf_hash;  // as stored
  bool has_receipt = false;
  bool bytes_read = false;  // the reader was asked for the bytes (raw, has_bytes)
  bool has_bytes = false;   // a message_blobs row for the receipt's raw_sha256
  std::string receipt_id, tenant;
  int64_t received_at_us = 0;
  std::string raw;  // the stored message bytes, when read
  std::string raw_sha256, canonical_sha256, parts_root, envelope_digest, salt;
  int64_t canon_version = 0;
  std::string envelope_from;
  std::vector<std::string> envelope_to;
  std::string client_ip;
  int64_t client_port = 0;
  std::string helo, tls_protocol, tls_cipher;
  // What leaf record version 2 binds besides (migration 0007).
  int64_t leaf_version = 1;
  std::string source, listener, node, client_name, auth_user, queue_id, asserted_by;
  bool has_journal_report = false;
  std::string journal_report_sha256;  // as stored, when has_journal_report
  // With the bytes: the salts of the receipt's parts, in order ("" for an unsalted part of
  // canonical form version 1).
  std::vector<std::string> part_salts;
  // With the bytes, when they are sealed at rest (migration 0012): what opens them; `raw` is
  // empty until the reader's caller opens them. sealed_bad: they did not open.
  bool sealed = false, sealed_bad = false;
  std::string sealed_kek_id, sealed_wrapped_key, sealed_data;
  // The receipt's personal fields sealed at rest (migration 0016): its envelope columns are
  // empty, and the envelope is in the sealed document (storage/receipt_fields.h).
  // fields_opened / fields_bad: set by the reader's caller once it opened them / they did not
  // open.
  // fields_beside: the receipt's own envelope columns are not empty though its fields are
  // sealed (ingest leaves them empty; something wrote them since).
  bool fields_sealed = false, fields_opened = false, fields_bad = false, fields_beside = false;
  std::string fields_kek_id, fields_wrapped_key, fields_data;
  // An authentication record's leaf (migration 0010): no receipt of its own (has_receipt is
  // false); the message it names, its record, the encoded results and DNS archive, and that
  // message's leaf hash as stored with it.
  bool is_authentication = false;
  std::string authentication_of;
  std::string authentication_record, authentication_results, authentication_dns_archive;
  std::string authenticated_leaf_hash;
  // Its results and DNS archive sealed at rest (migration 0019): the row's own are empty, and
  // these open them. authentication_opened / authentication_bad: set by the reader's caller
  // once it opened them into authentication_results and authentication_dns_archive / they did
  // not open or did not match the record.
  bool authentication_sealed = false, authentication_opened = false, authentication_bad = false;
  std::string authentication_tenant, authentication_kek_id, authentication_wrapped_key,
      authentication_sealed_data;
  // An action record's leaf (migration 0011): no receipt of its own; the action's row.
  bool is_action = false;
  int64_t action_id = 0;
  std::string action, action_subject, action_actor, action_details, action_record, action_tenant;
  int64_t acted_at_us = 0;
  // The message of a receipt's or authentication record's leaf is erased (migration 0013):
  // its envelope, bytes and sender evidence's row are gone by design. Not read with the leaf:
  // set by the reader's caller from AuditSnapshot::ErasedReceipts.
  bool erased = false;
};

class LeafChunk {
 public:
  struct Impl;
  explicit LeafChunk(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

  size_t size() const;
  // The leaf index of row i, without decoding the rest.
  int64_t LeafIndexAt(size_t i) const;
  // Decodes row i into `out` (reusing its buffers). kInternal when a value does not parse.
  common::Status Decode(size_t i, StoredLeaf& out) const;
  // Row i's sealed personal fields (migration 0016), without decoding the rest: false when the
  // row has none. So that a chunk's envelopes are opened together (storage::OpenFields).
  bool SealedFieldsAt(size_t i, FieldsToOpen& out) const;
  // Row i's sealed sender evidence (migration 0019), likewise: false when the row has none.
  bool SealedSenderEvidenceAt(size_t i, SenderEvidenceToOpen& out) const;

 private:
  std::shared_ptr<const Impl> impl_;
};

class AuditSnapshot {
 public:
  // Takes a connection from `db`'s pool for the snapshot's lifetime.
  static common::Result<std::unique_ptr<AuditSnapshot>> Open(Database& db);
  ~AuditSnapshot();
  AuditSnapshot(const AuditSnapshot&) = delete;
  AuditSnapshot& operator=(const AuditSnapshot&) = delete;

  common::Result<std::vector<KeyRow>> SigningKeys();
  // A block as stored; `well_formed` is false when a hash column is not 32 bytes long (the
  // row's fixed-size fields then cannot hold it as stored).
  struct Block {
    BlockRow row;
    bool well_formed = true;
  };
  // The next few hundred blocks in height order; empty at the end.
  common::Result<std::vector<Block>> NextBlocks();
  // The leaf indexes worth reading: [0, min(tree size of the highest block, highest stored
  // leaf index + 1)).
  common::Result<int64_t> LeafExtent();
  // The lowest stored leaf index outside [0, tree_size), if any.
  common::Result<std::optional<int64_t>> StrayLeaf(int64_t tree_size);
  // The erased receipts (migration 0013), sorted. Read once per audit rather than joined per
  // leaf: a join in the leaf query cost the default audit a third of its pace
  // (docs/benchmarks.md, "Erasure"); 16 bytes each.
  common::Result<std::vector<ReceiptKey>> ErasedReceipts();
  // The first erased receipt (migration 0013) whose erasure no action record of kind
  // "erasure" naming it, sealed or queued, accounts for: an erasure made behind the log's
  // back (its fields blanked with the triggers off).
  common::Result<std::optional<std::string>> ErasureWithoutRecord();

  struct Impl;

 private:
  explicit AuditSnapshot(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class LeafRangeReader {
 public:
  // Opens a connection of its own (not from the pool: one per worker, for a long read).
  // `with_bytes`: each leaf also carries its receipt's stored message bytes.
  // `with_sealed_fields`: and its sealed personal fields (migration 0016), to be opened;
  // without, only whether it has them (fields_sealed; fields_kek_id and the rest empty).
  static common::Result<std::unique_ptr<LeafRangeReader>> Open(Database& db, bool with_bytes,
                                                               bool with_sealed_fields = true);
  ~LeafRangeReader();
  LeafRangeReader(const LeafRangeReader&) = delete;
  LeafRangeReader& operator=(const LeafRangeReader&) = delete;

  // The stored leaves with first <= leaf_index < end, in leaf order.
  common::Result<LeafChunk> Read(int64_t first, int64_t end);

  struct Impl;

 private:
  explicit LeafRangeReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace storage
