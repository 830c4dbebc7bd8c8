#include <gtest/gtest.h>

#include "common/sha256.h"
#include "mime/canonical.h"

namespace {

const char kMixed[] =
    "From: a@example.com\r\n"
    "To: b@example.org\r\n"
    "Subject: parts\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
    "\r\n"
    "--b1\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "See attached.\r\n"
    "--b1\r\n"
    "Content-Type: application/pdf; name=\"c.pdf\"\r\n"
    "Content-Disposition: attachment; filename=\"c.pdf\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "JVBERi0xLjQKJcfsj6IK\r\n"
    "--b1--\r\n";

TEST(ExtractPartTest, ReturnsTheDecodedBytesWhoseHashThePartRecordHolds) {
  auto bytes = mime::ExtractPart(kMixed, "2");
  ASSERT_TRUE(bytes.has_value());
  EXPECT_EQ(*bytes, "%PDF-1.4\n%\xc7\xec\x8f\xa2\n");
  mime::Canonical c = mime::Canonicalize(kMixed);
  ASSERT_EQ(c.parts.size(), 2u);
  EXPECT_EQ(common::Sha256Of(*bytes), c.parts[1].sha256);
  EXPECT_EQ(c.parts[1].size, bytes->size());
}

TEST(ExtractPartTest, UnknownPositionIsNullopt) {
  EXPECT_FALSE(mime::ExtractPart(kMixed, "3").has_value());
  EXPECT_FALSE(mime::ExtractPart(kMixed, "").has_value());
  EXPECT_FALSE(mime::ExtractPart("", "1").has_value());
}

}  // namespace
