#include "log/cosignature.h"

#include <gtest/gtest.h>

#include <string>

#include "common/bytes.h"
#include "log/checkpoint.h"

namespace notary {
namespace {

constexpr std::string_view kText =
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

Ed25519Signer Key(uint8_t fill) {
  std::array<uint8_t, 32> seed;
  seed.fill(fill);
  return *Ed25519Signer::FromSeed(seed);
}

TEST(CosignatureTest, MessageIsTheTwoHeaderLinesThenTheCheckpointText) {
  EXPECT_EQ(CosignatureMessage(kText, 1679315147),
            "cosignature/v1\ntime 1679315147\n" + std::string(kText));
}

TEST(CosignatureTest, CosignedNoteVerifiesAndReturnsTheTimestamp) {
  const Ed25519Signer log = Key(1), witness = Key(2);
  const std::string note = *SignNote(kText, "example.com/behind-the-sofa", log);
  const auto line = Cosign(kText, "witness.example/w1", witness, 1679315147);
  ASSERT_TRUE(line.ok()) << line.error().ToString();
  EXPECT_EQ(line->rfind("\xE2\x80\x94 witness.example/w1 ", 0), 0u);
  const CosignerKey vkey = *MakeCosignerKey("witness.example/w1", witness.public_key());
  const auto t = VerifyCosignature(note + *line, vkey);
  ASSERT_TRUE(t.ok()) << t.error().ToString();
  EXPECT_EQ(*t, 1679315147u);
  // The log's own signature still opens with the log's note key.
  const auto log_key = *MakeNoteVerifierKey("example.com/behind-the-sofa", log.public_key());
  EXPECT_TRUE(OpenNote(note + *line, log_key).ok());
}

TEST(CosignatureTest, RejectsWhatWasNotCosignedByTheKey) {
  const Ed25519Signer log = Key(1), witness = Key(2), other = Key(3);
  const std::string note = *SignNote(kText, "log", log);
  const CosignerKey vkey = *MakeCosignerKey("w1", witness.public_key());
  // No cosignature at all.
  EXPECT_EQ(VerifyCosignature(note, vkey).error().code(), common::ErrorCode::kVerifyFailed);
  // Another key under the same name: different key ID, ignored, so none found.
  EXPECT_FALSE(VerifyCosignature(note + *Cosign(kText, "w1", other, 5), vkey).ok());
  // The log's note signature by the witness key (type 0x01) is not a cosignature (0x04).
  const std::string as_note = *SignNote(kText, "w1", witness);
  EXPECT_FALSE(VerifyCosignature(as_note, vkey).ok());
  // Timestamp changed after signing.
  std::string line = *Cosign(kText, "w1", witness, 1000);
  std::string blob = *common::Base64Decode(line.substr(line.find(' ', 4) + 1, 96));
  blob[11] ^= 1;
  const std::string forged = "\xE2\x80\x94 w1 " + common::Base64Encode(blob) + "\n";
  EXPECT_EQ(VerifyCosignature(note + forged, vkey).error().code(),
            common::ErrorCode::kVerifyFailed);
  // Cosignature over another checkpoint.
  const std::string other_text = "log\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
  EXPECT_FALSE(VerifyCosignature(note + *Cosign(other_text, "w1", witness, 1000), vkey).ok());
}

TEST(CosignatureTest, VerifierKeyRoundTripsAndIsTypeFour) {
  const Ed25519Signer witness = Key(2);
  const CosignerKey k = *MakeCosignerKey("witness.example/w1", witness.public_key());
  const std::string s = k.ToString();
  const auto back = ParseCosignerKey(s);
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(*back, k);
  // The note key (type 0x01) of the same key is refused, and the other way round.
  const std::string note_vkey =
      MakeNoteVerifierKey("witness.example/w1", witness.public_key())->ToString();
  EXPECT_FALSE(ParseCosignerKey(note_vkey).ok());
  EXPECT_FALSE(ParseNoteVerifierKey(s).ok());
  EXPECT_NE(CosignerKeyId("w", witness.public_key()), NoteKeyId("w", witness.public_key()));
}

TEST(CosignatureTest, RefusesBadInputs) {
  const Ed25519Signer witness = Key(2);
  EXPECT_FALSE(Cosign(kText, "bad name", witness, 1).ok());
  EXPECT_FALSE(Cosign("no newline", "w", witness, 1).ok());
  EXPECT_FALSE(Cosign(std::string(kText) + "\n\x97 sig\n", "w", witness, 1).ok());
  EXPECT_FALSE(Cosign(kText, "w", witness, uint64_t{1} << 63).ok());
}

TEST(CosignatureTest, SignatureLinesAreSplitInOrder) {
  const Ed25519Signer log = Key(1), witness = Key(2);
  const std::string a = *Cosign(kText, "w1", witness, 7);
  const std::string note = *SignNote(kText, "log", log) + a;
  const auto lines = NoteSignatureLines(note);
  ASSERT_TRUE(lines.ok());
  ASSERT_EQ(lines->size(), 2u);
  EXPECT_EQ((*lines)[1], a);
}

}  // namespace
}  // namespace notary
