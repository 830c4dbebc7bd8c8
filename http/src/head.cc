#include "http/head.h"

#include <algorithm>
#include <limits>

namespace http {
namespace {

// RFC 9110 §5.6.2: tchar.
bool IsTchar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool IsToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(),
                                   [](char c) { return IsTchar(static_cast<unsigned char>(c)); });
}

// RFC 9110 §5.5: field-vchar, SP and HTAB; no other control character, no DEL.
bool IsFieldValueChar(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

bool IsOws(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsOws(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsOws(s.back())) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && Lower(a) == Lower(b);
}

// Calls fn(element) for each non-empty element of a comma-separated list (RFC 9110
// §5.6.1: empty elements are ignored), trimmed.
template <typename Fn>
void ForEachListElement(std::string_view value, Fn fn) {
  while (true) {
    const size_t comma = value.find(',');
    std::string_view element = Trim(value.substr(0, comma));
    if (!element.empty()) fn(element);
    if (comma == std::string_view::npos) return;
    value.remove_prefix(comma + 1);
  }
}

// 1*DIGIT, saturating at UINT64_MAX; false on anything else.
bool ParseDecimal(std::string_view s, uint64_t& out) {
  if (s.empty()) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) {
      v = std::numeric_limits<uint64_t>::max();
    } else if (v != std::numeric_limits<uint64_t>::max()) {
      v = v * 10 + d;
    }
  }
  out = v;
  return true;
}

// Field-line syntax shared by header and trailer fields (RFC 9112 §5): a token, a colon
// with nothing before it, a value of field characters.
bool SplitFieldLine(std::string_view line, std::string_view& name, std::string_view& value) {
  if (line.empty() || IsOws(line.front())) return false;  // obs-fold or empty
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return false;
  name = line.substr(0, colon);
  if (!IsToken(name)) return false;  // includes whitespace before the colon (§5.1)
  value = Trim(line.substr(colon + 1));
  return std::all_of(value.begin(), value.end(),
                     [](char c) { return IsFieldValueChar(static_cast<unsigned char>(c)); });
}

bool HexDigit(char c, uint64_t& d) {
  if (c >= '0' && c <= '9') {
    d = static_cast<uint64_t>(c - '0');
  } else if (c >= 'a' && c <= 'f') {
    d = static_cast<uint64_t>(c - 'a' + 10);
  } else if (c >= 'A' && c <= 'F') {
    d = static_cast<uint64_t>(c - 'A' + 10);
  } else {
    return false;
  }
  return true;
}

// Names the front door never passes on: framing it replaced, and cpp-httplib's own
// pseudo-fields, which it adds after the client's (a client's would be found first).
bool IsDroppedField(std::string_view name) {
  static constexpr std::string_view kDropped[] = {
      "content-length", "transfer-encoding", "expect",     "remote_addr",
      "remote_port",    "local_addr",        "local_port",
  };
  const std::string lower = Lower(name);
  return std::find(std::begin(kDropped), std::end(kDropped), lower) != std::end(kDropped);
}

}  // namespace

HttpHeadScanner::State HttpHeadScanner::Scan(std::string_view buf) {
  if (fault_ != HttpFault::kNone) return State::kFault;
  if (end_ != 0) return State::kComplete;
  auto fail = [this](HttpFault f) {
    fault_ = f;
    return State::kFault;
  };
  while (pos_ < buf.size()) {
    const size_t line_limit = leading_ ? limits_.max_request_line : limits_.max_field_line;
    const size_t lf = buf.find('\n', pos_);
    if (lf == std::string_view::npos) {
      pos_ = buf.size();
      // A lone CR may still be an empty line before the request line.
      const size_t partial = pos_ - line_start_;
      started_ = started_ || !leading_ || partial > 1 || (partial == 1 && buf[line_start_] != '\r');
      // The line will be at least one byte longer (its LF).
      if (pos_ - line_start_ + 1 > line_limit) {
        return fail(leading_ ? HttpFault::kUriTooLong : HttpFault::kHeadTooLarge);
      }
      break;
    }
    pos_ = lf + 1;
    if (pos_ > limits_.max_head_bytes) return fail(HttpFault::kHeadTooLarge);
    const size_t len = pos_ - line_start_;
    const bool crlf_only = len == 2 && buf[line_start_] == '\r';
    if (leading_) {
      if (crlf_only) {  // RFC 9112 §2.2: empty lines before the request line are ignored
        line_start_ = pos_;
        continue;
      }
      started_ = true;
      if (len == 1) return fail(HttpFault::kMalformed);  // a bare LF
      if (len > line_limit) return fail(HttpFault::kUriTooLong);
      leading_ = false;
      start_ = line_start_;
      line_start_ = pos_;
      continue;
    }
    if (crlf_only || len == 1) {  // the empty line (a bare LF one is refused by the parser)
      end_ = pos_;
      return State::kComplete;
    }
    if (len > line_limit) return fail(HttpFault::kHeadTooLarge);
    if (++fields_ > limits_.max_fields) return fail(HttpFault::kHeadTooLarge);
    line_start_ = pos_;
  }
  if (pos_ >= limits_.max_head_bytes) return fail(HttpFault::kHeadTooLarge);
  return State::kNeedMore;
}

