// Pure parts of the SMTP front end: command parsing and DATA decoding.
#include <gtest/gtest.h>

#include <string>

#include "smtp/command.h"
#include "smtp/data.h"

namespace smtp {
namespace {

TEST(SmtpCommandTest, SplitsVerbAndArgsCaseInsensitively) {
  SmtpCommand c = ParseSmtpCommand("mail FROM:<a@b>  ");
  EXPECT_EQ(c.verb, "MAIL");
  EXPECT_EQ(c.args, "FROM:<a@b>");
  EXPECT_EQ(ParseSmtpCommand("QUIT").args, "");
}

TEST(SmtpCommandTest, MailFromWithParameters) {
  MailFromArgs m;
  ASSERT_EQ(ParseMailFrom("FROM:<a@example.org> SIZE=1234 BODY=8bitmime", m), SmtpArgError::kNone);
  EXPECT_EQ(m.address, "a@example.org");
  EXPECT_EQ(*m.size, 1234u);
  EXPECT_EQ(m.body, "8BITMIME");
  EXPECT_FALSE(m.smtputf8);
  ASSERT_EQ(ParseMailFrom("FROM: <>", m), SmtpArgError::kNone);
  EXPECT_EQ(m.address, "");
  ASSERT_EQ(ParseMailFrom("FROM:<@relay.example:\"odd>one\"@example.org>", m), SmtpArgError::kNone);
  EXPECT_EQ(m.address, "\"odd>one\"@example.org");
}

TEST(SmtpCommandTest, MailFromRefusals) {
  MailFromArgs m;
  EXPECT_EQ(ParseMailFrom("<a@b>", m), SmtpArgError::kSyntax);
  EXPECT_EQ(ParseMailFrom("FROM:a@b", m), SmtpArgError::kSyntax);
  EXPECT_EQ(ParseMailFrom("FROM:<a@b", m), SmtpArgError::kSyntax);
  EXPECT_EQ(ParseMailFrom("FROM:<a b@c>", m), SmtpArgError::kSyntax);
  EXPECT_EQ(ParseMailFrom("FROM:<nodomain>", m), SmtpArgError::kSyntax);
  EXPECT_EQ(ParseMailFrom("FROM:<a@b> SIZE=x", m), SmtpArgError::kBadParameterValue);
  EXPECT_EQ(ParseMailFrom("FROM:<a@b> BODY=BINARYMIME", m), SmtpArgError::kBadParameterValue);
  EXPECT_EQ(ParseMailFrom("FROM:<a@b> AUTH=<>", m), SmtpArgError::kUnknownParameter);
  EXPECT_EQ(ParseMailFrom("FROM:<j\xc3\xbcrg@b>", m), SmtpArgError::kNonAsciiAddress);
  ASSERT_EQ(ParseMailFrom("FROM:<j\xc3\xbcrg@b> SMTPUTF8", m), SmtpArgError::kNone);
  EXPECT_TRUE(m.smtputf8);
  std::string long_path = "FROM:<" + std::string(300, 'a') + "@b>";
  EXPECT_EQ(ParseMailFrom(long_path, m), SmtpArgError::kSyntax);
}

TEST(SmtpCommandTest, RcptTo) {
  RcptToArgs r;
  ASSERT_EQ(ParseRcptTo("TO:<Postmaster>", false, r), SmtpArgError::kNone);
  EXPECT_EQ(r.address, "Postmaster");
  EXPECT_EQ(ParseRcptTo("TO:<>", false, r), SmtpArgError::kSyntax);
  EXPECT_EQ(ParseRcptTo("TO:<a@b> NOTIFY=NEVER", false, r), SmtpArgError::kUnknownParameter);
  EXPECT_EQ(ParseRcptTo("TO:<\xc3\xa9@b>", false, r), SmtpArgError::kNonAsciiAddress);
  EXPECT_EQ(ParseRcptTo("TO:<\xc3\xa9@b>", true, r), SmtpArgError::kNone);
}

TEST(SmtpCommandTest, Bdat) {
  EXPECT_EQ(ParseBdat("10")->size, 10u);
  EXPECT_TRUE(ParseBdat("0 last")->last);
  EXPECT_FALSE(ParseBdat("").has_value());
  EXPECT_FALSE(ParseBdat("-1").has_value());
  EXPECT_FALSE(ParseBdat("5 FIRST").has_value());
  EXPECT_FALSE(ParseBdat("99999999999999999999999").has_value());
}

TEST(SmtpCommandTest, ReplySafeTurnsControlsIntoSpaces) {
  EXPECT_EQ(ReplySafe("a\r\nb"), "a  b");
  EXPECT_EQ(ReplySafe(std::string(300, 'x')).size(), 200u);
}

std::string DecodeAll(SmtpDataDecoder& d, const std::string& wire, size_t step) {
  size_t pos = 0;
  while (pos < wire.size() && !d.done()) {
    pos += d.Feed(std::string_view(wire).substr(pos, step));
  }
  return d.TakeMessage();
}

TEST(SmtpDataDecoderTest, UnstuffsDotsAndStopsAtEndMarkerInAnyChunking) {
  const std::string wire = "Subject: x\r\n\r\n..leading\r\n.\rodd\r\na\nb\r\n.x\r\n.\r\nNEXT";
  const std::string want = "Subject: x\r\n\r\n.leading\r\n\rodd\r\na\nb\r\nx\r\n";
  for (size_t step : {1u, 2u, 3u, 7u, 1000u}) {
    SmtpDataDecoder d(SmtpDataDecoder::Mode::kDotStuffed, 1000);
    size_t pos = 0;
    while (!d.done()) pos += d.Feed(std::string_view(wire).substr(pos, step));
    EXPECT_EQ(wire.substr(pos), "NEXT") << step;
    EXPECT_EQ(d.TakeMessage(), want) << step;
  }
}

TEST(SmtpDataDecoderTest, BareLineFeedsDoNotEndTheMessage) {
  SmtpDataDecoder d(SmtpDataDecoder::Mode::kDotStuffed, 1000);
  std::string wire = "a\n.\nb\r\n.\r\n";
  EXPECT_EQ(d.Feed(wire), wire.size());
  EXPECT_TRUE(d.done());
  EXPECT_EQ(d.TakeMessage(), "a\n.\nb\r\n");
}

TEST(SmtpDataDecoderTest, OversizeIsCountedAndDropped) {
  SmtpDataDecoder d(SmtpDataDecoder::Mode::kDotStuffed, 10);
  EXPECT_EQ(DecodeAll(d, "0123456789abc\r\n.\r\n", 4), "");
  EXPECT_TRUE(d.done());
  EXPECT_TRUE(d.oversize());
  EXPECT_EQ(d.total_bytes(), 15u);
}

TEST(SmtpDataDecoderTest, LineLengthLimit) {
  SmtpDataDecoder ok(SmtpDataDecoder::Mode::kDotStuffed, 1 << 20);
  DecodeAll(ok, std::string(998, 'x') + "\r\n.\r\n", 100);
  EXPECT_FALSE(ok.long_line());
  SmtpDataDecoder stuffed(SmtpDataDecoder::Mode::kDotStuffed, 1 << 20);
  DecodeAll(stuffed, "." + std::string(998, '.') + "\r\n.\r\n", 100);  // the stuffed dot is free
  EXPECT_FALSE(stuffed.long_line());
  SmtpDataDecoder bad(SmtpDataDecoder::Mode::kDotStuffed, 1 << 20);
  DecodeAll(bad, std::string(999, 'x') + "\r\n.\r\n", 100);
  EXPECT_TRUE(bad.long_line());
  SmtpDataDecoder chunked(SmtpDataDecoder::Mode::kChunked, 1 << 20);
  chunked.Feed(std::string(500, 'x'));
  chunked.Feed(std::string(500, 'x'));
  EXPECT_TRUE(chunked.long_line());
  EXPECT_FALSE(chunked.done());
}

}  // namespace
}  // namespace smtp
