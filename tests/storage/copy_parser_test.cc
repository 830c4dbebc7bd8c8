// CopyParser (storage/src/copy_parser.h), the reader of PostgreSQL's binary COPY format
// behind BlobScan, fed hand-built streams directly: whole, cut at every byte, cut in three,
// one byte at a time and with empty pieces between. After every piece the parser must have
// handed over exactly the tuples that the bytes so far hold whole, and be bad exactly when the
// bytes so far are not the start of a well-formed stream. (The same streams through libpq and
// a stand-in server: blob_scan_copy_test.cc; what a real PostgreSQL writes: blob_scan_test.cc.)
//
// COPY BINARY (PostgreSQL docs, "COPY", Binary Format): the 11-byte signature
// "PGCOPY\n\377\r\n\0", an int32 flags field (bits 0-15 critical: a reader must abort on an
// unexpected one; bit 16: OIDs included; bits 17-31 to be ignored), an int32 header extension
// length and that many bytes; then tuples, each an int16 field count and per field an int32
// length (-1 for NULL) and the bytes; then the trailer, an int16 -1. Integers are big-endian.
#include "copy_parser.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "storage/copy_stream.h"

namespace {

using storage::internal::CopyParser;
using State = CopyParser::State;
using Rows = std::vector<std::pair<std::string, std::string>>;

using copystream::Be;
using copystream::Field;
using copystream::kSignature;
using copystream::Tuple;

const std::string kTrailer = Be(0xffff, 2);
constexpr size_t kHeaderBytes = 19;

// A stream and where each of its well-formed tuples ends.
struct Stream {
  Stream& Header(uint32_t flags = 0, const std::string& extension = "") {
    return Raw(copystream::Header(flags, extension));
  }
  Stream& Row(const std::string& key, const std::string& data) {
    Raw(Tuple(key, data));
    rows.emplace_back(key, data);
    row_ends.push_back(bytes.size());
    return *this;
  }
  Stream& Raw(const std::string& b) {
    bytes += b;
    return *this;
  }
  Stream& Trailer() {
    Raw(kTrailer);
    if (done_at == std::string::npos) done_at = bytes.size();
    return *this;
  }

