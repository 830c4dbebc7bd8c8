#include "pipeline/audit.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <thread>

#include "common/printable.h"
#include "common/rfc6962.h"
#include "common/sha256.h"
#include "common/thread_annotations.h"
#include "log/action_record.h"
#include "log/authentication_record.h"
#include "log/block.h"
#include "log/checkpoint.h"
#include "log/ed25519.h"
#include "log/leaf_record.h"
#include "mime/canonical.h"
#include "receipt/receipt.h"
#include "sender/authentication.h"
#include "sender/dns_answer.h"
#include "storage/audit_store.h"
#include "storage/blob_scan.h"
#include "storage/receipt_fields.h"
#include "storage/sealed_blobs.h"

namespace pipeline {
namespace {

// The right edge of an RFC 6962 tree: perfect subtree roots, largest first. Appending a leaf
// merges equal-sized subtrees; the root folds them right to left. Memory: O(log n).
class Frontier {
 public:
  void Append(const common::Hash& leaf) {
    common::Hash h = leaf;
    uint64_t size = 1;
    while (!nodes_.empty() && nodes_.back().second == size) {
      h = common::HashChildren(nodes_.back().first, h);
      size *= 2;
      nodes_.pop_back();
    }
    nodes_.push_back({h, size});
  }
  common::Hash Root() const {
    if (nodes_.empty()) return common::Sha256Of(std::string_view());
    common::Hash h = nodes_.back().first;
    for (size_t i = nodes_.size() - 1; i-- > 0;) h = common::HashChildren(nodes_[i].first, h);
    return h;
  }
  void Clear() { nodes_.clear(); }

