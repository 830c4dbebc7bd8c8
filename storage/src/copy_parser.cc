#include "copy_parser.h"

#include <cstring>

namespace storage::internal {
namespace {

constexpr char kSignature[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', '\xff', '\r', '\n', '\0'};
constexpr size_t kHeaderBytes = sizeof kSignature + 4 + 4;  // signature, flags, extension length

// Big-endian reads (libpq_util.h has the same, but this file stays free of libpq).
uint32_t Be32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | u[3];
}
uint16_t Be16(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint16_t>((u[0] << 8) | u[1]);
}

}  // namespace

CopyParser::State CopyParser::Feed(std::string_view bytes, const RowFn& fn) {
  if (state_ == State::kDone && !bytes.empty()) state_ = State::kBad;
  if (state_ != State::kMore) return state_;
  if (carry_.empty()) {
    // Most messages hold whole rows: parse them in place, keep only a cut row's start.
    const size_t used = Parse(bytes.data(), bytes.size(), fn);
    if (state_ == State::kMore) carry_.assign(bytes.substr(used));
    if (state_ == State::kDone && used < bytes.size()) state_ = State::kBad;
    return state_;
  }
  carry_.append(bytes);
  const size_t used = Parse(carry_.data(), carry_.size(), fn);
  carry_.erase(0, used);
  if (state_ == State::kDone && !carry_.empty()) state_ = State::kBad;
  return state_;
}

size_t CopyParser::Parse(const char* p, size_t n, const RowFn& fn) {
  size_t at = 0;
  if (!header_done_) {
    if (n < kHeaderBytes) return 0;
    // Flags: bits 0-15 are critical (abort on any), bit 16 puts an OID before each tuple's
    // fields, which this reader does not read; bits 17-31 may be ignored.
    const uint32_t flags = Be32(p + 11);
    const uint32_t ext = Be32(p + 15);
    if (std::memcmp(p, kSignature, sizeof kSignature) != 0 || (flags & 0x1ffffu) != 0 ||
        ext > kMaxHeaderExtension) {
      state_ = State::kBad;
      return 0;
    }
    if (n < kHeaderBytes + size_t{ext}) return 0;
    at = kHeaderBytes + ext;
    header_done_ = true;
  }
  while (state_ == State::kMore && n - at >= 2) {
    const auto fields = static_cast<int16_t>(Be16(p + at));
    if (fields == -1) {
      state_ = State::kDone;
      return at + 2;
    }
    if (fields != 2) {
      state_ = State::kBad;
      return at;
    }
    // Two fields, each a 4-byte length and its bytes; neither may be NULL.
    size_t q = at + 2;
    std::string_view f[2];
    bool whole = true;
    for (auto& v : f) {
      if (n - q < 4) {
        whole = false;
        break;
      }
      // Read as unsigned: -1 (NULL, which neither NOT NULL column holds) and every other
      // negative length (not in the format) are over the bound, as is a length no server
      // sends; refused now rather than waited for.
      const uint32_t len = Be32(p + q);
      if (len > kMaxFieldBytes) {
        state_ = State::kBad;
        return at;
      }
      if (n - q - 4 < len) {
        whole = false;
        break;
      }
      v = std::string_view(p + q + 4, len);
      q += 4 + size_t{len};
    }
    if (!whole) break;
    fn(f[0], f[1]);
    at = q;
  }
  return at;
}

}  // namespace storage::internal
