// AES-256-GCM as stored (vault/aead.h): the published vector, and that a sealed value opens
// only with its key and associated data, unaltered.
#include "vault/aead.h"

#include <gtest/gtest.h>

#include "common/bytes.h"

namespace vault {
namespace {

std::string Hex(const std::string& s) { return common::ToHex(common::AsBytes(s)); }
std::string Bytes(const std::string& hex) {
  auto b = common::FromHex(hex);
  return std::string(b->begin(), b->end());
}
Key KeyOf(const std::string& hex) {
  Key k;
  auto b = common::FromHex(hex);
  std::copy(b->begin(), b->end(), k.begin());
  return k;
}

// McGrew and Viega, "The Galois/Counter Mode of Operation", test case 16 (AES-256, 96-bit IV,
// with associated data); also what Python's `cryptography` gives.
TEST(AeadTest, GcmSpecTestCase16) {
  const Key k = KeyOf("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
  const std::string iv = Bytes("cafebabefacedbaddecaf888");
  const std::string p = Bytes(
      "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e244"
      "9a6b525b16aedf5aa0de657ba637b39");
  const std::string a = Bytes("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  auto sealed = SealWithNonce(k, iv, p, a);
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(Hex(*sealed),
            "cafebabefacedbaddecaf888"
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b0"
            "8b1056828838c5f61e6393ba7a0abcc9f662"
            "76fc6ece0f4e1768cddf8853bb2d551b");
  auto opened = Open(k, *sealed, a);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(*opened, p);
}

TEST(AeadTest, OpensOnlyUnalteredWithItsKeyAndAssociatedData) {
  auto k = NewKey();
  ASSERT_TRUE(k.ok());
  auto sealed = Seal(*k, "Subject: the merger", "tenant a, receipt 1");
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->size(), 19 + kSealOverhead);
  EXPECT_EQ(sealed->find("merger"), std::string::npos);
  EXPECT_EQ(*Open(*k, *sealed, "tenant a, receipt 1"), "Subject: the merger");
  EXPECT_EQ(Open(*k, *sealed, "tenant b, receipt 1").error().code(),
            common::ErrorCode::kVerifyFailed);
  for (size_t i : {size_t{0}, size_t{12}, sealed->size() - 1}) {
    std::string bad = *sealed;
    bad[i] = static_cast<char>(bad[i] ^ 1);
    EXPECT_EQ(Open(*k, bad, "tenant a, receipt 1").error().code(), common::ErrorCode::kVerifyFailed)
        << "byte " << i;
  }
  auto other = NewKey();
  EXPECT_FALSE(Open(*other, *sealed, "tenant a, receipt 1").ok());
  EXPECT_EQ(Open(*k, sealed->substr(0, 27), "").error().code(), common::ErrorCode::kInvalidInput);
  // Two seals of the same value differ (random nonces).
  EXPECT_NE(*Seal(*k, "x", ""), *Seal(*k, "x", ""));
}

}  // namespace
}  // namespace vault
