// Hostile input for canonical form version 2: every case gives a result with content-free
// warnings. How the time grows with the input is measured by bench/hostile_bench (which
// prints the time per item as n grows, next to SHA-256 of the same bytes), not asserted here:
// a test suite makes no timed assertions.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>

#include "common/sha256.h"
#include "mime/canonical.h"

namespace {

// Canonicalises `raw` with version 2 and checks what holds for any input.
void Canonical(const std::string& raw, mime::Canonical* out = nullptr) {
  mime::Canonical c = mime::Canonicalize(raw, 2);
  EXPECT_EQ(c.canon_version, 2u);
  EXPECT_TRUE(c.canonical.starts_with("notary-canonical 2\n"));
  EXPECT_LE(c.warnings.size(), 64u);
  EXPECT_LE(c.parts.size(), mime::kMaxParts);
  if (out != nullptr) *out = std::move(c);
}

// The input for n and for 4n both give a result (bench/hostile_bench measures the time).
void BothSizes(const std::function<std::string(size_t)>& make, size_t n) {
  Canonical(make(n));
  Canonical(make(4 * n));
}

bool HasWarning(const mime::Canonical& c, const std::string& needle) {
  for (const auto& w : c.warnings) {
    if (w.find(needle) != std::string::npos) return true;
  }
  return false;
}

const std::string kHead = "From: a@example.com\r\nDate: Tue, 01 Jul 2025 10:00:00 +0200\r\n";

TEST(HostileV2Test, DeepMultipartNesting) {
  auto make = [](size_t depth) {
    std::string msg = kHead;
    for (size_t i = 0; i < depth; ++i) {
      msg += "Content-Type: multipart/mixed; boundary=\"b" + std::to_string(i) + "\"\r\n\r\n--b" +
             std::to_string(i) + "\r\n";
    }
    msg += "Content-Type: text/plain\r\n\r\nleaf\r\n";
    for (size_t i = depth; i-- > 0;) msg += "--b" + std::to_string(i) + "--\r\n";
    return msg;
  };
  BothSizes(make, 5000);
  mime::Canonical c;
  Canonical(make(100000), &c);
  EXPECT_EQ(c.multiparts.size(), 100u);
  EXPECT_EQ(c.parts.size(), 1u);
  EXPECT_TRUE(HasWarning(c, "deeper than 100"));
  std::string changed = make(1000);
  changed.replace(changed.find("leaf"), 4, "leaF");
  EXPECT_NE(mime::Canonicalize(changed, 2).canonical_sha256,
            mime::Canonicalize(make(1000), 2).canonical_sha256);
}

TEST(HostileV2Test, DeepMessageRfc822NestingIsOneLeaf) {
  std::string msg = "Subject: innermost\r\n\r\nbody\r\n";
  for (int i = 0; i < 10000; ++i) {
    msg = "From: a@example.com\r\nContent-Type: message/rfc822\r\n\r\n" + msg;
  }
  mime::Canonical c;
  Canonical(msg, &c);
  ASSERT_EQ(c.parts.size(), 1u);
  EXPECT_EQ(c.parts[0].content_type, "message/rfc822");
}

TEST(HostileV2Test, HundredThousandParts) {
  auto make = [](size_t n) {
    std::string msg = kHead + "Content-Type: multipart/mixed; boundary=XX\r\n\r\n";
    for (size_t i = 0; i < n; ++i) {
      msg += "--XX\r\nContent-Type: application/octet-stream\r\n\r\np" + std::to_string(i) + "\r\n";
    }
    return msg + "--XX\r\n";
  };
  mime::Canonical c;
  const std::string big = make(100000);
  Canonical(big, &c);
  EXPECT_TRUE(c.parts.empty());
  EXPECT_EQ(c.canonical,
            "notary-canonical 2\nunparsed 64:" + common::ToHex(common::Sha256Of(big)) + "\n");
  BothSizes(make, 2000);  // below the part limit
}

TEST(HostileV2Test, ManyEmptyMultipartsAndDelimiterLines) {
  auto make = [](size_t n) {
    std::string msg = kHead + "Content-Type: multipart/mixed; boundary=o\r\n\r\n";
    for (size_t i = 0; i < n; ++i) {
      msg += "--o\r\nContent-Type: multipart/mixed; boundary=i\r\n\r\n--i--\r\n--i\r\n";
    }
    return msg + "--o--\r\n";
  };
  BothSizes(make, 20000);
  mime::Canonical c;
  Canonical(make(1000), &c);
  EXPECT_EQ(c.multiparts.size(), 1001u);
  EXPECT_TRUE(c.parts.empty());
}

TEST(HostileV2Test, BoundariesThatArePrefixesOfEachOther) {
  // 100 nested multiparts with boundaries "a", "aa", ..., then many lines that start like
  // each of them and match none, and lines that match the innermost.
  auto make = [](size_t lines) {
    std::string msg = kHead;
    for (size_t i = 1; i <= 100; ++i) {
      msg += "Content-Type: multipart/mixed; boundary=\"" + std::string(i, 'a') + "\"\r\n\r\n--" +
             std::string(i, 'a') + "\r\n";
    }
    msg += "\r\n";
    for (size_t i = 0; i < lines; ++i) {
      msg += "--" + std::string(i % 150, 'a') + "b\r\n--" + std::string(100, 'a') + "\r\n\r\n";
    }
    return msg;
  };
  BothSizes(make, 2000);
}

TEST(HostileV2Test, MegabyteHeaderLinesAndManyEncodedWords) {
  const std::string big(1 << 20, 'x');
  mime::Canonical c;
  Canonical("Subject: " + big + "\r\nTo: " + big + "\r\n\r\nbody", &c);
  EXPECT_EQ(c.metadata.subject.size(), big.size());
  auto words = [](size_t n) {
    std::string s = "Subject:";
    for (size_t i = 0; i < n; ++i) {
      s += i % 3 == 0 ? " =?utf-8?q?a=C3?=" : i % 3 == 1 ? " =?UTF-8?B?qQ==?=" : " =?x?q?y?=";
    }
    return s + "\r\n\r\n";
  };
  BothSizes(words, 20000);
  auto folds = [](size_t n) {
    std::string s = "Subject: a";
    for (size_t i = 0; i < n; ++i) s += "\r\n =?utf-8?q?b?=";
    return s + "\r\n\r\n";
  };
  BothSizes(folds, 20000);
  auto params = [](size_t n) {
    std::string s = kHead + "Content-Type: text/plain";
    for (size_t i = 0; i < n; ++i) s += "; name*" + std::to_string(i) + "*=%41";
    return s + "\r\n\r\nx";
  };
  BothSizes(params, 20000);
  auto fields = [](size_t n) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s += "To: a" + std::to_string(i) + "@example.com\r\n";
    return s + "\r\nx";
  };
  BothSizes(fields, 20000);
  auto no_colon = [](size_t n) { return "Subject" + std::string(n, 'x') + "\r\n\r\n"; };
  BothSizes(no_colon, 1 << 18);
}

