// Header blocks for canonical form version 2 (docs/canonical-form.md §V2.2): which line of a
// header block is a field, a continuation, the empty line or something else, how a block
// splits into fields, and how raw header bytes become text (UTF-8 when the value is valid
// UTF-8, else windows-1252 as the WHATWG Encoding Standard decodes it).
//
// Pure, linear in the input; no GMime. Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace mime::internal {

// One header field: the name as written and the value after the colon, unfolded (every CRLF
// that precedes SP or HT removed) and read as text.
struct HeaderField {
  std::string name;
  std::string value;  // valid UTF-8
};

enum class HeaderLine {
  kEmpty,         // the empty line that ends a header block
  kField,         // field-name *WSP ":" ...
  kContinuation,  // starts with SP or HT and follows a field line
  kOther,         // anything else: ends the header block and is the body's first line
};

// `line` excludes its CRLF. `after_field`: a field line precedes it in the same block.
HeaderLine ClassifyHeaderLine(std::string_view line, bool after_field);

// Counts of how 8-bit header values were read (for warnings).
struct HeaderStats {
  size_t eight_bit_utf8 = 0;  // values with 8-bit bytes that are valid UTF-8
  size_t windows_1252 = 0;    // values that are not valid UTF-8, read as windows-1252
};

// The bytes of one value as text: unchanged when they are valid UTF-8 (the WHATWG UTF-8
// decoder reports no error; a BOM is kept), else decoded as windows-1252.
std::string HeaderBytesToUtf8(std::string_view raw, HeaderStats* stats);

// REQUIRES: every line of `block` (lines end at CRLF; the last one may lack it) classifies as
// kField or kContinuation, as the scanner in mime_parser.cc guarantees.
std::vector<HeaderField> SplitHeaderBlock(std::string_view block, HeaderStats* stats);

}  // namespace mime::internal
