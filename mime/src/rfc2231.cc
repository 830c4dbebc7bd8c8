// Structured MIME header values for canonical form version 2; see rfc2231.h and
// docs/canonical-form.md §V2.4, whose grammar the readers below follow.
#include "rfc2231.h"

#include <unordered_set>
#include <utility>

#include "header_fields.h"
#include "whatwg_encoding.h"

namespace mime::internal {
namespace {

// RFC 2045 §5.1 tspecials.
bool IsTspecial(char c) {
  switch (c) {
    case '(':
    case ')':
    case '<':
    case '>':
    case '@':
    case ',':
    case ';':
    case ':':
    case '\\':
    case '"':
    case '/':
    case '[':
    case ']':
    case '?':
    case '=':
      return true;
    default:
      return false;
  }
}

// RFC 2045 §5.1 token character: printable US-ASCII except tspecials.
bool IsTokenChar(char c) { return c >= 0x21 && c <= 0x7e && !IsTspecial(c); }

bool IsCfwsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// A comment starting at s[i] == '(' : nested parentheses, "\" quotes the next character; an
// unterminated comment runs to the end.
void SkipComment(std::string_view s, size_t& i) {
  size_t depth = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == '\\') {
      i += 2;
      continue;
    }
    ++i;
    if (c == '(') {
      ++depth;
    } else if (c == ')') {
      if (--depth == 0) return;
    }
  }
  i = s.size();
}

void SkipCfws(std::string_view s, size_t& i) {
  while (i < s.size()) {
    if (IsCfwsSpace(s[i])) {
      ++i;
    } else if (s[i] == '(') {
      SkipComment(s, i);
    } else {
      return;
    }
  }
}

std::string_view ReadToken(std::string_view s, size_t& i) {
  const size_t begin = i;
  while (i < s.size() && IsTokenChar(s[i])) ++i;
  return s.substr(begin, i - begin);
}

// A quoted string starting at s[i] == '"': "\" quotes the next character (a "\" at the very
// end is dropped); an unterminated string runs to the end.
std::string ReadQuoted(std::string_view s, size_t& i) {
  std::string out;
  ++i;
  while (i < s.size()) {
    const char c = s[i];
    if (c == '"') {
      ++i;
      return out;
    }
    if (c == '\\') {
      if (i + 1 < s.size()) out += s[i + 1];
      i += 2;
      continue;
    }
    out += c;
    ++i;
  }
  i = s.size();
  return out;
}

// An unquoted parameter value: every character up to ';', '"', SP, HT, CR or LF.
std::string_view ReadBareValue(std::string_view s, size_t& i) {
  const size_t begin = i;
  while (i < s.size() && s[i] != ';' && s[i] != '"' && !IsCfwsSpace(s[i])) ++i;
  return s.substr(begin, i - begin);
}

// Error recovery: to the next ';' outside quoted strings and comments.
void SkipToSemicolon(std::string_view s, size_t& i) {
  while (i < s.size() && s[i] != ';') {
    if (s[i] == '"') {
      (void)ReadQuoted(s, i);
    } else if (s[i] == '(') {
      SkipComment(s, i);
    } else {
      ++i;
    }
  }
}

// "name", "name*", "name*N", "name*N*" (N: decimal, no leading zero, at most 9 digits).
Parameter SplitAttribute(std::string_view attribute) {
  Parameter p;
  std::string name = Lower(attribute);
  if (!name.empty() && name.back() == '*') {
    p.extended = true;
    name.pop_back();
  }
  const size_t star = name.rfind('*');
  if (star != std::string::npos) {
    const std::string_view digits = std::string_view(name).substr(star + 1);
    bool ok = !digits.empty() && digits.size() <= 9 && (digits == "0" || digits[0] != '0');
    for (char c : digits) ok = ok && c >= '0' && c <= '9';
    if (ok) {
      p.section = std::stoll(std::string(digits));
      name.resize(star);
    }
  }
  p.base = std::move(name);
  return p;
}

// The identity of a parameter for duplicate detection: "name*0" and "name*0*" are one section.
std::string ParameterKey(const Parameter& p) {
  if (p.section >= 0) return p.base + "*" + std::to_string(p.section);
  return p.extended ? p.base + "*" : p.base;
}

// parameters := *(";" [CFWS attribute CFWS "=" CFWS value CFWS]), from s[i] (';' or the end).
std::vector<Parameter> ParseParameters(std::string_view s, size_t i, ParameterStats* stats) {
  std::vector<Parameter> out;
  std::unordered_set<std::string> seen;
  while (i < s.size()) {
    if (s[i] != ';') {
      ++stats->invalid;
      SkipToSemicolon(s, i);
      continue;
    }
    ++i;
    SkipCfws(s, i);
    if (i == s.size()) break;
    if (s[i] == ';') continue;
    const std::string_view attribute = ReadToken(s, i);
    SkipCfws(s, i);
    if (attribute.empty() || i == s.size() || s[i] != '=') {
      ++stats->invalid;
      SkipToSemicolon(s, i);
      continue;
    }
    ++i;
    SkipCfws(s, i);
    std::string value;
    if (i < s.size() && s[i] == '"') {
      value = ReadQuoted(s, i);
    } else {
      value = std::string(ReadBareValue(s, i));
      if (value.empty()) {
        ++stats->invalid;
        SkipToSemicolon(s, i);
        continue;
      }
    }
    SkipCfws(s, i);
    if (i < s.size() && s[i] != ';') {
      ++stats->invalid;
      SkipToSemicolon(s, i);
      continue;
    }
    Parameter p = SplitAttribute(attribute);
    p.value = std::move(value);
    if (!seen.insert(ParameterKey(p)).second) {
      ++stats->duplicate;
      continue;
    }
    out.push_back(std::move(p));
  }
  return out;
}