TEST(HostileV2Test, EncodedWordLookalikes) {
  auto make = [](size_t n) {
    std::string s = "Subject: ";
    for (size_t i = 0; i < n; ++i) s += "=?=?utf-8?=?utf-8?q?=?utf-8?q?x?";
    return s + "\r\n\r\n";
  };
  BothSizes(make, 20000);
}

TEST(HostileV2Test, NulBytesEverywhere) {
  std::string msg = kHead + "Subject: a";
  msg += '\0';
  msg += "b\r\nX\0Y: z\r\n\r\n--";
  msg += std::string(1000, '\0');
  mime::Canonical c;
  Canonical(msg, &c);
  ASSERT_EQ(c.parts.size(), 1u);
  std::string changed = msg;
  changed[changed.size() - 1] = 'N';
  EXPECT_NE(mime::Canonicalize(changed, 2).canonical_sha256, c.canonical_sha256);
  const std::string mp = kHead + std::string(
                                     "Content-Type: multipart/mixed; boundary=\"a\0b\"\r\n"
                                     "\r\n--a\0b\r\n\r\nx\r\n--a\0b--\r\n",
                                     67);
  mime::Canonical d;
  Canonical(mp, &d);
  EXPECT_EQ(d.parts.size(), 1u);
}

TEST(HostileV2Test, InvalidUtf8Everywhere) {
  const std::string junk = "\xff\xfe\xc3\x28\xe2\x82\xf0\x9f\x98\xed\xa0\x80\x80";
  const std::string msg =
      "From: " + junk + " <x@example.com>\r\nSubject: " + junk + " =?utf-8?b?" + "/w==" + "?=\r\n" +
      "Content-Type: multipart/mixed; boundary=\"" + junk + "\"; name*=utf-8''%FF" + "\r\n\r\n--" +
      junk + "\r\n" + "Content-Type: text/plain\r\nContent-Disposition: attachment; filename=\"" +
      junk + "\"\r\n\r\n" + junk + "\r\n--" + junk + "--\r\n";
  mime::Canonical c;
  Canonical(msg, &c);
  // The boundary was read as windows-1252, so its UTF-8 form matches no line: no parts.
  EXPECT_TRUE(c.parts.empty());
  for (const auto& h : c.headers) {
    EXPECT_NE(h.value.find("\xc3\xbf"), std::string::npos) << h.name;  // ÿ (0xFF as cp1252)
  }
  const std::string text = kHead + "Content-Type: text/plain; charset=shift_jis\r\n\r\n" + junk;
  mime::Canonical t;
  Canonical(text, &t);
  EXPECT_TRUE(HasWarning(t, "U+FFFD"));
}

