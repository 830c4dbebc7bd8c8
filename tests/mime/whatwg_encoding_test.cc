// The WHATWG Encoding Standard's decoders (mime/src/whatwg_encoding.h): labels, known answers
// for every multi-byte decoder taken from the standard's text and index files, malformed
// input, byte order marks, hostile input, and a cross-check of several hundred thousand inputs
// against Chromium's TextDecoder (tests/mime/whatwg_crosscheck.mjs).
#include "whatwg_encoding.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/test_support.h"
#include "whatwg_tables.inc"  // the label table, for the label cross-check

namespace {

using mime::Decoded;
using mime::DecodeToUtf8;
using mime::Encoding;
using mime::EncodingForLabel;
using mime::EncodingName;

constexpr uint32_t kFffd = 0xFFFD;

// A std::string from a literal that may hold NUL bytes.
template <size_t N>
std::string B(const char (&lit)[N]) {
  return std::string(lit, N - 1);
}

std::vector<Encoding> AllEncodings() {
  std::vector<Encoding> all;
  for (size_t i = 0; i < mime::kEncodingCount; ++i) all.push_back(static_cast<Encoding>(i));
  return all;
}

// UTF-8 of a list of code points: the expected outputs are written as the standard's code
// points.
std::string U(std::initializer_list<uint32_t> code_points) {
  std::string s;
  for (uint32_t c : code_points) {
    if (c < 0x80) {
      s += static_cast<char>(c);
    } else if (c < 0x800) {
      s += static_cast<char>(0xC0 | (c >> 6));
      s += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      s += static_cast<char>(0xE0 | (c >> 12));
      s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (c & 0x3F));
    } else {
      s += static_cast<char>(0xF0 | (c >> 18));
      s += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
      s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return s;
}

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out += kDigits[b >> 4];
    out += kDigits[b & 0xF];
  }
  return out;
}

