// The building blocks of canonical form version 2, rule by rule as docs/canonical-form.md
// ("Version 2") states them: header lines and fields (§V2.2), RFC 2047 encoded words
// (§V2.3), structured values and RFC 2231 parameters (§V2.4) and transfer decoding (§V2.6).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "header_fields.h"
#include "rfc2047.h"
#include "rfc2231.h"
#include "transfer_decode.h"

namespace {

using namespace mime::internal;  // NOLINT: test of the internal building blocks

std::string Ew(std::string_view s) {
  Rfc2047Stats stats;
  return DecodeEncodedWords(s, &stats);
}

// ---------------------------------------------------------------- §V2.2 header fields

TEST(V2HeaderLineTest, ClassifiesFieldsContinuationsAndOtherLines) {
  EXPECT_EQ(ClassifyHeaderLine("", false), HeaderLine::kEmpty);
  EXPECT_EQ(ClassifyHeaderLine("Subject: x", false), HeaderLine::kField);
  EXPECT_EQ(ClassifyHeaderLine("Subject : x", false), HeaderLine::kField);  // obs-optional
  EXPECT_EQ(ClassifyHeaderLine("Subject \t:", false), HeaderLine::kField);
  EXPECT_EQ(ClassifyHeaderLine("X-\x7e!#:y", false), HeaderLine::kField);
  EXPECT_EQ(ClassifyHeaderLine(" folded", true), HeaderLine::kContinuation);
  EXPECT_EQ(ClassifyHeaderLine("\tfolded", true), HeaderLine::kContinuation);
  EXPECT_EQ(ClassifyHeaderLine(" folded", false), HeaderLine::kOther);
  EXPECT_EQ(ClassifyHeaderLine(":no name", false), HeaderLine::kOther);
  EXPECT_EQ(ClassifyHeaderLine("no colon at all", false), HeaderLine::kOther);
  EXPECT_EQ(ClassifyHeaderLine("Sub ject: x", false), HeaderLine::kOther);
  EXPECT_EQ(ClassifyHeaderLine("Subj\xc3\xa9t: x", false), HeaderLine::kOther);
  EXPECT_EQ(ClassifyHeaderLine(std::string("Sub\0j: x", 8), false), HeaderLine::kOther);
  EXPECT_EQ(ClassifyHeaderLine("--boundary", false), HeaderLine::kOther);
}

TEST(V2HeaderFieldsTest, UnfoldsAndKeepsNamesAsWritten) {
  HeaderStats stats;
  const auto f = SplitHeaderBlock("SUBJECT: a\r\n  b\r\n\tc\r\nTo :x\r\nEmpty:", &stats);
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0].name, "SUBJECT");
  EXPECT_EQ(f[0].value, " a  b\tc");
  EXPECT_EQ(f[1].name, "To");
  EXPECT_EQ(f[1].value, "x");
  EXPECT_EQ(f[2].name, "Empty");
  EXPECT_EQ(f[2].value, "");
}

TEST(V2HeaderFieldsTest, EightBitValuesAreUtf8WhenValidElseWindows1252) {
  HeaderStats stats;
  EXPECT_EQ(HeaderBytesToUtf8("caf\xc3\xa9", &stats), "caf\xc3\xa9");
  EXPECT_EQ(stats.eight_bit_utf8, 1u);
  // The whole value decides: one invalid byte makes every 8-bit byte windows-1252.
  EXPECT_EQ(HeaderBytesToUtf8("caf\xc3\xa9 \xe9 \x80", &stats),
            "caf\xc3\x83\xc2\xa9 \xc3\xa9 \xe2\x82\xac");
  EXPECT_EQ(stats.windows_1252, 1u);
  // WHATWG windows-1252 maps 0x81 to U+0081: no byte is lost.
  EXPECT_EQ(HeaderBytesToUtf8("\x81", &stats), "\xc2\x81");
  // Surrogates and overlong forms are not valid UTF-8.
  EXPECT_EQ(HeaderBytesToUtf8("\xed\xa0\x80", &stats), "\xc3\xad\xc2\xa0\xe2\x82\xac");
  EXPECT_EQ(HeaderBytesToUtf8("\xc0\xaf", &stats), "\xc3\x80\xc2\xaf");
  // A BOM is kept; NUL is an ordinary character.
  EXPECT_EQ(HeaderBytesToUtf8("\xef\xbb\xbfx", &stats), "\xef\xbb\xbfx");
  EXPECT_EQ(HeaderBytesToUtf8(std::string("a\0b", 3), &stats), std::string("a\0b", 3));
}

// ---------------------------------------------------------------- §V2.3 RFC 2047

