// Pieces of C2SP signed-note parsing shared by checkpoint.cc (notes, note keys) and
// cosignature.cc (cosignature/v1 keys and lines). Internal to the log library.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "log/ed25519.h"

namespace notary::note_internal {

inline constexpr std::string_view kEmDashSpace = "\xE2\x80\x94 ";  // U+2014 then U+0020
inline constexpr size_t kMaxNoteBytes = 1 << 20;

// Valid UTF-8 (no overlongs, surrogates or code points above U+10FFFF) without control
// characters other than newline (and, when !allow_newline, without newline either).
bool CleanUtf8(std::string_view s, bool allow_newline);
// Base64 that re-encodes to itself, so that one signature has one spelling.
std::optional<std::string> CanonicalBase64(std::string_view b64);
// ASCII decimal, no leading zeroes (except "0"), no overflow.
bool ParseSize(std::string_view s, uint64_t& out);
// REQUIRES b.size() >= 4.
uint32_t BigEndian32(std::string_view b);

// SHA-256(name || 0x0A || type || key)[:4]: the signed-note key ID of a key of signature type
// `type` (0x01 note signatures, 0x04 cosignature/v1).
uint32_t TypedKeyId(std::string_view name, uint8_t type, const Ed25519PublicKey& key);

struct ParsedVkey {
  std::string name;
  uint32_t key_id = 0;
  Ed25519PublicKey public_key{};
};
std::string FormatVkey(std::string_view name, uint32_t key_id, uint8_t type,
                       const Ed25519PublicKey& key);
// "<name>+<8 hex>+<base64(type || 32-byte key)>" whose key ID matches; kInvalidInput otherwise.
common::Result<ParsedVkey> ParseVkey(std::string_view vkey, uint8_t type);

}  // namespace notary::note_internal
