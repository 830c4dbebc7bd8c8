// The HTTP envelope parser (http/include/http/envelope.h): both forms accept the paths the SMTP
// listener accepts, and nothing else.
#include "http/envelope.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace http {
namespace {

std::vector<std::string> ToHeader(const std::string& value, size_t max = 1000) {
  std::vector<std::string> out;
  auto st = AppendEnvelopeToHeader(value, max, out);
  EXPECT_TRUE(st.ok()) << value << ": " << st.error().message();
  return out;
}

TEST(HttpEnvelopeTest, ToHeaderSplitsOnCommasOutsideQuotedLocalParts) {
  EXPECT_EQ(ToHeader("<a@x.org>, b@y.org ,<\"john, smith\"@z.org>"),
            (std::vector<std::string>{"a@x.org", "b@y.org", "\"john, smith\"@z.org"}));
  EXPECT_EQ(ToHeader("\"with space\"@x.org"), (std::vector<std::string>{"\"with space\"@x.org"}));
  EXPECT_EQ(ToHeader("<\"esc\\\"aped, q\"@x.org>"),
            (std::vector<std::string>{"\"esc\\\"aped, q\"@x.org"}));
  EXPECT_EQ(ToHeader("<@relay.example:user@x.org>"),  // a source route is dropped
            (std::vector<std::string>{"user@x.org"}));
  EXPECT_EQ(ToHeader("<user@[192.0.2.1]>"), (std::vector<std::string>{"user@[192.0.2.1]"}));
  EXPECT_EQ(ToHeader("<Postmaster>"), (std::vector<std::string>{"Postmaster"}));
  EXPECT_EQ(ToHeader("\xea\xb9\x80@\xec\x98\x88\xec\x8b\x9c.kr"),  // UTF-8 (SMTPUTF8 implied)
            (std::vector<std::string>{"\xea\xb9\x80@\xec\x98\x88\xec\x8b\x9c.kr"}));
  EXPECT_TRUE(ToHeader(" , ,").empty());
}

TEST(HttpEnvelopeTest, ToHeaderRefusesWhatSmtpRefuses) {
  for (const char* bad :
       {"<a b@x.org>", "<a@x.org", "a@", "@x.org", "<a@x.org> junk", "<\"unterminated@x.org>",
        "<a@x.org><b@y.org>", "a@x_y.org", "a\x01@x.org"}) {
    std::vector<std::string> out;
    EXPECT_FALSE(AppendEnvelopeToHeader(bad, 1000, out).ok()) << bad;
  }
  std::vector<std::string> out;
  EXPECT_TRUE(AppendEnvelopeToHeader("a@x.org, b@x.org", 3, out).ok());
  EXPECT_FALSE(AppendEnvelopeToHeader("c@x.org, d@x.org", 3, out).ok());  // the limit
}

TEST(HttpEnvelopeTest, FromHeaderTakesTheNullPathAndBarePaths) {
  EXPECT_EQ(*ParseEnvelopeFromHeader(""), "");
  EXPECT_EQ(*ParseEnvelopeFromHeader("<>"), "");
  EXPECT_EQ(*ParseEnvelopeFromHeader(" a@x.org "), "a@x.org");
  EXPECT_EQ(*ParseEnvelopeFromHeader("<\"a, b\"@x.org>"), "\"a, b\"@x.org");
  EXPECT_FALSE(ParseEnvelopeFromHeader("<a@x.org> SIZE=10 EXTRA=1").ok());
  EXPECT_FALSE(ParseEnvelopeFromHeader("a b@x.org").ok());
}

TEST(HttpEnvelopeTest, BodyFormGivesTheEnvelopeAndWhereTheMessageStarts) {
  const std::string message = "Subject: x\r\n\r\nbody\r\n";
  const std::string body =
      "MAIL FROM:<a@x.org> BODY=8BITMIME SMTPUTF8\r\nRCPT TO:<\"b, c\"@y.org>\r\n"
      "rcpt to:<d@y.org>\r\nDATA\r\n" +
      message;
  auto parsed = ParseEnvelopeBody(body, 1000);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(parsed->envelope.mail_from, "a@x.org");
  EXPECT_EQ(parsed->envelope.rcpt_to, (std::vector<std::string>{"\"b, c\"@y.org", "d@y.org"}));
  EXPECT_TRUE(parsed->envelope.smtputf8);
  EXPECT_EQ(parsed->envelope.body_type, "8BITMIME");
  EXPECT_EQ(body.substr(parsed->message_offset), message);

  // An empty message is a message, as after SMTP DATA.
  auto empty = ParseEnvelopeBody("MAIL FROM:<>\r\nRCPT TO:<b@y.org>\r\nDATA\r\n", 10);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->message_offset, 39u);
}

TEST(HttpEnvelopeTest, BodyFormRefusesBrokenEnvelopes) {
  for (const char* bad : {
           "",                                                // nothing
           "RCPT TO:<b@y.org>\r\nDATA\r\n",                   // no MAIL
           "MAIL FROM:<a@x.org>\r\nDATA\r\n",                 // no RCPT
           "MAIL FROM:<a@x.org>\r\nRCPT TO:<b@y.org>\r\n",    // no DATA
           "MAIL FROM:<a@x.org>\nRCPT TO:<b@y.org>\nDATA\n",  // bare LF
           "MAIL FROM:<a@x.org>\r\nRCPT TO:<b c@y.org>\r\nDATA\r\n",
           "MAIL FROM:<a@x.org>\r\nMAIL FROM:<b@y.org>\r\nDATA\r\n",
           "MAIL FROM:<a@x.org>\r\nRCPT TO:<b@y.org>\r\nDATA now\r\n",
           "MAIL FROM:<\xc3\xa9@x.org>\r\nRCPT TO:<b@y.org>\r\nDATA\r\n",  // UTF-8, no SMTPUTF8
       }) {
    EXPECT_FALSE(ParseEnvelopeBody(bad, 1000).ok()) << bad;
  }
  std::string long_line = "MAIL FROM:<" + std::string(600, 'a') + "@x.org>\r\n";
  EXPECT_FALSE(ParseEnvelopeBody(long_line + "RCPT TO:<b@y.org>\r\nDATA\r\n", 10).ok());
  std::string many = "MAIL FROM:<a@x.org>\r\n";
  for (int i = 0; i < 4; ++i) many += "RCPT TO:<b" + std::to_string(i) + "@y.org>\r\n";
  EXPECT_FALSE(ParseEnvelopeBody(many + "DATA\r\n", 3).ok());
  EXPECT_TRUE(ParseEnvelopeBody(many + "DATA\r\n", 4).ok());
}

}  // namespace
}  // namespace http