  std::string bytes;
  Rows rows;
  std::vector<size_t> row_ends;
  size_t done_at = std::string::npos;  // the end of the first trailer
};

using Chunks = std::vector<std::string>;

// Cuts `s` at the given positions (ascending; those outside (0, size) are skipped).
Chunks Cut(const std::string& s, const std::vector<size_t>& at) {
  Chunks out;
  size_t from = 0;
  for (size_t p : at) {
    if (p > from && p < s.size()) {
      out.push_back(s.substr(from, p - from));
      from = p;
    }
  }
  if (from < s.size()) out.push_back(s.substr(from));
  return out;
}

// Every way the stream is fed here: whole, cut in two at every byte, cut in three (at every
// pair of bytes in a short stream, else at pairs 1 and 13 bytes apart), one byte per piece,
// and one byte per piece with an empty piece before each. A long stream: whole, in pieces of
// a prime size and cut in two around each of its first and last 64 bytes.
std::vector<Chunks> Chunkings(const std::string& s) {
  std::vector<Chunks> all = {{s}};
  if (s.size() > 4096) {
    std::vector<size_t> prime;
    for (size_t i = 4093; i < s.size(); i += 4093) prime.push_back(i);
    all.push_back(Cut(s, prime));
    for (size_t i = 1; i < 64; ++i) {
      all.push_back(Cut(s, {i}));
      all.push_back(Cut(s, {s.size() - i}));
    }
    return all;
  }
  for (size_t i = 1; i < s.size(); ++i) all.push_back(Cut(s, {i}));
  for (size_t i = 1; i < s.size(); ++i) {
    if (s.size() <= 96) {
      for (size_t j = i + 1; j < s.size(); ++j) all.push_back(Cut(s, {i, j}));
    } else {
      all.push_back(Cut(s, {i, i + 1}));
      all.push_back(Cut(s, {i, i + 13}));
    }
  }
  std::vector<size_t> every;
  for (size_t i = 1; i < s.size(); ++i) every.push_back(i);
  all.push_back(Cut(s, every));
  Chunks with_empty;
  for (const std::string& c : all.back()) {
    with_empty.push_back("");
    with_empty.push_back(c);
  }
  all.push_back(with_empty);
  return all;
}

std::string Describe(const Chunks& chunks) {
  std::string d = std::to_string(chunks.size()) + " pieces of";
  for (size_t i = 0; i < chunks.size() && i < 4; ++i) d += " " + std::to_string(chunks[i].size());
  return d + (chunks.size() > 4 ? " ..." : "");
}

size_t RowsEndingBy(const Stream& s, size_t n) {
  return static_cast<size_t>(
      std::count_if(s.row_ends.begin(), s.row_ends.end(), [&](size_t end) { return end <= n; }));
}

// Feeds `s` in every chunking. After each piece: the state Feed returns is state(); the
// rows handed over are exactly the tuples of `s` whole in the bytes so far (and before
// `bad_from`); the parser is bad iff the bytes so far reach `bad_from` (a stream that is not
// bad anywhere: bad_from = npos), else done iff they reach the end of the trailer; what it
// holds in memory is within twice the bytes fed (never a claimed length not yet come).
void ExpectInEveryChunking(const Stream& s, size_t bad_from) {
  const bool good = bad_from == std::string::npos;
  if (good) {
    ASSERT_EQ(s.done_at, s.bytes.size()) << "a good stream ends with its trailer";
  }
  for (const Chunks& chunks : Chunkings(s.bytes)) {
    CopyParser parser;
    Rows rows;
    const CopyParser::RowFn fn = [&](std::string_view key, std::string_view data) {
      rows.emplace_back(std::string(key), std::string(data));
    };
    size_t fed = 0;
    for (const std::string& c : chunks) {
      const State st = parser.Feed(c, fn);
      fed += c.size();
      ASSERT_EQ(st, parser.state()) << Describe(chunks);
      const State want = fed >= bad_from    ? State::kBad
                         : fed >= s.done_at ? State::kDone
                                            : State::kMore;
      ASSERT_EQ(st, want) << "after " << fed << " bytes, " << Describe(chunks);
      ASSERT_EQ(rows.size(), RowsEndingBy(s, std::min(fed, bad_from)))
          << "after " << fed << " bytes, " << Describe(chunks);
      ASSERT_LE(parser.held_bytes(), 2 * fed + 64) << "after " << fed << " bytes";
    }
    EXPECT_EQ(parser.clean_end(), good) << Describe(chunks);
    const Rows want(s.rows.begin(), s.rows.begin() + static_cast<std::ptrdiff_t>(RowsEndingBy(
                                                         s, std::min(s.bytes.size(), bad_from))));
    EXPECT_EQ(rows, want) << Describe(chunks);
  }
}

void ExpectGood(const Stream& s) { ExpectInEveryChunking(s, std::string::npos); }
// `bad_from`: how many bytes of the stream make it bad (the offset of the first bad byte
// plus one, or where the parser can first tell).
void ExpectBad(const Stream& s, size_t bad_from) {
  ASSERT_LE(bad_from, s.bytes.size());
  ExpectInEveryChunking(s, bad_from);
}

Stream SampleStream() {
  std::string every_byte;
  for (int i = 0; i < 256; ++i) every_byte += static_cast<char>(i);
  Stream s;
  s.Header();
  s.Row(std::string(32, 'k'), "hello");
  s.Row(std::string(32, '\0'), "");  // an empty message
  s.Row(std::string(32, '\xff'), every_byte);
  // Data that looks like a trailer, a tuple header and the signature.
  s.Row("\xff\xff", std::string("\xff\xff\0\2", 4) + kSignature);
  return s;
}

TEST(CopyParserTest, ReadsEveryTupleAsSoonAsItIsWholeInEveryChunking) {
  ExpectGood(SampleStream().Trailer());
}

TEST(CopyParserTest, EmptyTableIsHeaderAndTrailer) { ExpectGood(Stream().Header().Trailer()); }

TEST(CopyParserTest, EveryTruncationWaitsForMoreAndIsNoCleanEnd) {
  // Every proper prefix (inside the signature, the flags, a length, a field, or just before
  // the trailer) is a stream still coming: its whole tuples, kMore, no clean end.
  const Stream full = SampleStream().Trailer();
  for (size_t n = 0; n < full.bytes.size(); ++n) {
    Stream prefix = full;
    prefix.bytes.resize(n);
    std::vector<size_t> every;
    for (size_t i = 1; i < n; ++i) every.push_back(i);
    for (const Chunks& chunks : {Cut(prefix.bytes, {}), Cut(prefix.bytes, every)}) {
      CopyParser parser;
      Rows rows;
      for (const std::string& c : chunks) {
        (void)parser.Feed(c, [&](std::string_view k, std::string_view d) {
          rows.emplace_back(std::string(k), std::string(d));
        });
      }
      ASSERT_EQ(parser.state(), State::kMore) << n << " bytes, " << Describe(chunks);
      EXPECT_FALSE(parser.clean_end());
      const Rows want(full.rows.begin(),
                      full.rows.begin() + static_cast<std::ptrdiff_t>(RowsEndingBy(full, n)));
      EXPECT_EQ(rows, want) << n << " bytes";
    }
  }
}

TEST(CopyParserTest, SkipsTheHeaderExtension) {
  // An extension that holds what looks like a tuple and a trailer: none of it is data.
  ExpectGood(Stream().Header(0, Tuple("not", "a row") + kTrailer).Row("key", "data").Trailer());
}

TEST(CopyParserTest, HeaderExtensionOfOneMebibyteIsTheLargestRead) {
  const std::string ext(CopyParser::kMaxHeaderExtension, '\x5a');
  ExpectGood(Stream().Header(0, ext).Row("key", "data").Trailer());
  // One byte more, or a length with its top bit set, is refused on the length alone.
  for (uint32_t len : {CopyParser::kMaxHeaderExtension + 1, 0x80000000u, 0xffffffffu}) {
    Stream s;
    s.Raw(kSignature + Be(0, 4) + Be(len, 4)).Raw(Tuple("k", "v")).Trailer();
    ExpectBad(s, kHeaderBytes);
  }
}

TEST(CopyParserTest, NonCriticalFlagBitsAreIgnored) {
  for (uint32_t flags : {1u << 17, 1u << 31, 0xfffe0000u}) {
    ExpectGood(Stream().Header(flags).Row("k", "v").Trailer());
  }
}

TEST(CopyParserTest, EveryCriticalFlagBitIsRefused) {
  // Bits 0-15: the parser tells from the whole fixed header.
  for (int bit = 0; bit < 16; ++bit) {
    Stream s;
    s.Header(1u << bit).Raw(Tuple("k", "v")).Trailer();
    ExpectBad(s, kHeaderBytes);
  }
}

TEST(CopyParserTest, OidFlagIsRefused) {
  // Bit 16: an OID field before each tuple's fields, not counted in the field count. Read
  // without the flag, its length would pass for the key's.
  const std::string oid = Field(Be(16384, 4));
  Stream s;
  s.Header(1u << 16).Raw(Be(2, 2) + oid + Field("k") + Field("v")).Trailer();
  ExpectBad(s, kHeaderBytes);
}

TEST(CopyParserTest, WrongSignatureIsRefused) {
  const Stream good = Stream().Header().Row("k", "v").Trailer();
  for (size_t i = 0; i < kSignature.size(); ++i) {
    Stream bad;
    bad.Raw(good.bytes);
    bad.bytes[i] = static_cast<char>(bad.bytes[i] ^ 0x20);
    ExpectBad(bad, kHeaderBytes);
  }
  // A text-format COPY (no signature at all), long enough for a header.
  ExpectBad(Stream().Raw("6b\t\\\\x76\n6c\t\\\\x77\n\\.\n"), kHeaderBytes);
}

TEST(CopyParserTest, FieldCountOtherThanTwoIsRefused) {
  for (uint64_t fields : {0ull, 1ull, 3ull, 0x7fffull, 0xfffeull /* -2 */, 0x8000ull}) {
    Stream s;
    s.Header().Row("k", "v");
    const size_t bad_from = s.bytes.size() + 2;
    s.Raw(Be(fields, 2));
    for (uint64_t f = 0; f < std::min<uint64_t>(fields, 3); ++f) s.Raw(Field("x"));
    s.Trailer();
    ExpectBad(s, bad_from);
  }
}

TEST(CopyParserTest, NullFieldIsRefused) {
  const std::string null_field = Be(0xffffffff, 4);
  {
    Stream s;
    s.Header().Row("a", "b").Raw(Be(2, 2));
    const size_t bad_from = s.bytes.size() + 4;
    s.Raw(null_field + Field("v")).Trailer();
    ExpectBad(s, bad_from);
  }
  {
    Stream s;
    s.Header().Row("a", "b").Raw(Be(2, 2) + Field("k"));
    const size_t bad_from = s.bytes.size() + 4;
    s.Raw(null_field).Trailer();
    ExpectBad(s, bad_from);
  }
}

TEST(CopyParserTest, NegativeFieldLengthIsRefusedOnTheLengthAlone) {
  // Only -1 (NULL) is a negative length in the format; the others were once taken for
  // lengths near 4 GiB and waited for.
  for (uint32_t len : {0xfffffffeu, 0x80000000u, 0xc0000000u, 0xffffff00u}) {
    for (bool second : {false, true}) {
      Stream s;
      s.Header().Row("a", "b").Raw(Be(2, 2));
      if (second) s.Raw(Field("k"));
      const size_t bad_from = s.bytes.size() + 4;
      s.Raw(Be(len, 4) + "abc").Trailer();
      ExpectBad(s, bad_from);
    }
  }
}

TEST(CopyParserTest, FieldLongerThanPostgresCanSendIsRefusedOnTheLengthAlone) {
  for (uint32_t len : {CopyParser::kMaxFieldBytes + 1, 0x7fffffffu}) {
    for (bool second : {false, true}) {
      Stream s;
      s.Header().Raw(Be(2, 2));
      if (second) s.Raw(Field("k"));
      const size_t bad_from = s.bytes.size() + 4;
      s.Raw(Be(len, 4) + std::string(100, 'x')).Trailer();
      ExpectBad(s, bad_from);
    }
  }
}

TEST(CopyParserTest, LongestFieldIsWaitedForWithoutReservingIt) {
  // A field of the largest length allowed: its bytes are held as they come, never reserved
  // from the length word, whether the length came in one piece with what went before or cut.
  const std::string start =
      Stream().Header().bytes + Be(2, 2) + Field("k") + Be(CopyParser::kMaxFieldBytes, 4);
  for (const Chunks& head : {Cut(start, {}), Cut(start, {5, 20, 23, 28})}) {
    CopyParser parser;
    int rows = 0;
    const CopyParser::RowFn fn = [&](std::string_view, std::string_view) { ++rows; };
    size_t fed = 0;
    for (const std::string& c : head) {
      ASSERT_EQ(parser.Feed(c, fn), State::kMore);
      fed += c.size();
      ASSERT_LE(parser.held_bytes(), 2 * fed + 64) << fed;
    }
    const std::string kib(1024, 'd');
    for (int i = 0; i < 256; ++i) {
      ASSERT_EQ(parser.Feed(kib, fn), State::kMore);
      fed += kib.size();
      ASSERT_LE(parser.held_bytes(), 2 * fed + 64) << fed;
    }
    EXPECT_LT(parser.held_bytes(), size_t{1} << 20);
    EXPECT_EQ(rows, 0);
    EXPECT_FALSE(parser.clean_end());
  }
}

TEST(CopyParserTest, LargeTupleAcrossManyPieces) {
  std::string big;
  for (int i = 0; i < 200000; ++i) big += static_cast<char>((i * 131) & 0xff);
  ExpectGood(Stream().Header().Row("a", big).Row("b", "small").Trailer());
}

TEST(CopyParserTest, BytesAfterTheTrailerAreRefused) {
  for (const std::string& extra : {Tuple("x", "y"), std::string(1, '\0'), kTrailer}) {
    Stream s;
    s.Header().Row("k", "v").Trailer();
    const size_t bad_from = s.bytes.size() + 1;
    s.Raw(extra);
    ExpectBad(s, bad_from);
  }
}

TEST(CopyParserTest, EmptyPiecesAfterTheTrailerKeepItClean) {
  CopyParser parser;
  const CopyParser::RowFn fn = [](std::string_view, std::string_view) {};
  ASSERT_EQ(parser.Feed(Stream().Header().Row("k", "v").Trailer().bytes, fn), State::kDone);
  EXPECT_EQ(parser.Feed("", fn), State::kDone);
  EXPECT_TRUE(parser.clean_end());
  EXPECT_EQ(parser.Feed(std::string_view("\0", 1), fn), State::kBad);
  EXPECT_EQ(parser.Feed("", fn), State::kBad);
}

TEST(CopyParserTest, BadIsFinal) {
  // Once refused, nothing fed after (not even a whole good stream) is read.
  CopyParser parser;
  int rows = 0;
  const CopyParser::RowFn fn = [&](std::string_view, std::string_view) { ++rows; };
  ASSERT_EQ(parser.Feed(Stream().Header(1).bytes, fn), State::kBad);
  EXPECT_EQ(parser.Feed(SampleStream().Trailer().bytes, fn), State::kBad);
  EXPECT_EQ(rows, 0);
  EXPECT_FALSE(parser.clean_end());
}

}  // namespace
