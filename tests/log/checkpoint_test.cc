#include "log/checkpoint.h"

#include <gtest/gtest.h>

#include <string>

#include "common/bytes.h"
#include "common/rfc6962.h"
#include "support/test_support.h"

namespace notary {
namespace {

// golang.org/x/mod/sumdb/note examples (an independent implementation of signed notes).
constexpr std::string_view kPeterSkeyB64 = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
constexpr std::string_view kPeterVkey =
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
constexpr std::string_view kEnochVkey =
    "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
constexpr std::string_view kGoText =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
constexpr std::string_view kPeterSig =
    "\xE2\x80\x94 PeterNeumann "
    "x08go/ZJkuBS9UG/"
    "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
constexpr std::string_view kEnochSig =
    "\xE2\x80\x94 EnochRoot "
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/"
    "5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

Ed25519Signer PeterSigner() {
  const std::string typed = *common::Base64Decode(kPeterSkeyB64);  // 0x01 || seed
  return *Ed25519Signer::FromSeed(common::AsBytes(typed).subspan(1));
}

Checkpoint Example() {
  Checkpoint cp;
  cp.origin = "notary.example.com/log";
  cp.size = 20852163;
  cp.root = common::HashLeaf("root");
  return cp;
}

TEST(CheckpointTest, SignsLikeGoSumdbNote) {
  Ed25519Signer peter = PeterSigner();
  EXPECT_EQ(MakeNoteVerifierKey("PeterNeumann", peter.public_key())->ToString(), kPeterVkey);
  EXPECT_EQ(NoteKeyId("PeterNeumann", peter.public_key()), 0xc74f20a3u);
  EXPECT_EQ(*SignNote(kGoText, "PeterNeumann", peter),
            std::string(kGoText) + "\n" + std::string(kPeterSig));
}

TEST(CheckpointTest, OpensGoNotesAndIgnoresUnknownSigners) {
  const NoteVerifierKey peter = *ParseNoteVerifierKey(kPeterVkey);
  const NoteVerifierKey enoch = *ParseNoteVerifierKey(kEnochVkey);
  const std::string both =
      std::string(kGoText) + "\n" + std::string(kPeterSig) + std::string(kEnochSig);
  EXPECT_EQ(*OpenNote(both, peter), kGoText);
  EXPECT_EQ(*OpenNote(both, enoch), kGoText);
  const Note parsed = *ParseNote(both);
  ASSERT_EQ(parsed.signatures.size(), 2u);
  EXPECT_EQ(parsed.signatures[1].name, "EnochRoot");
  EXPECT_EQ(parsed.signatures[1].key_id, 0xaf0cfe78u);
  EXPECT_EQ(parsed.signatures[1].signature.size(), 64u);
  // Only Enoch signed: Peter's key finds nothing to verify.
  const std::string enoch_only = std::string(kGoText) + "\n" + std::string(kEnochSig);
  EXPECT_EQ(OpenNote(enoch_only, peter).error().code(), common::ErrorCode::kVerifyFailed);
}

TEST(CheckpointTest, CheckpointRoundTrip) {
  const Checkpoint cp = Example();
  const std::string text = *FormatCheckpoint(cp);
  EXPECT_EQ(text, "notary.example.com/log\n20852163\n" + common::Base64Encode(cp.root) + "\n");
  EXPECT_EQ(*ParseCheckpoint(text), cp);
  Checkpoint empty_tree{"o", 0, common::Hash{}, {}};
  EXPECT_EQ(*ParseCheckpoint(*FormatCheckpoint(empty_tree)), empty_tree);
  Checkpoint with_ext = cp;
  with_ext.extensions = {"ext one", "ext two"};
  EXPECT_EQ(*ParseCheckpoint(*FormatCheckpoint(with_ext)), with_ext);
}

TEST(CheckpointTest, SignedCheckpointVerifiesAndTamperingFails) {
  Ed25519Signer signer = *Ed25519Signer::Generate();
  const Checkpoint cp = Example();
  const std::string note = *SignCheckpoint(cp, cp.origin, signer);
  const NoteVerifierKey key = *MakeNoteVerifierKey(cp.origin, signer.public_key());
  EXPECT_EQ(*OpenCheckpoint(note, key), cp);
  EXPECT_EQ(*OpenCheckpoint(note, *ParseNoteVerifierKey(key.ToString())), cp);

  std::string tampered = note;
  tampered[tampered.find("20852163")] = '3';
  EXPECT_EQ(OpenCheckpoint(tampered, key).error().code(), common::ErrorCode::kVerifyFailed);

  // The same name and key ID but another key: the signature is checked and fails.
  Ed25519Signer other = *Ed25519Signer::Generate();
  NoteVerifierKey impostor = key;
  impostor.public_key = other.public_key();
  EXPECT_EQ(OpenCheckpoint(note, impostor).error().code(), common::ErrorCode::kVerifyFailed);
  // Another key under its own ID: no signature by it.
  EXPECT_EQ(
      OpenCheckpoint(note, *MakeNoteVerifierKey(cp.origin, other.public_key())).error().code(),
      common::ErrorCode::kVerifyFailed);
  // Every single flipped bit of the signature line fails.
  const size_t sig_at = note.rfind(' ') + 1;
  for (size_t i = sig_at; i + 1 < note.size(); ++i) {
    std::string bad = note;
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(OpenCheckpoint(bad, key).ok()) << i;
  }
}

TEST(CheckpointTest, OpenSslCommandLineVerifiesCheckpointSignature) {
  Ed25519Signer signer = *Ed25519Signer::Generate();
  const Checkpoint cp = Example();
  const std::string note = *SignCheckpoint(cp, cp.origin, signer);
  const Note parsed = *ParseNote(note);
  ASSERT_EQ(parsed.signatures.size(), 1u);
  const std::string dir = testsupport::MakeTempDir("checkpoint");
  testsupport::WriteFile(dir + "/pub.pem", signer.PublicPem());
  testsupport::WriteFile(dir + "/body", *FormatCheckpoint(cp));
  testsupport::WriteFile(dir + "/sig", parsed.signatures[0].signature);
  const std::vector<std::string> verify = {"openssl",    "pkeyutl", "-verify",        "-rawin",
                                           "-pubin",     "-inkey",  dir + "/pub.pem", "-sigfile",
                                           dir + "/sig", "-in",     dir + "/body"};
  testsupport::CommandResult r = testsupport::RunCommand(verify);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("Signature Verified Successfully"), std::string::npos) << r.out;
  testsupport::WriteFile(dir + "/body", *FormatCheckpoint(cp) + "x\n");
  r = testsupport::RunCommand(verify);
  EXPECT_NE(r.exit_code, 0) << r.out;
}

TEST(CheckpointTest, MalformedCheckpointsAreRejected) {
  const std::string root = common::Base64Encode(common::HashLeaf("root"));
  for (const std::string& text : std::vector<std::string>{
           "", "o\n1\n", "o\n1\n" + root, "\n1\n" + root + "\n", "o\n01\n" + root + "\n",
           "o\n-1\n" + root + "\n", "o\n1 \n" + root + "\n",
           "o\n18446744073709551616\n" + root + "\n", "o\n1\n" + root.substr(4) + "\n",
           "o\n1\nAAAA\n", "o\n1\n" + root + "\n\n", "o\r\n1\n" + root + "\n",
           "o\n1\n" + root + "=\n", "o\xff\n1\n" + root + "\n"}) {
    EXPECT_FALSE(ParseCheckpoint(text).ok()) << text;
  }
  EXPECT_TRUE(ParseCheckpoint("o\n18446744073709551615\n" + root + "\n").ok());
  Checkpoint bad = Example();
  bad.origin = "two\nlines";
  EXPECT_FALSE(FormatCheckpoint(bad).ok());
  bad.origin = "";
  EXPECT_FALSE(FormatCheckpoint(bad).ok());
  bad = Example();
  bad.extensions = {""};
  EXPECT_FALSE(FormatCheckpoint(bad).ok());
}

TEST(CheckpointTest, MalformedNotesAreRejected) {
  const std::string good = std::string(kGoText) + "\n" + std::string(kPeterSig);
  ASSERT_TRUE(ParseNote(good).ok());
  const std::string sig_line(kPeterSig);
  for (const std::string& note : std::vector<std::string>{
           "", std::string(kGoText), std::string(kGoText) + "\n",
           std::string(kGoText) + sig_line,                          // no blank line
           good.substr(0, good.size() - 1),                          // no final newline
           std::string(kGoText) + "\n- PeterNeumann AAAAAAAA\n",     // ASCII dash
           std::string(kGoText) + "\n\xE2\x80\x94 PeterNeumann\n",   // no signature
           std::string(kGoText) + "\n\xE2\x80\x94  AAAAAAAA\n",      // empty name
           std::string(kGoText) + "\n\xE2\x80\x94 a+b AAAAAAAA\n",   // '+' in name
           std::string(kGoText) + "\n\xE2\x80\x94 name AAAA\n",      // too short
           std::string(kGoText) + "\n\xE2\x80\x94 name AAAAAAB=\n",  // not canonical
           "tab\there\n\n" + sig_line, "bad utf8 \xC0\xAF\n\n" + sig_line,
           std::string(kGoText) + "\n" + sig_line + "\n"}) {
    EXPECT_FALSE(ParseNote(note).ok()) << note;
  }
  std::string many = std::string(kGoText) + "\n";
  for (int i = 0; i < 101; ++i) many += sig_line;
  EXPECT_FALSE(ParseNote(many).ok());
  EXPECT_FALSE(SignNote("no newline", "name", PeterSigner()).ok());
  EXPECT_FALSE(SignNote("text\n", "bad name", PeterSigner()).ok());
}

TEST(CheckpointTest, MangledVerifierKeysAreRejected) {
  ASSERT_TRUE(ParseNoteVerifierKey(kPeterVkey).ok());
  const std::string vkey(kPeterVkey);
  for (size_t i = 0; i <= vkey.size(); ++i) {
    for (size_t j = i + 1; j <= vkey.size(); ++j) {
      if (i == 0 && j == vkey.size()) continue;
      EXPECT_FALSE(ParseNoteVerifierKey(vkey.substr(i, j - i)).ok()) << vkey.substr(i, j - i);
    }
  }
  for (size_t i = 0; i < vkey.size(); ++i) {
    std::string bad = vkey;
    ++bad[i];
    EXPECT_FALSE(ParseNoteVerifierKey(bad).ok()) << bad;
  }
  EXPECT_FALSE(MakeNoteVerifierKey("with space", PeterSigner().public_key()).ok());
  EXPECT_FALSE(MakeNoteVerifierKey("nbsp\xC2\xA0name", PeterSigner().public_key()).ok());
}

}  // namespace
}  // namespace notary
