// production/deflate.h: pieces deflated apart, on different threads, and the final block
// after them inflate to the whole input, and their CRC-32s combine to the whole's; a whole
// stream inflates to its input. zlib's inflate is the reader a zip tool uses.
#include "production/deflate.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>
#include <vector>

namespace {

using production::Deflate;
using production::Deflated;
using production::FinalBlock;
using production::Follow;

// Inflates raw DEFLATE; fails the test unless the stream ends exactly at the end of `data`.
std::string Inflate(const std::string& data) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, -15), Z_OK);
  std::string out;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  int rc = Z_OK;
  char buf[4096];
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
  }
  EXPECT_EQ(rc, Z_STREAM_END);
  EXPECT_EQ(z.avail_in, 0u) << "bytes after the final block";
  inflateEnd(&z);
  return out;
}

uint32_t Crc(const std::string& s) {
  return static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(s.data()), static_cast<uInt>(s.size())));
}

TEST(DeflateTest, PiecesDeflatedApartAreOneStreamWithTheWholesCrc) {
  // Text, an empty piece, and 200 KB of varied bytes (several blocks, some incompressible).
  std::vector<std::string> inputs = {
      "From a@example.com Fri Dec  4 10:00:00 2026\nSubject: x\r\n\n", "", ""};
  for (int i = 0; i < 200000; ++i) inputs[2] += static_cast<char>((i * 7919) ^ (i >> 5));
  std::string whole, stream;
  uint32_t crc = 0;
  uint64_t size = 0;
  for (const std::string& in : inputs) {
    auto piece = Deflate(in, /*whole=*/false);
    ASSERT_TRUE(piece.ok());
    EXPECT_EQ(piece->crc, Crc(in));
    EXPECT_EQ(piece->size, in.size());
    stream += piece->data;
    Follow(crc, size, *piece);
    whole += in;
  }
  auto end = FinalBlock();
  ASSERT_TRUE(end.ok());
  stream += *end;
  EXPECT_EQ(Inflate(stream), whole);
  EXPECT_EQ(crc, Crc(whole));
  EXPECT_EQ(size, whole.size());
}

TEST(DeflateTest, AMailboxOfNoMessageIsTheFinalBlockAlone) {
  auto end = FinalBlock();
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(Inflate(*end), "");
}

TEST(DeflateTest, AWholeStreamInflatesToItsInputAndIsSmaller) {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "contract delivery invoice widget schedule\r\n";
  auto d = Deflate(text, /*whole=*/true);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(Inflate(d->data), text);
  EXPECT_EQ(d->crc, Crc(text));
  EXPECT_LT(d->data.size(), text.size() / 10);
  auto empty = Deflate("", /*whole=*/true);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(Inflate(empty->data), "");
}

}  // namespace
