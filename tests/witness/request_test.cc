#include "witness/request.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "common/bytes.h"

namespace witness {
namespace {

const std::string kNote =
    "example.com/log\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n— x y\n";
const std::string kHash = "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=";

TEST(WitnessRequestTest, ParsesTheSpecificationsForm) {
  auto r = ParseAddCheckpointRequest("old 20852014\n" + kHash + "\n" + kHash + "\n\n" + kNote);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->old_size, 20852014u);
  ASSERT_EQ(r->proof.size(), 2u);
  EXPECT_EQ(common::Base64Encode(r->proof[0]), kHash);
  EXPECT_EQ(r->checkpoint, kNote);
  EXPECT_EQ(FormatAddCheckpointRequest(*r),
            "old 20852014\n" + kHash + "\n" + kHash + "\n\n" + kNote);
}

TEST(WitnessRequestTest, OldZeroWithoutProof) {
  auto r = ParseAddCheckpointRequest("old 0\n\n" + kNote);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->old_size, 0u);
  EXPECT_TRUE(r->proof.empty());
}

TEST(WitnessRequestTest, LargestOldSize) {
  auto r = ParseAddCheckpointRequest("old 18446744073709551615\n" + kHash + "\n\n" + kNote);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->old_size, UINT64_MAX);
}

TEST(WitnessRequestTest, SixtyThreeProofLinesButNotSixtyFour) {
  std::string lines;
  for (int i = 0; i < 63; ++i) lines += kHash + "\n";
  EXPECT_TRUE(ParseAddCheckpointRequest("old 7\n" + lines + "\n" + kNote).ok());
  EXPECT_FALSE(ParseAddCheckpointRequest("old 7\n" + lines + kHash + "\n\n" + kNote).ok());
}

TEST(WitnessRequestTest, RefusesMalformedBodies) {
  const std::string bad_last_char = kHash.substr(0, 42) + "x=";  // stray bits: not canonical
  const std::vector<std::string> bodies = {
      "",
      "old\n\n" + kNote,
      "old \n\n" + kNote,
      "old 01\n\n" + kNote,
      "old 00\n\n" + kNote,
      "old -1\n\n" + kNote,
      "old +1\n\n" + kNote,
      "old 1 \n\n" + kNote,
      "old  1\n\n" + kNote,
      "Old 1\n\n" + kNote,
      "old 18446744073709551616\n\n" + kNote,  // 2^64
      "old 99999999999999999999\n\n" + kNote,  // 20 digits, overflows
      "old 1\r\n\n" + kNote,
      "old 1",
      "old 1\n",
      "old 1\n" + kHash,
      "old 1\n" + kHash + "\n",
      "old 1\n" + kHash + "\n\n",  // no checkpoint
      "old 1\n" + kHash.substr(0, 43) + "\n\n" + kNote,
      "old 1\n" + kHash + "=\n\n" + kNote,
      "old 1\n" + kHash.substr(0, 43) + "A\n\n" + kNote,  // no padding: 33 bytes
      "old 1\n" + bad_last_char + "\n\n" + kNote,
      "old 1\n " + kHash + "\n\n" + kNote,
      "old 1\n" + kHash + "\r\n\n" + kNote,
      "old 1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n\n" + kNote,  // 31 bytes
      "old 0\n" + kHash + "\n\n" + kNote,  // a proof from 0 must be empty
  };
  for (const auto& body : bodies) {
    auto r = ParseAddCheckpointRequest(body);
    EXPECT_FALSE(r.ok()) << body;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code(), common::ErrorCode::kInvalidInput);
    }
  }
}

TEST(WitnessRequestTest, EveryPrefixOfAValidBodyIsRefusedOrShorterNote) {
  const std::string body = "old 3\n" + kHash + "\n\n" + kNote;
  const size_t note_start = body.size() - kNote.size();
  for (size_t n = 0; n < note_start; ++n) {
    EXPECT_FALSE(ParseAddCheckpointRequest(body.substr(0, n)).ok()) << n;
  }
}

}  // namespace
}  // namespace witness

namespace witness {
namespace {

// The fuzz target's property (tests/witness/fuzz/) over deterministic mutations of valid
// bodies, so that every test run (and the sanitizer build) exercises it: never a crash, and
// an accepted body is the one spelling FormatAddCheckpointRequest writes.
TEST(WitnessRequestTest, MutatedBodiesParseToTheirOnlySpellingOrFail) {
  std::string seed = "old 20852014\n";
  for (int i = 0; i < 5; ++i) seed += kHash + "\n";
  seed += "\n" + kNote;
  using namespace std::string_literals;
  const std::string alphabet = "old 0123456789\n+/=AZaz\x00\xe2\x80\x94 "s;  // NUL included
  std::mt19937 rng(19);
  int accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string body = seed;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !body.empty(); ++e) {
      const size_t at = rng() % body.size();
      const char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0:
          body[at] = c;
          break;
        case 1:
          body.insert(at, 1, c);
          break;
        default:
          body.erase(at, 1 + rng() % 8);
          break;
      }
    }
    auto r = ParseAddCheckpointRequest(body);
    if (r.ok()) {
      ++accepted;
      ASSERT_EQ(FormatAddCheckpointRequest(*r), body);
      ASSERT_LE(r->proof.size(), kMaxProofLines);
    }
  }
  EXPECT_GT(accepted, 0);  // some mutations land in the note, which the parser does not read
}

}  // namespace
}  // namespace witness
