// Header blocks for canonical form version 2; see header_fields.h.
#include "header_fields.h"

#include "whatwg_encoding.h"

namespace mime::internal {
namespace {

bool IsWsp(char c) { return c == ' ' || c == '\t'; }

// RFC 5322 §3.6.8 ftext: printable US-ASCII except ':'.
bool IsFtext(char c) { return c >= 0x21 && c <= 0x7e && c != ':'; }

bool HasEightBit(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return true;
  }
  return false;
}

}  // namespace

HeaderLine ClassifyHeaderLine(std::string_view line, bool after_field) {
  if (line.empty()) return HeaderLine::kEmpty;
  if (IsWsp(line[0])) return after_field ? HeaderLine::kContinuation : HeaderLine::kOther;
  size_t i = 0;
  while (i < line.size() && IsFtext(line[i])) ++i;
  if (i == 0) return HeaderLine::kOther;
  // RFC 5322 §4.5.8 (obsolete syntax): whitespace may precede the colon.
  while (i < line.size() && IsWsp(line[i])) ++i;
  return i < line.size() && line[i] == ':' ? HeaderLine::kField : HeaderLine::kOther;
}

std::string HeaderBytesToUtf8(std::string_view raw, HeaderStats* stats) {
  if (!HasEightBit(raw)) return std::string(raw);
  if (DecodeToUtf8(Encoding::kUtf8, raw).errors == 0) {
    ++stats->eight_bit_utf8;
    return std::string(raw);  // as written: a BOM stays
  }
  ++stats->windows_1252;
  return DecodeToUtf8(Encoding::kWindows1252, raw).utf8;
}

std::vector<HeaderField> SplitHeaderBlock(std::string_view block, HeaderStats* stats) {
  std::vector<HeaderField> fields;
  std::string name;
  std::string raw_value;
  bool open = false;
  auto flush = [&] {
    if (open) fields.push_back({std::move(name), HeaderBytesToUtf8(raw_value, stats)});
    name.clear();
    raw_value.clear();
    open = false;
  };
  size_t pos = 0;
  while (pos < block.size()) {
    size_t end = block.find("\r\n", pos);
    const size_t next = end == std::string_view::npos ? block.size() : end + 2;
    if (end == std::string_view::npos) end = block.size();
    const std::string_view line = block.substr(pos, end - pos);
    pos = next;
    const HeaderLine kind = ClassifyHeaderLine(line, open);
    if (kind == HeaderLine::kContinuation) {
      raw_value += line;  // unfolding: the CRLF before the SP/HT is gone, the SP/HT stays
      continue;
    }
    if (kind != HeaderLine::kField) continue;  // excluded by REQUIRES
    flush();
    size_t i = 0;
    while (IsFtext(line[i])) ++i;
    name.assign(line.substr(0, i));
    const size_t colon = line.find(':', i);
    raw_value.assign(line.substr(colon + 1));
    open = true;
  }
  flush();
  return fields;
}

}  // namespace mime::internal