 private:
  std::vector<std::pair<common::Hash, uint64_t>> nodes_;
};

std::string Hex(const common::Hash& h) { return common::ToHex(h); }
std::string Hex(std::string_view s) { return common::ToHex(common::AsBytes(s)); }

bool SameHash(const common::Hash& h, std::string_view stored) {
  return stored.size() == h.size() &&
         std::equal(h.begin(), h.end(), stored.begin(),
                    [](uint8_t a, char b) { return a == static_cast<uint8_t>(b); });
}

bool ToHash(std::string_view s, common::Hash& out) {
  out = common::Hash{};
  if (s.size() != out.size()) return false;
  std::copy(s.begin(), s.end(), out.begin());
  return true;
}

// The two byte faults, worded the same whichever pass finds them.
constexpr const char* kBytesMissing = "its stored message bytes are missing";
std::string BytesDiffer(std::string_view raw_sha256) {
  return "stored message bytes do not hash to raw_sha256 " + Hex(raw_sha256);
}

// What a worker found for one leaf. `error` is empty when every per-leaf check held.
struct LeafResult {
  int64_t index = 0;
  int64_t block_height = 0;
  common::Hash leaf_hash{};
  uint64_t bytes = 0;
  bool canonical_skipped = false;   // stored under another canonical-form version
  bool envelope_unchecked = false;  // sealed at rest (migration 0016), no key holder given
  bool sender_unchecked = false;    // sender evidence sealed (migration 0019), no key holder
  bool erased = false;              // the message is erased (docs/retention.md)
  std::string receipt_id;           // kept only with an error
  std::string error;
  bool bytes_fault = false;  // the error is about the receipt or its bytes
};

// An authentication record's leaf (docs/sender-evidence.md): the record must name its row's
// message and carry that message's leaf hash and the digests of the stored results and DNS
// archive, and the tree must hold its hash.
void CheckAuthenticationLeaf(const storage::StoredLeaf& l, LeafResult& r) {
  auto fail = [&](std::string what) {
    r.error = std::move(what);
    r.receipt_id = l.authentication_of;
  };
  if (l.erased && l.authentication_record.empty()) {
    // Erased with its message (its results name the sender): the tree's hash stays, and the
    // erasure's own action record says why.
    r.erased = true;
    if (!ToHash(l.leaf_hash, r.leaf_hash)) return fail("its stored leaf hash is not 32 bytes");
    return;
  }
  auto record = notary::AuthenticationRecord::Decode(l.authentication_record);
  if (!record.ok()) return fail("authentication record: " + record.error().message());
  if (record->receipt_id != l.authentication_of) {
    return fail("the authentication record names receipt " + record->receipt_id);
  }
  if (!SameHash(record->receipt_leaf_hash, l.authenticated_leaf_hash)) {
    return fail("the authentication record does not carry its message's leaf hash");
  }
  if (l.authentication_sealed && l.authentication_bad) {
    return fail("its sealed sender evidence does not open or does not match the record");
  }
  if (l.authentication_sealed && !l.authentication_opened) {
    // Sealed, and no key holder to open it: the record and its leaf are still checked.
    r.sender_unchecked = true;
  } else if (record->results_sha256 != common::Sha256Of(l.authentication_results) ||
             !notary::AuthenticationResults::Decode(l.authentication_results).ok()) {
    return fail("the stored authentication results do not match the record's digest");
  }
  if (!r.sender_unchecked &&
      (record->dns_archive_sha256 != common::Sha256Of(l.authentication_dns_archive) ||
       !notary::DecodeDnsArchive(l.authentication_dns_archive).ok())) {
    return fail("the stored DNS answers do not match the record's digest");
  }
  r.leaf_hash = common::HashLeaf(l.authentication_record);
  if (!SameHash(r.leaf_hash, l.leaf_hash)) {
    return fail("leaf_hash is not SHA-256(0x00 || authentication record)");
  }
}

// An action record's leaf (docs/evidence-format.md, docs/retention.md): the record must
// describe its row (action, tenant, subject, time, actor) and carry the digest of the stored
// details, and the tree must hold its hash.
void CheckActionLeaf(const storage::StoredLeaf& l, LeafResult& r) {
  auto fail = [&](std::string what) {
    r.error = "action " + std::to_string(l.action_id) + ": " + std::move(what);
  };
  auto record = notary::ActionRecord::Decode(l.action_record);
  if (!record.ok()) return fail("action record: " + record.error().message());
  if (record->action != l.action || record->tenant != l.action_tenant ||
      record->subject != l.action_subject || record->acted_at_us != l.acted_at_us ||
      record->actor != l.action_actor) {
    return fail("the action record does not describe its row");
  }
  if (record->details_sha256 != common::Sha256Of(l.action_details)) {
    return fail("the stored details do not match the record's digest");
  }
  r.leaf_hash = common::HashLeaf(l.action_record);
  if (!SameHash(r.leaf_hash, l.leaf_hash)) {
    return fail("leaf_hash is not SHA-256(0x00 || action record)");
  }
}

// The checks of one leaf that need nothing but its own row.
void CheckLeaf(const storage::StoredLeaf& l, bool canonical, LeafResult& r) {
  r.index = l.leaf_index;
  r.block_height = l.block_height;
  if (l.is_authentication) return CheckAuthenticationLeaf(l, r);
  if (l.is_action) return CheckActionLeaf(l, r);
  r.bytes = l.raw.size();
  auto fail = [&](std::string what) {
    r.error = std::move(what);
    r.receipt_id = l.receipt_id;
  };
  r.bytes_fault = true;
  if (!l.has_receipt) return fail("its receipt is missing");
  r.erased = l.erased;
  // Without the bytes here, the byte scan (BlobCheck) checks them. An erased message's bytes
  // are gone unless another live receipt of the tenant shares them.
  const bool bytes_here = l.bytes_read && (l.has_bytes || !l.erased);
  if (bytes_here && !l.has_bytes) return fail(kBytesMissing);
  if (bytes_here && l.sealed_bad) return fail(BytesDiffer(l.raw_sha256));
  if (bytes_here && !SameHash(common::Sha256Of(l.raw), l.raw_sha256)) {
    return fail(BytesDiffer(l.raw_sha256));
  }
  r.bytes_fault = false;
  if (canonical && l.erased && !l.has_bytes) {
    r.canonical_skipped = true;
  } else if (canonical && !l.bytes_read) {
    r.canonical_skipped = true;  // sealed, and no key holder to open them
  } else if (canonical) {
    const auto version = static_cast<uint32_t>(l.canon_version);
    if (l.canon_version >= 0 && l.canon_version <= UINT32_MAX &&
        mime::IsSupportedCanonVersion(version)) {
      mime::Canonical c = mime::Canonicalize(l.raw, version);
      if (!SameHash(c.canonical_sha256, l.canonical_sha256)) {
        return fail("canonical hash recomputed as " + Hex(c.canonical_sha256) + ", stored " +
                    Hex(l.canonical_sha256));
      }
      if (version >= 2) {
        // The part records are salted: the root is rebuilt from the parts re-derived from
        // the bytes and the salts stored with the receipt's parts.
        if (l.part_salts.size() != c.parts.size()) {
          return fail("the receipt stores " + std::to_string(l.part_salts.size()) +
                      " part salts for " + std::to_string(c.parts.size()) + " parts");
        }
        for (size_t i = 0; i < c.parts.size(); ++i) {
          if (!ToHash(l.part_salts[i], c.parts[i].salt)) return fail("a part salt is not 32 bytes");
        }
        c.parts_root = mime::PartsRoot(c.parts, version);
      }
      if (!SameHash(c.parts_root, l.parts_root)) {
        return fail("parts_root recomputed differs from the stored one");
      }
    } else {
      r.canonical_skipped = true;
    }
  }
  if (l.client_port < 0 || l.client_port > 65535) {
    return fail("the receipt's client port " + std::to_string(l.client_port) + " is out of range");
  }
  notary::Envelope env{
      l.envelope_from, l.envelope_to,  l.client_ip, static_cast<uint16_t>(l.client_port),
      l.helo,          l.tls_protocol, l.tls_cipher};
  if (!l.erased && l.fields_bad) return fail("the receipt's sealed fields do not open");
  if (l.fields_beside) {
    return fail("the receipt's envelope columns hold values beside its sealed fields");
  }
  if (l.erased) {
    // Its envelope is gone by design.
  } else if (l.fields_sealed && !l.fields_opened) {
    r.envelope_unchecked = true;  // sealed, and no key holder to open it
  } else if (!SameHash(notary::EnvelopeDigest(env), l.envelope_digest)) {
    return fail("the receipt's envelope does not match its envelope digest");
  }
  // The receipt as stored, field by field where the record binds it.
  notary::Receipt p;
  p.id = l.receipt_id;
  p.tenant = l.tenant;
  p.received_at_us = l.received_at_us;
  p.canon_version = static_cast<uint32_t>(l.canon_version);
  // Every field is converted, whichever of them fails.
  const std::array converted{ToHash(l.raw_sha256, p.raw_sha256),
                             ToHash(l.canonical_sha256, p.canonical_sha256),
                             ToHash(l.parts_root, p.parts_root),
                             ToHash(l.envelope_digest, p.envelope_digest), ToHash(l.salt, p.salt)};
  const bool sized = std::ranges::all_of(converted, std::identity{});
  bool provenance_ok = l.leaf_version == 1 || l.leaf_version == 2;
  p.leaf_version = static_cast<uint32_t>(provenance_ok ? l.leaf_version : 1);
  if (l.leaf_version == 2) {
    notary::Provenance& v = p.provenance;
    v.source = l.source;
    v.listener = l.listener;
    v.node = l.node;
    v.client_name = l.client_name;
    v.auth_user = l.auth_user;
    v.queue_id = l.queue_id;
    v.asserted_by = l.asserted_by;
    if (l.has_journal_report) {
      provenance_ok = ToHash(l.journal_report_sha256, v.journal_report_sha256);
    }
  }
  auto enc = notary::LeafRecordOf(p).Encode();
  if (!sized || !provenance_ok || l.canon_version < 0 || l.canon_version > UINT32_MAX ||
      !enc.ok() || *enc != l.record) {
    return fail("leaf record differs from the one rebuilt from the receipt");
  }
  r.leaf_hash = common::HashLeaf(l.record);
  if (!SameHash(r.leaf_hash, l.leaf_hash)) {
    return fail("leaf_hash is not SHA-256(0x00 || leaf_record)");
  }
}

// A range of leaf indexes, checked by one worker; handed back in chain order. `done` is read
// and written under Pipeline::mu_ (which the analysis cannot name from here); the fields
// before it belong to the worker until it sets `done`, then to the reader of Next().
struct Item {
  int64_t first = 0, end = 0;
  std::vector<LeafResult> results;  // the stored leaves of [first, end), in order
  std::optional<common::Error> read_error;
  bool done = false;
};

// Worker threads, each with a connection of its own, take consecutive ranges of leaf indexes
// in order, read them (PostgreSQL works on one range while other workers hash theirs), run
// the per-leaf checks, and hand the ranges back in chain order through Next(). At most
// `capacity_` ranges are in flight, each sized to about `chunk_bytes` of stored bytes, so
// memory stays bounded whatever the size of the chain.
class Pipeline {
 public:
  Pipeline(storage::Database& db, int64_t extent, unsigned workers, bool canonical,
           size_t chunk_bytes, vault::Wrapper* wrapper,
           const std::vector<storage::ReceiptKey>& erased)
      : db_(db),
        erased_(erased),
        extent_(extent),
        canonical_(canonical),
        wrapper_(wrapper),
        chunk_bytes_(std::max<size_t>(1, chunk_bytes)),
        capacity_(4 * workers + 4) {
    for (unsigned i = 0; i < workers; ++i) workers_.emplace_back([this] { Work(); });
  }
  ~Pipeline() {
    {
      common::MutexLock lock(mu_);
      stop_ = true;
    }
    space_.notify_all();
    ready_.notify_all();
  }  // the jthreads join here

