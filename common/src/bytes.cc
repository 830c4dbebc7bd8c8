#include "common/bytes.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace common {

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string_view AsChars(std::span<const uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

std::string ToHex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

namespace {
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::optional<std::string> FromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = HexValue(hex[i]);
    int lo = HexValue(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>((hi << 4) | lo));
  }
  return out;
}

std::optional<std::string> FromLowerHex(std::string_view hex) {
  for (char c : hex) {
    if (c >= 'A' && c <= 'F') return std::nullopt;
  }
  return FromHex(hex);
}

std::optional<Hash> HashFromLowerHex(std::string_view hex) {
  for (char c : hex) {
    if (c >= 'A' && c <= 'F') return std::nullopt;
  }
  return HashFromHex(hex);
}

std::optional<Hash> HashFromHex(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  auto raw = FromHex(hex);
  if (!raw) return std::nullopt;
  Hash h;
  std::copy(raw->begin(), raw->end(), reinterpret_cast<char*>(h.data()));
  return h;
}

std::string Base64Encode(std::span<const uint8_t> bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::optional<std::string> Base64Decode(std::string_view b64) {
  if (b64.size() % 4 != 0) return std::nullopt;
  for (char c : b64) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/' || c == '=';
    if (!ok) return std::nullopt;
  }
  std::string out(b64.size() / 4 * 3 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(b64.data()),
                          static_cast<int>(b64.size()));
  if (n < 0) return std::nullopt;
  size_t len = static_cast<size_t>(n);
  // EVP_DecodeBlock counts padding as zero bytes; remove them.
  size_t pad = 0;
  if (!b64.empty() && b64.back() == '=') pad++;
  if (b64.size() > 1 && b64[b64.size() - 2] == '=') pad++;
  if (pad > len) return std::nullopt;
  out.resize(len - pad);
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void AppendU8(std::string& out, uint8_t v) { out.push_back(static_cast<char>(v)); }
void AppendU16(std::string& out, uint16_t v) {
  AppendU8(out, static_cast<uint8_t>(v >> 8));
  AppendU8(out, static_cast<uint8_t>(v));
}
void AppendU32(std::string& out, uint32_t v) {
  AppendU16(out, static_cast<uint16_t>(v >> 16));
  AppendU16(out, static_cast<uint16_t>(v));
}
void AppendU64(std::string& out, uint64_t v) {
  AppendU32(out, static_cast<uint32_t>(v >> 32));
  AppendU32(out, static_cast<uint32_t>(v));
}
void AppendBytes(std::string& out, std::span<const uint8_t> b) {
  out.append(reinterpret_cast<const char*>(b.data()), b.size());
}
void AppendLengthPrefixed(std::string& out, std::string_view s) {
  AppendU32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

}  // namespace common