TEST(V2Rfc2047Test, DecodesBAndQInEitherCase) {
  EXPECT_EQ(Ew("=?utf-8?B?Y2Fmw6k=?="), "caf\xc3\xa9");
  EXPECT_EQ(Ew("=?UTF-8?b?Y2Fmw6k=?="), "caf\xc3\xa9");
  EXPECT_EQ(Ew("=?utf-8?Q?caf=C3=A9?="), "caf\xc3\xa9");
  EXPECT_EQ(Ew("=?utf-8?q?caf=c3=a9_au_lait?="), "caf\xc3\xa9 au lait");
  EXPECT_EQ(Ew("=?iso-8859-1?q?=E9?="), "\xc3\xa9");  // a WHATWG label: windows-1252
}

TEST(V2Rfc2047Test, QKeepsAnInvalidEqualsSignAsWritten) {
  EXPECT_EQ(Ew("=?utf-8?q?a=3Db=zz=4?="), "a=b=zz=4");
  EXPECT_EQ(Ew("=?utf-8?q?100%_=?="), "100% =");
}

TEST(V2Rfc2047Test, BFollowsForgivingBase64OrTheWordStaysAsWritten) {
  EXPECT_EQ(Ew("=?utf-8?b?YQ?="), "a");  // unpadded
  EXPECT_EQ(Ew("=?utf-8?b?YQ==?="), "a");
  EXPECT_EQ(Ew("=?utf-8?b?YWI?="), "ab");
  EXPECT_EQ(Ew("=?utf-8?b?"
               "?="),
            "");
  EXPECT_EQ(Ew("=?utf-8?b?YQ=?="), "=?utf-8?b?YQ=?=");    // 3 characters with "="
  EXPECT_EQ(Ew("=?utf-8?b?Y?="), "=?utf-8?b?Y?=");        // length 1 mod 4
  EXPECT_EQ(Ew("=?utf-8?b?Y*Q=?="), "=?utf-8?b?Y*Q=?=");  // outside the alphabet
  EXPECT_EQ(Ew("=?utf-8?b?YQ===?="), "=?utf-8?b?YQ===?=");
  Rfc2047Stats stats;
  (void)DecodeEncodedWords("=?utf-8?b?Y?=", &stats);
  EXPECT_EQ(stats.invalid_base64, 1u);
}

TEST(V2Rfc2047Test, UnknownAndReplacementCharsetsStayAsWritten) {
  Rfc2047Stats stats;
  EXPECT_EQ(DecodeEncodedWords("=?x-unknown?q?a?= =?iso-2022-kr?q?b?=", &stats),
            "=?x-unknown?q?a?= =?iso-2022-kr?q?b?=");
  EXPECT_EQ(stats.unknown_charset, 1u);
  EXPECT_EQ(stats.replacement_charset, 1u);
  // A word left as written is text: the whitespace next to it is kept.
  EXPECT_EQ(Ew("=?utf-8?q?a?= =?x-unknown?q?b?= =?utf-8?q?c?="), "a =?x-unknown?q?b?= c");
}

TEST(V2Rfc2047Test, RecognisesWordsAnywhereEvenInsideQuotesAndWords) {
  EXPECT_EQ(Ew("Re:=?utf-8?q?x?="), "Re:x");
  EXPECT_EQ(Ew("=?utf-8?q?x?=tail"), "xtail");
  EXPECT_EQ(Ew("\"=?utf-8?q?Jos=C3=A9?=\" <j@example.com>"), "\"Jos\xc3\xa9\" <j@example.com>");
  EXPECT_EQ(Ew("(=?utf-8?q?comment?=)"), "(comment)");
}

TEST(V2Rfc2047Test, SyntaxThatIsNoEncodedWord) {
  EXPECT_EQ(Ew("=?utf-8?x?a?="), "=?utf-8?x?a?=");      // unknown encoding letter
  EXPECT_EQ(Ew("=??q?a?="), "=??q?a?=");                // empty charset
  EXPECT_EQ(Ew("=?*en?q?a?="), "=?*en?q?a?=");          // empty charset before the language
  EXPECT_EQ(Ew("=?utf-8?q?a b?="), "=?utf-8?q?a b?=");  // SP in the encoded text
  EXPECT_EQ(Ew("=?utf-8?q?a"), "=?utf-8?q?a");          // unterminated
  EXPECT_EQ(Ew("=?utf 8?q?a?="), "=?utf 8?q?a?=");
  EXPECT_EQ(Ew("=?utf-8?q?caf\xc3\xa9?="), "=?utf-8?q?caf\xc3\xa9?=");  // 8-bit text
  // "=" cannot be in the charset: the word starts at the second "=?".
  EXPECT_EQ(Ew("=?a=?utf-8?q?b?="), "=?ab");
}