// Strict UTF-8 validation (RFC 3629), written apart from the decoder under test.
bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t c = 0;
    if (b < 0x80) {
      ++i;
      continue;
    } else if (b >= 0xC2 && b <= 0xDF) {
      n = 1;
      c = b & 0x1Fu;
    } else if (b >= 0xE0 && b <= 0xEF) {
      n = 2;
      c = b & 0x0Fu;
    } else if (b >= 0xF0 && b <= 0xF4) {
      n = 3;
      c = b & 0x07u;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated
    for (size_t k = 1; k <= n; ++k) {
      const auto t = static_cast<unsigned char>(s[i + k]);
      if ((t & 0xC0) != 0x80) return false;
      c = (c << 6) | (t & 0x3Fu);
    }
    if ((n == 2 && c < 0x800) || (n == 3 && c < 0x10000) || c > 0x10FFFF ||
        (c >= 0xD800 && c <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

::testing::AssertionResult Decodes(Encoding e, std::string_view bytes, std::string_view want,
                                   size_t want_errors) {
  const Decoded got = DecodeToUtf8(e, bytes);
  if (got.utf8 == want && got.errors == want_errors) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << EncodingName(e) << " of " << Hex(bytes) << ": got " << Hex(got.utf8) << " with "
         << got.errors << " errors, want " << Hex(want) << " with " << want_errors << " errors";
}

// ---------------------------------------------------------------------------------------------
// Labels and names.

TEST(WhatwgEncodingLabels, KoreanLabelsGiveEucKr) {
  for (const char* label :
       {"ks_c_5601-1987", "euc-kr", "korean", "cseuckr", "windows-949", "ks_c_5601-1989", "ksc5601",
        "ksc_5601", "iso-ir-149", "csksc56011987"}) {
    EXPECT_EQ(EncodingForLabel(label), Encoding::kEucKr) << label;
  }
}

TEST(WhatwgEncodingLabels, SimplifiedChineseLabels) {
  for (const char* label : {"gb2312", "GB_2312-80", "x-gbk", "gbk", "chinese", "csgb2312",
                            "csiso58gb231280", "iso-ir-58", "GBK"}) {
    EXPECT_EQ(EncodingForLabel(label), Encoding::kGbk) << label;
  }
  EXPECT_EQ(EncodingForLabel("gb18030"), Encoding::kGb18030);
}

TEST(WhatwgEncodingLabels, Latin1AndAsciiAreWindows1252) {
  for (const char* label : {"latin1", "ascii", "us-ascii", "iso-8859-1", "iso8859-1", "l1",
                            "cp1252", "x-cp1252", "ansi_x3.4-1968", "iso_8859-1:1987", "cp819",
                            "ibm819", "iso-ir-100", "csisolatin1", "windows-1252"}) {
    EXPECT_EQ(EncodingForLabel(label), Encoding::kWindows1252) << label;
  }
  // ISO-8859-9 is windows-1254 on the web.
  EXPECT_EQ(EncodingForLabel("iso-8859-9"), Encoding::kWindows1254);
  EXPECT_EQ(EncodingForLabel("latin5"), Encoding::kWindows1254);
}

TEST(WhatwgEncodingLabels, OtherLabels) {
  EXPECT_EQ(EncodingForLabel("unicode-1-1-utf-8"), Encoding::kUtf8);
  EXPECT_EQ(EncodingForLabel("utf8"), Encoding::kUtf8);
  EXPECT_EQ(EncodingForLabel("x-unicode20utf8"), Encoding::kUtf8);
  EXPECT_EQ(EncodingForLabel("utf-16"), Encoding::kUtf16Le);
  EXPECT_EQ(EncodingForLabel("unicodefffe"), Encoding::kUtf16Be);
  EXPECT_EQ(EncodingForLabel("big5-hkscs"), Encoding::kBig5);
  EXPECT_EQ(EncodingForLabel("x-sjis"), Encoding::kShiftJis);
  EXPECT_EQ(EncodingForLabel("windows-31j"), Encoding::kShiftJis);
  EXPECT_EQ(EncodingForLabel("csiso2022jp"), Encoding::kIso2022Jp);
  EXPECT_EQ(EncodingForLabel("x-euc-jp"), Encoding::kEucJp);
  EXPECT_EQ(EncodingForLabel("logical"), Encoding::kIso8859_8I);
  EXPECT_EQ(EncodingForLabel("visual"), Encoding::kIso8859_8);
  EXPECT_EQ(EncodingForLabel("x-user-defined"), Encoding::kXUserDefined);
  EXPECT_EQ(EncodingForLabel("koi"), Encoding::kKoi8R);
  EXPECT_EQ(EncodingForLabel("koi8-ru"), Encoding::kKoi8U);
  // Labels that look like other charsets.
  EXPECT_EQ(EncodingForLabel("iso-8859-11"), Encoding::kWindows874);
  EXPECT_EQ(EncodingForLabel("x-mac-roman"), Encoding::kMacintosh);
  EXPECT_EQ(EncodingForLabel("unicode"), Encoding::kUtf16Le);
  // Encodings that must not be decoded as anything readable.
  for (const char* label : {"replacement", "iso-2022-kr", "csiso2022kr", "hz-gb-2312",
                            "iso-2022-cn", "iso-2022-cn-ext"}) {
    EXPECT_EQ(EncodingForLabel(label), Encoding::kReplacement) << label;
  }
}

TEST(WhatwgEncodingLabels, WhitespaceAndCase) {
  EXPECT_EQ(EncodingForLabel("  EUC-KR\t"), Encoding::kEucKr);
  EXPECT_EQ(EncodingForLabel("\t\n\f\r utf-8 \r\f\n\t"), Encoding::kUtf8);
  EXPECT_EQ(EncodingForLabel("Shift_JIS"), Encoding::kShiftJis);
  EXPECT_EQ(EncodingForLabel("SHIFT_jis"), Encoding::kShiftJis);
  EXPECT_EQ(EncodingForLabel("Windows-1252"), Encoding::kWindows1252);
  // Only TAB, LF, FF, CR and SP are ASCII whitespace; nothing is stripped inside.
  EXPECT_EQ(EncodingForLabel("\vutf-8"), std::nullopt);
  EXPECT_EQ(EncodingForLabel("utf-8\v"), std::nullopt);
  EXPECT_EQ(EncodingForLabel("\xC2\xA0utf-8"), std::nullopt);  // NO-BREAK SPACE
  EXPECT_EQ(EncodingForLabel("utf -8"), std::nullopt);
  EXPECT_EQ(EncodingForLabel(B("utf-8\0")), std::nullopt);
  // ASCII case-insensitive only: KELVIN SIGN is not "k".
  EXPECT_EQ(EncodingForLabel("\xE2\x84\xAAoi8-r"), std::nullopt);
}

TEST(WhatwgEncodingLabels, UnknownLabels) {
  for (const char* label :
       {"", " ", "utf-7", "utf-32", "iso-8859-12", "cp949", "euc-cn", "x-mac-greek", "tis-620x",
        "utf-16bex", "unicode-2-0", "this-label-is-much-too-long-to-be-a-label"}) {
    EXPECT_EQ(EncodingForLabel(label), std::nullopt) << label;
  }
}

TEST(WhatwgEncodingLabels, EveryLabelOfTheTable) {
  for (const auto& entry : mime::whatwg_data::kLabels) {
    EXPECT_EQ(EncodingForLabel(entry.label), entry.encoding) << entry.label;
    std::string upper(entry.label);
    for (char& c : upper) {
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    }
    EXPECT_EQ(EncodingForLabel(" " + upper + "\n"), entry.encoding) << upper;
  }
}

TEST(WhatwgEncodingLabels, NamesAreTheStandards) {
  EXPECT_EQ(EncodingName(Encoding::kUtf8), "UTF-8");
  EXPECT_EQ(EncodingName(Encoding::kWindows1252), "windows-1252");
  EXPECT_EQ(EncodingName(Encoding::kEucKr), "EUC-KR");
  EXPECT_EQ(EncodingName(Encoding::kGb18030), "gb18030");
  EXPECT_EQ(EncodingName(Encoding::kGbk), "GBK");
  EXPECT_EQ(EncodingName(Encoding::kShiftJis), "Shift_JIS");
  EXPECT_EQ(EncodingName(Encoding::kIso8859_8I), "ISO-8859-8-I");
  EXPECT_EQ(EncodingName(Encoding::kReplacement), "replacement");
  EXPECT_EQ(EncodingName(Encoding::kUtf16Le), "UTF-16LE");
  EXPECT_EQ(EncodingName(Encoding::kXUserDefined), "x-user-defined");
  // Every name, lower-cased, is one of its encoding's labels (a note in the standard).
  for (Encoding e : AllEncodings()) {
    EXPECT_EQ(EncodingForLabel(EncodingName(e)), e) << EncodingName(e);
  }
}

// ---------------------------------------------------------------------------------------------
// Known answers. Pointers and code points are from the index files of whatwg/encoding.

TEST(WhatwgEncodingDecode, EucKr) {
  EXPECT_TRUE(Decodes(Encoding::kEucKr, "\xC7\xD1\xB1\xDB", U({0xD55C, 0xAE00}), 0));  // 한글
  EXPECT_TRUE(Decodes(Encoding::kEucKr, "\x81\x41", U({0xAC02}), 0));  // pointer 0, UHC
  EXPECT_TRUE(Decodes(Encoding::kEucKr, "a\xC7\xD1z", U({'a', 0xD55C, 'z'}), 0));
  // A trail byte outside 0x41..0xFE gives no pointer; an ASCII one is put back.
  EXPECT_TRUE(Decodes(Encoding::kEucKr, "\xC7\x20", U({kFffd, ' '}), 1));
  EXPECT_TRUE(Decodes(Encoding::kEucKr, "\xC7\x40", U({kFffd, '@'}), 1));
  EXPECT_TRUE(Decodes(Encoding::kEucKr, "\xC7\xFF", U({kFffd}), 1));
  EXPECT_TRUE(Decodes(Encoding::kEucKr, "\xC7", U({kFffd}), 1));  // truncated
  EXPECT_TRUE(Decodes(Encoding::kEucKr, "\x80\xFF", U({kFffd, kFffd}), 2));
  // A pointer without a code point (pointer 23750 is past the index).
  EXPECT_TRUE(Decodes(Encoding::kEucKr, "\xFE\xFE", U({kFffd}), 1));
}

TEST(WhatwgEncodingDecode, Gbk) {
  EXPECT_TRUE(Decodes(Encoding::kGbk, "\xD6\xD0\xCE\xC4", U({0x4E2D, 0x6587}), 0));  // 中文
  EXPECT_TRUE(Decodes(Encoding::kGbk, "\x81\x40\x81\x41", U({0x4E02, 0x4E04}), 0));
  EXPECT_TRUE(Decodes(Encoding::kGbk, "\x80", U({0x20AC}), 0));  // €
  EXPECT_TRUE(Decodes(Encoding::kGbk, "\xA1\xA1", U({0x3000}), 0));
  // The standard's exception: 0xA3 0xA0 is U+3000 too.
  EXPECT_TRUE(Decodes(Encoding::kGbk, "\xA3\xA0", U({0x3000}), 0));
  // GBK's decoder is gb18030's: four-byte sequences decode.
  EXPECT_TRUE(Decodes(Encoding::kGbk, "\x95\x32\x82\x36", U({0x20000}), 0));
}

TEST(WhatwgEncodingDecode, Gb18030FourBytesAndRanges) {
  EXPECT_TRUE(Decodes(Encoding::kGb18030, "\x81\x30\x81\x30", U({0x0080}), 0));  // pointer 0
  EXPECT_TRUE(Decodes(Encoding::kGb18030, "\x81\x30\x81\x31", U({0x0081}), 0));
  // Pointer 36 starts the range at U+00A5.
  EXPECT_TRUE(Decodes(Encoding::kGb18030, "\x81\x30\x84\x36", U({0x00A5}), 0));
  EXPECT_TRUE(Decodes(Encoding::kGb18030, "\x81\x35\xF4\x37", U({0xE7C7}), 0));   // pointer 7457
  EXPECT_TRUE(Decodes(Encoding::kGb18030, "\x84\x31\xA4\x39", U({0xFFFF}), 0));   // 39419
  EXPECT_TRUE(Decodes(Encoding::kGb18030, "\x90\x30\x81\x30", U({0x10000}), 0));  // 189000
  EXPECT_TRUE(Decodes(Encoding::kGb18030, "\x95\x32\x82\x36", U({0x20000}), 0));
  EXPECT_TRUE(Decodes(Encoding::kGb18030, "\xE3\x32\x9A\x35", U({0x10FFFF}), 0));  // 1237575
  // Pointers outside the ranges: one error for all four bytes.
  EXPECT_TRUE(Decodes(Encoding::kGb18030, "\x84\x31\xA5\x30", U({kFffd}), 1));  // 39420
  EXPECT_TRUE(Decodes(Encoding::kGb18030, "\x8F\x39\xFE\x39", U({kFffd}), 1));  // 188999
  EXPECT_TRUE(Decodes(Encoding::kGb18030, "\xE3\x32\x9A\x36", U({kFffd}), 1));  // 1237576
  EXPECT_TRUE(Decodes(Encoding::kGb18030, "\xFE\x39\xFE\x39", U({kFffd}), 1));
}

TEST(WhatwgEncodingDecode, Gb18030PutsBytesBack) {
  // Third byte seen, fourth not a digit: « second, third, byte » go back to the stream.
  EXPECT_TRUE(Decodes(Encoding::kGb18030, "\x81\x30\x81\x41", U({kFffd, '0', 0x4E04}), 1));
  // Second byte seen, third not a lead: « second, byte » go back.
  EXPECT_TRUE(Decodes(Encoding::kGb18030, "\x81\x30\x20", U({kFffd, '0', ' '}), 1));
  EXPECT_TRUE(
      Decodes(Encoding::kGb18030, "\x81\x30\x30\x81\x30\x81\x30", U({kFffd, '0', '0', 0x0080}), 1));
  // Two-byte: an ASCII trail byte that gives no code point is put back, others are not.
  EXPECT_TRUE(Decodes(Encoding::kGb18030, "\x81\x7F", U({kFffd, 0x7F}), 1));
  EXPECT_TRUE(Decodes(Encoding::kGb18030, "\x81\x20", U({kFffd, ' '}), 1));
  EXPECT_TRUE(Decodes(Encoding::kGb18030, "\x81\xFF", U({kFffd}), 1));
  // Truncated at every length: one error.
  EXPECT_TRUE(Decodes(Encoding::kGb18030, "\x81", U({kFffd}), 1));
  EXPECT_TRUE(Decodes(Encoding::kGb18030, "\x81\x30", U({kFffd}), 1));
  EXPECT_TRUE(Decodes(Encoding::kGb18030, "\x81\x30\x81", U({kFffd}), 1));
  EXPECT_TRUE(Decodes(Encoding::kGb18030, "\xFF", U({kFffd}), 1));
}

TEST(WhatwgEncodingDecode, Big5) {
  EXPECT_TRUE(Decodes(Encoding::kBig5, "\xA4\x40", U({0x4E00}), 0));                  // 一
  EXPECT_TRUE(Decodes(Encoding::kBig5, "\xA4\xA4\xA4\xE5", U({0x4E2D, 0x6587}), 0));  // 中文
  // Pointer 947 is U+27267, outside the BMP.
  EXPECT_TRUE(Decodes(Encoding::kBig5, "\x87\x45", U({0x27267}), 0));
  // Pointers 1133, 1135, 1164 and 1166 give two code points each.
  EXPECT_TRUE(Decodes(Encoding::kBig5, "\x88\x62", U({0x00CA, 0x0304}), 0));
  EXPECT_TRUE(Decodes(Encoding::kBig5, "\x88\x64", U({0x00CA, 0x030C}), 0));
  EXPECT_TRUE(Decodes(Encoding::kBig5, "\x88\xA3", U({0x00EA, 0x0304}), 0));
  EXPECT_TRUE(Decodes(Encoding::kBig5, "\x88\xA5", U({0x00EA, 0x030C}), 0));
  EXPECT_TRUE(Decodes(Encoding::kBig5, "\x88\x66", U({0x00CA}), 0));  // pointer 1137
  // Pointers below 942 (lead bytes 0x81..0x86) have no code point.
  EXPECT_TRUE(Decodes(Encoding::kBig5, "\x81\x40", U({kFffd, '@'}), 1));
  EXPECT_TRUE(Decodes(Encoding::kBig5, "\xA4\x7F", U({kFffd, 0x7F}), 1));
  EXPECT_TRUE(Decodes(Encoding::kBig5, "\xA4\x80", U({kFffd}), 1));
  EXPECT_TRUE(Decodes(Encoding::kBig5, "\xA4", U({kFffd}), 1));
  EXPECT_TRUE(Decodes(Encoding::kBig5, "\x80\xFF", U({kFffd, kFffd}), 2));
}

TEST(WhatwgEncodingDecode, EucJp) {
  EXPECT_TRUE(Decodes(Encoding::kEucJp, "\xA4\xA2", U({0x3042}), 0));                  // あ
  EXPECT_TRUE(Decodes(Encoding::kEucJp, "\xC6\xFC\xCB\xDC", U({0x65E5, 0x672C}), 0));  // 日本
  EXPECT_TRUE(Decodes(Encoding::kEucJp, "\x8E\xB1", U({0xFF71}), 0));                  // ｱ
  // JIS X 0212 through 0x8F: pointers 1410 (U+4E02) and 108 (U+02D8).
  EXPECT_TRUE(Decodes(Encoding::kEucJp, "\x8F\xB0\xA1", U({0x4E02}), 0));
  EXPECT_TRUE(Decodes(Encoding::kEucJp, "\x8F\xA2\xAF", U({0x02D8}), 0));
  // JIS X 0212 pointer 0 has no code point; jis0208's has (U+3000).
  EXPECT_TRUE(Decodes(Encoding::kEucJp, "\x8F\xA1\xA1", U({kFffd}), 1));
  EXPECT_TRUE(Decodes(Encoding::kEucJp, "\xA1\xA1", U({0x3000}), 0));
  // The JIS X 0212 flag does not outlive its character.
  EXPECT_TRUE(Decodes(Encoding::kEucJp, "\x8F\xA1\xA1\xA1\xA1", U({kFffd, 0x3000}), 1));
  EXPECT_TRUE(Decodes(Encoding::kEucJp, "\x8E\xE0", U({kFffd}), 1));
  EXPECT_TRUE(Decodes(Encoding::kEucJp, "\x8E\x41", U({kFffd, 'A'}), 1));
  EXPECT_TRUE(Decodes(Encoding::kEucJp, "\x8F\x8F", U({kFffd}), 1));
  EXPECT_TRUE(Decodes(Encoding::kEucJp, "\xA4\x41", U({kFffd, 'A'}), 1));
  EXPECT_TRUE(Decodes(Encoding::kEucJp, "\x8F\xB0", U({kFffd}), 1));
  EXPECT_TRUE(Decodes(Encoding::kEucJp, "\x80\xA0\xFF", U({kFffd, kFffd, kFffd}), 3));
}

TEST(WhatwgEncodingDecode, Iso2022Jp) {
  // ESC $ B switches to JIS X 0208, ESC ( B back to ASCII.
  EXPECT_TRUE(Decodes(Encoding::kIso2022Jp, "\x1B$B\x24\x22\x1B(B", U({0x3042}), 0));
  EXPECT_TRUE(Decodes(Encoding::kIso2022Jp, "a\x1B$@\x24\x22\x46\x7C\x1B(Bz",
                      U({'a', 0x3042, 0x65E5, 'z'}), 0));
  // ESC ( J: JIS X 0201 Roman, where 0x5C is ¥ and 0x7E is ‾.
  EXPECT_TRUE(Decodes(Encoding::kIso2022Jp,
                      "\x1B(J\x5C\x7E"
                      "a",
                      U({0x00A5, 0x203E, 'a'}), 0));
  // ESC ( I: halfwidth katakana.
  EXPECT_TRUE(Decodes(Encoding::kIso2022Jp, "\x1B(I\x31\x5F", U({0xFF71, 0xFF9F}), 0));
  EXPECT_TRUE(
      Decodes(Encoding::kIso2022Jp, "plain \\~", U({'p', 'l', 'a', 'i', 'n', ' ', '\\', '~'}), 0));
}

TEST(WhatwgEncodingDecode, Iso2022JpErrors) {
  // Two escape sequences in a row: the second one is an error ("ISO-2022-JP output").
  EXPECT_TRUE(Decodes(Encoding::kIso2022Jp, "\x1B(B\x1B(Ba", U({kFffd, 'a'}), 1));
  EXPECT_TRUE(Decodes(Encoding::kIso2022Jp, "a\x1B$B\x1B(B", U({'a', kFffd}), 1));
  EXPECT_TRUE(Decodes(Encoding::kIso2022Jp, "\x1B(B", "", 0));
  // SO, SI and bytes above 0x7F are errors in every state.
  EXPECT_TRUE(Decodes(Encoding::kIso2022Jp, "\x0E\x0F\x80", U({kFffd, kFffd, kFffd}), 3));
  EXPECT_TRUE(Decodes(Encoding::kIso2022Jp, "\x1B(I\x20", U({kFffd}), 1));
  // JIS X 0208 mode takes 0x21..0x7E only; a newline there is an error.
  EXPECT_TRUE(Decodes(Encoding::kIso2022Jp, "\x1B$B\x24\x22\n", U({0x3042, kFffd}), 1));
  // Trailing byte: ESC is an error and still starts an escape sequence; another byte is an
  // error and consumed; end-of-queue is an error.
  EXPECT_TRUE(Decodes(Encoding::kIso2022Jp, "\x1B$B\x24\x1B(Ba", U({kFffd, 'a'}), 1));
  EXPECT_TRUE(Decodes(Encoding::kIso2022Jp, "\x1B$B\x24\n\x24\x22", U({kFffd, 0x3042}), 1));
  EXPECT_TRUE(Decodes(Encoding::kIso2022Jp, "\x1B$B\x24", U({kFffd}), 1));
  // A broken escape sequence: error, and the bytes after ESC are read again in the old state.
  EXPECT_TRUE(Decodes(Encoding::kIso2022Jp, "\x1B", U({kFffd}), 1));
  EXPECT_TRUE(Decodes(Encoding::kIso2022Jp, "\x1B(", U({kFffd, '('}), 1));
  EXPECT_TRUE(Decodes(Encoding::kIso2022Jp, "\x1BX", U({kFffd, 'X'}), 1));
  EXPECT_TRUE(Decodes(Encoding::kIso2022Jp, "\x1B(X", U({kFffd, '(', 'X'}), 1));
  EXPECT_TRUE(Decodes(Encoding::kIso2022Jp, "\x1B$(", U({kFffd, '$', '('}), 1));
  EXPECT_TRUE(Decodes(Encoding::kIso2022Jp, "\x1B(J\x1B(X\x5C", U({kFffd, '(', 'X', 0xA5}), 1));
  EXPECT_TRUE(Decodes(Encoding::kIso2022Jp, "\x1B\x1B(B", U({kFffd}), 1));
}

// Bytes put back after a broken escape sequence are read again in the current mode, errors
// included; so is the leading byte of an escape sequence cut off by the end of the input.
// (Chromium 156 gets these wrong; see ChromiumBug below.)
TEST(WhatwgEncodingDecode, Iso2022JpPutBackInEveryMode) {
  EXPECT_TRUE(Decodes(Encoding::kIso2022Jp, "\x1B(\x0E", U({kFffd, '(', kFffd}), 2));
  EXPECT_TRUE(Decodes(Encoding::kIso2022Jp,
                      "\x1B$\x80"
                      "a",
                      U({kFffd, '$', kFffd, 'a'}), 2));
  EXPECT_TRUE(
      Decodes(Encoding::kIso2022Jp, "\x1B(I\x1B( ", U({kFffd, 0xFF68, kFffd}), 2));  // katakana
  EXPECT_TRUE(Decodes(Encoding::kIso2022Jp, "\x1B(I\x1B$", U({kFffd, 0xFF64}), 1));
  EXPECT_TRUE(Decodes(Encoding::kIso2022Jp, "\x1B(J\x1B$", U({kFffd, '$'}), 1));
  EXPECT_TRUE(Decodes(Encoding::kIso2022Jp, "\x1B$@\x1B$", U({kFffd, kFffd}), 2));
  EXPECT_TRUE(Decodes(Encoding::kIso2022Jp, "\x1B$B\x1B(\x1B(B", U({kFffd, kFffd}), 2));
}

TEST(WhatwgEncodingDecode, ShiftJis) {
  EXPECT_TRUE(Decodes(Encoding::kShiftJis, "\x82\xA0", U({0x3042}), 0));                  // あ
  EXPECT_TRUE(Decodes(Encoding::kShiftJis, "\x93\xFA\x96\x7B", U({0x65E5, 0x672C}), 0));  // 日本
  EXPECT_TRUE(Decodes(Encoding::kShiftJis, "\xB1\xDF", U({0xFF71, 0xFF9F}), 0));
  EXPECT_TRUE(Decodes(Encoding::kShiftJis, "\x5C\x7E\x80", U({0x5C, 0x7E, 0x80}), 0));
  // NEC selected IBM extensions (pointer 8272) and EUDC (pointers 8836..10715, PUA).
  EXPECT_TRUE(Decodes(Encoding::kShiftJis, "\xED\x40", U({0x7E8A}), 0));
  EXPECT_TRUE(Decodes(Encoding::kShiftJis, "\xF0\x40", U({0xE000}), 0));
  EXPECT_TRUE(Decodes(Encoding::kShiftJis, "\xF9\xFC", U({0xE757}), 0));
  EXPECT_TRUE(Decodes(Encoding::kShiftJis, "\x82\x20", U({kFffd, ' '}), 1));
  EXPECT_TRUE(Decodes(Encoding::kShiftJis, "\x81\x7F", U({kFffd, 0x7F}), 1));
  EXPECT_TRUE(Decodes(Encoding::kShiftJis, "\x81\xFD", U({kFffd}), 1));
  EXPECT_TRUE(Decodes(Encoding::kShiftJis, "\xA0\xFD\xFE\xFF", U({kFffd, kFffd, kFffd, kFffd}), 4));
  EXPECT_TRUE(Decodes(Encoding::kShiftJis, "\x82", U({kFffd}), 1));
}

TEST(WhatwgEncodingDecode, Utf8Malformed) {
  EXPECT_TRUE(
      Decodes(Encoding::kUtf8, "h\xC3\xA9 \xF0\x9F\x98\x80", U({'h', 0xE9, ' ', 0x1F600}), 0));
  EXPECT_TRUE(Decodes(Encoding::kUtf8, "\xEF\xBF\xBD", U({kFffd}), 0));  // a real U+FFFD
  // "Best Practices for Using U+FFFD": a maximal subpart is one error.
  EXPECT_TRUE(Decodes(Encoding::kUtf8, "\xF0\x9F\x98", U({kFffd}), 1));
  EXPECT_TRUE(Decodes(Encoding::kUtf8,
                      "\xF0\x9F\x98"
                      "a",
                      U({kFffd, 'a'}), 1));
  EXPECT_TRUE(Decodes(Encoding::kUtf8, "\xC0\xAF", U({kFffd, kFffd}), 2));
  EXPECT_TRUE(Decodes(Encoding::kUtf8, "\xE0\x80\xAF", U({kFffd, kFffd, kFffd}), 3));
  EXPECT_TRUE(Decodes(Encoding::kUtf8, "\xED\xA0\x80", U({kFffd, kFffd, kFffd}), 3));
  EXPECT_TRUE(Decodes(Encoding::kUtf8, "\xF4\x90\x80\x80", U({kFffd, kFffd, kFffd, kFffd}), 4));
  EXPECT_TRUE(Decodes(Encoding::kUtf8, "\xF5\xFF\x80", U({kFffd, kFffd, kFffd}), 3));
  EXPECT_TRUE(Decodes(Encoding::kUtf8, "\xE2\x82", U({kFffd}), 1));
  EXPECT_TRUE(Decodes(Encoding::kUtf8, "\xE2\x82\xE2\x82\xAC", U({kFffd, 0x20AC}), 1));
  EXPECT_TRUE(Decodes(Encoding::kUtf8, B("\0"), B("\0"), 0));
}

TEST(WhatwgEncodingDecode, Utf16) {
  EXPECT_TRUE(Decodes(Encoding::kUtf16Le, B("A\0\x3D\xD8\x00\xDE"), U({'A', 0x1F600}), 0));
  EXPECT_TRUE(Decodes(Encoding::kUtf16Be, B("\0A\xD8\x3D\xDE\x00"), U({'A', 0x1F600}), 0));
  // A leading surrogate without a trailing one: error, and the next code unit is read again.
  EXPECT_TRUE(Decodes(Encoding::kUtf16Le,
                      B("\x00\xD8"
                        "A\0"),
                      U({kFffd, 'A'}), 1));
  EXPECT_TRUE(Decodes(Encoding::kUtf16Le, B("\x00\xD8\x00\xD8\x00\xDC"), U({kFffd, 0x10000}), 1));
  EXPECT_TRUE(Decodes(Encoding::kUtf16Be, B("\xDC\x00\0A"), U({kFffd, 'A'}), 1));
  EXPECT_TRUE(Decodes(Encoding::kUtf16Be, B("\xD8\x00"), U({kFffd}), 1));
  // An odd byte at the end, alone or after a leading surrogate: one error.
  EXPECT_TRUE(Decodes(Encoding::kUtf16Le, B("A\0B"), U({'A', kFffd}), 1));
  EXPECT_TRUE(Decodes(Encoding::kUtf16Le, B("\x00\xD8\x00"), U({kFffd}), 1));
}

TEST(WhatwgEncodingDecode, SingleByteAndXUserDefined) {
  // windows-1252 (also "latin1" and "us-ascii"): 0x80 is €, 0x81 is U+0081.
  EXPECT_TRUE(
      Decodes(Encoding::kWindows1252, "\x80\x81\x9F\xFF", U({0x20AC, 0x81, 0x178, 0xFF}), 0));
  // Bytes without a code point in the index are errors.
  EXPECT_TRUE(Decodes(Encoding::kIso8859_3, "\xA5", U({kFffd}), 1));
  EXPECT_TRUE(Decodes(Encoding::kIso8859_6, "\xA1\xC7", U({kFffd, 0x0627}), 1));
  // ISO-8859-8-I decodes as ISO-8859-8.
  EXPECT_EQ(DecodeToUtf8(Encoding::kIso8859_8I, "\xE0\xFA").utf8, U({0x05D0, 0x05EA}));
  EXPECT_EQ(DecodeToUtf8(Encoding::kIso8859_8, "\xE0\xFA").utf8, U({0x05D0, 0x05EA}));
  EXPECT_TRUE(Decodes(Encoding::kKoi8R, "\xC1\xE1", U({0x0430, 0x0410}), 0));
  EXPECT_TRUE(Decodes(Encoding::kXUserDefined, "a\x80\xFF", U({'a', 0xF780, 0xF7FF}), 0));
  // Every single-byte encoding maps ASCII to itself.
  std::string ascii;
  for (int b = 0; b < 0x80; ++b) ascii += static_cast<char>(b);
  for (Encoding e : AllEncodings()) {
    if (mime::whatwg_data::SingleByteIndex(e) == nullptr) continue;
    EXPECT_TRUE(Decodes(e, ascii, ascii, 0));
  }
}

TEST(WhatwgEncodingDecode, Replacement) {
  EXPECT_TRUE(Decodes(Encoding::kReplacement, "", "", 0));
  EXPECT_TRUE(Decodes(Encoding::kReplacement, "x", U({kFffd}), 1));
  EXPECT_TRUE(Decodes(Encoding::kReplacement, "\x1B$)C\x0E\x21\x21 lots of text", U({kFffd}), 1));
}

TEST(WhatwgEncodingDecode, ByteOrderMarks) {
  // Only the encoding's own BOM goes, and only at the very start.
  EXPECT_TRUE(Decodes(Encoding::kUtf8,
                      "\xEF\xBB\xBF"
                      "A",
                      "A", 0));
  EXPECT_TRUE(Decodes(Encoding::kUtf8, "\xEF\xBB\xBF", "", 0));
  EXPECT_TRUE(Decodes(Encoding::kUtf8, "\xEF\xBB\xBF\xEF\xBB\xBF", U({0xFEFF}), 0));
  EXPECT_TRUE(Decodes(Encoding::kUtf8, "A\xEF\xBB\xBF", U({'A', 0xFEFF}), 0));
  EXPECT_TRUE(Decodes(Encoding::kUtf8, "\xFF\xEF\xBB\xBF", U({kFffd, 0xFEFF}), 1));
  EXPECT_TRUE(Decodes(Encoding::kUtf8,
                      "\xFF\xFE"
                      "A",
                      U({kFffd, kFffd, 'A'}), 2));
  EXPECT_TRUE(Decodes(Encoding::kUtf16Le,
                      B("\xFF\xFE"
                        "A\0"),
                      "A", 0));
  EXPECT_TRUE(Decodes(Encoding::kUtf16Le, B("\xFE\xFF\0A"), U({0xFFFE, 0x4100}), 0));
  EXPECT_TRUE(Decodes(Encoding::kUtf16Be, B("\xFE\xFF\0A"), "A", 0));
  EXPECT_TRUE(Decodes(Encoding::kUtf16Be,
                      B("\xFF\xFE"
                        "A\0"),
                      U({0xFFFE, 0x4100}), 0));
  EXPECT_TRUE(Decodes(Encoding::kUtf16Be, "\xEF\xBB\xBF", U({0xEFBB, kFffd}), 1));
  // No BOM sniffing: the UTF-8 BOM is three characters of windows-1252.
  EXPECT_TRUE(Decodes(Encoding::kWindows1252, "\xEF\xBB\xBF", U({0xEF, 0xBB, 0xBF}), 0));
  EXPECT_TRUE(Decodes(Encoding::kGb18030, "\xFF\xFE", U({kFffd, kFffd}), 2));
}

// Vectors of web-platform-tests encoding/textdecoder-mistakes.any.js, collected from mistakes
// that implementations made.
TEST(WhatwgEncodingDecode, WebPlatformTestsMistakes) {
  for (Encoding e : {Encoding::kGb18030, Encoding::kGbk}) {
    EXPECT_TRUE(Decodes(e, "\x84\x31\xA4\x36", U({0xFFFC}), 0));
    EXPECT_TRUE(Decodes(e, "\x84\x31\xA4\x37", U({0xFFFD}), 0));  // a real U+FFFD
    EXPECT_TRUE(Decodes(e, "\x90\x30\x81\x31", U({0x10001}), 0));
    EXPECT_TRUE(Decodes(e, "\xE3\x32\x9A\x37", U({kFffd}), 1));
    EXPECT_TRUE(Decodes(e, "\xFF\x39\xFE\x39", U({kFffd, '9', kFffd}), 2));
    EXPECT_TRUE(Decodes(e, "\xFE\x40\xFE\x39", U({0xFA0C, kFffd}), 1));
    EXPECT_TRUE(Decodes(e, "\xFE\x39\xFF\x39", U({kFffd, '9', kFffd, '9'}), 2));
    EXPECT_TRUE(Decodes(e, "\xFE\x39\xFE\x40", U({kFffd, '9', 0xFA0C}), 1));
    EXPECT_TRUE(Decodes(e, "\xA8\xBC", U({0x1E3F}), 0));
    EXPECT_TRUE(Decodes(e, "\x81\x35\xF4\x36", U({0x1E3E}), 0));
    EXPECT_TRUE(Decodes(e, "\x81\x35\xF4\x38", U({0x1E40}), 0));
    // GB18030-2022 (whatwg/encoding pull request 336).
    EXPECT_TRUE(Decodes(e, "\xA6\xD9\xA6\xED\xA6\xF3", U({0xFE10, 0xFE18, 0xFE19}), 0));
    EXPECT_TRUE(Decodes(e, "\xFE\x59\xFE\xA0", U({0x9FB4, 0x9FBB}), 0));
    EXPECT_TRUE(Decodes(e, "\xA0\x30\x2B", U({kFffd, '0', '+'}), 1));
    EXPECT_TRUE(Decodes(e, "\x81\x3A\x81", U({kFffd, ':', kFffd}), 2));
    EXPECT_TRUE(Decodes(e, "\x81\x82", U({0x4E97}), 0));
  }
  EXPECT_TRUE(Decodes(Encoding::kBig5, "\x83\x5C", U({kFffd, 0x5C}), 1));
  EXPECT_TRUE(Decodes(Encoding::kBig5, "\x87\x87\x40", U({kFffd, '@'}), 1));
  EXPECT_TRUE(Decodes(Encoding::kBig5, "\x81\x81", U({kFffd}), 1));
  EXPECT_TRUE(Decodes(Encoding::kBig5, "\xFE\x40", U({0x9442}), 0));
  EXPECT_TRUE(Decodes(Encoding::kEucJp, "\x8D\x8D", U({kFffd, kFffd}), 2));
  EXPECT_TRUE(Decodes(Encoding::kEucJp, "\x8E\x8E", U({kFffd}), 1));
  EXPECT_TRUE(Decodes(Encoding::kEucJp, "\xB0\xB0", U({0x65ED}), 0));
  EXPECT_TRUE(Decodes(Encoding::kEucJp, "\xA1\xDD", U({0xFF0D}), 0));
  EXPECT_TRUE(Decodes(Encoding::kEucKr, "\xAD\xAD", U({kFffd}), 1));
  EXPECT_TRUE(Decodes(Encoding::kEucKr,
                      "A\xC7"
                      "A",
                      U({'A', kFffd, 'A'}), 1));
  EXPECT_TRUE(Decodes(Encoding::kShiftJis, "\x85\x85", U({kFffd}), 1));
  EXPECT_TRUE(Decodes(Encoding::kShiftJis, "\x81\x87", U({0x221E}), 0));
  EXPECT_TRUE(Decodes(Encoding::kShiftJis, "\x81\x7C", U({0xFF0D}), 0));
  EXPECT_TRUE(Decodes(Encoding::kIso2022Jp, "\x1B$", U({kFffd, '$'}), 1));
  EXPECT_TRUE(Decodes(Encoding::kIso2022Jp, "*\x1B", U({'*', kFffd}), 1));
  EXPECT_TRUE(Decodes(Encoding::kIso2022Jp, "\x1B(I", "", 0));
  // Concatenating two ISO-2022-JP texts is not always valid.
  EXPECT_TRUE(
      Decodes(Encoding::kIso2022Jp, "\x1B(J\x5C\x1B(B\x1B(J\x5C\x1B(B", U({0xA5, kFffd, 0xA5}), 1));
  EXPECT_TRUE(
      Decodes(Encoding::kIso2022Jp, "\x1B$B00\x1B(B\x1B$B00\x1B(B", U({0x65ED, kFffd, 0x65ED}), 1));
  EXPECT_TRUE(Decodes(Encoding::kUtf8, "\xF0\xC3\x80**", U({kFffd, 0xC0, '*', '*'}), 1));
  EXPECT_TRUE(Decodes(Encoding::kUtf8, "\xED\xBF", U({kFffd, kFffd}), 2));
  EXPECT_TRUE(Decodes(Encoding::kUtf16Le, B("\0\0\0"), U({0, kFffd}), 1));
  EXPECT_TRUE(Decodes(Encoding::kUtf16Le, B("\0\xD8\xD8"), U({kFffd}), 1));
  EXPECT_TRUE(Decodes(Encoding::kUtf16Be, B("\xD8\0\xD8"), U({kFffd}), 1));
  EXPECT_TRUE(Decodes(Encoding::kXUserDefined, "\x80", U({0xF780}), 0));
  EXPECT_TRUE(Decodes(Encoding::kMacintosh, "\xBD\xDB\xF0", U({937, 8364, 63743}), 0));
  EXPECT_TRUE(Decodes(Encoding::kXMacCyrillic, "\x80\xFF", U({1040, 8364}), 0));
  EXPECT_TRUE(Decodes(Encoding::kKoi8U, "\xAE\xBE", U({1118, 1038}), 0));
  EXPECT_TRUE(Decodes(Encoding::kWindows1255, "\xCA", U({1466}), 0));
  EXPECT_TRUE(Decodes(Encoding::kIso8859_8I, "\xA1\xDF\xFE", U({kFffd, 8215, 8207}), 1));
  EXPECT_TRUE(Decodes(Encoding::kWindows874, "\xDB\xFF\x81", U({kFffd, kFffd, 0x81}), 2));
}

// ---------------------------------------------------------------------------------------------
// Hostile input: large, random, and shaped to make the decoders put bytes back.

TEST(WhatwgEncodingHostile, LargeRandomInputFinishes) {
  std::mt19937 rng(20240918);
  std::string random(1 << 20, '\0');
  for (char& c : random) c = static_cast<char>(rng() & 0xFF);
  for (Encoding e : AllEncodings()) {
    const Decoded d = DecodeToUtf8(e, random);
    EXPECT_TRUE(IsValidUtf8(d.utf8)) << EncodingName(e);
    EXPECT_LE(d.errors, random.size()) << EncodingName(e);
    if (e != Encoding::kReplacement) {
      EXPECT_GE(d.utf8.size(), random.size() / 2) << EncodingName(e);
    }
  }
}

TEST(WhatwgEncodingHostile, PutBackPatternsFinish) {
  // Each pattern makes a decoder restore bytes over and over.
  const std::pair<Encoding, std::string> patterns[] = {
      {Encoding::kGb18030, "\x81\x30\x81"},  // three bytes back each time
      {Encoding::kGb18030, "\x81\x30\x20"}, {Encoding::kIso2022Jp, "\x1B$"},
      {Encoding::kIso2022Jp, "\x1B(B"},     {Encoding::kIso2022Jp, "\x1B"},
      {Encoding::kUtf16Le, B("\x00\xD8")},  {Encoding::kUtf8, "\xF0\x9F\x98"},
      {Encoding::kEucJp, "\x8F\xA1"},       {Encoding::kBig5, "\x81"},
      {Encoding::kShiftJis, "\x81\x20"},
  };
  for (const auto& [e, unit] : patterns) {
    std::string input;
    while (input.size() < (1 << 20)) input += unit;
    const Decoded d = DecodeToUtf8(e, input);
    EXPECT_TRUE(IsValidUtf8(d.utf8)) << EncodingName(e) << " " << Hex(unit);
    EXPECT_GT(d.errors, 0u) << EncodingName(e) << " " << Hex(unit);
    EXPECT_LE(d.utf8.size(), 3 * input.size()) << EncodingName(e) << " " << Hex(unit);
  }
}

// ---------------------------------------------------------------------------------------------
// Cross-check against Chromium's TextDecoder.

class CaseWriter {
 public:
  void Label(std::string_view label) {
    text_ << "L\t" << Hex(label) << '\n';
    labels_.emplace_back(label);
    order_.push_back({true, labels_.size() - 1});
  }
  void Begin(Encoding e) {
    text_ << "E\t" << EncodingName(e) << '\n';
    current_ = e;
  }
  void Decode(std::string_view bytes) {
    text_ << "D\t" << Hex(bytes) << '\n';
    cases_.push_back({current_, std::string(bytes)});
    order_.push_back({false, cases_.size() - 1});
  }

  std::string Text() const { return text_.str(); }
  size_t size() const { return order_.size(); }

  struct Answer {
    std::string want;                                          // our answer for the result line
    std::string what;                                          // the case, for messages
    const std::pair<Encoding, std::string>* decode = nullptr;  // null for a label check
  };
  Answer Expected(size_t i) const {
    const auto [is_label, k] = order_[i];
    if (is_label) {
      const std::optional<Encoding> e = EncodingForLabel(labels_[k]);
      std::string want = "RangeError";
      if (e && *e != Encoding::kReplacement) {
        want = std::string(EncodingName(*e));
        for (char& c : want) {
          if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        }
      }
      return {want, "label " + Hex(labels_[k])};
    }
    const auto& c = cases_[k];
    return {Hex(DecodeToUtf8(c.first, c.second).utf8),
            std::string(EncodingName(c.first)) + " " + Hex(c.second), &c};
  }

 private:
  std::ostringstream text_;
  Encoding current_ = Encoding::kUtf8;
  std::vector<std::string> labels_;
  std::vector<std::pair<Encoding, std::string>> cases_;
  std::vector<std::pair<bool, size_t>> order_;  // (is a label check, index)
};

std::string Bytes(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s += static_cast<char>(b);
  return s;
}

// Every lead byte from `lead_low` to `lead_high` followed by every byte, after `prefix`.
void AllPairs(CaseWriter& w, std::string_view prefix, int lead_low, int lead_high) {
  for (int lead = lead_low; lead <= lead_high; ++lead) {
    for (int trail = 0; trail <= 0xFF; ++trail) {
      w.Decode(std::string(prefix) + Bytes({lead, trail}));
    }
  }
}

std::string Gb18030FourBytes(uint32_t pointer) {
  return Bytes(
      {static_cast<int>(0x81 + pointer / 12600), static_cast<int>(0x30 + pointer / 1260 % 10),
       static_cast<int>(0x81 + pointer / 10 % 126), static_cast<int>(0x30 + pointer % 10)});
}

// Bytes that matter to some decoder: escapes, leads, trails, digits, boundaries.
constexpr unsigned char kInteresting[] = {
    0x00, 0x0A, 0x0E, 0x0F, 0x1B, 0x21, 0x24, 0x28, 0x30, 0x35, 0x39, 0x40, 0x41,
    0x42, 0x49, 0x4A, 0x5C, 0x5F, 0x7E, 0x7F, 0x80, 0x81, 0x84, 0x87, 0x88, 0x8E,
    0x8F, 0x90, 0x9F, 0xA0, 0xA1, 0xA4, 0xBB, 0xBF, 0xC0, 0xC2, 0xD8, 0xDB, 0xDC,
    0xDF, 0xE0, 0xE3, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFC, 0xFD, 0xFE, 0xFF};

// A well-formed character (or escape sequence) of `e`, drawn at random.
std::string RandomToken(Encoding e, std::mt19937& rng) {
  auto pick = [&rng](int low, int high) {
    return low + static_cast<int>(rng() % static_cast<uint32_t>(high - low + 1));
  };
  switch (e) {
    case Encoding::kUtf8: {
      const uint32_t ranges[][2] = {{0, 0x7F},        {0x80, 0x7FF},       {0x800, 0xD7FF},
                                    {0xE000, 0xFFFF}, {0x10000, 0x10FFFF}, {0xFEFF, 0xFEFF}};
      const auto& r = ranges[rng() % 6];
      return U({r[0] + static_cast<uint32_t>(rng() % (r[1] - r[0] + 1))});
    }
    case Encoding::kUtf16Le:
    case Encoding::kUtf16Be: {
      const int unit = rng() % 3 == 0 ? pick(0xD800, 0xDFFF) : pick(0, 0xFFFF);
      return e == Encoding::kUtf16Le ? Bytes({unit & 0xFF, unit >> 8})
                                     : Bytes({unit >> 8, unit & 0xFF});
    }
    case Encoding::kGbk:
    case Encoding::kGb18030:
      if (rng() % 3 == 0) {
        return Gb18030FourBytes(rng() % 2 == 0 ? static_cast<uint32_t>(pick(0, 39419))
                                               : static_cast<uint32_t>(pick(189000, 1237575)));
      }
      return Bytes({pick(0x81, 0xFE), rng() % 2 == 0 ? pick(0x40, 0x7E) : pick(0x80, 0xFE)});
    case Encoding::kBig5:
      return Bytes({pick(0x81, 0xFE), rng() % 2 == 0 ? pick(0x40, 0x7E) : pick(0xA1, 0xFE)});
    case Encoding::kEucJp:
      switch (rng() % 3) {
        case 0:
          return Bytes({0x8E, pick(0xA1, 0xDF)});
        case 1:
          return Bytes({0x8F, pick(0xA1, 0xFE), pick(0xA1, 0xFE)});
        default:
          return Bytes({pick(0xA1, 0xFE), pick(0xA1, 0xFE)});
      }
    case Encoding::kIso2022Jp: {
      static const char* const kEscapes[] = {"\x1B(B", "\x1B(J", "\x1B(I", "\x1B$@", "\x1B$B"};
      if (rng() % 2 == 0) return kEscapes[rng() % 5];
      return Bytes({pick(0x21, 0x7E), pick(0x21, 0x7E)});
    }
    case Encoding::kShiftJis:
      if (rng() % 4 == 0) return Bytes({pick(0xA1, 0xDF)});
      return Bytes({rng() % 2 == 0 ? pick(0x81, 0x9F) : pick(0xE0, 0xFC),
                    rng() % 2 == 0 ? pick(0x40, 0x7E) : pick(0x80, 0xFC)});
    case Encoding::kEucKr:
      return Bytes({pick(0x81, 0xFE), pick(0x41, 0xFE)});
    default:
      return Bytes({pick(0, 0xFF)});
  }
}

std::string RandomCase(Encoding e, std::mt19937& rng) {
  std::string s;
  const uint32_t tokens = rng() % 16;
  for (uint32_t i = 0; i < tokens; ++i) {
    switch (rng() % 5) {
      case 0:
        s += static_cast<char>(rng() & 0xFF);
        break;
      case 1:
        s += static_cast<char>(kInteresting[rng() % sizeof kInteresting]);
        break;
      case 2:
        s += static_cast<char>(0x20 + rng() % 0x5F);  // printable ASCII
        break;
      default:
        s += RandomToken(e, rng);
        break;
    }
  }
  if (!s.empty() && rng() % 3 == 0) s.resize(rng() % s.size());  // truncated
  return s;
}

void AddCases(CaseWriter& w, Encoding e, std::mt19937& rng) {
  w.Begin(e);
  std::string all_bytes;
  for (int b = 0; b <= 0xFF; ++b) {
    w.Decode(Bytes({b}));
    all_bytes += static_cast<char>(b);
  }
  w.Decode(all_bytes);
  switch (e) {
    case Encoding::kUtf8:
      AllPairs(w, "", 0x80, 0xFF);
      for (int b1 = 0xE0; b1 <= 0xF4; ++b1) {
        for (int b2 = 0x70; b2 <= 0xCF; ++b2) {
          for (int b3 : {0x41, 0x80, 0x9F, 0xA0, 0xBF, 0xC0}) {
            w.Decode(Bytes({b1, b2, b3}));
            if (b1 >= 0xF0) w.Decode(Bytes({b1, b2, b3, 0x80}));
          }
        }
      }
      break;
    case Encoding::kUtf16Le:
    case Encoding::kUtf16Be:
      AllPairs(w, "", 0x00, 0xFF);  // every code unit
      for (int unit = 0xD800; unit <= 0xDBFF; ++unit) {
        for (int next : {0xDC00, 0xDFFF, 0xD800, 0x0041}) {
          w.Decode(e == Encoding::kUtf16Le
                       ? Bytes({unit & 0xFF, unit >> 8, next & 0xFF, next >> 8})
                       : Bytes({unit >> 8, unit & 0xFF, next >> 8, next & 0xFF}));
        }
      }
      break;
    case Encoding::kGbk:
    case Encoding::kGb18030:
      AllPairs(w, "", 0x80, 0xFF);
      if (e == Encoding::kGb18030) {
        for (uint32_t p = 0; p < 4 * 12600; ++p) w.Decode(Gb18030FourBytes(p));  // 0x81..0x84
        for (uint32_t p = 4 * 12600; p < 126 * 12600; p += 97) w.Decode(Gb18030FourBytes(p));
        for (uint32_t p : {188999u, 189000u, 1237575u, 1237576u, 126u * 12600 - 1}) {
          w.Decode(Gb18030FourBytes(p));
        }
      }
      for (int b2 = 0; b2 <= 0xFF; ++b2) {
        for (int b3 : {0x20, 0x30, 0x80, 0x81, 0xFE, 0xFF}) w.Decode(Bytes({0x81, b2, b3, 0x30}));
      }
      for (int b4 = 0; b4 <= 0xFF; ++b4) w.Decode(Bytes({0x81, 0x30, 0x81, b4}));
      break;
    case Encoding::kBig5:
    case Encoding::kShiftJis:
    case Encoding::kEucKr:
      AllPairs(w, "", 0x80, 0xFF);
      break;
    case Encoding::kEucJp:
      AllPairs(w, "", 0x80, 0xFF);
      AllPairs(w, "\x8F", 0xA1, 0xFE);  // every JIS X 0212 pointer
      break;
    case Encoding::kIso2022Jp:
      AllPairs(w, "\x1B$B", 0x21, 0x7E);  // every JIS X 0208 pointer
      for (const char* mode : {"\x1B(B", "\x1B(J", "\x1B(I", "\x1B$@", "\x1B$B"}) {
        for (int b = 0; b <= 0xFF; ++b) {
          w.Decode(std::string(mode) + Bytes({b}) + "\x24\x22\x5C\x7E");
        }
      }
      for (int b1 = 0; b1 <= 0xFF; ++b1) {
        for (int b2 = 0; b2 <= 0xFF; ++b2) {
          if (b1 == 0x24 || b1 == 0x28 || b2 == 0x42) {
            w.Decode(Bytes({0x1B, b1, b2}) + "\x31\x5C\x7E\x1B(B\x1B(J");
          }
        }
      }
      break;
    default:
      break;
  }
  for (int i = 0; i < 3000; ++i) w.Decode(RandomCase(e, rng));
}

// Chromium 156's known departures from the standard. A difference from Chromium passes only
// when one of these explains it; the explained differences are counted in the test log. The
// standard's behaviour on these inputs is pinned by the known-answer tests above.
enum class ChromiumBug {
  kNone,
  // Big5 pointers 1133, 1135, 1164 and 1166 (0x88 0x62, 0x88 0x64, 0x88 0xA3, 0x88 0xA5) are
  // two code points each in the standard's Big5 decoder; Chromium decodes Big5 with ICU and
  // gives U+0093 or U+00B3 followed by a lone surrogate (U+FFFD once serialised).
  kBig5TwoCodePoints,
  // ISO-2022-JP, third_party/blink/renderer/platform/wtf/text/text_codec_cjk.cc: after a broken
  // escape sequence puts « leading, byte » back, an error from reading `byte` again yields
  // U+FFFD only when stop_on_error (fatal) is set; and input that ends in the middle of an
  // escape sequence appends the leading byte as ASCII rather than reading it again in the
  // current mode. web-platform-tests encoding/textdecoder-mistakes.any.js lists the second:
  // 1B 24 40 1B 24 is U+FFFD U+FFFD, "Chrome, WebKit ... fail on this".
  kIso2022JpPutBack,
};

const char* ChromiumBugName(ChromiumBug bug) {
  switch (bug) {
    case ChromiumBug::kBig5TwoCodePoints:
      return "Big5 pointers with two code points";
    case ChromiumBug::kIso2022JpPutBack:
      return "ISO-2022-JP bytes put back after a broken escape sequence";
    default:
      return "none";
  }
}

// `hex` with every `from` that starts on a byte boundary replaced by `to`.
std::string ReplaceHex(const std::string& hex, std::string_view from, std::string_view to) {
  std::string out;
  for (size_t i = 0; i < hex.size();) {
    if (hex.compare(i, from.size(), from) == 0) {
      out += to;
      i += from.size();
    } else {
      out.append(hex, i, 2);
      i += 2;
    }
  }
  return out;
}

// Whether decoding `bytes` as ISO-2022-JP runs into Chromium's put-back bugs: a broken escape
// sequence (ESC $ or ESC ( not followed by a final byte) whose third byte is an error when it
// is read again, or input ending in ESC $ or ESC ( while the mode is not ASCII or Roman. Every
// ESC $ @, ESC $ B, ESC ( B, ESC ( J and ESC ( I in the input switches the decoder's mode, so
// scanning for them tracks the mode.
bool Iso2022JpRunsIntoChromiumBug(std::string_view bytes) {
  enum class Mode { kAsciiOrRoman, kKatakana, kJis0208 };
  Mode mode = Mode::kAsciiOrRoman;
  for (size_t i = 0; i + 1 < bytes.size(); ++i) {
    const char intro = bytes[i + 1];
    if (bytes[i] != 0x1B || (intro != '$' && intro != '(')) continue;
    if (i + 2 == bytes.size()) return mode != Mode::kAsciiOrRoman;
    const auto final_byte = static_cast<unsigned char>(bytes[i + 2]);
    if (intro == '(' && (final_byte == 'B' || final_byte == 'J')) {
      mode = Mode::kAsciiOrRoman;
    } else if (intro == '(' && final_byte == 'I') {
      mode = Mode::kKatakana;
    } else if (intro == '$' && (final_byte == '@' || final_byte == 'B')) {
      mode = Mode::kJis0208;
    } else {
      bool error = true;  // JIS X 0208: the intro byte leads, final_byte trails
      if (mode == Mode::kAsciiOrRoman) {
        error = final_byte == 0x0E || final_byte == 0x0F || final_byte >= 0x80;
      } else if (mode == Mode::kKatakana) {
        error = final_byte != 0x1B && (final_byte < 0x21 || final_byte > 0x5F);
      }
      if (error) return true;
    }
  }
  return false;
}

ChromiumBug ExplainDifference(Encoding e, std::string_view bytes, const std::string& chromium,
                              const std::string& ours) {
  if (e == Encoding::kBig5) {
    std::string model = ReplaceHex(ours, Hex(U({0x00CA, 0x0304})), Hex(U({0x0093, kFffd})));
    model = ReplaceHex(model, Hex(U({0x00CA, 0x030C})), Hex(U({0x0093, kFffd})));
    model = ReplaceHex(model, Hex(U({0x00EA, 0x0304})), Hex(U({0x00B3, kFffd})));
    model = ReplaceHex(model, Hex(U({0x00EA, 0x030C})), Hex(U({0x00B3, kFffd})));
    if (model == chromium) return ChromiumBug::kBig5TwoCodePoints;
  }
  if (e == Encoding::kIso2022Jp && Iso2022JpRunsIntoChromiumBug(bytes)) {
    return ChromiumBug::kIso2022JpPutBack;
  }
  return ChromiumBug::kNone;
}

TEST(WhatwgEncodingCrossCheck, AgreesWithChromium) {
  namespace fs = std::filesystem;
  const std::string script = testsupport::SourceDir() + "/tests/mime/whatwg_crosscheck.mjs";
  ASSERT_TRUE(fs::exists("/usr/bin/chromium"))
      << "/usr/bin/chromium is missing: the cross-check needs Debian's chromium "
         "(scripts/install-deps installs it)";
  ASSERT_TRUE(fs::exists(testsupport::SourceDir() + "/web/node_modules/playwright-core"))
      << "web/node_modules/playwright-core is missing (scripts/install-deps runs npm ci in web/)";

  CaseWriter w;
  for (const auto& entry : mime::whatwg_data::kLabels) {
    w.Label(entry.label);
    std::string upper(entry.label);
    for (char& c : upper) {
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    }
    w.Label("\t\n\f\r " + upper + " \r\f\n\t");
  }
  for (const char* label : {"", " ", "utf-7", "utf-32", "\vutf-8", "\xC2\xA0utf-8", "utf -8",
                            "\xE2\x84\xAAoi8-r", "iso-8859-11", "x-mac-roman", "unicode"}) {
    w.Label(label);
  }
  w.Label(B("utf-8\0"));
  std::mt19937 rng(4242);
  for (Encoding e : AllEncodings()) {
    if (e == Encoding::kReplacement) continue;  // TextDecoder refuses it
    AddCases(w, e, rng);
  }

  const std::string dir = testsupport::MakeTempDir("whatwg-crosscheck");
  const std::string cases_path = dir + "/cases.txt";
  const std::string out_path = dir + "/chromium.txt";
  testsupport::WriteFile(cases_path, w.Text());
  const testsupport::CommandResult r =
      testsupport::RunCommand({"node", script, cases_path, out_path}, "", 300);
  ASSERT_EQ(r.exit_code, 0) << (r.exit_code == 127 ? "node is not installed (scripts/install-deps "
                                                     "installs nodejs)\n"
                                                   : "")
                            << r.out;
  std::cout << r.out;  // the script's one-line summary, for the test log

  std::istringstream chromium(testsupport::ReadFile(out_path));
  size_t i = 0;
  size_t differences = 0;
  std::map<ChromiumBug, size_t> explained;
  std::ostringstream report;
  std::ostringstream all;  // every unexplained difference, one a line, left in `dir`
  for (std::string line; std::getline(chromium, line); ++i) {
    ASSERT_LT(i, w.size()) << "Chromium gave more results than there are cases";
    const CaseWriter::Answer a = w.Expected(i);
    if (line == a.want) continue;
    if (a.decode != nullptr) {
      const ChromiumBug bug = ExplainDifference(a.decode->first, a.decode->second, line, a.want);
      if (bug != ChromiumBug::kNone) {
        ++explained[bug];
        continue;
      }
    }
    all << a.what << "\tchromium=" << line << "\tours=" << a.want << "\n";
    if (++differences <= 20) {
      report << "case " << i << ": " << a.what << "\n  chromium: " << line
             << "\n  ours:     " << a.want << "\n";
    }
  }
  EXPECT_EQ(i, w.size()) << "Chromium gave fewer results than there are cases";
  std::cout << "cross-checked " << w.size() << " cases against Chromium: " << differences
            << " unexplained differences";
  for (const auto& [bug, n] : explained) {
    std::cout << "; " << n << " explained by a known Chromium bug (" << ChromiumBugName(bug) << ")";
  }
  std::cout << "\n";
  if (differences == 0 && i == w.size()) {
    fs::remove_all(dir);
    return;
  }
  testsupport::WriteFile(dir + "/differences.txt", all.str());
  ADD_FAILURE() << differences << " differences, all listed in " << dir
                << "/differences.txt; the first (UTF-8 as hex):\n"
                << report.str();
}

}  // namespace