TEST(HostileV2Test, Base64AndQuotedPrintableJunk) {
  auto b64 = [](size_t n) {
    std::string s = kHead +
                    "Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64"
                    "\r\n\r\n";
    for (size_t i = 0; i < n; ++i) s += "QUJD!*=\t==\x80YQ\r\n";
    return s;
  };
  BothSizes(b64, 20000);
  auto qp = [](size_t n) {
    std::string s = kHead +
                    "Content-Type: text/plain\r\nContent-Transfer-Encoding: "
                    "quoted-printable\r\n\r\n";
    for (size_t i = 0; i < n; ++i) s += "=ZZ=4=\t  \r\n=41=\r\n   =";
    return s;
  };
  BothSizes(qp, 20000);
}

TEST(HostileV2Test, WarningsAreContentFree) {
  const auto c = mime::Canonicalize(
      "From: secret-person@example.com\r\nSubject: =?x-unknown?q?TopSecret?=\r\n"
      "Content-Type: multipart/mixed; boundary=b; secret*0*=zz''%ZZ; secret=1 2\r\n"
      "Content-Type: text/plain\r\n\r\n"
      "--b\r\nContent-Type: text/plain; charset=\"TopSecretCharset\"\r\n"
      "Content-Transfer-Encoding: x-secret\r\nContent-Disposition: secret\r\n\r\nx\r\n",
      2);
  ASSERT_FALSE(c.warnings.empty());
  for (const auto& w : c.warnings) {
    EXPECT_EQ(w.find("secret"), std::string::npos) << w;
    EXPECT_EQ(w.find("Secret"), std::string::npos) << w;
  }
}

TEST(HostileV2Test, RandomBytesNeverCrashAndExtractMatchesParts) {
  uint64_t state = 12345;
  auto next = [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(state >> 33);
  };
  const char* pieces[] = {"--b\r\n",
                          "--b--\r\n",
                          "\r\n",
                          "Content-Type: multipart/mixed; boundary=b\r\n",
                          "Content-Type: text/plain; charset=euc-kr\r\n",
                          "Content-Transfer-Encoding: base64\r\n",
                          "Content-Transfer-Encoding: quoted-printable\r\n",
                          "=?utf-8?q?=C3?=",
                          "\xff",
                          "=",
                          "\0",
                          "Subject: ",
                          "x",
                          " ",
                          "--c\r\n",
                          "Content-Type: multipart/digest; boundary=c\r\n"};
  for (int round = 0; round < 300; ++round) {
    std::string msg;
    const uint32_t len = next() % 60;
    for (uint32_t i = 0; i < len; ++i) {
      const char* p = pieces[next() % std::size(pieces)];
      msg += p[0] == '\0' ? std::string(1, '\0') : std::string(p);
    }
    const auto c = mime::Canonicalize(msg, 2);
    EXPECT_EQ(common::Sha256Of(c.canonical), c.canonical_sha256);
    EXPECT_EQ(mime::Canonicalize(msg, 2).canonical, c.canonical);
    for (const auto& p : c.parts) {
      const auto bytes = mime::ExtractPart(msg, p.position, 2);
      ASSERT_TRUE(bytes.has_value()) << p.position;
      EXPECT_EQ(common::Sha256Of(*bytes), p.sha256);
    }
  }
}

}  // namespace
