#include "mime/journal_report.h"

#include <gmime/gmime.h>

#include <algorithm>
#include <unordered_set>

#include "common/ascii.h"
#include "common/utf8.h"
#include "gmime_support.h"

namespace mime {

using internal::EnsureGMimeInitialized;
using internal::GCharPtr;
using internal::GPtr;
using internal::ParserOptionsPtr;

namespace {

constexpr std::string_view kJournalHeader = "x-ms-journal-report";

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string StripBrackets(std::string_view s) {
  s = Trim(s);
  if (s.size() >= 2 && s.front() == '<' && s.back() == '>') s = s.substr(1, s.size() - 2);
  return std::string(Trim(s));
}

// The lines of `text` without their line breaks.
std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    size_t end = nl == std::string_view::npos ? text.size() : nl;
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    out.push_back(line);
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return out;
}

// Offset just past the blank line that ends the header block starting at `from`, or npos.
size_t BodyStart(std::string_view raw, size_t from) {
  size_t pos = from;
  while (pos < raw.size()) {
    size_t nl = raw.find('\n', pos);
    if (nl == std::string_view::npos) return std::string_view::npos;
    std::string_view line = raw.substr(pos, nl - pos);
    if (line.empty() || line == "\r") return nl + 1;
    pos = nl + 1;
  }
  return std::string_view::npos;
}

// True when the top-level header block names X-MS-Journal-Report. A cheap test that lets
// every ordinary message pass without a MIME parse.
bool HasJournalHeader(std::string_view raw) {
  size_t end = BodyStart(raw, 0);
  std::string_view head = raw.substr(0, end == std::string_view::npos ? raw.size() : end);
  for (std::string_view line : Lines(head)) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || line.empty() || line[0] == ' ' || line[0] == '\t') {
      continue;
    }
    if (common::EqualsIgnoreAsciiCase(Trim(line.substr(0, colon)), kJournalHeader)) return true;
  }
  return false;
}

// The exact bytes of body part `index` (0-based) of a multipart body with `boundary`: from
// after its delimiter line up to, not including, the line break before the next delimiter
// (RFC 2046 §5.1.1: that line break belongs to the delimiter).
std::optional<std::string_view> PartBytes(std::string_view raw, size_t body_start,
                                          std::string_view boundary, size_t index) {
  const std::string dash = "--" + std::string(boundary);
  auto is_delimiter = [&](std::string_view line) {
    if (line.substr(0, dash.size()) != dash) return false;
    std::string_view rest = line.substr(dash.size());
    if (rest.substr(0, 2) == "--") rest.remove_prefix(2);
    return Trim(rest).empty();
  };
  size_t pos = body_start;
  std::vector<std::pair<size_t, size_t>> delimiters;  // [line start, next line start)
  while (pos < raw.size()) {
    size_t nl = raw.find('\n', pos);
    size_t end = nl == std::string_view::npos ? raw.size() : nl + 1;
    std::string_view line = raw.substr(pos, end - pos);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    if (is_delimiter(line)) delimiters.push_back({pos, end});
    pos = end;
  }
  if (delimiters.size() < index + 2) return std::nullopt;
  size_t begin = delimiters[index].second;
  size_t stop = delimiters[index + 1].first;
  if (stop > begin && raw[stop - 1] == '\n') --stop;
  if (stop > begin && raw[stop - 1] == '\r') --stop;
  return raw.substr(begin, stop - begin);
}

// "Expanded" or "Forwarded" when `s` starts with one of them (any case), else "".
std::string_view RedirectionKeyword(std::string_view s) {
  for (std::string_view k : {std::string_view("Expanded"), std::string_view("Forwarded")}) {
    if (s.size() >= k.size() && common::EqualsIgnoreAsciiCase(s.substr(0, k.size()), k)) return k;
  }
  return {};
}

