// A bounds-checked big-endian reader, the inverse of common::Append*.
//
// Thread-safety: an instance is used by one thread.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace common {

class ByteReader {
 public:
  explicit ByteReader(std::string_view data) : data_(data) {}

  bool U8(uint8_t& out) { return Int(out); }
  bool U16(uint16_t& out) { return Int(out); }
  bool U32(uint32_t& out) { return Int(out); }
  bool U64(uint64_t& out) { return Int(out); }
  bool I64(int64_t& out) {
    uint64_t u = 0;
    if (!Int(u)) return false;
    out = static_cast<int64_t>(u);  // two's complement, as AppendU64 wrote it
    return true;
  }
  template <size_t N>
  bool Fixed(std::array<uint8_t, N>& out) {
    if (data_.size() < N) return false;
    std::memcpy(out.data(), data_.data(), N);
    data_.remove_prefix(N);
    return true;
  }
  bool Literal(std::string_view expected) {
    if (data_.substr(0, expected.size()) != expected) return false;
    data_.remove_prefix(expected.size());
    return true;
  }
  // A u32 length-prefixed string of at most `max` bytes.
  bool String(std::string& out, size_t max) {
    uint32_t len = 0;
    if (!U32(len) || len > max || data_.size() < len) return false;
    out.assign(data_.substr(0, len));
    data_.remove_prefix(len);
    return true;
  }
  bool done() const { return data_.empty(); }

 private:
  template <class T>
  bool Int(T& out) {
    if (data_.size() < sizeof(T)) return false;
    T v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) {
      v = static_cast<T>((v << 8) | static_cast<uint8_t>(data_[i]));
    }
    data_.remove_prefix(sizeof(T));
    out = v;
    return true;
  }

  std::string_view data_;
};

}  // namespace common