TEST(V2Rfc2047Test, LanguageSuffixIsIgnored) {
  EXPECT_EQ(Ew("=?utf-8*en-us?q?hi?="), "hi");
  EXPECT_EQ(Ew("=?UTF-8*EN?B?aGk=?="), "hi");
}

TEST(V2Rfc2047Test, WhitespaceBetweenAdjacentWordsIsDropped) {
  EXPECT_EQ(Ew("=?utf-8?q?a?= =?utf-8?q?b?="), "ab");
  EXPECT_EQ(Ew("=?utf-8?q?a?= \t \r\n =?iso-8859-1?q?b?="), "ab");
  EXPECT_EQ(Ew("=?utf-8?q?a?==?utf-8?q?b?="), "ab");
  EXPECT_EQ(Ew("=?utf-8?q?a?= x =?utf-8?q?b?="), "a x b");
  EXPECT_EQ(Ew("=?utf-8?q?a_?= =?utf-8?q?_b?="), "a  b");
}

TEST(V2Rfc2047Test, SameCharsetWordsAreJoinedAsBytesBeforeDecoding) {
  // U+00E9 split across two words, B and Q mixed, labels spelled differently.
  EXPECT_EQ(Ew("=?utf-8?q?caf=C3?= =?UTF8?b?qQ==?="), "caf\xc3\xa9");
  // EUC-KR 0xB0A1 split across words.
  EXPECT_EQ(Ew("=?euc-kr?q?=B0?= =?ks_c_5601-1987?q?=A1?="), "\xea\xb0\x80");
  // Different encodings are decoded separately: the lone lead byte is malformed.
  Rfc2047Stats stats;
  EXPECT_EQ(DecodeEncodedWords("=?utf-8?q?=C3?= =?iso-8859-1?q?=A9?=", &stats),
            "\xef\xbf\xbd\xc2\xa9");
  EXPECT_EQ(stats.malformed_bytes, 1u);
}

TEST(V2Rfc2047Test, TheSpecExample) {
  EXPECT_EQ(Ew("=?utf-8?q?caf=C3?=\r\n =?UTF-8?B?qSBhdQ==?= =?x-foo?q?y?="),
            "caf\xc3\xa9 au =?x-foo?q?y?=");
}

TEST(V2Rfc2047Test, StaysLinearOnHostileText) {
  std::string s;
  for (int i = 0; i < 200000; ++i) s += "=?utf-8";
  s += "?q?x?=";
  EXPECT_EQ(Ew(s).size(), s.size() - 12);  // only the last "=?utf-8?q?x?=" is a word
  std::string t(1 << 20, '?');
  t.insert(0, "=?utf-8?q?");
  EXPECT_EQ(Ew(t), t);
}

TEST(V2Rfc2047Test, ForgivingBase64MatchesAtob) {
  EXPECT_EQ(ForgivingBase64Decode(""), "");
  EXPECT_EQ(ForgivingBase64Decode("YQ"), "a");
  EXPECT_EQ(ForgivingBase64Decode("YR"), "a");  // leftover bits are discarded
  EXPECT_EQ(ForgivingBase64Decode("YWJj"), "abc");
  EXPECT_EQ(ForgivingBase64Decode("YWI="), "ab");
  EXPECT_FALSE(ForgivingBase64Decode("Y===").has_value());
  EXPECT_FALSE(ForgivingBase64Decode("YQ=").has_value());
  EXPECT_FALSE(ForgivingBase64Decode("Y").has_value());
  EXPECT_FALSE(ForgivingBase64Decode("YQ==YQ==").has_value());
}

// ---------------------------------------------------------------- §V2.4 structured values

TEST(V2ContentTypeTest, ParsesTypeSubtypeAndParameters) {
  ParameterStats stats;
  const auto ct = ParseContentType(
      " (c) Text / HTML (x) ; Charset = \"UTF-8\" ; format=flowed;;name=\"a \\\"b\\\".txt\"",
      &stats);
  ASSERT_TRUE(ct.valid);
  EXPECT_EQ(ct.type, "text");
  EXPECT_EQ(ct.subtype, "html");
  ASSERT_EQ(ct.params.size(), 3u);
  EXPECT_EQ(ct.params[0].base, "charset");
  EXPECT_EQ(ct.params[0].value, "UTF-8");
  EXPECT_EQ(ct.params[2].value, "a \"b\".txt");
  EXPECT_EQ(stats.invalid, 0u);
}

