// Private: the reader of PostgreSQL's binary COPY format, for BlobScan (blob_scan.cc), which
// reads message_blobs with `COPY (SELECT sha256, data ...) TO STDOUT (FORMAT binary)` through
// libpq because libpqxx 6 has no binary COPY. It is a class of its own, free of libpq, so that
// it is tested on hand-built streams (tests/storage/copy_parser_test.cc) and fuzzed
// (tests/fuzz/copy_fuzz.cc) without a server.
//
// The format (PostgreSQL docs, "COPY", section "Binary Format"): the 11-byte signature
// "PGCOPY\n\377\r\n\0", an int32 flags field (bits 0-15 critical: a reader must abort on one
// it does not know; bit 16: each tuple starts with an OID), an int32 header extension length
// and that many bytes; then tuples, each an int16 field count and per field an int32 length
// (-1 for NULL) and that many bytes; then the trailer, an int16 -1. Integers are big-endian.
//
// The bytes come as libpq hands over the CopyData messages, which need not end on row
// boundaries: a row cut by a message is held back until it is whole. Only the stream of
// message_blobs is accepted: two fields per tuple, neither NULL, no OIDs.
//
// Memory: what is held back is at most the bytes received since the last whole row (a field
// length is never allocated before its bytes come); a header extension over 1 MiB or a field
// longer than PostgreSQL can send (1 GiB - 1) is refused as soon as its length is read.
//
// Not thread-safe: one parser per stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace storage::internal {

class CopyParser {
 public:
  // kMore: the stream may go on; kDone: the trailer was read and nothing followed it (so far);
  // kBad: not a well-formed stream of two-field tuples. kDone and kBad only give way to kBad.
  enum class State { kMore, kDone, kBad };
  // One whole tuple: the first field and the second. The views live until the callback
  // returns; the callback must not feed this parser.
  using RowFn = std::function<void(std::string_view key, std::string_view data)>;

  // Bounds on lengths read from the stream, checked before anything is held for them.
  static constexpr uint32_t kMaxHeaderExtension = 1u << 20;
  // PostgreSQL's MaxAllocSize: no datum it sends is longer.
  static constexpr uint32_t kMaxFieldBytes = 0x3fffffffu;

  // Feeds the next bytes of the stream; calls `fn` for each tuple made whole by them, in
  // order. Anything after the trailer makes the stream bad, however the messages cut it.
  State Feed(std::string_view bytes, const RowFn& fn);

  State state() const { return state_; }
  // The stream ended with its trailer: only then were all its tuples read.
  bool clean_end() const { return state_ == State::kDone; }
  // The memory held for a row not yet whole (its buffer's capacity).
  size_t held_bytes() const { return carry_.capacity(); }

 private:
  // Parses whole headers and tuples from p[0, n); returns how many bytes they took.
  size_t Parse(const char* p, size_t n, const RowFn& fn);

  bool header_done_ = false;
  State state_ = State::kMore;
  std::string carry_;  // the start of a header or tuple not yet whole
};

}  // namespace storage::internal
