// The decoders of the WHATWG Encoding Standard (https://encoding.spec.whatwg.org/), for
// canonical form version 2: a charset label becomes an encoding through the standard's label
// table only (never an iconv alias of the platform), and bytes become UTF-8 exactly as a
// browser's `new TextDecoder(label).decode(bytes)` does, so that anyone can reproduce them.
// The tables come from whatwg/encoding (whatwg_tables.inc, made by
// mime/tools/gen_whatwg_tables.py); tests/mime/whatwg_crosscheck.mjs compares the decoders
// with Chromium's.
//
// Pure: no I/O, no allocation beyond the result, no exceptions. Time and memory are linear in
// the input whatever it holds.
// Thread-safety: every function may be called from many threads at once (no mutable state).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace mime {

// Every encoding of the standard, in the order of its "Names and labels" table.
enum class Encoding {
  kUtf8,
  // Legacy single-byte encodings.
  kIbm866,
  kIso8859_2,
  kIso8859_3,
  kIso8859_4,
  kIso8859_5,
  kIso8859_6,
  kIso8859_7,
  kIso8859_8,
  kIso8859_8I,
  kIso8859_10,
  kIso8859_13,
  kIso8859_14,
  kIso8859_15,
  kIso8859_16,
  kKoi8R,
  kKoi8U,
  kMacintosh,
  kWindows874,
  kWindows1250,
  kWindows1251,
  kWindows1252,
  kWindows1253,
  kWindows1254,
  kWindows1255,
  kWindows1256,
  kWindows1257,
  kWindows1258,
  kXMacCyrillic,
  // Legacy multi-byte encodings.
  kGbk,
  kGb18030,
  kBig5,
  kEucJp,
  kIso2022Jp,
  kShiftJis,
  kEucKr,
  // Legacy miscellaneous encodings.
  kReplacement,
  kUtf16Be,
  kUtf16Le,
  kXUserDefined,
};

inline constexpr size_t kEncodingCount = static_cast<size_t>(Encoding::kXUserDefined) + 1;

// "Get an encoding": strips leading and trailing ASCII whitespace (TAB, LF, FF, CR, SP) and
// matches the rest ASCII case-insensitively against the standard's labels. nullopt when it is
// no label. Note that labels such as "iso-2022-kr" give Encoding::kReplacement.
std::optional<Encoding> EncodingForLabel(std::string_view label);

// The standard's name of `e`: "UTF-8", "windows-1252", "EUC-KR", "gb18030", "replacement"...
std::string_view EncodingName(Encoding e);

struct Decoded {
  std::string utf8;   // valid UTF-8
  size_t errors = 0;  // how many U+FFFD stand for malformed input (not for a decoded U+FFFD)
};

// What `new TextDecoder(EncodingName(e)).decode(bytes)` returns (error mode "replacement",
// ignore BOM false), as UTF-8: a leading BOM is dropped only when it is the BOM of `e` itself
// (UTF-8, UTF-16LE, UTF-16BE; no other BOM sniffing), and malformed input becomes U+FFFD as
// the standard's decoders say, including the bytes they put back into the stream. The
// replacement encoding (which TextDecoder refuses) gives one U+FFFD for non-empty input.
Decoded DecodeToUtf8(Encoding e, std::string_view bytes);

}  // namespace mime
