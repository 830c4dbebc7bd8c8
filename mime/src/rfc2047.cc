// RFC 2047 encoded words for canonical form version 2; see rfc2047.h and
// docs/canonical-form.md §V2.3, whose steps the functions below follow.
#include "rfc2047.h"

#include <utility>
#include <vector>

#include "whatwg_encoding.h"

namespace mime::internal {
namespace {

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Whitespace that may separate adjacent encoded words (and is then dropped).
bool IsGap(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool IsPrintableAscii(char c) { return c >= 0x21 && c <= 0x7e; }

// Q text (§V2.3 step 4): "_" is a space, "=" and two hex digits (either case) a byte, any
// other "=" stands for itself, every other character for its own byte.
std::string DecodeQ(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '_') {
      out += ' ';
    } else if (c == '=' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 &&
               HexValue(text[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2]));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

struct Word {
  Encoding encoding;
  std::string bytes;
};

// An encoded word at s[k] (which starts "=?"): its end, or 0 when it is none (§V2.3 steps
// 1-5). `word` is filled on success.
size_t ParseWord(std::string_view s, size_t k, Word* word, Rfc2047Stats* stats) {
  const size_t n = s.size();
  size_t p = k + 2;
  // charset ["*" language]: printable ASCII except "?" and "=".
  const size_t spec_begin = p;
  while (p < n && IsPrintableAscii(s[p]) && s[p] != '?' && s[p] != '=') ++p;
  if (p == spec_begin || p >= n || s[p] != '?') return 0;
  std::string_view charset = s.substr(spec_begin, p - spec_begin);
  charset = charset.substr(0, charset.find('*'));  // RFC 2231 §5: the language is ignored
  if (charset.empty()) return 0;
  ++p;
  if (p + 1 >= n) return 0;
  const char method = s[p];
  if (method != 'B' && method != 'b' && method != 'Q' && method != 'q') return 0;
  if (s[p + 1] != '?') return 0;
  p += 2;
  const size_t text_begin = p;
  while (p < n && IsPrintableAscii(s[p]) && s[p] != '?') ++p;
  if (p + 1 >= n || s[p] != '?' || s[p + 1] != '=') return 0;
  const std::string_view text = s.substr(text_begin, p - text_begin);
  const size_t end = p + 2;

  const std::optional<Encoding> encoding = EncodingForLabel(charset);
  if (!encoding) {
    ++stats->unknown_charset;
    return 0;
  }
  if (*encoding == Encoding::kReplacement) {
    ++stats->replacement_charset;
    return 0;
  }
  if (method == 'B' || method == 'b') {
    std::optional<std::string> bytes = ForgivingBase64Decode(text);
    if (!bytes) {
      ++stats->invalid_base64;
      return 0;
    }
    word->bytes = std::move(*bytes);
  } else {
    word->bytes = DecodeQ(text);
  }
  word->encoding = *encoding;
  return end;
}

}  // namespace

std::optional<std::string> ForgivingBase64Decode(std::string_view data) {
  if (data.size() % 4 == 0) {
    if (data.ends_with("==")) {
      data.remove_suffix(2);
    } else if (data.ends_with("=")) {
      data.remove_suffix(1);
    }
  }
  if (data.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(data.size() / 4 * 3 + 2);
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : data) {
    const int v = Base64Value(c);
    if (v < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  // Leftover bits (4 after two characters, 2 after three) are discarded.
  return out;
}

std::string DecodeEncodedWords(std::string_view s, Rfc2047Stats* stats) {
  std::string out;
  out.reserve(s.size());
  // The current run of encoded words separated by gaps only; adjacent words of one encoding
  // are joined as bytes before decoding, so that a character split across words decodes.
  std::vector<Word> run;
  auto flush_run = [&] {
    for (const Word& w : run) {
      Decoded d = DecodeToUtf8(w.encoding, w.bytes);
      stats->malformed_bytes += d.errors;
      out += d.utf8;
    }
    run.clear();
  };
  size_t literal_begin = 0;  // text not yet copied: after the last encoded word
  size_t i = 0;
  while (true) {
    const size_t k = s.find("=?", i);
    if (k == std::string_view::npos) break;
    Word word;
    const size_t end = ParseWord(s, k, &word, stats);
    if (end == 0) {
      i = k + 1;
      continue;
    }
    const std::string_view between = s.substr(literal_begin, k - literal_begin);
    bool gap_only = true;
    for (char c : between) gap_only = gap_only && IsGap(c);
    if (run.empty() || !gap_only) {
      flush_run();
      out += between;
    }
    if (!run.empty() && run.back().encoding == word.encoding) {
      run.back().bytes += word.bytes;
    } else {
      run.push_back(std::move(word));
    }
    literal_begin = end;
    i = end;
  }
  flush_run();
  out += s.substr(literal_begin);
  return out;
}

}  // namespace mime::internal