  // The next range in chain order once it is checked; nullptr after the last.
  std::shared_ptr<Item> Next() EXCLUDES(mu_) {
    common::MutexLock lock(mu_);
    ready_.wait(lock, [&]() REQUIRES(mu_) {
      return (!ordered_.empty() && ordered_.front()->done) ||
             (ordered_.empty() && next_ >= extent_);
    });
    if (ordered_.empty()) return nullptr;
    auto item = std::move(ordered_.front());
    ordered_.pop_front();
    space_.notify_all();
    return item;
  }

 private:
  // The next range to read, reserved in order; nullptr when there is none or on stop.
  std::shared_ptr<Item> Reserve() EXCLUDES(mu_) {
    common::MutexLock lock(mu_);
    space_.wait(lock, [&]() REQUIRES(mu_) {
      return stop_ || next_ >= extent_ || ordered_.size() < capacity_;
    });
    if (stop_ || next_ >= extent_) return nullptr;
    auto item = std::make_shared<Item>();
    item->first = next_;
    item->end = next_ + std::min<int64_t>(span_, extent_ - next_);
    next_ = item->end;
    ordered_.push_back(item);
    return item;
  }

  void Finish(Item& item, uint64_t bytes) EXCLUDES(mu_) {
    common::MutexLock lock(mu_);
    // Size later ranges by what this one held per leaf (1 to 4096 leaves).
    if (!item.results.empty()) {
      const uint64_t per_leaf = std::max<uint64_t>(1, bytes / item.results.size());
      span_ = static_cast<int64_t>(std::clamp<uint64_t>(chunk_bytes_ / per_leaf, 1, 4096));
    }
    item.done = true;
    ready_.notify_all();
  }

