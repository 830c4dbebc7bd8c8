#include "text_normalise.h"

#include <gmime/gmime.h>
#include <iconv.h>

#include <cerrno>
#include <memory>

namespace mime::internal {
namespace {

bool IsWsp(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool ValidUtf8(std::string_view s) {
  // g_utf8_validate rejects NUL bytes when given a length, which is what we want: text with
  // NULs is not text and is hashed as raw bytes.
  return g_utf8_validate(s.data(), static_cast<gssize>(s.size()), nullptr) != FALSE;
}

struct IconvCloser {
  void operator()(void* cd) const { g_mime_iconv_close(static_cast<iconv_t>(cd)); }
};

}  // namespace

std::string CollapseWhitespace(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool pending_space = false;
  for (char c : s) {
    if (IsWsp(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += c;
  }
  return out;
}

std::string NormaliseTextLines(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t pending_empty = 0;
  size_t i = 0;
  while (i < s.size()) {
    size_t e = i;
    while (e < s.size() && s[e] != '\r' && s[e] != '\n') ++e;
    size_t end = e;
    while (end > i && (s[end - 1] == ' ' || s[end - 1] == '\t')) --end;
    if (end == i) {
      ++pending_empty;
    } else {
      out.append(pending_empty, '\n');
      pending_empty = 0;
      out.append(s.substr(i, end - i));
      out += '\n';
    }
    if (e < s.size() && s[e] == '\r' && e + 1 < s.size() && s[e + 1] == '\n') {
      i = e + 2;
    } else {
      i = e + 1;
    }
  }
  return out;
}

bool ToUtf8(std::string_view bytes, const std::string& charset, std::string* out) {
  if (charset.empty() || charset == "us-ascii" || charset == "ascii" || charset == "utf-8" ||
      charset == "utf8") {
    if (!ValidUtf8(bytes)) return false;
    out->assign(bytes);
    return true;
  }
  const char* from = g_mime_charset_iconv_name(charset.c_str());
  if (from == nullptr) return false;
  iconv_t cd = g_mime_iconv_open("UTF-8", from);
  if (cd == reinterpret_cast<iconv_t>(-1)) return false;
  std::unique_ptr<void, IconvCloser> closer(cd);

  out->clear();
  out->reserve(bytes.size() * 2 + 16);
  // iconv's interface takes non-const input; it does not write through it.
  char* in = const_cast<char*>(bytes.data());
  size_t in_left = bytes.size();
  char buf[16384];
  bool flushing = false;
  while (true) {
    char* o = buf;
    size_t o_left = sizeof buf;
    size_t rc =
        flushing ? iconv(cd, nullptr, nullptr, &o, &o_left) : iconv(cd, &in, &in_left, &o, &o_left);
    const int err = errno;
    out->append(buf, sizeof buf - o_left);
    if (rc == static_cast<size_t>(-1)) {
      if (err == E2BIG) continue;
      return false;  // EILSEQ (invalid sequence) or EINVAL (truncated at the end)
    }
    if (flushing) break;
    if (in_left == 0) flushing = true;  // emit any shift sequence (ISO-2022-JP)
  }
  return ValidUtf8(*out);
}

}  // namespace mime::internal
