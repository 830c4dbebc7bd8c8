// The authentication record (docs/evidence-format.md): its documented vector, exact decoding,
// and that it can never be read as a message's leaf record or the other way round.
#include "log/authentication_record.h"

#include <gtest/gtest.h>

#include "common/bytes.h"
#include "log/leaf_record.h"

namespace notary {
namespace {

AuthenticationRecord Example() {
  AuthenticationRecord r;
  r.receipt_id = "0b7e2c1a-5d0e-4c57-9f3e-8a7c1f2b3d4e";
  r.receipt_leaf_hash.fill(0x11);
  r.checked_at_us = 1796378401000000;  // 2026-12-04T10:00:01Z
  r.results_sha256.fill(0x22);
  r.dns_archive_sha256.fill(0x33);
  r.salt.fill(0x44);
  return r;
}

// Computed from docs/evidence-format.md with Python's hashlib and struct.
TEST(AuthenticationRecordTest, DocumentedVectorIsWhatTheCodeProduces) {
  auto encoded = Example().Encode();
  ASSERT_TRUE(encoded.ok());
  EXPECT_EQ(encoded->size(), 208u);
  auto leaf = Example().LeafHash();
  ASSERT_TRUE(leaf.ok());
  EXPECT_EQ(common::ToHex(*leaf),
            "f888b06fc7117fed626f5a22e2edb9dedae495ee05f675e4c8464ef851166050");
}

TEST(AuthenticationRecordTest, DecodesOnlyItsExactEncoding) {
  std::string encoded = *Example().Encode();
  auto decoded = AuthenticationRecord::Decode(encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message();
  EXPECT_EQ(*decoded, Example());
  EXPECT_FALSE(AuthenticationRecord::Decode(encoded.substr(0, encoded.size() - 1)).ok());
  EXPECT_FALSE(AuthenticationRecord::Decode(encoded + "x").ok());
  std::string version2 = encoded;
  version2[31] = 2;
  EXPECT_FALSE(AuthenticationRecord::Decode(version2).ok());
  AuthenticationRecord empty = Example();
  empty.receipt_id.clear();
  EXPECT_FALSE(empty.Encode().ok());
  empty.receipt_id = std::string(65, 'a');
  EXPECT_FALSE(empty.Encode().ok());
}

TEST(AuthenticationRecordTest, NeverReadAsAMessageLeafRecordNorTheOtherWay) {
  EXPECT_FALSE(LeafRecord::Decode(*Example().Encode()).ok());
  LeafRecord leaf;
  leaf.format_version = 2;
  leaf.receipt_id = "0b7e2c1a-5d0e-4c57-9f3e-8a7c1f2b3d4e";
  auto encoded = leaf.Encode();
  ASSERT_TRUE(encoded.ok());
  EXPECT_FALSE(AuthenticationRecord::Decode(*encoded).ok());
}

}  // namespace
}  // namespace notary