  void Work() EXCLUDES(mu_) {
    auto reader = storage::LeafRangeReader::Open(db_, canonical_, wrapper_ != nullptr);
    storage::StoredLeaf leaf;
    while (auto item = Reserve()) {
      uint64_t bytes = 0;
      auto chunk = reader.ok() ? (*reader)->Read(item->first, item->end)
                               : common::Result<storage::LeafChunk>(reader.error());
      if (!chunk.ok()) {
        item->read_error = chunk.error();
        Finish(*item, 0);
        continue;
      }
      item->results.resize(chunk->size());
      auto envelopes =
          OpenSealedRows(*chunk, &storage::LeafChunk::SealedFieldsAt, &storage::OpenFields);
      auto evidence = envelopes.ok()
                          ? OpenSealedRows(*chunk, &storage::LeafChunk::SealedSenderEvidenceAt,
                                           &storage::OpenSenderEvidence)
                          : envelopes.error();
      if (!evidence.ok()) {
        item->read_error = evidence.error();
        Finish(*item, 0);
        continue;
      }
      for (size_t i = 0; i < chunk->size(); ++i) {
        LeafResult& r = item->results[i];
        if (auto st = chunk->Decode(i, leaf); !st.ok()) {
          r.index = chunk->LeafIndexAt(i);
          r.block_height = leaf.block_height;
          r.receipt_id = leaf.receipt_id;
          r.error = "a stored value of the leaf or its receipt does not parse";
          continue;
        }
        leaf.erased = IsErased(leaf);
        if (leaf.bytes_read && leaf.sealed) {
          if (auto st = Unseal(leaf); !st.ok()) {
            item->read_error = st.error();
            break;
          }
        }
        if (auto* opened = envelopes->For(i); leaf.fields_sealed && !leaf.erased && opened) {
          if (opened->ok()) {
            leaf.envelope_from = std::move((*opened)->mail_from);
            leaf.envelope_to = std::move((*opened)->recipients);
            leaf.fields_opened = true;
          } else {
            leaf.fields_bad = true;  // CheckLeaf names it
          }
        }
        if (auto* opened = evidence->For(i); leaf.authentication_sealed && !leaf.erased && opened) {
          if (opened->ok()) {
            leaf.authentication_results = std::move((*opened)->results);
            leaf.authentication_dns_archive = std::move((*opened)->dns_archive);
            leaf.authentication_opened = true;
          } else {
            leaf.authentication_bad = true;  // CheckLeaf names it
          }
        }
        CheckLeaf(leaf, canonical_, r);
        bytes += leaf.raw.size() + leaf.record.size();
      }
      Finish(*item, bytes);
    }
  }

  // A leaf's bytes sealed at rest (migration 0012), opened with the key holder. Bytes that do
  // not open are the leaf's fault (they are not what was sealed); a holder that cannot answer
  // is a read error. Without a holder, the bytes and their canonical form are left unchecked
  // (counted as skipped).
  common::Status Unseal(storage::StoredLeaf& leaf) {
    if (wrapper_ == nullptr) {
      leaf.bytes_read = false;
      return common::Ok();
    }
    common::Hash sha{};
    if (!ToHash(leaf.raw_sha256, sha)) return common::Ok();  // CheckLeaf names it
    auto plain = storage::OpenBlob(*wrapper_, leaf.tenant, sha, leaf.sealed_kek_id,
                                   leaf.sealed_wrapped_key, leaf.sealed_data);
    if (plain.ok()) {
      leaf.raw = std::move(*plain);
    } else if (plain.error().code() == common::ErrorCode::kVerifyFailed) {
      leaf.sealed_bad = true;  // CheckLeaf reports the bytes as differing
    } else {
      return plain.error();
    }
    return common::Ok();
  }

  // A chunk's rows sealed at rest, opened together with the key holder (one unwrapping per
  // tenant and key pair): the envelopes (migration 0016) and the sender checks (0019).
  // CheckLeaf then checks an envelope against its digest (the checks were checked against
  // their record as they opened); one that does not open is the leaf's fault; a holder that
  // cannot answer is a read error; without a holder they are left unchecked (counted).
  template <typename Value>
  struct OpenedRows {
    std::vector<int> at;  // row i's place in `opened`, -1 for a row with nothing sealed
    std::vector<common::Result<Value>> opened;
    common::Result<Value>* For(size_t i) {
      return at[i] < 0 ? nullptr : &opened[static_cast<size_t>(at[i])];
    }
  };
  template <typename Row, typename Value>
  common::Result<OpenedRows<Value>> OpenSealedRows(
      const storage::LeafChunk& chunk, bool (storage::LeafChunk::*sealed_at)(size_t, Row&) const,
      common::Result<std::vector<common::Result<Value>>> (*open)(vault::Wrapper&,
                                                                 const std::vector<Row>&)) {
    OpenedRows<Value> e;
    e.at.assign(chunk.size(), -1);
    if (wrapper_ == nullptr) return e;
    std::vector<Row> rows;
    Row row;
    for (size_t i = 0; i < chunk.size(); ++i) {
      if (!(chunk.*sealed_at)(i, row)) continue;
      e.at[i] = static_cast<int>(rows.size());
      rows.push_back(std::move(row));
    }
    if (rows.empty()) return e;
    ASSIGN_OR_RETURN(e.opened, open(*wrapper_, rows));
    return e;
  }

  // Whether the leaf's message (a receipt's, or the one an authentication record names) is
  // erased.
  bool IsErased(const storage::StoredLeaf& leaf) const {
    if (erased_.empty() || leaf.is_action) return false;
    auto key =
        storage::ReceiptKeyOf(leaf.is_authentication ? leaf.authentication_of : leaf.receipt_id);
    return key && std::binary_search(erased_.begin(), erased_.end(), *key);
  }

  storage::Database& db_;
  const std::vector<storage::ReceiptKey>& erased_;  // sorted
  const int64_t extent_;
  const bool canonical_;
  vault::Wrapper* const wrapper_;
  const size_t chunk_bytes_;
  const size_t capacity_;
  common::Mutex mu_;
  std::condition_variable_any ready_, space_;
  std::deque<std::shared_ptr<Item>> ordered_ GUARDED_BY(mu_);
  int64_t next_ GUARDED_BY(mu_) = 0;   // first index not reserved
  int64_t span_ GUARDED_BY(mu_) = 64;  // leaves per range
  bool stop_ GUARDED_BY(mu_) = false;
  std::vector<std::jthread> workers_;
};

// Where a fault lies in chain order: the leaf index the chain had reached, then which check
// at that index (in the order the ordered pass makes them). The byte scan's faults are placed
// on the same scale, so that the first fault in chain order wins whichever pass found it.
enum Phase : int {
  kBlockStart = 0,  // a block's own checks, before its first leaf
  kLeafOrder = 1,   // the leaf expected next is missing or out of place
  kLeafBytes = 2,   // the leaf's receipt or its stored bytes
  kLeafRest = 3,    // the rest of the leaf's own checks
  kLeafBlock = 4,   // the leaf filed under another block
  kBlockEnd = 5,    // batch and tree roots, after the block's last leaf
};
using Position = std::pair<int64_t, int>;

// The checks that depend on chain order, fed blocks and leaf results in stream order.
class ChainCheck {
 public:
  ChainCheck(storage::AuditSnapshot& snapshot, std::map<std::string, notary::Ed25519PublicKey> keys)
      : snapshot_(snapshot), keys_(std::move(keys)) {}

