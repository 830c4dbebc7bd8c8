// SpoolFrame: how one spooled record sits in a spool segment file, so that a reader finds
// where each record starts and ends and recognises a record torn by a crash:
//   "NSF1" | id length (u32 LE) | data length (u64 LE) | SHA-256(id || data) | id | data
// A torn or overwritten tail fails the length bound or the digest and is never forwarded.
//
// Pure: no I/O. Thread-safety: plain functions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace milter {

inline constexpr size_t kFrameHeaderBytes = 4 + 4 + 8 + 32;

std::string EncodeFrame(std::string_view id, std::string_view data);
// The kFrameHeaderBytes that precede `id` and the data, when the data is the concatenation of
// `parts` (so that a writer can send the parts where they lie, without joining them first).
std::string EncodeFrameHeader(std::string_view id, std::span<const std::string_view> parts);

struct FrameHeader {
  uint32_t id_bytes = 0;
  uint64_t data_bytes = 0;
  std::string digest;  // 32 bytes
  uint64_t frame_bytes() const { return kFrameHeaderBytes + id_bytes + data_bytes; }
};
// nullopt when `header` (kFrameHeaderBytes long) is not a frame header, or its frame would
// run past `available` bytes.
std::optional<FrameHeader> DecodeFrameHeader(std::string_view header, uint64_t available);
// True when `body` (id || data, as the header announced) matches the header's digest.
bool FrameBodyMatches(const FrameHeader& h, std::string_view body);

}  // namespace milter