TEST(V2ContentTypeTest, InvalidSyntax) {
  ParameterStats stats;
  for (const char* v : {"", "text", "text/", "/plain", "text/plain junk", "te xt/plain",
                        "text/pl@in", "\"text\"/plain", "text/plain, text/html"}) {
    EXPECT_FALSE(ParseContentType(v, &stats).valid) << v;
  }
  EXPECT_TRUE(ParseContentType("text/plain ; ", &stats).valid);
  EXPECT_TRUE(ParseContentType("text/plain(comment", &stats).valid);  // to the end
}

TEST(V2ContentTypeTest, BadParametersAreSkippedToTheNextSemicolon) {
  ParameterStats stats;
  const auto ct =
      ParseContentType("text/plain; a; b=\"x;y\" junk; =v; c=1 2; charset=utf-8", &stats);
  ASSERT_TRUE(ct.valid);
  ASSERT_EQ(ct.params.size(), 1u);
  EXPECT_EQ(ct.params[0].value, "utf-8");
  EXPECT_EQ(stats.invalid, 4u);
}

TEST(V2ContentTypeTest, BareValuesAreLenient) {
  ParameterStats stats;
  const auto ct = ParseContentType("multipart/mixed; boundary=----=_Part_1(x)/@", &stats);
  ASSERT_EQ(ct.params.size(), 1u);
  EXPECT_EQ(ct.params[0].value, "----=_Part_1(x)/@");
  const auto utf8 = ParseContentType("application/pdf; name=\xea\xb3\x84.pdf", &stats);
  EXPECT_EQ(utf8.params[0].value, "\xea\xb3\x84.pdf");
}

TEST(V2ContentTypeTest, FirstOfDuplicateParametersWins) {
  ParameterStats stats;
  const auto ct = ParseContentType("text/plain; CHARSET=a; charset=b; name*0=x; name*0*=y", &stats);
  ASSERT_EQ(ct.params.size(), 2u);
  EXPECT_EQ(ct.params[0].value, "a");
  EXPECT_EQ(ct.params[1].value, "x");
  EXPECT_EQ(stats.duplicate, 2u);
}

TEST(V2ParameterTest, Rfc2231ExtendedContinuationsAndPrecedence) {
  ParameterStats stats;
  Rfc2047Stats ew;
  auto get = [&](const std::string& v, const char* name) {
    return GetParameter(ParseContentType("a/b; " + v, &stats).params, name, &ew, &stats);
  };
  EXPECT_EQ(get("name*=utf-8''%EA%B3%84.pdf", "name"), "\xea\xb3\x84.pdf");
  EXPECT_EQ(get("name*=euc-kr'ko'%B0%E8.pdf", "name"), "\xea\xb3\x84.pdf");
  EXPECT_EQ(get("name*=''a%2", "name"), "a%2");  // no charset; "%" not followed by hex
  EXPECT_EQ(get("name*=%41", "name"), "A");      // no quotes: all text, no charset
  EXPECT_EQ(get("name*0=\"a b\"; name*1=c; name*2*=%41", "name"), "a bcA");
  EXPECT_EQ(get("name*0*=utf-8''%C3; name*1*=%A9", "name"), "\xc3\xa9");
  EXPECT_EQ(get("name*1=b; name*0=a; name*3=d", "name"), "ab");  // order; stops at a gap
  EXPECT_EQ(get("name=plain; name*=utf-8''ext", "name"), "ext");
  EXPECT_EQ(get("name=plain; name*0=cont", "name"), "cont");
  EXPECT_EQ(get("name*0=cont; name*=utf-8''ext", "name"), "ext");
  EXPECT_EQ(get("name*1=x", "name"), std::nullopt);
  EXPECT_EQ(get("name*01=x; name=y", "name"), "y");  // "name*01" is not a section
  // RFC 2047 in values without an RFC 2231 charset only.
  EXPECT_EQ(get("name=\"=?utf-8?q?caf=C3=A9?=.txt\"", "name"), "caf\xc3\xa9.txt");
  EXPECT_EQ(get("name*0=\"=?utf-8?q?a?=\"; name*1=\"=?utf-8?q?b?=\"", "name"), "ab");
  EXPECT_EQ(get("name*=utf-8''=?utf-8?q?a?=", "name"), "=?utf-8?q?a?=");
  // Unknown and replacement charsets: UTF-8 when valid, else windows-1252.
  EXPECT_EQ(get("name*=x-klingon''%C3%A9", "name"), "\xc3\xa9");
  EXPECT_EQ(get("name*=iso-2022-kr''%E9", "name"), "\xc3\xa9");
  EXPECT_EQ(stats.bad_charset, 2u);
}

