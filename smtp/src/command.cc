#include "smtp/command.h"

#include <charconv>
#include <cstdio>

#include "common/ascii.h"

namespace smtp {
namespace {

using common::AsciiUpper;
using common::EqualsIgnoreAsciiCase;

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsIgnoreAsciiCase(s.substr(0, prefix.size()), prefix);
}

bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7f; }

std::string_view TrimBlanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<uint64_t> ParseDecimal(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

struct PathParse {
  SmtpArgError error = SmtpArgError::kNone;
  std::string address;
  std::string_view rest;  // parameters after '>'
};

// Parses "<path>" at the start of `s` (RFC 5321 §4.1.2): an optional source route that is
// dropped (§C), a quoted or dotted local part, '@' and a domain or address literal.
PathParse ParsePath(std::string_view s, bool allow_null, bool allow_postmaster, bool utf8) {
  PathParse r;
  if (s.empty() || s.front() != '<') {
    r.error = SmtpArgError::kSyntax;
    return r;
  }
  size_t i = 1;
  bool in_quotes = false;
  std::string content;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    const auto uc = static_cast<unsigned char>(c);
    if (in_quotes) {
      if (c == '\\') {
        if (i + 1 >= s.size() || IsControl(static_cast<unsigned char>(s[i + 1]))) {
          r.error = SmtpArgError::kSyntax;
          return r;
        }
        content.push_back(c);
        content.push_back(s[++i]);
        continue;
      }
      if (c == '"') in_quotes = false;
      if (IsControl(uc)) {
        r.error = SmtpArgError::kSyntax;
        return r;
      }
      content.push_back(c);
      continue;
    }
    if (c == '>') break;
    if (c == '"') {
      in_quotes = true;
      content.push_back(c);
      continue;
    }
    if (IsControl(uc) || c == ' ' || c == '<' || c == '\\') {
      r.error = SmtpArgError::kSyntax;
      return r;
    }
    content.push_back(c);
  }
  if (i >= s.size() || in_quotes) {
    r.error = SmtpArgError::kSyntax;
    return r;
  }
  if (i + 1 > kSmtpMaxPath) {
    r.error = SmtpArgError::kSyntax;
    return r;
  }
  r.rest = s.substr(i + 1);
  if (!r.rest.empty() && r.rest.front() != ' ') {
    r.error = SmtpArgError::kSyntax;
    return r;
  }
  // Drop an obsolete source route "@a,@b:" (RFC 5321 §4.1.2 A-d-l, must be accepted).
  if (!content.empty() && content.front() == '@') {
    size_t colon = content.find(':');
    if (colon == std::string::npos) {
      r.error = SmtpArgError::kSyntax;
      return r;
    }
    content.erase(0, colon + 1);
  }
  if (content.empty()) {
    if (!allow_null) r.error = SmtpArgError::kSyntax;
    return r;
  }
  for (unsigned char c : content) {
    if (c >= 0x80 && !utf8) {
      r.error = SmtpArgError::kNonAsciiAddress;
      return r;
    }
  }
  if (allow_postmaster && EqualsIgnoreAsciiCase(content, "postmaster")) {
    r.address = content;
    return r;
  }
  // The domain follows the last '@' outside a quoted local part.
  size_t at = std::string::npos;
  bool q = false;
  for (size_t k = 0; k < content.size(); ++k) {
    if (content[k] == '\\' && q) {
      ++k;
      continue;
    }
    if (content[k] == '"') q = !q;
    if (content[k] == '@' && !q) at = k;
  }
  if (at == std::string::npos || at == 0 || at + 1 >= content.size()) {
    r.error = SmtpArgError::kSyntax;
    return r;
  }
  std::string_view domain = std::string_view(content).substr(at + 1);
  if (domain.front() == '[') {
    if (domain.back() != ']') {
      r.error = SmtpArgError::kSyntax;
      return r;
    }
  } else {
    for (char c : domain) {
      const auto uc = static_cast<unsigned char>(c);
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || uc >= 0x80;
      if (!ok) {
        r.error = SmtpArgError::kSyntax;
        return r;
      }
    }
  }
  r.address = std::move(content);
  return r;
}

struct Param {
  std::string_view keyword;
  std::optional<std::string_view> value;
};

// esmtp-param = esmtp-keyword ["=" esmtp-value] (RFC 5321 §4.1.2).
bool NextParam(std::string_view& rest, Param& p) {
  rest = TrimBlanks(rest);
  if (rest.empty()) return false;
  size_t end = rest.find(' ');
  std::string_view item = rest.substr(0, end);
  rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  size_t eq = item.find('=');
  p.keyword = item.substr(0, eq);
  p.value = eq == std::string_view::npos ? std::nullopt
                                         : std::optional<std::string_view>(item.substr(eq + 1));
  return true;
}

