// The audit's pass over the stored message bytes, apart from the chain: message_blobs is
// content-addressed (its key is the SHA-256 of its data), so one sequential read of the table
// checks every stored byte without a look-up per receipt.
//   BlobScan::ForEach: every (key, data) in physical order, streamed with binary COPY over a
//     libpq connection of its own; memory stays at one row (or one network message).
//   BlobLeafFinder: maps bad keys, and receipts whose bytes are not stored at all, to the
//     lowest sealed leaf they affect, so that the audit can still name the first fault in
//     chain order (which receipt, which block). A connection of its own, so that the
//     anti-join can run while a scan streams.
// Rows are append-only, so a scan and the audit's other reads on other connections (other
// snapshots) agree on every row that both see.
//
// Thread-safety: a BlobScan or a BlobLeafFinder is used by one thread at a time (each owns
// its connection).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "storage/database.h"
#include "storage/sealed_blobs.h"

namespace storage {

// A sealed leaf whose receipt's bytes are wrong or missing.
struct BlobLeaf {
  int64_t leaf_index = 0;
  std::string receipt_id;
  int64_t block_height = -1;  // the block whose index range holds the leaf; -1 if none
  std::string raw_sha256;     // the receipt's raw_sha256, as stored
};

class BlobScan {
 public:
  // Opens a connection of its own with the pool's URL (not from the pool: a long read).
  static common::Result<std::unique_ptr<BlobScan>> Open(Database& db);
  ~BlobScan();
  BlobScan(const BlobScan&) = delete;
  BlobScan& operator=(const BlobScan&) = delete;

  // Calls `fn(key, data)` for every row of message_blobs; the views are valid during the call
  // only. `fn` returns false to stop the scan (then kUnavailable, and the scan is spent).
  // kInternal when the stream is not well-formed binary COPY.
  common::Status ForEach(const std::function<bool(std::string_view, std::string_view)>& fn);

  struct Impl;

 private:
  explicit BlobScan(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The bytes sealed at rest (migration 0012), for the audit: every row of sealed_blobs with its
// tenant's name, a batch at a time through a cursor on a connection of its own (one snapshot).
class SealedBlobScan {
 public:
  static common::Result<std::unique_ptr<SealedBlobScan>> Open(Database& db);
  ~SealedBlobScan();
  SealedBlobScan(const SealedBlobScan&) = delete;
  SealedBlobScan& operator=(const SealedBlobScan&) = delete;

  // Calls `fn` with batches of at most `batch` rows until the table is read or `fn` returns
  // false (then kUnavailable).
  common::Status ForEachBatch(size_t batch,
                              const std::function<bool(std::vector<SealedBlob>&)>& fn);

  struct Impl;

 private:
  explicit SealedBlobScan(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class BlobLeafFinder {
 public:
  // Opens a connection of its own with the pool's URL.
  static common::Result<std::unique_ptr<BlobLeafFinder>> Open(Database& db);
  ~BlobLeafFinder();
  BlobLeafFinder(const BlobLeafFinder&) = delete;
  BlobLeafFinder& operator=(const BlobLeafFinder&) = delete;

  // The lowest leaf index in [0, extent) whose receipt's raw_sha256 is one of `keys`.
  common::Result<std::optional<BlobLeaf>> FirstLeafReferencing(const std::vector<std::string>& keys,
                                                               int64_t extent);
  // The lowest leaf index in [0, extent) whose receipt has no bytes stored: no message_blobs
  // row of its raw_sha256, nor a sealed_blobs row of its tenant and raw_sha256.
  common::Result<std::optional<BlobLeaf>> FirstLeafWithoutBlob(int64_t extent);

  struct Impl;

 private:
  explicit BlobLeafFinder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace storage