common::Status ParseReportText(std::string_view text, JournalReport& out) {
  for (std::string_view line : Lines(text)) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = Trim(line.substr(0, colon));
    std::string_view value = Trim(line.substr(colon + 1));
    if (common::EqualsIgnoreAsciiCase(key, "Sender")) {
      out.sender = StripBrackets(value);
    } else if (common::EqualsIgnoreAsciiCase(key, "On-Behalf-Of")) {
      out.on_behalf_of = StripBrackets(value);
    } else if (common::EqualsIgnoreAsciiCase(key, "Subject")) {
      out.subject = std::string(value);
    } else if (common::EqualsIgnoreAsciiCase(key, "Message-Id")) {
      out.message_id = StripBrackets(value);
    } else if (common::EqualsIgnoreAsciiCase(key, "To") ||
               common::EqualsIgnoreAsciiCase(key, "Cc") ||
               common::EqualsIgnoreAsciiCase(key, "Bcc") ||
               common::EqualsIgnoreAsciiCase(key, "Recipient")) {
      JournalRecipient r;
      r.kind = std::string(key);
      // "<recipient>, Expanded: <source>" on one line. Each comma is looked at once, with a
      // bounded look-ahead: a line of many commas costs linear time.
      std::string_view addr = value;
      for (size_t comma = addr.find(','); comma != std::string_view::npos;
           comma = addr.find(',', comma + 1)) {
        std::string_view rest = addr.substr(comma + 1);
        while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t'))
          rest.remove_prefix(1);
        std::string_view redirect = RedirectionKeyword(rest);
        if (redirect.empty()) continue;
        rest.remove_prefix(redirect.size());
        while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t'))
          rest.remove_prefix(1);
        if (rest.empty() || rest.front() != ':') continue;
        r.redirection = std::string(redirect);
        r.source_address = StripBrackets(rest.substr(1));
        addr = addr.substr(0, comma);
        break;
      }
      r.address = StripBrackets(addr);
      if (r.address.empty()) return common::Error::InvalidInput("journal recipient line is empty");
      out.recipients.push_back(std::move(r));
    }
  }
  if (out.sender.empty()) return common::Error::InvalidInput("journal report names no sender");
  if (out.recipients.empty()) {
    return common::Error::InvalidInput("journal report names no recipient");
  }
  return common::Ok();
}

// Whether a Content-Type field anywhere in `raw` (with its continuation lines) is not valid
// UTF-8. GMime 3.2 re-encodes every Content-Type it parses, and its parameter encoder grows
// without end on a long parameter name of invalid UTF-8 (83 bytes took all memory;
// journal_fuzz found it, tests/fuzz/corpus/journal/gmime-param-name.eml). One pass, linear.
bool HasContentTypeOfInvalidUtf8(std::string_view raw) {
  size_t pos = 0;
  while (pos < raw.size()) {
    size_t eol = raw.find('\n', pos);
    if (eol == std::string_view::npos) eol = raw.size();
    const std::string_view line = raw.substr(pos, eol - pos);
    if (line.size() >= 13 && common::EqualsIgnoreAsciiCase(line.substr(0, 13), "content-type:")) {
      size_t end = eol;
      while (end + 1 < raw.size() && (raw[end + 1] == ' ' || raw[end + 1] == '\t')) {
        end = raw.find('\n', end + 1);
        if (end == std::string_view::npos) end = raw.size();
      }
      const std::string_view field = raw.substr(pos, end - pos);
      if (common::SanitizeUtf8(field) != field) return true;
      eol = end;
    }
    pos = eol + 1;
  }
  return false;
}

bool IsIdentityEncoding(const char* cte) {
  if (cte == nullptr) return true;
  std::string_view v = Trim(cte);
  return v.empty() || common::EqualsIgnoreAsciiCase(v, "7bit") ||
         common::EqualsIgnoreAsciiCase(v, "8bit") || common::EqualsIgnoreAsciiCase(v, "binary");
}

}  // namespace

