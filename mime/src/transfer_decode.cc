// Content-Transfer-Encoding decoders for canonical form version 2; see transfer_decode.h and
// docs/canonical-form.md §V2.6.
#include "transfer_decode.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>

namespace mime::internal {
namespace {

constexpr size_t kPiece = 64 * 1024;

// The base64 alphabet's values; -1 outside it.
constexpr std::array<int8_t, 256> kBase64Values = [] {
  std::array<int8_t, 256> t{};
  t.fill(-1);
  constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t i = 0; i < kAlphabet.size(); ++i) {
    t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
  }
  return t;
}();

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Output buffered into pieces of kPiece bytes.
class PieceWriter {
 public:
  explicit PieceWriter(const ByteSink& sink) : sink_(sink), buf_(new char[kPiece]) {}
  void Put(char c) {
    buf_[n_++] = c;
    if (n_ == kPiece) Flush();
  }
  void Put(std::string_view s) {
    while (!s.empty()) {
      const size_t take = std::min(kPiece - n_, s.size());
      std::memcpy(buf_.get() + n_, s.data(), take);
      n_ += take;
      s.remove_prefix(take);
      if (n_ == kPiece) Flush();
    }
  }
  void Flush() {
    if (n_ > 0) sink_(std::string_view(buf_.get(), n_));
    n_ = 0;
  }

 private:
  const ByteSink& sink_;
  std::unique_ptr<char[]> buf_;
  size_t n_ = 0;
};

// §V2.6 base64: alphabet characters fill groups of four (three bytes each); "=" after two or
// three characters of a group ends that group early (one or two bytes) and a new group
// starts; every other byte, and "=" anywhere else, is skipped. At the end, a group of two or
// three characters gives one or two bytes and a lone character is dropped.
void DecodeBase64(std::string_view in, TransferStats* stats, PieceWriter& out) {
  uint32_t acc = 0;
  int count = 0;
  for (char ch : in) {
    const auto c = static_cast<unsigned char>(ch);
    const int v = kBase64Values[c];
    if (v >= 0) {
      acc = (acc << 6) | static_cast<uint32_t>(v);
      if (++count == 4) {
        out.Put(static_cast<char>((acc >> 16) & 0xff));
        out.Put(static_cast<char>((acc >> 8) & 0xff));
        out.Put(static_cast<char>(acc & 0xff));
        acc = 0;
        count = 0;
      }
    } else if (c == '=') {
      if (count == 2) {
        out.Put(static_cast<char>((acc >> 4) & 0xff));
        acc = 0;
        count = 0;
      } else if (count == 3) {
        out.Put(static_cast<char>((acc >> 10) & 0xff));
        out.Put(static_cast<char>((acc >> 2) & 0xff));
        acc = 0;
        count = 0;
      }
    } else if (c != '\r' && c != '\n' && c != ' ' && c != '\t') {
      ++stats->base64_skipped;
    }
  }
  if (count == 2) {
    out.Put(static_cast<char>((acc >> 4) & 0xff));
  } else if (count == 3) {
    out.Put(static_cast<char>((acc >> 10) & 0xff));
    out.Put(static_cast<char>((acc >> 2) & 0xff));
  } else if (count == 1) {
    ++stats->base64_leftover;
  }
}

// §V2.6 quoted-printable (RFC 2045 §6.7): per line (lines end at CRLF), trailing SP and HT
// are removed; a line then ending in "=" is joined to the next (soft line break); "=" and two
// hex digits (either case) is a byte; any other "=" stays as written; line ends stay CRLF.
void DecodeQuotedPrintable(std::string_view in, TransferStats* stats, PieceWriter& out) {
  size_t pos = 0;
  while (pos < in.size()) {
    size_t end = in.find("\r\n", pos);
    const bool has_crlf = end != std::string_view::npos;
    if (!has_crlf) end = in.size();
    size_t stop = end;
    while (stop > pos && (in[stop - 1] == ' ' || in[stop - 1] == '\t')) --stop;
    const bool soft = stop > pos && in[stop - 1] == '=';
    if (soft) --stop;
    size_t i = pos;
    while (i < stop) {
      const void* hit = std::memchr(in.data() + i, '=', stop - i);
      const size_t eq =
          hit == nullptr ? stop : static_cast<size_t>(static_cast<const char*>(hit) - in.data());
      out.Put(in.substr(i, eq - i));
      if (eq == stop) break;
      if (eq + 2 < stop && HexValue(in[eq + 1]) >= 0 && HexValue(in[eq + 2]) >= 0) {
        out.Put(static_cast<char>(HexValue(in[eq + 1]) * 16 + HexValue(in[eq + 2])));
        i = eq + 3;
      } else {
        ++stats->qp_invalid;
        out.Put('=');
        i = eq + 1;
      }
    }
    if (has_crlf && !soft) out.Put("\r\n");
    pos = has_crlf ? end + 2 : in.size();
  }
}

}  // namespace

TransferEncoding TransferEncodingFor(std::string_view mechanism) {
  if (mechanism == "base64") return TransferEncoding::kBase64;
  if (mechanism == "quoted-printable") return TransferEncoding::kQuotedPrintable;
  return TransferEncoding::kIdentity;
}

void TransferDecode(TransferEncoding encoding, std::string_view in, TransferStats* stats,
                    const ByteSink& sink) {
  if (encoding == TransferEncoding::kIdentity) {
    for (size_t i = 0; i < in.size(); i += kPiece) sink(in.substr(i, kPiece));
    return;
  }
  PieceWriter out(sink);
  if (encoding == TransferEncoding::kBase64) {
    DecodeBase64(in, stats, out);
  } else {
    DecodeQuotedPrintable(in, stats, out);
  }
  out.Flush();
}

std::string TransferDecodeAll(TransferEncoding encoding, std::string_view in,
                              TransferStats* stats) {
  std::string out;
  TransferDecode(encoding, in, stats, [&](std::string_view piece) { out += piece; });
  return out;
}

}  // namespace mime::internal