  // Set when the blocks could not be read (the returned message then says so).
  const std::optional<common::Error>& read_error() const { return read_error_; }

  // Leaf() and Finish() return an empty string when everything holds, else the first
  // inconsistency, whose place in chain order is then position().
  Position position() const { return pos_; }

  std::string Leaf(const LeafResult& r) {
    while (!cur_ || r.index >= cur_end_) {
      if (cur_) {
        if (auto e = FinishBlock(); !e.empty()) return e;
      }
      if (pending_.empty() && !Refill()) {
        pos_ = {r.index, kBlockStart};
        if (read_error_) return "cannot read the blocks: " + read_error_->ToString();
        return "leaf " + std::to_string(r.index) +
               " is stored but no block signs it (the chain's " + "last block ends at tree size " +
               std::to_string(next_index_) + ")";
      }
      if (auto e = StartBlock(); !e.empty()) return e;
    }
    // Messages are built only on failure: this runs once per leaf.
    auto where = [&] { return "block " + std::to_string(cur_->row.height); };
    pos_ = {next_index_, kLeafOrder};
    if (r.index != next_index_) {
      if (r.index > next_index_) {
        return where() + ": " + std::to_string(cur_->row.leaf_count) + " leaves signed, leaf " +
               std::to_string(next_index_) + " is not stored (the next stored is leaf " +
               std::to_string(r.index) + ")";
      }
      return where() + ": leaf " + std::to_string(r.index) +
             " lies before the block's first leaf " + std::to_string(next_index_);
    }
    if (!r.error.empty()) {
      pos_ = {r.index, r.bytes_fault ? kLeafBytes : kLeafRest};
      return "leaf " + std::to_string(r.index) + " (receipt " +
             (r.receipt_id.empty() ? std::string("missing") : r.receipt_id) + ", " + where() +
             "): " + r.error;
    }
    if (r.block_height != cur_->row.height) {
      pos_ = {r.index, kLeafBlock};
      return "leaf " + std::to_string(r.index) + " is stored as part of block " +
             std::to_string(r.block_height) + ", but " + where() + " signs it";
    }
    batch_.Append(r.leaf_hash);
    tree_.Append(r.leaf_hash);
    ++next_index_;
    ++leaves_;
    bytes_ += r.bytes;
    canonical_skipped_ += r.canonical_skipped ? 1 : 0;
    envelope_unchecked_ += r.envelope_unchecked ? 1 : 0;
    sender_unchecked_ += r.sender_unchecked ? 1 : 0;
    erased_ += r.erased ? 1 : 0;
    return "";
  }

  // After the last leaf: closes the open block; blocks left over signed leaves not stored.
  std::string Finish() {
    if (cur_) {
      if (auto e = FinishBlock(); !e.empty()) return e;
    }
    while (!pending_.empty() || Refill()) {
      if (auto e = StartBlock(); !e.empty()) return e;
      if (auto e = FinishBlock(); !e.empty()) return e;
    }
    if (read_error_) return "cannot read the blocks: " + read_error_->ToString();
    return "";
  }

  int64_t tree_size() const { return next_index_; }

  int64_t blocks() const { return blocks_; }
  uint64_t leaves() const { return leaves_; }
  uint64_t bytes() const { return bytes_; }
  uint64_t canonical_skipped() const { return canonical_skipped_; }
  uint64_t erased() const { return erased_; }
  uint64_t envelope_unchecked() const { return envelope_unchecked_; }
  uint64_t sender_unchecked() const { return sender_unchecked_; }

 private:
  // Reads the next blocks in height order; false at the end or on a read error.
  bool Refill() {
    if (blocks_done_) return false;
    auto blocks = snapshot_.NextBlocks();
    if (!blocks.ok()) read_error_ = blocks.error();
    if (!blocks.ok() || blocks->empty()) {
      blocks_done_ = true;
      return false;
    }
    for (auto& b : *blocks) pending_.push_back(std::move(b));
    return true;
  }

