// Raw DEFLATE (RFC 1951) pieces for the production's zip, made on the builder threads so that
// the zip's last step only copies bytes: deflating every native and the whole mailbox had
// been one thread's work at the end of each export (docs/benchmarks.md).
//
// A whole stream (a native) ends with a final block. A piece of a stream (one message of the
// mailbox) ends with a sync flush: its blocks are not final and end on a byte boundary, so
// pieces deflated apart, one after the other, and then FinalBlock(), are one valid stream
// (as pigz builds its output). Each piece starts with an empty window, which costs a little
// compression and nothing else.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace production {

struct Deflated {
  std::string data;   // raw DEFLATE, as a zip entry of method 8 holds it
  uint32_t crc = 0;   // CRC-32 of the input
  uint64_t size = 0;  // bytes of input
};

// Level 6, zlib's and Info-ZIP's default. `whole`: a complete stream; otherwise a piece.
common::Result<Deflated> Deflate(std::string_view in, bool whole);

// The stream's last block: final, empty.
common::Result<std::string> FinalBlock();

// The CRC-32 and size of a stream's input so far, `piece`'s input appended (its data is the
// caller's to write).
void Follow(uint32_t& crc, uint64_t& size, const Deflated& piece);

}  // namespace production
