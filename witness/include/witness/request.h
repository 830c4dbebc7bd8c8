// The body of a C2SP tlog-witness add-checkpoint request (c2sp.org/tlog-witness):
//
//   old <size>\n            ASCII decimal, no leading zeroes ("0" for zero)
//   <base64 hash>\n         0 to 63 consistency proof lines, each one 32-byte hash
//   \n
//   <checkpoint signed note>
//
// A pure, bounded parser: the first thing a stranger's bytes meet, fuzzed apart from the
// server. It does not parse the note itself (the witness does, log/checkpoint.h).
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"

namespace witness {

inline constexpr size_t kMaxProofLines = 63;

struct AddCheckpointRequest {
  uint64_t old_size = 0;
  std::vector<common::Hash> proof;
  std::string checkpoint;  // the signed note, exactly as sent

  bool operator==(const AddCheckpointRequest&) const = default;
};

// kInvalidInput unless `body` is exactly the form above: a missing or malformed old size line
// (leading zero, sign, overflow), a proof line that is not canonical base64 of 32 bytes, more
// than 63 proof lines, a proof with an old size of 0 (the specification requires it empty),
// no empty line, or an empty checkpoint.
common::Result<AddCheckpointRequest> ParseAddCheckpointRequest(std::string_view body);

// The body ParseAddCheckpointRequest reads back (for clients, tests and the benchmark).
std::string FormatAddCheckpointRequest(const AddCheckpointRequest& request);

}  // namespace witness
