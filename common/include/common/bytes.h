// Byte strings, fixed-size digests and their hex/base64 forms.
//
// Thread-safety: pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace common {

using Hash = std::array<uint8_t, 32>;  // a SHA-256 digest

std::span<const uint8_t> AsBytes(std::string_view s);
std::string_view AsChars(std::span<const uint8_t> b);

std::string ToHex(std::span<const uint8_t> bytes);
inline std::string ToHex(const Hash& h) { return ToHex(std::span<const uint8_t>(h)); }
// Accepts upper and lower case; nullopt on odd length or a non-hex character.
std::optional<std::string> FromHex(std::string_view hex);
std::optional<Hash> HashFromHex(std::string_view hex);
// Lower case only, as every hashed or signed format here writes hex: evidence a person reads
// must have one spelling, so "AB" where "ab" is specified is malformed, not equal.
std::optional<std::string> FromLowerHex(std::string_view hex);
std::optional<Hash> HashFromLowerHex(std::string_view hex);

std::string Base64Encode(std::span<const uint8_t> bytes);
inline std::string Base64Encode(std::string_view s) { return Base64Encode(AsBytes(s)); }
// Standard alphabet with padding; nullopt on anything else (whitespace included).
std::optional<std::string> Base64Decode(std::string_view b64);

// Constant-time equality for secrets (API keys, MACs). Length is not secret.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// Big-endian fixed-width encoding, used by every hashed or signed record.
void AppendU8(std::string& out, uint8_t v);
void AppendU16(std::string& out, uint16_t v);
void AppendU32(std::string& out, uint32_t v);
void AppendU64(std::string& out, uint64_t v);
void AppendBytes(std::string& out, std::span<const uint8_t> b);
// A length-prefixed (u32 big-endian) byte string.
void AppendLengthPrefixed(std::string& out, std::string_view s);

}  // namespace common