std::vector<std::string> JournalReport::EnvelopeRecipients() const {
  std::vector<std::string> out;
  std::unordered_set<std::string_view> seen;
  for (const JournalRecipient& r : recipients) {
    if (seen.insert(r.address).second) out.push_back(r.address);
  }
  return out;
}

common::Result<std::optional<JournalReport>> ParseJournalReport(std::string_view raw) {
  if (!HasJournalHeader(raw)) return std::optional<JournalReport>();
  if (HasContentTypeOfInvalidUtf8(raw)) {
    return common::Error::InvalidInput("journal report has a Content-Type field that is not UTF-8");
  }
  EnsureGMimeInitialized();

  GByteArray* bytes = g_byte_array_sized_new(static_cast<guint>(raw.size()));
  g_byte_array_append(bytes, reinterpret_cast<const guint8*>(raw.data()),
                      static_cast<guint>(raw.size()));
  GPtr<GMimeStream> stream{g_mime_stream_mem_new_with_byte_array(bytes)};  // owns bytes
  GPtr<GMimeParser> parser{g_mime_parser_new_with_stream(stream.get())};
  g_mime_parser_set_format(parser.get(), GMIME_FORMAT_MESSAGE);
  ParserOptionsPtr options{g_mime_parser_options_new()};
  GPtr<GMimeMessage> message{g_mime_parser_construct_message(parser.get(), options.get())};
  if (!message) return common::Error::InvalidInput("journal report does not parse");

  GMimeObject* body = g_mime_message_get_mime_part(message.get());  // transfer none
  if (body == nullptr || !GMIME_IS_MULTIPART(body)) {
    return common::Error::InvalidInput("journal report is not multipart");
  }
  GMimeMultipart* multipart = GMIME_MULTIPART(body);
  const char* boundary = g_mime_multipart_get_boundary(multipart);
  if (boundary == nullptr || *boundary == '\0') {
    return common::Error::InvalidInput("journal report has no boundary");
  }

  JournalReport report;
  bool have_text = false;
  std::optional<int> original_index;
  const int count = g_mime_multipart_get_count(multipart);
  for (int i = 0; i < count; ++i) {
    GMimeObject* part = g_mime_multipart_get_part(multipart, i);  // transfer none
    if (!have_text && GMIME_IS_TEXT_PART(part)) {
      GMimeContentType* ct = g_mime_object_get_content_type(part);
      if (ct != nullptr && g_mime_content_type_is_type(ct, "text", "plain")) {
        GCharPtr text{g_mime_text_part_get_text(GMIME_TEXT_PART(part))};
        if (text) {
          RETURN_IF_ERROR(ParseReportText(text.get(), report));
          have_text = true;
        }
      }
    } else if (!original_index && GMIME_IS_MESSAGE_PART(part)) {
      if (!IsIdentityEncoding(g_mime_object_get_header(part, "Content-Transfer-Encoding"))) {
        // RFC 2046 §5.2.1 forbids encoding message/rfc822; its exact bytes would be lost.
        return common::Error::InvalidInput("journaled original carries a transfer encoding");
      }
      original_index = i;
    }
  }
  if (!have_text) return common::Error::InvalidInput("journal report has no report text");
  if (!original_index) return common::Error::InvalidInput("journal report has no original");

  const size_t body_start = BodyStart(raw, 0);
  if (body_start == std::string_view::npos) {
    return common::Error::InvalidInput("journal report has no body");
  }
  auto part = PartBytes(raw, body_start, boundary, static_cast<size_t>(*original_index));
  if (!part) return common::Error::InvalidInput("journal report parts are not delimited");
  const size_t inner = BodyStart(*part, 0);
  if (inner == std::string_view::npos || inner >= part->size()) {
    return common::Error::InvalidInput("journaled original is empty");
  }
  report.original = std::string(part->substr(inner));
  return std::optional<JournalReport>(std::move(report));
}

}  // namespace mime