TEST(V2ParameterTest, HundredThousandSectionsStayLinear) {
  std::string v = "a/b";
  for (int i = 0; i < 100000; ++i) v += "; name*" + std::to_string(i) + "=x";
  ParameterStats stats;
  const auto ct = ParseContentType(v, &stats);
  EXPECT_EQ(GetParameter(ct.params, "name", nullptr, &stats)->size(), 100000u);
}

TEST(V2DispositionTest, KindsAndParameters) {
  ParameterStats stats;
  EXPECT_EQ(ParseContentDisposition("  ", &stats).kind, ContentDisposition::Kind::kEmpty);
  const auto a = ParseContentDisposition("Attachment; filename=\"x.pdf\"", &stats);
  EXPECT_EQ(a.kind, ContentDisposition::Kind::kValid);
  EXPECT_EQ(a.type, "attachment");
  const auto bad = ParseContentDisposition("filename=\"x.pdf\"; size=3", &stats);
  EXPECT_EQ(bad.kind, ContentDisposition::Kind::kInvalid);
  ASSERT_EQ(bad.params.size(), 1u);  // parameters after the first ";" still count
  EXPECT_EQ(bad.params[0].base, "size");
}

TEST(V2TransferEncodingTest, OneToken) {
  EXPECT_EQ(ParseTransferEncoding(" Base64 "), "base64");
  EXPECT_EQ(ParseTransferEncoding("quoted-printable (c)"), "quoted-printable");
  EXPECT_EQ(ParseTransferEncoding("base64 x"), "");
  EXPECT_EQ(ParseTransferEncoding(""), "");
  EXPECT_EQ(TransferEncodingFor("x-uuencode"), TransferEncoding::kIdentity);
  EXPECT_EQ(TransferEncodingFor("8bit"), TransferEncoding::kIdentity);
}

// ---------------------------------------------------------------- §V2.6 transfer decoding

std::string B64(std::string_view in, TransferStats* stats = nullptr) {
  TransferStats local;
  return TransferDecodeAll(TransferEncoding::kBase64, in, stats ? stats : &local);
}
std::string Qp(std::string_view in, TransferStats* stats = nullptr) {
  TransferStats local;
  return TransferDecodeAll(TransferEncoding::kQuotedPrintable, in, stats ? stats : &local);
}

TEST(V2Base64Test, SkipsJunkAndHandlesPaddingAndTails) {
  EXPECT_EQ(B64("YWJj\r\nZGVm\r\n"), "abcdef");
  TransferStats stats;
  EXPECT_EQ(B64("Y W\tJ*j!", &stats), "abc");
  EXPECT_EQ(stats.base64_skipped, 2u);
  EXPECT_EQ(B64("YQ==YWI=YWJj"), "aababc");  // "=" ends a group; decoding goes on
  EXPECT_EQ(B64("YQ"), "a");                 // unpadded tail
  EXPECT_EQ(B64("YWI"), "ab");
  EXPECT_EQ(B64("=Y=WJj"), "abc");  // "=" where no group can end is skipped
  EXPECT_EQ(B64("YW=Jj"), "a&");    // "YW=" is one byte, then "Jj" a new group
  TransferStats lone;
  EXPECT_EQ(B64("YWJjZ", &lone), "abc");
  EXPECT_EQ(lone.base64_leftover, 1u);
  EXPECT_EQ(B64(""), "");
}

TEST(V2QuotedPrintableTest, Rfc2045Section6_7) {
  EXPECT_EQ(Qp("caf=C3=A9\r\n"), "caf\xc3\xa9\r\n");
  EXPECT_EQ(Qp("caf=c3=a9"), "caf\xc3\xa9");  // lower-case hex
  EXPECT_EQ(Qp("soft=\r\nbreak"), "softbreak");
  EXPECT_EQ(Qp("soft= \t\r\nbreak"), "softbreak");  // whitespace after the "="
  EXPECT_EQ(Qp("trailing  \t\r\nspace  "), "trailing\r\nspace");
  EXPECT_EQ(Qp("keep=20\r\n"), "keep \r\n");
  TransferStats stats;
  EXPECT_EQ(Qp("a=zz b=4 c=\xff=", &stats), "a=zz b=4 c=\xff");
  EXPECT_EQ(stats.qp_invalid, 3u);
  EXPECT_EQ(Qp("=4\r\n1"), "=4\r\n1");  // no escape across a line end
  EXPECT_EQ(Qp("lone\rcr\r\n"), "lone\rcr\r\n");
  EXPECT_EQ(Qp("=\r\n=\r\n"), "");
}

}  // namespace
