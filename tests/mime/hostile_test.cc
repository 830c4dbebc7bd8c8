// Malformed and hostile input: every case yields a result with warnings, quickly, and
// never a crash, hang or exception.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "mime/canonical.h"

namespace {

using Clock = std::chrono::steady_clock;

// Canonicalises within `seconds` (generous: sanitizer builds are slow) and returns the result.
mime::Canonical Timed(const std::string& raw, double seconds) {
  const auto start = Clock::now();
  mime::Canonical c = mime::Canonicalize(raw);
  const std::chrono::duration<double> took = Clock::now() - start;
  EXPECT_LT(took.count(), seconds);
  EXPECT_EQ(c.canon_version, mime::kCanonVersion);
  EXPECT_FALSE(c.canonical.empty());
  return c;
}

// A std::string from a literal that may hold NUL bytes.
template <size_t N>
std::string Bytes(const char (&lit)[N]) {
  return std::string(lit, N - 1);
}

bool HasWarning(const mime::Canonical& c, const std::string& needle) {
  for (const auto& w : c.warnings) {
    if (w.find(needle) != std::string::npos) return true;
  }
  return false;
}

TEST(HostileTest, EmptyMessage) {
  const auto c = Timed("", 1);
  EXPECT_TRUE(HasWarning(c, "message is empty"));
  EXPECT_TRUE(c.parts.empty());
  EXPECT_EQ(c.canonical, "notary-canonical 1\n");
}

TEST(HostileTest, HeadersWithoutBody) {
  const auto c = Timed("Subject: nothing else", 1);
  EXPECT_FALSE(c.warnings.empty());
  EXPECT_TRUE(HasWarning(c, "no From header"));
  EXPECT_EQ(c.metadata.subject, "nothing else");
  EXPECT_NE(Timed("Subject: nothing elsf", 1).canonical_sha256, c.canonical_sha256);
}

TEST(HostileTest, GarbageWithoutHeadersStillHashesEveryByte) {
  const auto a = Timed(Bytes("\x00\x01garbage\xff\r\n\r\nmore"), 1);
  const auto b = Timed(Bytes("\x00\x01garbage\xff\r\n\r\nmorf"), 1);
  EXPECT_FALSE(a.warnings.empty());
  EXPECT_NE(a.canonical_sha256, b.canonical_sha256);
}

TEST(HostileTest, NulBytesInBodyAndHeaders) {
  const std::string msg =
      Bytes("From: a@example.com\r\nSubject: a\0b\r\nDate: x\r\n\r\nbody\0with nul\r\n");
  const auto c = Timed(msg, 1);
  ASSERT_EQ(c.parts.size(), 1u);
  EXPECT_EQ(c.parts[0].size, 15u);
  EXPECT_TRUE(HasWarning(c, "not convertible to UTF-8"));
  EXPECT_TRUE(HasWarning(c, "Date header could not be parsed"));
  std::string changed = msg;
  changed[changed.size() - 5] = 'N';
  EXPECT_NE(Timed(changed, 1).canonical_sha256, c.canonical_sha256);
}

TEST(HostileTest, MissingClosingBoundary) {
  const std::string msg =
      "From: a@example.com\r\nDate: Tue, 01 Jul 2025 10:00:00 +0200\r\n"
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
      "--b\r\nContent-Type: text/plain\r\n\r\nfirst\r\n"
      "--b\r\nContent-Type: application/pdf\r\n\r\ncut off here";
  const auto c = Timed(msg, 1);
  EXPECT_EQ(c.parts.size(), 2u);
  EXPECT_TRUE(HasWarning(c, "truncated"));
}

TEST(HostileTest, MultipartWithoutBoundaryOrWithWrongBoundary) {
  const auto none = Timed(
      "From: a@example.com\r\nDate: Tue, 01 Jul 2025 10:00:00 +0200\r\n"
      "Content-Type: multipart/mixed\r\n\r\n--x\r\n\r\nhello\r\n--x--\r\n",
      1);
  EXPECT_TRUE(HasWarning(none, "without boundary"));
  const auto wrong = Timed(
      "From: a@example.com\r\nDate: Tue, 01 Jul 2025 10:00:00 +0200\r\n"
      "Content-Type: multipart/mixed; boundary=zzz\r\n\r\n--x\r\n\r\nhello\r\n--x--\r\n",
      1);
  EXPECT_FALSE(wrong.warnings.empty());
}

TEST(HostileTest, UnknownCharsetAndEightBitHeaders) {
  const auto c = Timed(
      "From: J\xf6rg <j@example.com>\r\nSubject: caf\xe9 \xc3\xa9\r\n"
      "Date: Tue, 01 Jul 2025 10:00:00 +0200\r\n"
      "Content-Type: text/plain; charset=x-klingon\r\n\r\nQapla\xff\r\n",
      1);
  EXPECT_TRUE(HasWarning(c, "8-bit"));
  EXPECT_TRUE(HasWarning(c, "not convertible"));
  // Undeclared 8-bit header bytes still reach the form (no byte silently lost).
  const auto d = Timed(
      "From: J\xf6rg <j@example.com>\r\nSubject: caf\xe8 \xc3\xa9\r\n"
      "Date: Tue, 01 Jul 2025 10:00:00 +0200\r\n"
      "Content-Type: text/plain; charset=x-klingon\r\n\r\nQapla\xff\r\n",
      1);
  EXPECT_NE(c.canonical_sha256, d.canonical_sha256);
}

TEST(HostileTest, ThousandDeepMultipartNesting) {
  std::string msg = "From: a@example.com\r\nDate: Tue, 01 Jul 2025 10:00:00 +0200\r\n";
  const int depth = 1000;
  for (int i = 0; i < depth; ++i) {
    msg += "Content-Type: multipart/mixed; boundary=\"b" + std::to_string(i) + "\"\r\n\r\n--b" +
           std::to_string(i) + "\r\n";
  }
  msg += "Content-Type: text/plain\r\n\r\nleaf\r\n";
  for (int i = depth - 1; i >= 0; --i) msg += "--b" + std::to_string(i) + "--\r\n";
  const auto c = Timed(msg, 20);
  EXPECT_GE(c.parts.size(), 1u);
  EXPECT_FALSE(c.warnings.empty());
  std::string changed = msg;
  changed.replace(changed.find("leaf"), 4, "leaF");
  EXPECT_NE(Timed(changed, 20).canonical_sha256, c.canonical_sha256);
}

TEST(HostileTest, ThousandDeepMessageRfc822Nesting) {
  std::string msg = "Subject: innermost\r\n\r\nbody\r\n";
  for (int i = 0; i < 1000; ++i) {
    msg = "From: a@example.com\r\nContent-Type: message/rfc822\r\n\r\n" + msg;
  }
  const auto c = Timed(msg, 20);
  EXPECT_TRUE(HasWarning(c, "nesting too deep"));
  ASSERT_EQ(c.parts.size(), 1u);
  EXPECT_EQ(c.parts[0].content_type, "message/rfc822");
  std::string changed = msg;
  changed.replace(changed.find("innermost"), 9, "innermist");
  EXPECT_NE(Timed(changed, 20).canonical_sha256, c.canonical_sha256);
}

TEST(HostileTest, HundredThousandParts) {
  std::string msg =
      "From: a@example.com\r\nDate: Tue, 01 Jul 2025 10:00:00 +0200\r\n"
      "Content-Type: multipart/mixed; boundary=XX\r\n\r\n";
  for (int i = 0; i < 100000; ++i) {
    msg += "--XX\r\nContent-Type: application/octet-stream\r\n\r\np" + std::to_string(i) + "\r\n";
  }
  msg += "--XX\r\n";  // and a last part that never ends
  const auto c = Timed(msg, 120);
  EXPECT_GE(c.parts.size(), 100000u);
  EXPECT_EQ(c.parts[99999].position, "100000");
  EXPECT_FALSE(c.warnings.empty());
  EXPECT_LE(c.warnings.size(), 64u);
}

TEST(HostileTest, WarningsAreContentFree) {
  const auto c = Timed(
      "From: secret-person@example.com\r\nSubject: =?x-unknown?q?TopSecret?=\r\n"
      "Content-Type: multipart/mixed; boundary=b\r\nContent-Type: text/plain\r\n\r\n"
      "--b\r\nContent-Type: text/plain; charset=\"TopSecretCharset\"\r\n\r\nx\r\n",
      1);
  ASSERT_FALSE(c.warnings.empty());
  for (const auto& w : c.warnings) {
    EXPECT_EQ(w.find("secret"), std::string::npos) << w;
    EXPECT_EQ(w.find("Secret"), std::string::npos) << w;
  }
}

}  // namespace
