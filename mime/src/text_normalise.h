// Private text helpers of the canonicaliser: whitespace collapsing for header values,
// line normalisation for text bodies and conversion of declared charsets to UTF-8.
//
// Thread-safety: pure functions (ToUtf8 needs g_mime_init to have run).
#pragma once

#include <string>
#include <string_view>

namespace mime::internal {

// Runs of SP, HT, CR and LF become one SP; leading and trailing whitespace is removed.
std::string CollapseWhitespace(std::string_view s);

// Lines end at CRLF, LF or a lone CR. Trailing SP/HT are removed from every line, trailing
// empty lines are dropped, and every remaining line is terminated by one LF.
std::string NormaliseTextLines(std::string_view s);

// Converts `bytes` declared as `charset` (lower case; empty means US-ASCII) to UTF-8.
// US-ASCII and UTF-8 are accepted when the bytes are valid UTF-8. Returns false, leaving
// *out unspecified, for an unknown charset, an invalid byte sequence or a NUL byte.
bool ToUtf8(std::string_view bytes, const std::string& charset, std::string* out);

}  // namespace mime::internal