// RFC 2231 §4: "%" and two hex digits (either case) is a byte; any other "%" stands for itself.
std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// charset "'" language "'" text; without two "'" the whole value is text without charset.
std::string_view SplitExtended(std::string_view value, std::string_view* charset) {
  const size_t q1 = value.find('\'');
  const size_t q2 = q1 == std::string_view::npos ? q1 : value.find('\'', q1 + 1);
  if (q2 == std::string_view::npos) {
    *charset = {};
    return value;
  }
  *charset = value.substr(0, q1);
  return value.substr(q2 + 1);
}

// Bytes in an RFC 2231 charset to text: the WHATWG decoder of the label; without a usable
// label (none, not a label, "replacement"), as header bytes are read (header_fields.h).
std::string DecodeCharset(std::string_view charset, const std::string& bytes,
                          ParameterStats* stats) {
  if (!charset.empty()) {
    const std::optional<Encoding> e = EncodingForLabel(charset);
    if (e && *e != Encoding::kReplacement) {
      Decoded d = DecodeToUtf8(*e, bytes);
      stats->malformed += d.errors;
      return std::move(d.utf8);
    }
    ++stats->bad_charset;
  }
  HeaderStats ignored;
  return HeaderBytesToUtf8(bytes, &ignored);
}

const Parameter* Find(const std::vector<Parameter>& params, std::string_view name, int64_t section,
                      bool extended) {
  for (const Parameter& p : params) {
    if (p.base == name && p.section == section && (section >= 0 || p.extended == extended)) {
      return &p;
    }
  }
  return nullptr;
}

}  // namespace

ContentType ParseContentType(std::string_view s, ParameterStats* stats) {
  ContentType ct;
  size_t i = 0;
  SkipCfws(s, i);
  const std::string_view type = ReadToken(s, i);
  SkipCfws(s, i);
  if (type.empty() || i == s.size() || s[i] != '/') return ct;
  ++i;
  SkipCfws(s, i);
  const std::string_view subtype = ReadToken(s, i);
  SkipCfws(s, i);
  if (subtype.empty() || (i < s.size() && s[i] != ';')) return ct;
  ct.valid = true;
  ct.type = Lower(type);
  ct.subtype = Lower(subtype);
  ct.params = ParseParameters(s, i, stats);
  return ct;
}

ContentDisposition ParseContentDisposition(std::string_view s, ParameterStats* stats) {
  ContentDisposition cd;
  size_t i = 0;
  SkipCfws(s, i);
  if (i == s.size()) return cd;  // kEmpty
  const std::string_view type = ReadToken(s, i);
  SkipCfws(s, i);
  if (type.empty() || (i < s.size() && s[i] != ';')) {
    cd.kind = ContentDisposition::Kind::kInvalid;
    SkipToSemicolon(s, i);
  } else {
    cd.kind = ContentDisposition::Kind::kValid;
    cd.type = Lower(type);
  }
  cd.params = ParseParameters(s, i, stats);
  return cd;
}

std::string ParseTransferEncoding(std::string_view s) {
  size_t i = 0;
  SkipCfws(s, i);
  const std::string_view token = ReadToken(s, i);
  SkipCfws(s, i);
  if (token.empty() || i != s.size()) return {};
  return Lower(token);
}

std::optional<std::string> GetParameter(const std::vector<Parameter>& params, std::string_view name,
                                        Rfc2047Stats* rfc2047, ParameterStats* stats) {
  if (const Parameter* p = Find(params, name, -1, /*extended=*/true)) {
    std::string_view charset;
    const std::string_view text = SplitExtended(p->value, &charset);
    return DecodeCharset(charset, PercentDecode(text), stats);
  }
  if (Find(params, name, 0, false) != nullptr) {
    // Sections by number, in one pass (a value of 100,000 sections stays linear). Sections
    // past params.size() cannot be part of the run that starts at 0.
    std::vector<const Parameter*> sections(params.size(), nullptr);
    for (const Parameter& p : params) {
      if (p.base == name && p.section >= 0 && static_cast<size_t>(p.section) < params.size()) {
        sections[static_cast<size_t>(p.section)] = &p;
      }
    }
    std::string_view charset;
    std::string bytes;
    bool any_extended = false;
    for (size_t k = 0; k < sections.size() && sections[k] != nullptr; ++k) {
      // RFC 2231 §3: sections are sequential; those after the first missing one are ignored.
      const Parameter& p = *sections[k];
      if (p.extended) {
        any_extended = true;
        bytes += PercentDecode(k == 0 ? SplitExtended(p.value, &charset) : p.value);
      } else {
        bytes += p.value;
      }
    }
    if (any_extended) return DecodeCharset(charset, bytes, stats);
    return rfc2047 != nullptr ? DecodeEncodedWords(bytes, rfc2047) : bytes;
  }
  if (const Parameter* p = Find(params, name, -1, /*extended=*/false)) {
    return rfc2047 != nullptr ? DecodeEncodedWords(p->value, rfc2047) : p->value;
  }
  return std::nullopt;
}

}  // namespace mime::internal
