// The action record (docs/evidence-format.md): its documented vector, exact decoding, and that
// it can never be read as another leaf kind or the other way round.
#include "log/action_record.h"

#include <gtest/gtest.h>

#include "common/bytes.h"
#include "log/authentication_record.h"
#include "log/leaf_record.h"

namespace notary {
namespace {

ActionRecord Example() {
  ActionRecord r;
  r.action = "hold";
  r.tenant = "default";
  r.subject = "5f0c7a2e-8d1b-4e3a-9c6f-2b7d4e1a0c93";
  r.acted_at_us = 1796378401000000;  // 2026-12-04T10:00:01Z
  r.actor = "k7Hq2mXa";
  r.details_sha256.fill(0x22);
  r.salt.fill(0x44);
  return r;
}

// Computed from docs/evidence-format.md with Python's hashlib and struct.
TEST(ActionRecordTest, DocumentedVectorIsWhatTheCodeProduces) {
  auto encoded = Example().Encode();
  ASSERT_TRUE(encoded.ok());
  EXPECT_EQ(encoded->size(), 167u);
  auto leaf = Example().LeafHash();
  ASSERT_TRUE(leaf.ok());
  EXPECT_EQ(common::ToHex(*leaf),
            "91a74e0686cdd6c8746b315406a6f35771dbbb991a01eb7200413829e6488fa0");
}

TEST(ActionRecordTest, DecodesOnlyItsExactEncoding) {
  std::string encoded = *Example().Encode();
  auto decoded = ActionRecord::Decode(encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message();
  EXPECT_EQ(*decoded, Example());
  EXPECT_FALSE(ActionRecord::Decode(encoded.substr(0, encoded.size() - 1)).ok());
  EXPECT_FALSE(ActionRecord::Decode(encoded + "x").ok());
  std::string version2 = encoded;
  version2[23] = 2;
  EXPECT_FALSE(ActionRecord::Decode(version2).ok());
  std::string upper = encoded;
  upper[28] = 'H';  // the action's first byte: names are [a-z-]
  EXPECT_FALSE(ActionRecord::Decode(upper).ok());
}

TEST(ActionRecordTest, RefusesFieldsOutOfBounds) {
  ActionRecord r = Example();
  r.subject.clear();
  EXPECT_FALSE(r.Encode().ok());
  r = Example();
  r.subject = std::string(65, 'a');
  EXPECT_FALSE(r.Encode().ok());
  r = Example();
  r.action = "";
  EXPECT_FALSE(r.Encode().ok());
  r = Example();
  r.action = "hold now";
  EXPECT_FALSE(r.Encode().ok());
  r = Example();
  r.tenant = std::string(65, 't');
  EXPECT_FALSE(r.Encode().ok());
  r = Example();
  r.actor = std::string(65, 'k');
  EXPECT_FALSE(r.Encode().ok());
}

TEST(ActionRecordTest, NeverReadAsAnotherLeafKindNorTheOtherWay) {
  const std::string action = *Example().Encode();
  EXPECT_FALSE(LeafRecord::Decode(action).ok());
  EXPECT_FALSE(AuthenticationRecord::Decode(action).ok());
  AuthenticationRecord a;
  a.receipt_id = "0b7e2c1a-5d0e-4c57-9f3e-8a7c1f2b3d4e";
  EXPECT_FALSE(ActionRecord::Decode(*a.Encode()).ok());
  LeafRecord leaf;
  leaf.format_version = 2;
  leaf.receipt_id = "0b7e2c1a-5d0e-4c57-9f3e-8a7c1f2b3d4e";
  EXPECT_FALSE(ActionRecord::Decode(*leaf.Encode()).ok());
}

}  // namespace
}  // namespace notary
