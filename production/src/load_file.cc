#include "production/load_file.h"

#include <ctime>

namespace production {
namespace {

constexpr std::string_view kThorn = "\xC3\xBE";       // þ, the quote
constexpr std::string_view kRegistered = "\xC2\xAE";  // ®, a line break inside a field
constexpr char kSeparator = '\x14';

std::string_view StripBom(std::string_view text) {
  if (text.substr(0, kUtf8Bom.size()) == kUtf8Bom) text.remove_prefix(kUtf8Bom.size());
  return text;
}

// A field's text as a load file can carry it: line breaks as ®, the quote and other control
// characters as "?" (they cannot be escaped in this format).
std::string DatField(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\r' || c == '\n') {
      out += kRegistered;
      if (c == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else if (s.compare(i, kThorn.size(), kThorn) == 0) {
      out += '?';
      ++i;
    } else if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) {
      out += '?';
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string DatLine(const std::vector<std::string>& fields) {
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) line += kSeparator;
    line += kThorn;
    line += DatField(fields[i]);
    line += kThorn;
  }
  return line + "\r\n";
}

common::Result<std::vector<std::vector<std::string>>> ParseDat(std::string_view text) {
  text = StripBom(text);
  std::vector<std::vector<std::string>> rows;
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const size_t end = text.find("\r\n");
    if (end == std::string_view::npos) {
      return common::Error::InvalidInput("loadfile.dat: line " + std::to_string(line_no) +
                                         " does not end with CRLF");
    }
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end + 2);
    std::vector<std::string> fields;
    while (true) {
      const size_t sep = line.find(kSeparator);
      std::string_view field = line.substr(0, sep);
      if (field.size() < 2 * kThorn.size() || field.substr(0, kThorn.size()) != kThorn ||
          field.substr(field.size() - kThorn.size()) != kThorn) {
        return common::Error::InvalidInput("loadfile.dat: line " + std::to_string(line_no) +
                                           " has a field not quoted by þ");
      }
      field = field.substr(kThorn.size(), field.size() - 2 * kThorn.size());
      if (field.find(kThorn) != std::string_view::npos) {
        return common::Error::InvalidInput("loadfile.dat: line " + std::to_string(line_no) +
                                           " has a þ inside a field");
      }
      fields.emplace_back(field);
      if (sep == std::string_view::npos) break;
      line.remove_prefix(sep + 1);
    }
    rows.push_back(std::move(fields));
  }
  return rows;
}

std::string CsvLine(const std::vector<std::string>& fields, const std::vector<bool>& free_text) {
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) line += ',';
    const std::string& f = fields[i];
    line += '"';
    if (i < free_text.size() && free_text[i] && !f.empty() &&
        (f[0] == '=' || f[0] == '+' || f[0] == '-' || f[0] == '@' || f[0] == '\t' ||
         f[0] == '\r')) {
      line += '\'';
    }
    for (char c : f) {
      if (c == '"') line += '"';
      line += c;
    }
    line += '"';
  }
  return line + "\r\n";
}

common::Result<std::vector<std::vector<std::string>>> ParseCsv(std::string_view text) {
  text = StripBom(text);
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '"') {
      // A quoted field: up to the quote not doubled.
      ++i;
      while (true) {
        if (i >= text.size()) return common::Error::InvalidInput("index.csv: unclosed quote");
        if (text[i] == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += text[i++];
      }
    } else {
      while (i < text.size() && text[i] != ',' && text[i] != '\r' && text[i] != '\n') {
        if (text[i] == '"') return common::Error::InvalidInput("index.csv: a quote mid-field");
        field += text[i++];
      }
    }
    row.push_back(std::move(field));
    field.clear();
    if (i < text.size() && text[i] == ',') {
      ++i;
      continue;
    }
    if (text.compare(i, 2, "\r\n") != 0) {
      return common::Error::InvalidInput("index.csv: a record does not end with CRLF");
    }
    i += 2;
    rows.push_back(std::move(row));
    row.clear();
  }
  if (!row.empty()) return common::Error::InvalidInput("index.csv: the last record has no CRLF");
  return rows;
}

void AppendMboxrd(std::string& out, const std::string& sender, int64_t received_at_us,
                  std::string_view message) {
  bool plain = !sender.empty();
  for (char c : sender) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) plain = false;
  }
  const std::time_t t = static_cast<std::time_t>(received_at_us / 1000000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char date[32];
  std::strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm);
  out += "From ";
  out += plain ? sender : "MAILER-DAEMON";
  out += ' ';
  out += date;
  out += '\n';
  size_t pos = 0;
  while (pos < message.size()) {
    size_t nl = message.find('\n', pos);
    const size_t end = nl == std::string_view::npos ? message.size() : nl + 1;
    std::string_view line = message.substr(pos, end - pos);
    size_t k = 0;
    while (k < line.size() && line[k] == '>') ++k;
    if (line.substr(k, 5) == "From ") out += '>';
    out += line;
    pos = end;
  }
  out += '\n';
}

MboxrdReader::MboxrdReader(size_t max_message_bytes, OnMessage on_message)
    : max_(max_message_bytes), on_message_(std::move(on_message)) {}

common::Status MboxrdReader::Feed(std::string_view bytes) {
  while (!bytes.empty()) {
    const size_t nl = bytes.find('\n');
    if (nl == std::string_view::npos) {
      if (partial_.size() + bytes.size() > max_) {
        return common::Error::InvalidInput("messages.mbox: a line is too long");
      }
      partial_ += bytes;
      return common::Ok();
    }
    if (partial_.empty()) {
      RETURN_IF_ERROR(Line(bytes.substr(0, nl + 1)));
    } else {
      partial_ += bytes.substr(0, nl + 1);
      RETURN_IF_ERROR(Line(partial_));
      partial_.clear();
    }
    bytes.remove_prefix(nl + 1);
  }
  return common::Ok();
}

common::Status MboxrdReader::Line(std::string_view line) {
  if (!any_line_ && line.substr(0, 5) != "From ") {
    return common::Error::InvalidInput("messages.mbox does not start with a From line");
  }
  any_line_ = true;
  if (line.substr(0, 5) == "From ") {
    if (current_) RETURN_IF_ERROR(EndMessage());
    current_.emplace();
    return common::Ok();
  }
  size_t k = 0;
  while (k < line.size() && line[k] == '>') ++k;
  if (k > 0 && line.substr(k, 5) == "From ") line.remove_prefix(1);
  if (current_->size() + line.size() > max_) {
    return common::Error::InvalidInput("messages.mbox: a message is too large");
  }
  *current_ += line;
  return common::Ok();
}

// Every message ends with the LF AppendMboxrd adds after it.
common::Status MboxrdReader::EndMessage() {
  if (current_->empty() || current_->back() != '\n') {
    return common::Error::InvalidInput("messages.mbox: a message lacks its closing LF");
  }
  current_->pop_back();
  on_message_(std::move(*current_));
  current_.reset();
  return common::Ok();
}

common::Status MboxrdReader::Finish() {
  if (!partial_.empty()) {
    RETURN_IF_ERROR(Line(partial_));
    partial_.clear();
  }
  if (!any_line_) {
    return common::Error::InvalidInput("messages.mbox does not start with a From line");
  }
  return EndMessage();
}

common::Result<std::vector<std::string>> SplitMboxrd(std::string_view mbox) {
  std::vector<std::string> out;
  MboxrdReader reader(mbox.size() + 1, [&](std::string m) { out.push_back(std::move(m)); });
  RETURN_IF_ERROR(reader.Feed(mbox));
  RETURN_IF_ERROR(reader.Finish());
  return out;
}

}  // namespace production
