// RFC 2047 encoded words for canonical form version 2 (docs/canonical-form.md §V2.3), by our
// stated rules: where a word is recognised, the syntax accepted, how B and Q text becomes
// bytes, which adjacent words are joined before charset decoding, and when a word is left as
// written. Charsets are WHATWG labels decoded by whatwg_encoding.h.
//
// Pure, linear in the input whatever it holds; no GMime. Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace mime::internal {

// Why words were left as written or decoded with errors (for content-free warnings).
struct Rfc2047Stats {
  size_t unknown_charset = 0;      // not a WHATWG label
  size_t replacement_charset = 0;  // a label of the "replacement" encoding
  size_t invalid_base64 = 0;       // B text that forgiving-base64 rejects
  size_t malformed_bytes = 0;      // U+FFFD produced by a charset decoder
};

// Replaces every encoded word in `text` (valid UTF-8) by its decoded text and drops the
// whitespace between adjacent encoded words; everything else is left as it is.
std::string DecodeEncodedWords(std::string_view text, Rfc2047Stats* stats);

// The WHATWG Infra Standard's "forgiving-base64 decode" (what atob() does), without its
// whitespace removal (B text holds none). nullopt on failure.
std::optional<std::string> ForgivingBase64Decode(std::string_view data);

}  // namespace mime::internal
