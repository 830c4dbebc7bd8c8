#include "common/printable.h"

#include <gtest/gtest.h>

namespace {

TEST(TerminalSafeTest, KeepsReadableUnicodeAndEscapesControls) {
  EXPECT_EQ(common::TerminalSafe("계약서 合同 contract.pdf"), "계약서 合同 contract.pdf");
  // An ANSI sequence that would move the cursor and repaint a verdict.
  EXPECT_EQ(common::TerminalSafe("x\x1b[2K\rVERDICT: VALID"), "x\\x1b[2K\\x0dVERDICT: VALID");
  EXPECT_EQ(common::TerminalSafe("a\nb\tc\x7f"), "a\\x0ab\\x09c\\x7f");
  EXPECT_EQ(common::TerminalSafe("back\\slash"), "back\\\\slash");
}

TEST(TerminalSafeTest, EscapesBidiControlsC1AndInvalidBytes) {
  // U+202E RIGHT-TO-LEFT OVERRIDE makes "invoice\u202efdp.exe" read as "invoiceexe.pdf".
  EXPECT_EQ(common::TerminalSafe("invoice\xe2\x80\xae"
                                 "fdp.exe"),
            "invoice\\u{202e}fdp.exe");
  EXPECT_EQ(common::TerminalSafe("\xe2\x81\xa6x\xe2\x81\xa9"), "\\u{2066}x\\u{2069}");
  EXPECT_EQ(common::TerminalSafe("\xc2\x9b"
                                 "31m"),
            "\\u{009b}31m");  // C1 CSI
  EXPECT_EQ(common::TerminalSafe("\xff\xc3"), "\\xff\\xc3");
  EXPECT_EQ(common::TerminalSafe("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a surrogate
}

TEST(TerminalSafeTest, IsBidiControlCoversTheUaxNineFormattingCharacters) {
  for (uint32_t cp : {0x061Cu, 0x200Eu, 0x200Fu, 0x202Au, 0x202Bu, 0x202Cu, 0x202Du, 0x202Eu,
                      0x2066u, 0x2067u, 0x2068u, 0x2069u}) {
    EXPECT_TRUE(common::IsBidiControl(cp)) << cp;
  }
  for (uint32_t cp : {0x0041u, 0x05D0u, 0x200Du, 0x2029u, 0x206Au}) {
    EXPECT_FALSE(common::IsBidiControl(cp)) << cp;
  }
}

}  // namespace
