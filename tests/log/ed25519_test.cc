#include "log/ed25519.h"

#include <gtest/gtest.h>

#include <string>

#include "common/bytes.h"
#include "support/test_support.h"

namespace notary {
namespace {

std::string Unhex(std::string_view hex) { return *common::FromHex(hex); }

struct Rfc8032Vector {
  const char* seed;
  const char* public_key;
  const char* message;
  const char* signature;
};

// RFC 8032 §7.1, TEST 1, 2, 3 and SHA(abc).
const Rfc8032Vector kVectors[] = {
    {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b"
     "4"
     "6bd25bf5f0595bbe24655141438e7a100b"},
    {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11"
     "d"
     "8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc"
     "6"
     "594a7c15e9716ed28dc027beceea1ec40a"},
    {"833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
     "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3fee"
     "b"
     "bd454d4423643ce80e2a9ac94fa54ca49f",
     "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e"
     "0"
     "303dca179c138ac17ad9bef1177331a704"},
};

TEST(Ed25519Test, Rfc8032VectorsSignAndVerify) {
  for (const Rfc8032Vector& v : kVectors) {
    const std::string seed = Unhex(v.seed);
    common::Result<Ed25519Signer> signer = Ed25519Signer::FromSeed(common::AsBytes(seed));
    ASSERT_TRUE(signer.ok()) << signer.error().ToString();
    EXPECT_EQ(common::ToHex(signer->public_key()), v.public_key);
    const std::string message = Unhex(v.message);
    const Ed25519Signature sig = *signer->Sign(message);
    EXPECT_EQ(common::ToHex(sig), v.signature);

    const std::string pub = Unhex(v.public_key);
    EXPECT_TRUE(Ed25519Verify(pub, common::AsBytes(message), sig).ok());
    // A flipped signature bit, a changed message and a truncated signature all fail.
    Ed25519Signature bad = sig;
    bad[5] ^= 1;
    EXPECT_EQ(Ed25519Verify(pub, common::AsBytes(message), bad).error().code(),
              common::ErrorCode::kVerifyFailed);
    EXPECT_FALSE(Ed25519Verify(pub, common::AsBytes(message + "x"), sig).ok());
    EXPECT_EQ(Ed25519Verify(pub, common::AsBytes(message), std::span(sig).first(63)).error().code(),
              common::ErrorCode::kInvalidInput);
  }
}

TEST(Ed25519Test, PemRoundTripKeepsTheKey) {
  Ed25519Signer signer = *Ed25519Signer::Generate();
  const std::string pem = *signer.PrivatePem();
  EXPECT_NE(pem.find("-----BEGIN PRIVATE KEY-----"), std::string::npos);
  Ed25519Signer again = *Ed25519Signer::FromPrivatePem(pem);
  EXPECT_EQ(again.public_key(), signer.public_key());
  // Deterministic signatures: the same key signs the same message identically.
  EXPECT_EQ(*again.Sign("hello"), *signer.Sign("hello"));

  const std::string pub_pem = signer.PublicPem();
  EXPECT_NE(pub_pem.find("-----BEGIN PUBLIC KEY-----"), std::string::npos);
  EXPECT_EQ(*ParseEd25519PublicKey(pub_pem), signer.public_key());
  EXPECT_TRUE(
      Ed25519Verify(pub_pem, common::AsBytes(std::string_view("hello")), *signer.Sign("hello"))
          .ok());
}

TEST(Ed25519Test, RejectsOtherKeysAndGarbage) {
  EXPECT_EQ(Ed25519Signer::FromPrivatePem("not a key").error().code(),
            common::ErrorCode::kInvalidInput);
  EXPECT_EQ(ParseEd25519PublicKey("short").error().code(), common::ErrorCode::kInvalidInput);
  EXPECT_FALSE(Ed25519Signer::FromSeed(common::AsBytes(std::string(31, 'a'))).ok());
  // An EC P-256 key made by the OpenSSL command line is refused.
  const std::string dir = testsupport::MakeTempDir("ed25519");
  const std::string path = dir + "/ec.pem";
  testsupport::CommandResult r =
      testsupport::RunCommand({"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                               "ec_paramgen_curve:P-256", "-out", path});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(Ed25519Signer::FromPrivatePem(testsupport::ReadFile(path)).error().code(),
            common::ErrorCode::kInvalidInput);
}

TEST(Ed25519Test, FingerprintMatchesOpenSslCommandLine) {
  Ed25519Signer signer = *Ed25519Signer::FromSeed(common::AsBytes(Unhex(kVectors[0].seed)));
  // The DER SubjectPublicKeyInfo is the fixed 12-byte Ed25519 prefix and the raw key.
  EXPECT_EQ(common::ToHex(common::AsBytes(Ed25519PublicDer(signer.public_key()))),
            std::string("302a300506032b6570032100") + kVectors[0].public_key);

  const std::string dir = testsupport::MakeTempDir("ed25519");
  testsupport::WriteFile(dir + "/pub.pem", signer.PublicPem());
  testsupport::CommandResult der =
      testsupport::RunCommand({"openssl", "pkey", "-pubin", "-in", dir + "/pub.pem", "-outform",
                               "DER", "-out", dir + "/pub.der"});
  ASSERT_EQ(der.exit_code, 0) << der.out;
  testsupport::CommandResult sum = testsupport::RunCommand({"sha256sum", dir + "/pub.der"});
  ASSERT_EQ(sum.exit_code, 0) << sum.out;
  const std::string fingerprint = Fingerprint(signer.public_key());
  EXPECT_EQ(sum.out.substr(0, 64), fingerprint);
  EXPECT_EQ(KeyId(signer.public_key()), fingerprint.substr(0, 16));
  EXPECT_EQ(KeyId(signer.public_key()).size(), 16u);
}

TEST(Ed25519Test, OpenSslCommandLineVerifiesOurSignature) {
  Ed25519Signer signer = *Ed25519Signer::Generate();
  const std::string message = "evidence\n";
  const Ed25519Signature sig = *signer.Sign(message);
  const std::string dir = testsupport::MakeTempDir("ed25519");
  testsupport::WriteFile(dir + "/pub.pem", signer.PublicPem());
  testsupport::WriteFile(dir + "/msg", message);
  testsupport::WriteFile(dir + "/sig", std::string(common::AsChars(sig)));
  testsupport::CommandResult r =
      testsupport::RunCommand({"openssl", "pkeyutl", "-verify", "-rawin", "-pubin", "-inkey",
                               dir + "/pub.pem", "-sigfile", dir + "/sig", "-in", dir + "/msg"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  testsupport::WriteFile(dir + "/msg", message + "tampered");
  r = testsupport::RunCommand({"openssl", "pkeyutl", "-verify", "-rawin", "-pubin", "-inkey",
                               dir + "/pub.pem", "-sigfile", dir + "/sig", "-in", dir + "/msg"});
  EXPECT_NE(r.exit_code, 0) << r.out;
}

}  // namespace
}  // namespace notary