  std::string StartBlock() {
    cur_ = std::move(pending_.front());
    pending_.pop_front();
    const storage::BlockRow& b = cur_->row;
    const std::string where = "block " + std::to_string(b.height);
    pos_ = {next_index_, kBlockStart};
    if (b.height != blocks_) {
      return "block heights are not consecutive: expected " + std::to_string(blocks_) + ", found " +
             std::to_string(b.height);
    }
    auto header = notary::BlockHeader::Decode(b.header);
    if (!header.ok()) {
      return where + ": stored header does not decode: " + header.error().message();
    }
    const notary::BlockHeader& h = *header;
    if (!cur_->well_formed || h.height != static_cast<uint64_t>(b.height) ||
        h.batch_root != b.batch_root || h.tree_root != b.tree_root ||
        h.tree_size != static_cast<uint64_t>(b.tree_size) ||
        h.first_leaf_index != static_cast<uint64_t>(b.first_leaf) ||
        h.leaf_count != static_cast<uint64_t>(b.leaf_count) || h.prev_block_hash != b.prev_hash ||
        h.sealed_at_us != b.sealed_at_us || h.key_id != b.key_id) {
      return where + ": the block's columns differ from its signed header";
    }
    if (h.prev_block_hash != prev_) {
      return where + ": previous-hash link broken: header has " + Hex(h.prev_block_hash) +
             ", block " + std::to_string(b.height - 1) + " hashes to " + Hex(prev_);
    }
    if (h.first_leaf_index != static_cast<uint64_t>(next_index_)) {
      return where + ": signed first leaf " + std::to_string(h.first_leaf_index) +
             ", but the blocks before it hold " + std::to_string(next_index_) + " leaves";
    }
    if (h.leaf_count == 0 || h.tree_size != h.first_leaf_index + h.leaf_count) {
      return where + ": signed tree size " + std::to_string(h.tree_size) +
             " is not its first leaf plus its leaf count";
    }
    auto key = keys_.find(h.key_id);
    if (key == keys_.end()) return where + ": signing key " + h.key_id + " is unknown";
    if (!notary::VerifyBlock(h, common::AsBytes(b.signature), key->second).ok()) {
      return where + ": signature does not verify under key " + h.key_id;
    }
    auto bh = notary::BlockHash(h, common::AsBytes(b.signature));
    if (!bh.ok() || *bh != b.block_hash) {
      return where + ": block_hash differs from SHA-256 of header and signature";
    }
    auto vkey =
        notary::MakeNoteVerifierKey(b.checkpoint.substr(0, b.checkpoint.find('\n')), key->second);
    auto cp = vkey.ok() ? notary::OpenCheckpoint(b.checkpoint, *vkey)
                        : common::Result<notary::Checkpoint>(vkey.error());
    if (!cp.ok() || cp->size != h.tree_size || cp->root != h.tree_root) {
      return where + ": checkpoint signature or contents do not match the block";
    }
    cur_end_ = b.first_leaf + b.leaf_count;
    batch_.Clear();
    return "";
  }

  std::string FinishBlock() {
    const storage::BlockRow& b = cur_->row;
    const std::string where = "block " + std::to_string(b.height);
    pos_ = {next_index_, kLeafOrder};
    if (next_index_ != cur_end_) {
      return where + ": " + std::to_string(b.leaf_count) + " leaves signed, " +
             std::to_string(next_index_ - b.first_leaf) + " stored";
    }
    pos_ = {cur_end_ - 1, kBlockEnd};
    if (batch_.Root() != b.batch_root) {
      return where + ": batch_root recomputed as " + Hex(batch_.Root()) + ", signed " +
             Hex(b.batch_root);
    }
    if (tree_.Root() != b.tree_root) {
      return where + ": tree_root recomputed as " + Hex(tree_.Root()) + ", signed " +
             Hex(b.tree_root);
    }
    prev_ = b.block_hash;
    ++blocks_;
    cur_.reset();
    return "";
  }

  storage::AuditSnapshot& snapshot_;
  std::map<std::string, notary::Ed25519PublicKey> keys_;
  std::optional<common::Error> read_error_;
  bool blocks_done_ = false;
  std::deque<storage::AuditSnapshot::Block> pending_;
  std::optional<storage::AuditSnapshot::Block> cur_;
  int64_t cur_end_ = 0;
  int64_t next_index_ = 0;  // the next leaf index the chain expects
  int64_t blocks_ = 0;      // blocks fully verified; also the next expected height
  common::Hash prev_{};
  Frontier batch_, tree_;
  uint64_t leaves_ = 0, bytes_ = 0, canonical_skipped_ = 0, erased_ = 0, envelope_unchecked_ = 0,
           sender_unchecked_ = 0;
  Position pos_{0, kBlockStart};
};

// The stored bytes, checked apart from the chain on two threads of their own (default mode):
// one scan of message_blobs in physical order checks that every blob hashes to its key, and,
// alongside it, an anti-join finds receipts whose bytes are not stored at all. Each fault is mapped
// to the lowest sealed leaf it affects (bad keys a thousand at a time, so memory stays bounded
// however many are bad), for RunAudit to weigh against the ordered pass's first fault.
// Together with the ordered pass's check that each receipt's raw_sha256 is in its leaf
// record, this binds every sealed receipt's bytes to the chain, as reading the bytes per leaf
// did.
class BlobCheck {
 public:
  struct Outcome {
    std::optional<common::Error> read_error;
    std::optional<storage::BlobLeaf> first;  // the lowest leaf with a byte fault
    bool missing = false;                    // `first`'s bytes are missing (else they differ)
    uint64_t blobs = 0, bytes = 0;
    // Sealed at rest (migration 0012) and not opened: no key holder was given.
    uint64_t sealed_unopened = 0;
  };

  BlobCheck(storage::Database& db, int64_t extent, vault::Wrapper* wrapper)
      : wrapper_(wrapper),
        scan_([this, &db, extent](std::stop_token stop) { Scan(db, extent, stop); }),
        missing_([this, &db, extent] { Missing(db, extent); }) {}

