// notary-signer's frames: what a stranger on the socket can send is bounded before it is held.
#include "signer/frame.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using signer::Frame;
using signer::FrameReader;
using signer::Kind;

std::string Encoded(Kind kind, const std::string& body) {
  auto f = signer::EncodeFrame(kind, body);
  EXPECT_TRUE(f.ok());
  return f.ok() ? *f : std::string();
}

std::vector<Frame> Drain(FrameReader& r) {
  std::vector<Frame> out;
  while (auto f = r.Next()) out.push_back(*f);
  return out;
}

TEST(SignerFrameTest, EncodesLengthKindBody) {
  EXPECT_EQ(Encoded(Kind::kSignBlock, "abc"), std::string("\0\0\0\4\2abc", 8));
  EXPECT_EQ(Encoded(Kind::kListKeys, ""), std::string("\0\0\0\1\1", 5));
  EXPECT_FALSE(
      signer::EncodeFrame(Kind::kSignature, std::string(signer::kMaxFrameBytes, 'x')).ok());
  EXPECT_TRUE(
      signer::EncodeFrame(Kind::kSignature, std::string(signer::kMaxFrameBytes - 1, 'x')).ok());
}

TEST(SignerFrameTest, FramesComeOutWhateverTheReadsCutTheStreamInto) {
  const std::vector<Frame> sent = {{Kind::kListKeys, ""},
                                   {Kind::kSignBlock, std::string(300, '\xff')},
                                   {Kind::kSignCheckpoint, "origin\n5\nroot\n"}};
  std::string stream;
  for (const auto& f : sent) stream += Encoded(f.kind, f.body);
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    FrameReader r;
    ASSERT_TRUE(r.Feed(std::string_view(stream).substr(0, cut)).ok()) << cut;
    ASSERT_TRUE(r.Feed(std::string_view(stream).substr(cut)).ok()) << cut;
    EXPECT_EQ(Drain(r), sent) << cut;
    EXPECT_EQ(r.pending_bytes(), 0u);
  }
  FrameReader bytewise;
  for (char c : stream) ASSERT_TRUE(bytewise.Feed(std::string_view(&c, 1)).ok());
  EXPECT_EQ(Drain(bytewise), sent);
}

TEST(SignerFrameTest, ALengthOutOfRangeBreaksTheStreamBeforeAnyBodyIsHeld) {
  for (const std::string& length : {std::string("\0\0\0\0", 4), std::string("\0\1\0\1", 4),
                                    std::string("\xff\xff\xff\xff", 4)}) {
    FrameReader r;
    EXPECT_FALSE(r.Feed(length).ok());
    EXPECT_EQ(r.pending_bytes(), 0u);
    // Broken for good: a valid frame afterwards is not taken.
    EXPECT_FALSE(r.Feed(Encoded(Kind::kListKeys, "")).ok());
    EXPECT_FALSE(r.Next().has_value());
  }
}

TEST(SignerFrameTest, AnUnknownKindBreaksTheStreamAtItsFirstByte) {
  for (int kind : {0x00, 0x0b, 0x0c, 0x80, 0x85, 0xff}) {
    FrameReader r;
    // The length alone is fine (nothing known about the kind yet)...
    ASSERT_TRUE(r.Feed(std::string("\0\1\0\0", 4)).ok()) << kind;
    // ...its kind byte is not, before any of the announced 65,536 bytes is held.
    EXPECT_FALSE(r.Feed(std::string(1, static_cast<char>(kind))).ok()) << kind;
    EXPECT_EQ(r.pending_bytes(), 0u);
  }
  // Answers are known kinds: a client reads them with the same reader.
  FrameReader answers;
  ASSERT_TRUE(answers.Feed(Encoded(Kind::kRefused, "no") + Encoded(Kind::kSignature, "s")).ok());
  EXPECT_EQ(Drain(answers).size(), 2u);
}

}  // namespace