HttpFault ParseHttpHead(std::string_view head, const HttpHeadLimits& limits, HttpHead& out) {
  out = HttpHead();
  size_t p = 0;
  // The next line without its CRLF; false for a bare LF, a bare CR or no line at all.
  auto next_line = [&](std::string_view& line) {
    const size_t lf = head.find('\n', p);
    if (lf == std::string_view::npos || lf == p || head[lf - 1] != '\r') return false;
    line = head.substr(p, lf - 1 - p);
    p = lf + 1;
    return line.find('\r') == std::string_view::npos;
  };

  // Request line (RFC 9112 §3): method SP request-target SP HTTP-version.
  std::string_view line;
  if (!next_line(line)) return HttpFault::kMalformed;
  if (line.size() + 2 > limits.max_request_line) return HttpFault::kUriTooLong;
  const size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return HttpFault::kMalformed;
  const size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return HttpFault::kMalformed;
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!IsToken(method) || target.empty()) return HttpFault::kMalformed;
  for (char c : target) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return HttpFault::kMalformed;
  }
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9') {
    return HttpFault::kMalformed;
  }
  if (version[5] != '1') return HttpFault::kBadVersion;
  out.method = std::string(method);
  out.target = std::string(target);
  out.minor_version = version[7] == '0' ? 0 : 1;

  // Field lines (RFC 9112 §5).
  bool have_length = false, have_te = false, close = false, keep_alive_token = false;
  size_t hosts = 0;
  std::vector<std::string> codings;
  for (;;) {
    if (!next_line(line)) return HttpFault::kMalformed;
    if (line.empty()) break;
    if (line.size() + 2 > limits.max_field_line) return HttpFault::kHeadTooLarge;
    if (out.fields.size() >= limits.max_fields) return HttpFault::kHeadTooLarge;
    std::string_view name, value;
    if (!SplitFieldLine(line, name, value)) return HttpFault::kMalformed;
    const std::string lname = Lower(name);
    if (lname == "content-length") {
      // RFC 9110 §8.6: a list of identical values is one value; different ones are an error.
      bool ok = true;
      size_t elements = 0;
      ForEachListElement(value, [&](std::string_view e) {
        uint64_t n = 0;
        ++elements;
        if (!ParseDecimal(e, n) || (have_length && n != out.content_length)) ok = false;
        out.content_length = n;
        have_length = true;
      });
      if (!ok || elements == 0) return HttpFault::kMalformed;
    } else if (lname == "transfer-encoding") {
      have_te = true;
      ForEachListElement(value, [&](std::string_view e) { codings.push_back(Lower(e)); });
    } else if (lname == "host") {
      ++hosts;
    } else if (lname == "expect") {
      bool ok = true;
      ForEachListElement(value, [&](std::string_view e) {
        if (EqualsIgnoreCase(e, "100-continue")) {
          out.expect_continue = true;
        } else {
          ok = false;
        }
      });
      if (!ok) return HttpFault::kExpectation;
    } else if (lname == "connection") {
      ForEachListElement(value, [&](std::string_view e) {
        if (EqualsIgnoreCase(e, "close")) close = true;
        if (EqualsIgnoreCase(e, "keep-alive")) keep_alive_token = true;
      });
    }
    out.fields.emplace_back(std::string(name), std::string(value));
  }
  if (p != head.size()) return HttpFault::kMalformed;

  // RFC 9112 §3.2: exactly one Host in HTTP/1.1, at most one in HTTP/1.0.
  if (hosts > 1 || (out.minor_version == 1 && hosts == 0)) return HttpFault::kMalformed;
  // RFC 9112 §6.1-6.3: Transfer-Encoding and Content-Length together, or Transfer-Encoding
  // in HTTP/1.0, is a framing an intermediary may read differently: refused.
  if (have_te) {
    if (have_length || out.minor_version == 0 || codings.empty()) return HttpFault::kMalformed;
    if (codings.back() != "chunked") return HttpFault::kMalformed;  // §6.3: chunked last
    if (std::count(codings.begin(), codings.end(), "chunked") > 1) return HttpFault::kMalformed;
    if (codings.size() > 1) return HttpFault::kNotImplemented;  // gzip etc. under chunked
    out.body = HttpHead::Body::kChunked;
  } else if (have_length) {
    out.body = HttpHead::Body::kLength;
  }
  // RFC 9110 §10.1.1: a server ignores 100-continue from an HTTP/1.0 client.
  if (out.minor_version == 0) out.expect_continue = false;
  out.keep_alive = out.minor_version == 1 ? !close : keep_alive_token && !close;
  return HttpFault::kNone;
}

