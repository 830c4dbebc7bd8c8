// libFuzzer target for the audit's binary COPY reader (storage/src/copy_parser.h), compiled
// in without libpq or libpqxx. The input is a cut plan and a stream:
//
//   byte 0           k = byte & 31: how many piece lengths follow
//   k x 2 bytes      big-endian lengths of the first pieces (0: an empty piece; clamped to
//                    what is left); the rest of the stream is the last piece
//   the rest         the bytes of the COPY stream
//
// The stream is fed whole, in the planned pieces and in small pieces. Each way must hand over
// the same rows and end in the same state, the state a whole-buffer reading of the format
// (Reference below) gives; after every piece the rows so far, written back as tuples after
// the header, are a prefix of the bytes fed (the whole stream when done), the state only
// moves forward, and what the parser holds is within twice the bytes fed.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "copy_parser.h"

namespace {

using storage::internal::CopyParser;
using State = CopyParser::State;
using Rows = std::vector<std::pair<std::string, std::string>>;

constexpr size_t kHeaderBytes = 19;

void Check(bool ok) {
  if (!ok) std::abort();
}

uint32_t Be32(std::string_view s, size_t at) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}
uint16_t Be16(std::string_view s, size_t at) {
  return static_cast<uint16_t>((static_cast<unsigned char>(s[at]) << 8) |
                               static_cast<unsigned char>(s[at + 1]));
}
void PutBe(std::string& out, uint32_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

struct Outcome {
  State state = State::kMore;
  Rows rows;
  bool operator==(const Outcome&) const = default;
};

// The format read straight from one buffer, as the parser's documentation states it: the
// fixed header is judged once all 19 bytes are there; an extension over 1 MiB, a critical or
// OID flag, a field count other than 2 or -1, a field length over 1 GiB - 1 (so NULL and every
// negative length) are bad; bytes after the trailer are bad.
Outcome Reference(std::string_view s) {
  static const std::string_view kSig("PGCOPY\n\377\r\n\0", 11);
  Outcome o;
  if (s.size() < kHeaderBytes) return o;
  const uint32_t ext = Be32(s, 15);
  if (s.substr(0, 11) != kSig || (Be32(s, 11) & 0x1ffffu) != 0 ||
      ext > CopyParser::kMaxHeaderExtension) {
    o.state = State::kBad;
    return o;
  }
  if (s.size() < kHeaderBytes + ext) return o;
  size_t at = kHeaderBytes + ext;
  for (;;) {
    if (s.size() - at < 2) return o;
    const auto fields = static_cast<int16_t>(Be16(s, at));
    if (fields == -1) {
      o.state = at + 2 == s.size() ? State::kDone : State::kBad;
      return o;
    }
    if (fields != 2) {
      o.state = State::kBad;
      return o;
    }
    at += 2;
    std::string f[2];
    for (std::string& v : f) {
      if (s.size() - at < 4) return o;
      const uint32_t len = Be32(s, at);
      if (len > CopyParser::kMaxFieldBytes) {
        o.state = State::kBad;
        return o;
      }
      if (s.size() - at - 4 < len) return o;
      v = std::string(s.substr(at + 4, len));
      at += 4 + size_t{len};
    }
    o.rows.emplace_back(std::move(f[0]), std::move(f[1]));
  }
}

int Rank(State s) { return s == State::kMore ? 0 : s == State::kDone ? 1 : 2; }

Outcome Feed(std::string_view stream, const std::vector<std::string_view>& pieces) {
  CopyParser parser;
  Outcome o;
  // The header and the rows so far, written back as the stream that holds them.
  std::string written;
  // Called once the header was read: the header with its extension.
  auto header = [&] {
    if (written.empty()) written = stream.substr(0, kHeaderBytes + Be32(stream, 15));
  };
  const CopyParser::RowFn fn = [&](std::string_view key, std::string_view data) {
    header();
    PutBe(written, 2, 2);
    PutBe(written, static_cast<uint32_t>(key.size()), 4);
    written += key;
    PutBe(written, static_cast<uint32_t>(data.size()), 4);
    written += data;
    o.rows.emplace_back(std::string(key), std::string(data));
  };
  size_t fed = 0;
  State last = State::kMore;
  for (std::string_view p : pieces) {
    const State st = parser.Feed(p, fn);
    fed += p.size();
    Check(st == parser.state());
    Check(parser.clean_end() == (st == State::kDone));
    Check(Rank(st) >= Rank(last));
    Check(written.size() <= fed && stream.substr(0, written.size()) == written);
    Check(parser.held_bytes() <= 2 * fed + 64);
    if (st == State::kDone) {
      header();
      Check(written.size() + 2 == fed);  // then only the trailer
    }
    last = st;
  }
  o.state = last;
  return o;
}

std::vector<std::string_view> Pieces(std::string_view s, size_t size) {
  std::vector<std::string_view> out;
  for (size_t at = 0; at < s.size(); at += size) out.push_back(s.substr(at, size));
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (in.empty()) return 0;
  const size_t k = static_cast<unsigned char>(in[0]) & 31u;
  in.remove_prefix(1);
  std::vector<size_t> lengths;
  for (size_t i = 0; i < k && in.size() >= 2; ++i) {
    lengths.push_back(Be16(in, 0));
    in.remove_prefix(2);
  }
  const std::string_view stream = in;

  std::vector<std::string_view> planned;
  size_t at = 0;
  for (size_t len : lengths) {
    const size_t n = std::min(len, stream.size() - at);
    planned.push_back(stream.substr(at, n));
    at += n;
  }
  planned.push_back(stream.substr(at));

  const Outcome want = Reference(stream);
  Check(Feed(stream, {stream}) == want);
  Check(Feed(stream, planned) == want);
  Check(Feed(stream, Pieces(stream, stream.size() <= 4096 ? 1 : 61)) == want);
  return 0;
}
