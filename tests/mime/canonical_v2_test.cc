// Canonical form version 2 end to end, rule by rule (docs/canonical-form.md, "Version 2"):
// input preparation, header blocks, Content-Type defaults, multipart splitting, positions,
// message/rfc822 content, text mode, part records with salts, ExtractPart and Differences.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/rfc6962.h"
#include "common/sha256.h"
#include "mime/canonical.h"

namespace {

mime::Canonical V2(const std::string& raw) { return mime::Canonicalize(raw, 2); }

bool HasWarning(const mime::Canonical& c, const std::string& needle) {
  for (const auto& w : c.warnings) {
    if (w.find(needle) != std::string::npos) return true;
  }
  return false;
}

std::string Hex(const common::Hash& h) { return common::ToHex(h); }

const std::string kHead = "From: a@example.com\r\nDate: Tue, 01 Jul 2025 10:00:00 +0200\r\n";

// ---------------------------------------------------------------- versions

TEST(CanonicalV2Test, DefaultVersionIsStillOne) {
  const std::string msg = kHead + "Subject: x\r\n\r\nbody\r\n";
  EXPECT_EQ(mime::kCanonVersion, 1u);
  EXPECT_EQ(mime::kLatestCanonVersion, 2u);
  EXPECT_TRUE(mime::IsSupportedCanonVersion(1));
  EXPECT_TRUE(mime::IsSupportedCanonVersion(2));
  EXPECT_FALSE(mime::IsSupportedCanonVersion(0));
  EXPECT_FALSE(mime::IsSupportedCanonVersion(3));
  const auto v1 = mime::Canonicalize(msg);
  EXPECT_EQ(v1.canon_version, 1u);
  EXPECT_TRUE(v1.canonical.starts_with("notary-canonical 1\n"));
  EXPECT_EQ(mime::Canonicalize(msg, 1).canonical, v1.canonical);
  const auto v2 = V2(msg);
  EXPECT_EQ(v2.canon_version, 2u);
  EXPECT_TRUE(v2.canonical.starts_with("notary-canonical 2\n"));
  EXPECT_EQ(v2.parts_root, common::Hash{});  // the caller computes it once salts are drawn
}

TEST(CanonicalV2Test, EmptyAndMboxOnlyInput) {
  for (const std::string raw : {"", "From someone Tue Jul  1 10:00:00 2025\n"}) {
    const auto c = V2(raw);
    EXPECT_EQ(c.canonical, "notary-canonical 2\n");
    EXPECT_TRUE(c.parts.empty());
    EXPECT_TRUE(HasWarning(c, "message is empty"));
  }
  // "From :" is the obsolete header syntax, not an mbox line.
  EXPECT_NE(V2("From : a@example.com\r\n\r\nx").canonical.find("header 4:from"), std::string::npos);
}

TEST(CanonicalV2Test, LfAndCrlfCopiesAreTheSameBytes) {
  const std::string crlf = kHead + "Subject: x\r\n\r\nline\r\n";
  std::string lf = crlf;
  for (size_t i = lf.find("\r\n"); i != std::string::npos; i = lf.find("\r\n", i)) lf.erase(i, 1);
  EXPECT_EQ(V2(crlf).canonical, V2(lf).canonical);
  EXPECT_EQ(V2(crlf).parts[0].sha256, V2(lf).parts[0].sha256);
}

// ---------------------------------------------------------------- §V2.2 headers

TEST(CanonicalV2Test, HeaderNamesMatchAsciiCaseInsensitivelyInAllowListOrder) {
  const auto c = V2("SUBJECT: s\r\nfRoM: f@x\r\nsubject: t\r\nX-Other: no\r\nBcc: b@x\r\n\r\n");
  ASSERT_EQ(c.headers.size(), 3u);
  EXPECT_EQ(c.headers[0].name, "from");
  EXPECT_EQ(c.headers[1].value, "s");
  EXPECT_EQ(c.headers[2].value, "t");
}

TEST(CanonicalV2Test, ALineWithoutColonEndsTheHeaderBlockAndStartsTheBody) {
  const auto c = V2(kHead + "Subject: x\r\nnot a header\r\nTo: b@x\r\n");
  ASSERT_EQ(c.parts.size(), 1u);
  EXPECT_EQ(c.parts[0].size, std::string("not a header\r\nTo: b@x\r\n").size());
  EXPECT_TRUE(HasWarning(c, "not a header field"));
  for (const auto& h : c.headers) EXPECT_NE(h.name, "to");
}

TEST(CanonicalV2Test, NoEmptyLineMeansAllHeadersAndAnEmptyBody) {
  const auto c = V2(kHead + "Subject: only\r\n  folded");
  ASSERT_EQ(c.parts.size(), 1u);
  EXPECT_EQ(c.parts[0].size, 0u);
  EXPECT_EQ(c.metadata.subject, "only folded");
}

TEST(CanonicalV2Test, EightBitHeadersAndNul) {
  const auto utf8 = V2("Subject: caf\xc3\xa9\r\n\r\n");
  EXPECT_EQ(utf8.headers[0].value, "caf\xc3\xa9");
  const auto latin = V2("Subject: caf\xe9 \x80\r\n\r\n");
  EXPECT_EQ(latin.headers[0].value, "caf\xc3\xa9 \xe2\x82\xac");
  EXPECT_TRUE(HasWarning(latin, "windows-1252"));
  const auto nul = V2(std::string("Subject: a\0b\r\n\r\n", 16));
  EXPECT_EQ(nul.headers[0].value, std::string("a\0b", 3));
}

TEST(CanonicalV2Test, HeaderValueIsDecodedThenCollapsed) {
  const auto c =
      V2("Subject:  =?utf-8?q?Sign=C3=A9d?=\r\n =?utf-8?b?IGNvbnRyYWN0?=  \t\r\n\tend  \r\n\r\n");
  EXPECT_EQ(c.headers[0].value,
            "Sign\xc3\xa9"
            "d contract end");
}

// ---------------------------------------------------------------- §V2.4 Content-Type

TEST(CanonicalV2Test, MissingContentTypeIsTextPlainUsAscii) {
  const auto c = V2(kHead + "\r\ncaf\xc3\xa9\r\n");
  ASSERT_EQ(c.parts.size(), 1u);
  EXPECT_EQ(c.parts[0].content_type, "text/plain");
  EXPECT_EQ(c.parts[0].charset, "us-ascii");
  // us-ascii is a WHATWG label of windows-1252: the UTF-8 bytes read as two characters.
  EXPECT_NE(c.canonical.find(" 4:text 0: "), std::string::npos);
  EXPECT_EQ(c.parts[0].content_sha256, common::Sha256Of("caf\xc3\x83\xc2\xa9\n"));
}

TEST(CanonicalV2Test, InvalidContentTypeIsTextPlainUsAscii) {
  const auto c = V2(kHead + "Content-Type: application/pdf junk; name=x.pdf\r\n\r\nbody\r\n");
  EXPECT_EQ(c.parts[0].content_type, "text/plain");
  EXPECT_EQ(c.parts[0].charset, "us-ascii");
  EXPECT_EQ(c.parts[0].filename, "");
  EXPECT_TRUE(HasWarning(c, "invalid Content-Type"));
}

TEST(CanonicalV2Test, ContentTypeWithoutCharsetReadsUtf8ElseWindows1252) {
  const auto utf8 = V2(kHead + "Content-Type: text/plain\r\n\r\ncaf\xc3\xa9\r\n");
  EXPECT_EQ(utf8.parts[0].charset, "");
  EXPECT_EQ(utf8.parts[0].content_sha256, common::Sha256Of("caf\xc3\xa9\n"));
  const auto latin = V2(kHead + "Content-Type: text/plain\r\n\r\ncaf\xe9\r\n");
  EXPECT_EQ(latin.parts[0].content_sha256, common::Sha256Of("caf\xc3\xa9\n"));
  EXPECT_EQ(latin.canonical, utf8.canonical);
}

TEST(CanonicalV2Test, FirstContentTypeFieldCounts) {
  const auto c = V2(kHead + "Content-Type: application/pdf\r\nContent-Type: text/plain\r\n\r\nx");
  EXPECT_EQ(c.parts[0].content_type, "application/pdf");
}

TEST(CanonicalV2Test, DigestChildrenDefaultToMessageRfc822) {
  const auto c = V2(kHead +
                    "Content-Type: multipart/digest; boundary=d\r\n\r\n"
                    "--d\r\n\r\nSubject: one\r\n\r\nfirst\r\n"
                    "--d\r\nContent-Type: text/plain\r\n\r\nsecond\r\n"
                    "--d\r\nContent-Type: bad\r\n\r\nthird\r\n--d--\r\n");
  ASSERT_EQ(c.parts.size(), 3u);
  EXPECT_EQ(c.parts[0].content_type, "message/rfc822");
  EXPECT_EQ(c.parts[0].charset, "");
  EXPECT_EQ(c.parts[1].content_type, "text/plain");
  EXPECT_EQ(c.parts[2].content_type, "text/plain");  // invalid: RFC 2045 §5.2, not the digest's
  // The embedded message's own bytes.
  EXPECT_EQ(c.parts[0].sha256, common::Sha256Of("Subject: one\r\n\r\nfirst"));
}

// ---------------------------------------------------------------- §V2.5 multipart

const std::string kTwoParts = kHead +
                              "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
                              "preamble\r\n--b\r\n"
                              "Content-Type: text/plain; charset=utf-8\r\n\r\nfirst\r\n"
                              "--b \t\r\n"
                              "Content-Type: application/octet-stream\r\n\r\nsecond\r\n\r\n"
                              "--b--  \r\nepilogue\r\n--b\r\n\r\nignored\r\n";

TEST(CanonicalV2Test, DelimitersOwnTheCrlfBeforeThemAndPaddingIsAllowed) {
  const auto c = V2(kTwoParts);
  ASSERT_EQ(c.parts.size(), 2u);
  EXPECT_EQ(c.parts[0].size, 5u);  // "first"
  EXPECT_EQ(c.parts[1].size, 8u);  // "second\r\n"
  ASSERT_EQ(c.multiparts.size(), 1u);
  EXPECT_EQ(c.multiparts[0].position, "");
  EXPECT_EQ(c.multiparts[0].content_type, "multipart/mixed");
  EXPECT_FALSE(HasWarning(c, "close delimiter"));
}

TEST(CanonicalV2Test, PreambleAndEpilogueAreOutsideTheForm) {
  std::string other = kTwoParts;
  other.replace(other.find("preamble"), 8, "PREAMBLE");
  other.replace(other.find("epilogue"), 8, "EPILOGUE");
  EXPECT_EQ(V2(other).canonical, V2(kTwoParts).canonical);
}

TEST(CanonicalV2Test, DelimiterLinesMustMatchExactly) {
  const auto c = V2(kHead +
                    "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
                    "--b\r\n\r\n"
                    "--bx\r\n"   // another boundary: content
                    " --b\r\n"   // not at the start of the line
                    "--b x\r\n"  // text after padding
                    "--B\r\n"    // boundaries are case-sensitive
                    "--b\r\r\n"  // a CR is no padding
                    "--b--\r\n");
  ASSERT_EQ(c.parts.size(), 1u);
  EXPECT_EQ(c.parts[0].size, std::string("--bx\r\n --b\r\n--b x\r\n--B\r\n--b\r").size());
}

TEST(CanonicalV2Test, FirstLineDelimiterHeadersWithoutBlankLineAndEmptyParts) {
  const auto c = V2(kHead +
                    "Content-Type: multipart/mixed; boundary=b\r\n"
                    "--b\r\n"  // ends the header block, is the first delimiter
                    "--b\r\n"  // an empty part
                    "Content-Type: application/pdf\r\n"
                    "--b\r\n"  // a part with headers and no body
                    "\r\n"     // the CRLF before a delimiter is the delimiter's: empty part
                    "--b--");
  ASSERT_EQ(c.parts.size(), 3u);
  EXPECT_EQ(c.parts[0].content_type, "text/plain");
  EXPECT_EQ(c.parts[0].size, 0u);
  EXPECT_EQ(c.parts[1].content_type, "application/pdf");
  EXPECT_EQ(c.parts[1].size, 0u);
  EXPECT_EQ(c.parts[2].content_type, "text/plain");
  EXPECT_EQ(c.parts[2].size, 0u);
}

TEST(CanonicalV2Test, MissingCloseDelimiterRunsToTheEnd) {
  const auto c = V2(kHead +
                    "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
                    "--b\r\n\r\nfirst\r\n--b\r\nContent-Type: application/pdf\r\n\r\ncut");
  ASSERT_EQ(c.parts.size(), 2u);
  EXPECT_EQ(c.parts[1].size, 3u);
  EXPECT_TRUE(HasWarning(c, "without close delimiter"));
}

TEST(CanonicalV2Test, MultipartWithoutBoundaryIsALeafAndWithoutDelimitersHasNoParts) {
  const auto none = V2(kHead + "Content-Type: multipart/mixed\r\n\r\n--x\r\n\r\nhi\r\n--x--\r\n");
  ASSERT_EQ(none.parts.size(), 1u);
  EXPECT_EQ(none.parts[0].content_type, "multipart/mixed");
  EXPECT_EQ(none.parts[0].position, "1");
  EXPECT_NE(none.canonical.find(" 5:bytes "), std::string::npos);
  EXPECT_TRUE(HasWarning(none, "without boundary"));
  const auto empty =
      V2(kHead + "Content-Type: multipart/mixed; boundary=zz\r\n\r\n--x\r\n\r\nhi\r\n--x--\r\n");
  EXPECT_TRUE(empty.parts.empty());
  EXPECT_EQ(empty.multiparts.size(), 1u);
  EXPECT_TRUE(HasWarning(empty, "multipart without parts"));
}

TEST(CanonicalV2Test, NestedBoundariesThatPrefixEachOther) {
  // Outer "a", inner "ab", innermost "a-": every line goes to the outermost multipart whose
  // delimiter it is.
  const auto c = V2(kHead +
                    "Content-Type: multipart/mixed; boundary=a\r\n\r\n"
                    "--a\r\nContent-Type: multipart/alternative; boundary=ab\r\n\r\n"
                    "--ab\r\nContent-Type: multipart/related; boundary=a-\r\n\r\n"
                    "--a-\r\n\r\none\r\n"
                    "--a---\r\n"  // close delimiter of "a-"
                    "--ab\r\n\r\ntwo\r\n"
                    "--ab--\r\n"
                    "--a\r\n\r\nthree\r\n"
                    "--a--\r\n");
  ASSERT_EQ(c.parts.size(), 3u);
  EXPECT_EQ(c.parts[0].position, "1.1.1");
  EXPECT_EQ(c.parts[0].size, 3u);
  EXPECT_EQ(c.parts[1].position, "1.2");
  EXPECT_EQ(c.parts[2].position, "2");
  ASSERT_EQ(c.multiparts.size(), 3u);
  EXPECT_EQ(c.multiparts[1].position, "1");
  EXPECT_EQ(c.multiparts[2].position, "1.1");
  EXPECT_FALSE(HasWarning(c, "close delimiter"));
}

TEST(CanonicalV2Test, AnOuterDelimiterEndsInnerMultipartsUnclosed) {
  const auto c = V2(kHead +
                    "Content-Type: multipart/mixed; boundary=a\r\n\r\n"
                    "--a\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n"
                    "--b\r\n\r\ninner\r\n"
                    "--a\r\n\r\nouter\r\n--a--\r\n");
  ASSERT_EQ(c.parts.size(), 2u);
  EXPECT_EQ(c.parts[0].position, "1.1");
  EXPECT_EQ(c.parts[0].size, 5u);
  EXPECT_EQ(c.parts[1].position, "2");
  EXPECT_TRUE(HasWarning(c, "without close delimiter"));
}

TEST(CanonicalV2Test, OuterWinsWhenOneLineIsTwoDelimiters) {
  // "--x--" is the delimiter of outer "x--" and the close delimiter of inner "x".
  const auto c = V2(kHead +
                    "Content-Type: multipart/mixed; boundary=\"x--\"\r\n\r\n"
                    "--x--\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n"
                    "--x\r\n\r\nin\r\n"
                    "--x--\r\n\r\nsibling\r\n--x----\r\n");
  ASSERT_EQ(c.parts.size(), 2u);
  EXPECT_EQ(c.parts[0].position, "1.1");
  EXPECT_EQ(c.parts[1].position, "2");
}

TEST(CanonicalV2Test, SameBoundaryNestedGivesTheInnerNoParts) {
  const auto c = V2(kHead +
                    "Content-Type: multipart/mixed; boundary=s\r\n\r\n"
                    "--s\r\nContent-Type: multipart/mixed; boundary=s\r\n\r\n"
                    "--s\r\n\r\nx\r\n--s--\r\n");
  ASSERT_EQ(c.multiparts.size(), 2u);
  ASSERT_EQ(c.parts.size(), 1u);
  EXPECT_EQ(c.parts[0].position, "2");
}

TEST(CanonicalV2Test, DepthBeyondOneHundredIsALeaf) {
  std::string msg = kHead;
  for (int i = 0; i < 101; ++i) {
    msg += "Content-Type: multipart/mixed; boundary=\"b" + std::to_string(i) + "\"\r\n\r\n--b" +
           std::to_string(i) + "\r\n";
  }
  msg += "Content-Type: text/plain\r\n\r\nleaf\r\n";
  const auto c = V2(msg);
  EXPECT_EQ(c.multiparts.size(), 100u);
  ASSERT_EQ(c.parts.size(), 1u);
  EXPECT_EQ(c.parts[0].content_type, "multipart/mixed");
  EXPECT_TRUE(HasWarning(c, "deeper than 100"));
  EXPECT_EQ(std::count(c.parts[0].position.begin(), c.parts[0].position.end(), '.'), 99);
}

TEST(CanonicalV2Test, PartLimitIsExactlyKMaxParts) {
  auto message = [](size_t n) {
    std::string m = kHead + "Content-Type: multipart/mixed; boundary=p\r\n\r\n";
    for (size_t i = 0; i < n; ++i) m += "--p\r\n\r\n";
    return m + "--p--\r\n";
  };
  const auto at = V2(message(mime::kMaxParts));
  EXPECT_EQ(at.parts.size(), mime::kMaxParts);
  const std::string over_raw = message(mime::kMaxParts + 1);
  const auto over = V2(over_raw);
  EXPECT_TRUE(over.parts.empty());
  EXPECT_TRUE(over.headers.empty());
  EXPECT_EQ(over.canonical,
            "notary-canonical 2\nunparsed 64:" + Hex(common::Sha256Of(over_raw)) + "\n");
  EXPECT_TRUE(HasWarning(over, "more than 10000"));
  EXPECT_EQ(over.metadata.from, "a@example.com");  // metadata is still there
  EXPECT_FALSE(mime::ExtractPart(over_raw, "1", 2).has_value());
}

// ---------------------------------------------------------------- §V2.6 content

TEST(CanonicalV2Test, MessageRfc822IsItsOwnBytesAfterTransferDecoding) {
  const std::string inner = "From: x@example.com\r\nSubject: inner\r\n\r\nhello\r\n";
  // The CRLF before "--b--" is the delimiter's, so the part ends in "hello\r\n" only with a
  // second CRLF.
  const std::string plain = kHead +
                            "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
                            "--b\r\nContent-Type: message/rfc822\r\n\r\n" +
                            inner + "\r\n--b--\r\n";
  const auto c = V2(plain);
  ASSERT_EQ(c.parts.size(), 1u);
  EXPECT_EQ(c.parts[0].content_type, "message/rfc822");
  EXPECT_EQ(c.parts[0].sha256, common::Sha256Of(inner));
  EXPECT_EQ(mime::ExtractPart(plain, "1", 2), inner);
  const std::string b64 = kHead +
                          "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
                          "--b\r\nContent-Type: message/rfc822\r\n"
                          "Content-Transfer-Encoding: base64\r\n\r\n" +
                          common::Base64Encode(inner) + "\r\n--b--\r\n";
  EXPECT_EQ(V2(b64).parts[0].sha256, common::Sha256Of(inner));
  EXPECT_EQ(V2(b64).canonical, c.canonical);
}

TEST(CanonicalV2Test, UuencodeAndUnknownEncodingsAreNotDecoded) {
  const std::string body = "begin 644 a.txt\r\n#86)C\r\n`\r\nend\r\n";
  const auto c = V2(kHead +
                    "Content-Type: application/octet-stream\r\n"
                    "Content-Transfer-Encoding: x-uuencode\r\n\r\n" +
                    body);
  EXPECT_EQ(c.parts[0].sha256, common::Sha256Of(body));
  EXPECT_TRUE(HasWarning(c, "not decoded"));
}

// ---------------------------------------------------------------- §V2.7 text mode

TEST(CanonicalV2Test, TextDecodesWithTheWhatwgDecoderOfTheLabel) {
  // ks_c_5601-1987 and euc-kr are one WHATWG encoding; U+B620 is outside KS X 1001.
  const std::string euckr = "\xb0\xa1\x8c\x63";  // 가똠 (0x8C63 is a CP949 extension)
  const auto a = V2(kHead + "Content-Type: text/plain; charset=ks_c_5601-1987\r\n\r\n" + euckr);
  const auto b = V2(kHead + "Content-Type: text/plain; charset=EUC-KR\r\n\r\n" + euckr);
  EXPECT_EQ(a.canonical, b.canonical);
  EXPECT_EQ(a.parts[0].content_sha256, common::Sha256Of("\xea\xb0\x80\xeb\x98\xa0\n"));
  EXPECT_EQ(a.parts[0].charset, "ks_c_5601-1987");
  EXPECT_EQ(b.parts[0].charset, "euc-kr");
}

TEST(CanonicalV2Test, MalformedBytesBecomeReplacementCharactersWithAWarning) {
  const auto c = V2(kHead +
                    "Content-Type: text/plain; charset=utf-8\r\n\r\na\xff"
                    "b\r\n");
  EXPECT_EQ(c.parts[0].content_sha256, common::Sha256Of("a\xef\xbf\xbd"
                                                        "b\n"));
  EXPECT_NE(c.canonical.find(" 4:text 0: "), std::string::npos);
  EXPECT_TRUE(HasWarning(c, "U+FFFD"));
}

TEST(CanonicalV2Test, UnknownAndReplacementCharsetsAreTextRaw) {
  const auto unknown = V2(kHead + "Content-Type: text/plain; charset=\" X-Klingon \"\r\n\r\nq\r\n");
  EXPECT_NE(unknown.canonical.find(" 8:text-raw 9:x-klingon "), std::string::npos);
  EXPECT_EQ(unknown.parts[0].charset, "x-klingon");
  EXPECT_EQ(unknown.parts[0].content_sha256, common::Sha256Of("q\n"));
  const auto repl = V2(kHead + "Content-Type: text/plain; charset=ISO-2022-KR\r\n\r\nq\r\n");
  EXPECT_NE(repl.canonical.find(" 8:text-raw 11:iso-2022-kr "), std::string::npos);
}

TEST(CanonicalV2Test, NulInTextIsText) {
  const auto c =
      V2(kHead + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + std::string("a\0b", 3));
  EXPECT_NE(c.canonical.find(" 4:text 0: "), std::string::npos);
  EXPECT_EQ(c.parts[0].content_sha256, common::Sha256Of(std::string("a\0b\n", 4)));
}

TEST(CanonicalV2Test, NamedOrAttachedTextIsBytes) {
  const auto named =
      V2(kHead + "Content-Type: text/plain; charset=utf-8; name=a.txt\r\n\r\nx  \r\n");
  EXPECT_NE(named.canonical.find(" 5:a.txt 5:bytes "), std::string::npos);
  const auto attached =
      V2(kHead + "Content-Type: text/plain\r\nContent-Disposition: attachment\r\n\r\nx");
  EXPECT_NE(attached.canonical.find(" 10:attachment 0: 5:bytes "), std::string::npos);
}

// ---------------------------------------------------------------- §V2.8 disposition, name

TEST(CanonicalV2Test, FilenamePrecedenceAndDecoding) {
  auto fname = [](const std::string& headers) {
    const auto c = V2(kHead + headers + "\r\nx");
    return c.parts.at(0).filename;
  };
  EXPECT_EQ(fname("Content-Type: a/b; name=ct.pdf\r\n"
                  "Content-Disposition: attachment; filename=cd.pdf\r\n"),
            "cd.pdf");
  EXPECT_EQ(fname("Content-Type: a/b; name=ct.pdf\r\nContent-Disposition: attachment\r\n"),
            "ct.pdf");
  EXPECT_EQ(fname("Content-Type: a/b; name=ct.pdf\r\n"
                  "Content-Disposition: attachment; filename=\"\"\r\n"),
            "ct.pdf");
  EXPECT_EQ(fname("Content-Disposition: attachment; filename=\"=?utf-8?b?7JWI64WV?=.txt\"\r\n"),
            "\xec\x95\x88\xeb\x85\x95.txt");
  EXPECT_EQ(fname("Content-Disposition: attachment; filename*=UTF-8''%EC%95%88.txt;"
                  " filename=\"plain.txt\"\r\n"),
            "\xec\x95\x88.txt");
  EXPECT_EQ(fname("Content-Disposition: attachment;\r\n filename*0*=utf-8''%EC%95;\r\n"
                  " filename*1*=%88; filename*2=\".txt\"\r\n"),
            "\xec\x95\x88.txt");
}

TEST(CanonicalV2Test, Dispositions) {
  auto disp = [](const std::string& value) {
    return V2(kHead + "Content-Type: a/b\r\nContent-Disposition:" + value + "\r\n\r\nx")
        .parts.at(0)
        .disposition;
  };
  EXPECT_EQ(disp(" INLINE"), "inline");
  EXPECT_EQ(disp(" attachment; size=3"), "attachment");
  EXPECT_EQ(disp(" form-data; name=x"), "attachment");
  EXPECT_EQ(disp(" filename=\"x\""), "attachment");
  EXPECT_EQ(disp(""), "");
}

// ---------------------------------------------------------------- §V2.9 part records

TEST(CanonicalV2Test, SaltedPartRecordsAndRoot) {
  auto c = V2(kTwoParts);
  ASSERT_EQ(c.parts.size(), 2u);
  for (auto& p : c.parts) EXPECT_EQ(p.salt, common::Hash{});
  c.parts[0].salt = common::Sha256Of("salt/0");
  c.parts[1].salt = common::Sha256Of("salt/1");
  const std::string rec = mime::EncodePartRecord(c.parts[1], 2);
  std::string expected;
  common::AppendU32(expected, 2);
  common::AppendBytes(expected, c.parts[1].salt);
  common::AppendLengthPrefixed(expected, "2");
  common::AppendLengthPrefixed(expected, "application/octet-stream");
  common::AppendLengthPrefixed(expected, "");
  common::AppendLengthPrefixed(expected, "");
  common::AppendLengthPrefixed(expected, "");
  common::AppendU64(expected, 8);
  common::AppendBytes(expected, common::Sha256Of("second\r\n"));
  EXPECT_EQ(rec, expected);
  const common::Hash root = mime::PartsRoot(c.parts, 2);
  EXPECT_EQ(root, common::HashChildren(common::HashLeaf(mime::EncodePartRecord(c.parts[0], 2)),
                                       common::HashLeaf(rec)));
  // Another salt, another root; version 1 records ignore the salt.
  auto other = c.parts;
  other[1].salt[0] ^= 1;
  EXPECT_NE(mime::PartsRoot(other, 2), root);
  EXPECT_EQ(mime::PartsRoot(other, 1), mime::PartsRoot(c.parts, 1));
  EXPECT_EQ(mime::EncodePartRecord(c.parts[1]), mime::EncodePartRecord(c.parts[1], 1));
  EXPECT_EQ(mime::EncodePartRecord(c.parts[1], 1).substr(0, 4), std::string("\0\0\0\1", 4));
}

// ---------------------------------------------------------------- §V2.10 metadata

TEST(CanonicalV2Test, MetadataIsFilledAsInVersionOne) {
  const std::string msg =
      "From: =?utf-8?q?Jos=C3=A9?= <Jose@Example.COM>\r\n"
      "Sender: list@example.org\r\n"
      "Reply-To: \"Help Desk\" <help@example.org>\r\n"
      "To: Bob <bob@example.org>, team: ann@example.org, cid@example.org;\r\n"
      "Cc: Dee <DEE@example.net>\r\n"
      "Bcc: hidden@example.net\r\n"
      "Subject: =?utf-8?b?SGVsbG8g?= =?utf-8?q?w=C3=B6rld?=\r\n"
      "Date: Tue, 01 Jul 2025 10:00:00 +0200\r\n"
      "Message-ID: <m1@example.com>\r\n"
      "In-Reply-To: <m0@example.com>\r\n"
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
      "--b\r\n\r\nHello.\r\n"
      "--b\r\nContent-Disposition: attachment; filename=\"a.pdf\"\r\n\r\nx\r\n--b--\r\n";
  const auto v1 = mime::Canonicalize(msg, 1).metadata;
  const auto v2 = V2(msg).metadata;
  EXPECT_EQ(v2.from, "Jos\xc3\xa9 <Jose@Example.COM>");
  EXPECT_EQ(v2.from, v1.from);
  EXPECT_EQ(v2.sender, v1.sender);
  EXPECT_EQ(v2.reply_to, v1.reply_to);
  EXPECT_EQ(v2.to, v1.to);
  EXPECT_EQ(v2.cc, v1.cc);
  EXPECT_EQ(v2.addresses, v1.addresses);
  EXPECT_EQ(v2.addresses.size(), 8u);
  EXPECT_EQ(v2.subject, "Hello w\xc3\xb6rld");
  EXPECT_EQ(v2.date, v1.date);
  EXPECT_EQ(v2.date_utc_unix, v1.date_utc_unix);
  EXPECT_EQ(v2.message_id, "m1@example.com");
  EXPECT_EQ(v2.in_reply_to, "m0@example.com");
  EXPECT_EQ(v2.attachment_names, std::vector<std::string>{"a.pdf"});
  EXPECT_EQ(v2.attachment_names, v1.attachment_names);
}

// ---------------------------------------------------------------- ExtractPart, Differences

TEST(CanonicalV2Test, ExtractPartFollowsTheV2Walk) {
  const std::string msg = kHead +
                          "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
                          "--b\r\nContent-Type: text/plain\r\n"
                          "Content-Transfer-Encoding: quoted-printable\r\n\r\nsoft=\r\nbreak=3D\r\n"
                          "--b\r\nContent-Type: multipart/alternative; boundary=c\r\n\r\n"
                          "--c\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--c--\r\n"
                          "--b--\r\n";
  const auto c = V2(msg);
  ASSERT_EQ(c.parts.size(), 2u);
  EXPECT_EQ(mime::ExtractPart(msg, "1", 2), "softbreak=");
  EXPECT_EQ(mime::ExtractPart(msg, "2.1", 2), "%PDF-");
  for (const auto& p : c.parts) {
    const auto bytes = mime::ExtractPart(msg, p.position, 2);
    ASSERT_TRUE(bytes.has_value());
    EXPECT_EQ(common::Sha256Of(*bytes), p.sha256);
    EXPECT_EQ(bytes->size(), p.size);
  }
  EXPECT_FALSE(mime::ExtractPart(msg, "2", 2).has_value());  // a multipart is no leaf
  EXPECT_FALSE(mime::ExtractPart(msg, "", 2).has_value());
  EXPECT_FALSE(mime::ExtractPart(msg, "3", 2).has_value());
}

TEST(CanonicalV2Test, DifferencesWorkOnVersion2Results) {
  const auto base = V2(kTwoParts);
  EXPECT_TRUE(mime::Differences(base, base).empty());
  std::string changed = kTwoParts;
  changed.replace(changed.find("second"), 6, "SECOND");
  const auto d = mime::Differences(base, V2(changed));
  ASSERT_FALSE(d.empty());
  EXPECT_NE(d[0].find("part 2 (application/octet-stream): content differs"), std::string::npos);
  const auto versions = mime::Differences(base, mime::Canonicalize(kTwoParts, 1));
  ASSERT_FALSE(versions.empty());
  EXPECT_EQ(versions[0], "canonical form versions differ: 2 vs 1");
}

}  // namespace