  // Stops the scan early (its outcome is then of no use).
  void Stop() { scan_.request_stop(); }
  // Waits for both checks and merges what they found.
  const Outcome& Wait() {
    if (scan_.joinable()) scan_.join();
    if (missing_.joinable()) missing_.join();
    Outcome& o = outcome_;
    if (!o.read_error) o.read_error = missing_outcome_.read_error;
    if (missing_outcome_.first &&
        (!o.first || missing_outcome_.first->leaf_index < o.first->leaf_index)) {
      o.first = std::move(missing_outcome_.first);
      o.missing = true;
    }
    return o;
  }
  uint64_t bytes_so_far() const { return bytes_.load(std::memory_order_relaxed); }

 private:
  static void Keep(Outcome& o, common::Result<std::optional<storage::BlobLeaf>> found) {
    if (!found.ok()) {
      if (!o.read_error) o.read_error = found.error();
      return;
    }
    if (*found && (!o.first || (*found)->leaf_index < o.first->leaf_index)) {
      o.first = std::move(*found);
    }
  }

  // The scan: every blob against its key.
  void Scan(storage::Database& db, int64_t extent, std::stop_token stop) {
    Outcome& o = outcome_;
    auto scan = storage::BlobScan::Open(db);
    if (!scan.ok()) {
      o.read_error = scan.error();
      return;
    }
    std::unique_ptr<storage::BlobLeafFinder> finder;  // opened at the first bad blob
    std::vector<std::string> bad;
    auto flush = [&] {
      if (bad.empty() || o.read_error) return;
      if (!finder) {
        auto f = storage::BlobLeafFinder::Open(db);
        if (!f.ok()) {
          o.read_error = f.error();
          return;
        }
        finder = std::move(*f);
      }
      Keep(o, finder->FirstLeafReferencing(bad, extent));
      bad.clear();
    };
    auto st = (*scan)->ForEach([&](std::string_view key, std::string_view data) {
      if (!SameHash(common::Sha256Of(data), key)) {
        bad.emplace_back(key);
        if (bad.size() >= 1024) flush();
      }
      ++o.blobs;
      o.bytes += data.size();
      bytes_.store(o.bytes, std::memory_order_relaxed);
      return !stop.stop_requested();
    });
    if (!st.ok()) {
      o.read_error = st.error();
      return;
    }
    // The bytes sealed at rest, a batch at a time: opened with the key holder (one unwrapping
    // per tenant and key pair) and hashed against their key; without a holder, only counted.
    auto sealed = storage::SealedBlobScan::Open(db);
    if (!sealed.ok()) {
      o.read_error = sealed.error();
      return;
    }
    st = (*sealed)->ForEachBatch(256, [&](std::vector<storage::SealedBlob>& rows) {
      o.blobs += rows.size();
      if (wrapper_ == nullptr) {
        o.sealed_unopened += rows.size();
        return !stop.stop_requested();
      }
      auto opened = storage::OpenBlobs(*wrapper_, rows);
      if (!opened.ok()) {
        o.read_error = opened.error();
        return false;
      }
      for (size_t i = 0; i < rows.size(); ++i) {
        if ((*opened)[i].ok()) {
          o.bytes += (*opened)[i]->size();
        } else {
          bad.emplace_back(reinterpret_cast<const char*>(rows[i].sha256.data()),
                           rows[i].sha256.size());
          if (bad.size() >= 1024) flush();
        }
      }
      bytes_.store(o.bytes, std::memory_order_relaxed);
      return !stop.stop_requested();
    });
    if (!st.ok()) {
      if (!o.read_error) o.read_error = st.error();
      return;
    }
    flush();
  }

  // The anti-join, alongside the scan (it reads two indexes, not the bytes).
  void Missing(storage::Database& db, int64_t extent) {
    auto finder = storage::BlobLeafFinder::Open(db);
    if (!finder.ok()) {
      missing_outcome_.read_error = finder.error();
      return;
    }
    Keep(missing_outcome_, (*finder)->FirstLeafWithoutBlob(extent));
  }