bool ValidKeyword(std::string_view k) {
  if (k.empty()) return false;
  for (char c : k) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool ValidValue(std::string_view v) {
  if (v.empty()) return false;
  for (unsigned char c : v) {
    if (c < 33 || c > 126 || c == '=') return false;
  }
  return true;
}

// Finds "FROM:" / "TO:" (case-insensitive) and returns what follows, blanks skipped.
std::optional<std::string_view> AfterKeyword(std::string_view args, std::string_view keyword) {
  if (!StartsWithNoCase(args, keyword)) return std::nullopt;
  args.remove_prefix(keyword.size());
  while (!args.empty() && args.front() == ' ') args.remove_prefix(1);
  return args;
}

}  // namespace

SmtpCommand ParseSmtpCommand(std::string_view line) {
  SmtpCommand cmd;
  size_t sp = line.find(' ');
  std::string_view verb = line.substr(0, sp);
  cmd.verb.reserve(verb.size());
  for (char c : verb) cmd.verb.push_back(AsciiUpper(c));
  if (sp != std::string_view::npos) {
    std::string_view args = line.substr(sp + 1);
    while (!args.empty() && (args.back() == ' ' || args.back() == '\t')) args.remove_suffix(1);
    cmd.args = args;
  }
  return cmd;
}

SmtpArgError ParseMailFrom(std::string_view args, MailFromArgs& out) {
  std::optional<std::string_view> after = AfterKeyword(args, "FROM:");
  if (!after) return SmtpArgError::kSyntax;
  // SMTPUTF8 decides whether UTF-8 is allowed in the path, so look at parameters first.
  bool smtputf8 = false;
  {
    size_t close = after->rfind('>');
    if (close != std::string_view::npos) {
      std::string_view rest = after->substr(close + 1);
      Param p;
      while (NextParam(rest, p)) {
        if (EqualsIgnoreAsciiCase(p.keyword, "SMTPUTF8")) smtputf8 = true;
      }
    }
  }
  PathParse path = ParsePath(*after, /*allow_null=*/true, /*allow_postmaster=*/false, smtputf8);
  if (path.error != SmtpArgError::kNone) return path.error;
  MailFromArgs result;
  result.address = std::move(path.address);
  std::string_view rest = path.rest;
  Param p;
  while (NextParam(rest, p)) {
    if (!ValidKeyword(p.keyword)) return SmtpArgError::kSyntax;
    if (p.value && !ValidValue(*p.value)) return SmtpArgError::kBadParameterValue;
    if (EqualsIgnoreAsciiCase(p.keyword, "SIZE")) {
      if (!p.value || result.size) return SmtpArgError::kBadParameterValue;
      result.size = ParseDecimal(*p.value);
      if (!result.size) return SmtpArgError::kBadParameterValue;
    } else if (EqualsIgnoreAsciiCase(p.keyword, "BODY")) {
      if (!p.value || !result.body.empty()) return SmtpArgError::kBadParameterValue;
      if (EqualsIgnoreAsciiCase(*p.value, "7BIT")) {
        result.body = "7BIT";
      } else if (EqualsIgnoreAsciiCase(*p.value, "8BITMIME")) {
        result.body = "8BITMIME";
      } else {
        return SmtpArgError::kBadParameterValue;
      }
    } else if (EqualsIgnoreAsciiCase(p.keyword, "SMTPUTF8")) {
      if (p.value) return SmtpArgError::kBadParameterValue;
      result.smtputf8 = true;
    } else {
      return SmtpArgError::kUnknownParameter;
    }
  }
  out = std::move(result);
  return SmtpArgError::kNone;
}

SmtpArgError ParseRcptTo(std::string_view args, bool smtputf8, RcptToArgs& out) {
  std::optional<std::string_view> after = AfterKeyword(args, "TO:");
  if (!after) return SmtpArgError::kSyntax;
  PathParse path = ParsePath(*after, /*allow_null=*/false, /*allow_postmaster=*/true, smtputf8);
  if (path.error != SmtpArgError::kNone) return path.error;
  std::string_view rest = path.rest;
  Param p;
  if (NextParam(rest, p)) {
    return ValidKeyword(p.keyword) ? SmtpArgError::kUnknownParameter : SmtpArgError::kSyntax;
  }
  out.address = std::move(path.address);
  return SmtpArgError::kNone;
}

std::optional<BdatArgs> ParseBdat(std::string_view args) {
  args = TrimBlanks(args);
  size_t sp = args.find(' ');
  std::optional<uint64_t> size = ParseDecimal(args.substr(0, sp));
  if (!size) return std::nullopt;
  BdatArgs b;
  b.size = *size;
  if (sp != std::string_view::npos) {
    if (!EqualsIgnoreAsciiCase(TrimBlanks(args.substr(sp)), "LAST")) return std::nullopt;
    b.last = true;
  }
  return b;
}

std::string ReplySafe(std::string_view s, size_t max) {
  std::string out;
  const size_t n = std::min(s.size(), max);
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    out.push_back(IsControl(c) ? ' ' : static_cast<char>(c));
  }
  return out;
}

}  // namespace smtp