std::string SerializeHttpHead(const HttpHead& head, uint64_t body_length) {
  std::string out;
  out.reserve(256);
  out.append(head.method).append(" ").append(head.target);
  out.append(head.minor_version == 0 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
  for (const auto& [name, value] : head.fields) {
    if (IsDroppedField(name)) continue;
    out.append(name).append(": ").append(value).append("\r\n");
  }
  if (head.body != HttpHead::Body::kNone) {
    out.append("Content-Length: ").append(std::to_string(body_length)).append("\r\n");
  }
  out.append("\r\n");
  return out;
}

HttpChunkedDecoder::HttpChunkedDecoder(uint64_t max_body, size_t max_line, size_t max_trailer_bytes)
    : max_body_(max_body), max_line_(max_line), max_trailer_bytes_(max_trailer_bytes) {}

size_t HttpChunkedDecoder::Fail(HttpFault f, size_t consumed) {
  state_ = State::kFault;
  fault_ = f;
  return consumed;
}

size_t HttpChunkedDecoder::Feed(std::string_view in) {
  size_t i = 0;
  while (i < in.size()) {
    switch (state_) {
      case State::kSizeLine:
      case State::kTrailer: {
        const size_t lf = in.find('\n', i);
        const size_t take = (lf == std::string_view::npos ? in.size() : lf) - i;
        if (state_ == State::kTrailer) {
          trailer_bytes_ += take + (lf == std::string_view::npos ? 0 : 1);
          if (trailer_bytes_ > max_trailer_bytes_) return Fail(HttpFault::kHeadTooLarge, i);
        } else if (line_.size() + take + 1 > max_line_) {
          return Fail(HttpFault::kMalformed, i);
        }
        line_.append(in.substr(i, take));
        i += take;
        if (lf == std::string_view::npos) return i;
        ++i;  // the LF
        const bool ok = state_ == State::kSizeLine ? EndSizeLine() : EndTrailerLine();
        line_.clear();
        if (!ok) return i;
        if (state_ == State::kDone) return i;
        break;
      }
      case State::kData: {
        const size_t take = static_cast<size_t>(std::min<uint64_t>(remaining_, in.size() - i));
        body_.append(in.data() + i, take);
        i += take;
        remaining_ -= take;
        if (remaining_ == 0) state_ = State::kDataCr;
        break;
      }
      case State::kDataCr:
        if (in[i] != '\r') return Fail(HttpFault::kMalformed, i);
        ++i;
        state_ = State::kDataLf;
        break;
      case State::kDataLf:
        if (in[i] != '\n') return Fail(HttpFault::kMalformed, i);
        ++i;
        state_ = State::kSizeLine;
        break;
      case State::kDone:
      case State::kFault:
        return i;
    }
  }
  return i;
}

// chunk = chunk-size [ chunk-ext ] CRLF; chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS
// ext-value ] ): extensions are not interpreted, only kept free of control characters.
bool HttpChunkedDecoder::EndSizeLine() {
  if (line_.empty() || line_.back() != '\r') {
    Fail(HttpFault::kMalformed, 0);
    return false;
  }
  std::string_view s(line_.data(), line_.size() - 1);
  if (s.find('\r') != std::string_view::npos) {
    Fail(HttpFault::kMalformed, 0);
    return false;
  }
  const uint64_t room = max_body_ - body_.size();
  uint64_t size = 0;
  size_t digits = 0;
  uint64_t d = 0;
  while (digits < s.size() && HexDigit(s[digits], d)) {
    size = size * 16 + d;  // cannot overflow: size <= room < 2^59 before this step
    ++digits;
    if (size > room) {
      Fail(HttpFault::kBodyTooLarge, 0);
      return false;
    }
  }
  if (digits == 0) {
    Fail(HttpFault::kMalformed, 0);
    return false;
  }
  std::string_view ext = s.substr(digits);
  if (!ext.empty()) {
    while (!ext.empty() && IsOws(ext.front())) ext.remove_prefix(1);
    const bool ok =
        !ext.empty() && ext.front() == ';' && std::all_of(ext.begin(), ext.end(), [](char c) {
          return IsFieldValueChar(static_cast<unsigned char>(c));
        });
    if (!ok) {
      Fail(HttpFault::kMalformed, 0);
      return false;
    }
  }
  if (size == 0) {
    state_ = State::kTrailer;
  } else {
    remaining_ = size;
    state_ = State::kData;
  }
  return true;
}

bool HttpChunkedDecoder::EndTrailerLine() {
  if (line_.empty() || line_.back() != '\r') {
    Fail(HttpFault::kMalformed, 0);
    return false;
  }
  std::string_view s(line_.data(), line_.size() - 1);
  if (s.empty()) {
    state_ = State::kDone;
    return true;
  }
  std::string_view name, value;
  if (s.find('\r') != std::string_view::npos || !SplitFieldLine(s, name, value)) {
    Fail(HttpFault::kMalformed, 0);
    return false;
  }
  return true;
}

}  // namespace http