  vault::Wrapper* const wrapper_;
  Outcome outcome_;          // written by scan_ only, read after Wait()
  Outcome missing_outcome_;  // written by missing_ only, read after Wait()
  std::atomic<uint64_t> bytes_{0};
  // Last: they start after the members they use exist.
  std::jthread scan_, missing_;
};

}  // namespace

int RunAudit(storage::Database& db, const AuditOptions& options, std::ostream& out,
             std::ostream& err) {
#if defined(__GLIBC__)
  // Each range of leaves is a libpq result of a few MB in small blocks, allocated in a worker
  // thread's arena and freed whole. With glibc's default trim threshold (128 KB) each free
  // gave the arena's top back to the kernel and the next range faulted it in again: half the
  // audit process's CPU at 1,000,000 receipts, 11.3 s against 5.5 s with the threshold at
  // 16 MB (docs/benchmarks.md). The process keeps up to 16 MB per arena instead.
  mallopt(M_TRIM_THRESHOLD, 16 << 20);
#endif
  auto cannot_read = [&](const common::Error& e) {
    if (options.progress) err << "\n";
    err << "audit: cannot read the database: " << common::TerminalSafe(e.ToString()) << "\n";
    return 2;
  };
  auto snapshot = storage::AuditSnapshot::Open(db);
  if (!snapshot.ok()) return cannot_read(snapshot.error());
  auto keys = (*snapshot)->SigningKeys();
  if (!keys.ok()) return cannot_read(keys.error());
  auto extent = (*snapshot)->LeafExtent();
  if (!extent.ok()) return cannot_read(extent.error());
  auto erased = (*snapshot)->ErasedReceipts();
  if (!erased.ok()) return cannot_read(erased.error());
  std::map<std::string, notary::Ed25519PublicKey> key_by_id;
  for (const auto& k : *keys) {
    auto pub = notary::ParseEd25519PublicKey(k.public_key);
    if (pub.ok()) key_by_id[k.key_id] = *pub;
  }
  ChainCheck check(**snapshot, std::move(key_by_id));
  auto fail = [&](const std::string& what) {
    if (check.read_error()) return cannot_read(*check.read_error());
    if (options.progress) err << "\n";
    err << "audit: FAILED: " << common::TerminalSafe(what) << "\n";
    return 1;
  };

  const unsigned workers =
      options.workers ? options.workers : std::max(1u, std::thread::hardware_concurrency());
  // Default mode: the bytes are checked by a scan of their own, alongside the ordered pass.
  std::optional<BlobCheck> blobs;
  if (!options.canonical) blobs.emplace(db, *extent, options.wrapper);
  auto stop_blobs = [&] {
    if (blobs) blobs->Stop();
  };
  // The ordered pass's first fault and where it lies in chain order.
  std::string fault;
  Position fault_at{std::numeric_limits<int64_t>::max(), kBlockStart};
  auto last_progress = std::chrono::steady_clock::now();
  {
    Pipeline pipe(db, *extent, workers, options.canonical, options.chunk_bytes, options.wrapper,
                  *erased);
    while (fault.empty()) {
      auto item = pipe.Next();
      if (!item) break;
      if (item->read_error) {
        stop_blobs();
        return cannot_read(*item->read_error);
      }
      for (const LeafResult& r : item->results) {
        if (auto e = check.Leaf(r); !e.empty()) {
          fault = std::move(e);
          fault_at = check.position();
          break;
        }
      }
      if (options.progress &&
          std::chrono::steady_clock::now() - last_progress > std::chrono::milliseconds(500)) {
        last_progress = std::chrono::steady_clock::now();
        err << "\raudit: " << check.leaves() << " of " << *extent << " leaves, "
            << (blobs ? blobs->bytes_so_far() : check.bytes()) / 1000000 << " MB" << std::flush;
      }
    }
  }
  if (fault.empty()) {
    fault = check.Finish();
    fault_at = check.position();
  }
  if (check.read_error()) {
    stop_blobs();
    return cannot_read(*check.read_error());
  }
  // Leaves outside the signed tree (after it in chain order).
  if (fault.empty()) {
    auto stray = (*snapshot)->StrayLeaf(check.tree_size());
    if (!stray.ok()) {
      stop_blobs();
      return cannot_read(stray.error());
    }
    if (*stray) {
      fault = "leaf " + std::to_string(**stray) +
              " is stored but no block signs it (the chain's last block ends at tree size " +
              std::to_string(check.tree_size()) + ")";
      fault_at = {std::numeric_limits<int64_t>::max(), kBlockStart};
    }
  }
  // Erased receipts are checked without their envelope and bytes: each must be accounted for
  // by an erasure record in the log, or its blanking would pass unseen.
  if (fault.empty()) {
    auto unrecorded = (*snapshot)->ErasureWithoutRecord();
    if (!unrecorded.ok()) {
      stop_blobs();
      return cannot_read(unrecorded.error());
    }
    if (*unrecorded) {
      fault = "receipt " + **unrecorded +
              " is erased, but no erasure record in the log names it (erased behind the log's"
              " back)";
      fault_at = {std::numeric_limits<int64_t>::max(), kBlockStart};
    }
  }
  uint64_t bytes = check.bytes();
  uint64_t sealed_unopened = 0;
  if (blobs) {
    const BlobCheck::Outcome& o = blobs->Wait();
    if (o.read_error) return cannot_read(*o.read_error);
    if (o.first && Position{o.first->leaf_index, kLeafBytes} < fault_at) {
      const storage::BlobLeaf& b = *o.first;
      return fail("leaf " + std::to_string(b.leaf_index) + " (receipt " + b.receipt_id +
                  ", block " +
                  (b.block_height < 0 ? std::string("none") : std::to_string(b.block_height)) +
                  "): " + (o.missing ? std::string(kBytesMissing) : BytesDiffer(b.raw_sha256)));
    }
    bytes = o.bytes;
    sealed_unopened = o.sealed_unopened;
  }
  if (!fault.empty()) return fail(fault);
  if (options.progress) err << "\n";
  out << "audit: OK: " << check.blocks() << " blocks, " << check.leaves() << " receipts, " << bytes
      << " bytes re-verified"
      << (options.canonical ? "; canonical hashes and parts roots re-derived"
                            : "; canonical hashes not re-derived (--canonical does)");
  if (check.canonical_skipped() > 0) {
    out << " (" << check.canonical_skipped()
        << " receipts of another canonical-form version, sealed with no key holder given, or"
           " erased, left as stored)";
  }
  if (check.erased() > 0) {
    out << "; " << check.erased()
        << " leaves of erased messages checked without their envelope, bytes or sender evidence,"
           " erased by design";
  }
  if (check.envelope_unchecked() > 0) {
    out << "; " << check.envelope_unchecked()
        << " envelopes sealed at rest not opened (give --signer or --data-dir to check them"
           " against their digests)";
  }
  if (check.sender_unchecked() > 0) {
    out << "; " << check.sender_unchecked()
        << " sender checks sealed at rest not opened (give --signer or --data-dir to check them"
           " against their records)";
  }
  if (sealed_unopened > 0) {
    out << "; " << sealed_unopened
        << " blobs sealed at rest present but not opened (give --signer or --data-dir to open"
           " and hash them)";
  }
  out << "\n";
  return 0;
}

}  // namespace pipeline
