// production/load_file.h: what a review platform or a mail client reads back is what was
// written; the formats' limits (þ in a field, formulas in a spreadsheet) are handled as
// docs/cases.md says.
#include "production/load_file.h"

#include <gtest/gtest.h>

namespace {

using production::AppendMboxrd;
using production::CsvLine;
using production::DatLine;
using production::ParseCsv;
using production::ParseDat;
using production::SplitMboxrd;

TEST(LoadFileTest, DatFieldsAreThornQuotedAndSeparatedByDc4) {
  const std::string line = DatLine({"ACME000001", "계약서 초안", ""});
  EXPECT_EQ(line,
            "\xC3\xBE"
            "ACME000001\xC3\xBE\x14\xC3\xBE"
            "계약서 초안\xC3\xBE\x14\xC3\xBE\xC3\xBE\r\n");
  auto rows = ParseDat(std::string(production::kUtf8Bom) + line + DatLine({"a", "b", "c"}));
  ASSERT_TRUE(rows.ok()) << rows.error().ToString();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0], (std::vector<std::string>{"ACME000001", "계약서 초안", ""}));
}

TEST(LoadFileTest, DatLineBreaksBecomeRegisteredAndTheQuoteCannotHide) {
  // A subject that tries to close the field and open another, and a multi-line field.
  auto rows =
      ParseDat(DatLine({"x\xC3\xBE\x14\xC3\xBE"
                        "forged",
                        "one\r\ntwo\nthree\x01"}));
  ASSERT_TRUE(rows.ok()) << rows.error().ToString();
  ASSERT_EQ(rows->size(), 1u);
  ASSERT_EQ((*rows)[0].size(), 2u);
  EXPECT_EQ((*rows)[0][0], "x???forged");
  EXPECT_EQ((*rows)[0][1], "one\xC2\xAEtwo\xC2\xAEthree?");
  EXPECT_FALSE(ParseDat("\xC3\xBE"
                        "a\r\n")
                   .ok());
  EXPECT_FALSE(ParseDat("\xC3\xBE"
                        "a\xC3\xBE")
                   .ok());
}

TEST(LoadFileTest, CsvRoundTripsAndDefusesFormulasInFreeText) {
  const std::vector<std::string> fields = {"=HYPERLINK(\"http://x\")", "a,b", "line\r\nbreak", "-3",
                                           "=not free text"};
  const std::string line = CsvLine(fields, {true, true, true, true, false});
  auto rows = ParseCsv(std::string(production::kUtf8Bom) + line);
  ASSERT_TRUE(rows.ok()) << rows.error().ToString();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0], (std::vector<std::string>{"'=HYPERLINK(\"http://x\")", "a,b",
                                                  "line\r\nbreak", "'-3", "=not free text"}));
  EXPECT_FALSE(ParseCsv("\"unclosed\r\n").ok());
  EXPECT_FALSE(ParseCsv("a,b").ok());
}

TEST(LoadFileTest, MboxrdGivesEveryMessageBackByteForByte) {
  const std::vector<std::string> messages = {
      "From: a@example.com\r\nSubject: x\r\n\r\nFrom here on\r\n>From quoted\r\n",
      "no final newline\r\n\r\nFrom", "", "Subject: y\n\n>>From deep\nFrom \n"};
  std::string mbox;
  for (const auto& m : messages) AppendMboxrd(mbox, "a@example.com", 1796378401000000, m);
  EXPECT_EQ(mbox.substr(0, mbox.find('\n') + 1), "From a@example.com Fri Dec  4 10:00:01 2026\n");
  // No line inside a message starts with an unquoted "From ".
  size_t from_lines = 0;
  for (size_t p = 0; (p = mbox.find("From ", p)) != std::string::npos; ++p) {
    if (p == 0 || mbox[p - 1] == '\n') ++from_lines;
  }
  EXPECT_EQ(from_lines, messages.size());
  auto back = SplitMboxrd(mbox);
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(*back, messages);
  std::string odd;
  AppendMboxrd(odd, "has space@example.com", 0, "x");
  EXPECT_EQ(odd.substr(0, 19), "From MAILER-DAEMON ");
  EXPECT_FALSE(SplitMboxrd("not a mailbox").ok());
}

// notary-verify reads a production's mailbox a chunk at a time: a line split across chunks,
// even inside "From ", must give the same messages, and the size limit must hold.
TEST(LoadFileTest, MboxrdReaderByTheByteEqualsSplit) {
  const std::vector<std::string> messages = {"A: 1\r\n\r\nFrom x\r\n>From y\r\n", "tail", "",
                                             "B: 2\n\n>>From z\n"};
  std::string mbox;
  for (const auto& m : messages) AppendMboxrd(mbox, "s@example.com", 0, m);
  std::vector<std::string> got;
  production::MboxrdReader reader(1 << 20, [&](std::string m) { got.push_back(std::move(m)); });
  for (char c : mbox) ASSERT_TRUE(reader.Feed(std::string_view(&c, 1)).ok());
  ASSERT_TRUE(reader.Finish().ok());
  EXPECT_EQ(got, messages);

  size_t count = 0;
  production::MboxrdReader small(8, [&](std::string) { ++count; });
  EXPECT_FALSE(small.Feed(mbox).ok());
  production::MboxrdReader unclosed(1 << 20, [&](std::string) { ++count; });
  ASSERT_TRUE(unclosed.Feed("From a Thu Jan  1 00:00:00 1970\nno closing LF").ok());
  EXPECT_FALSE(unclosed.Finish().ok());
  production::MboxrdReader empty(1 << 20, [&](std::string) { ++count; });
  EXPECT_FALSE(empty.Finish().ok());
  EXPECT_EQ(count, 0u);
}

}  // namespace
