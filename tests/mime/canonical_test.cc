// Unit behaviour of the canonicaliser: metadata, part records, positions, header allow-list,
// text normalisation, charsets and thread safety.
#include "mime/canonical.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "common/bytes.h"
#include "common/rfc6962.h"
#include "common/sha256.h"

namespace {

const char kSimple[] =
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
    "\r\n"
    "Hello.\r\n";

std::string WithHeader(const std::string& header_line) { return header_line + kSimple; }

TEST(CanonicalizeTest, ExtractsDecodedMetadata) {
  const auto c = mime::Canonicalize(kSimple);
  const auto& m = c.metadata;
  EXPECT_EQ(m.from, "José <Jose@Example.COM>");
  EXPECT_EQ(m.sender, "list@example.org");
  EXPECT_EQ(m.reply_to, "\"Help Desk\" <help@example.org>");
  EXPECT_EQ(m.to, (std::vector<std::string>{"Bob <bob@example.org>", "ann@example.org",
                                            "cid@example.org"}));
  EXPECT_EQ(m.cc, std::vector<std::string>{"Dee <DEE@example.net>"});
  EXPECT_EQ(m.subject, "Hello wörld");
  EXPECT_EQ(m.date, "Tue, 01 Jul 2025 10:00:00 +0200");
  ASSERT_TRUE(m.date_utc_unix.has_value());
  EXPECT_EQ(*m.date_utc_unix, 1751356800);  // 2025-07-01T08:00:00Z
  EXPECT_EQ(m.message_id, "m1@example.com");
  EXPECT_EQ(m.in_reply_to, "m0@example.com");
  EXPECT_EQ(m.addresses,
            (std::vector<std::string>{"jose@example.com", "list@example.org", "help@example.org",
                                      "bob@example.org", "ann@example.org", "cid@example.org",
                                      "dee@example.net", "hidden@example.net"}));
  EXPECT_TRUE(c.warnings.empty()) << c.warnings.front();
}

TEST(CanonicalizeTest, SinglePartBodyIsPositionOne) {
  const auto c = mime::Canonicalize(kSimple);
  ASSERT_EQ(c.parts.size(), 1u);
  const auto& p = c.parts[0];
  EXPECT_EQ(p.position, "1");
  EXPECT_EQ(p.content_type, "text/plain");
  EXPECT_EQ(p.size, 8u);
  EXPECT_EQ(p.sha256, common::Sha256Of(std::string_view("Hello.\r\n")));
  EXPECT_TRUE(p.normalised_text);
  EXPECT_EQ(p.content_sha256, common::Sha256Of(std::string_view("Hello.\n")));
}

TEST(CanonicalizeTest, AllowListKeepsOnlyVisibleHeaders) {
  const auto base = mime::Canonicalize(kSimple);
  for (const char* trace :
       {"Received: from a by b; Tue, 01 Jul 2025 10:00:01 +0200\r\n", "X-Mailer: Foo 1.0\r\n",
        "Return-Path: <x@y>\r\n", "Resent-From: other@example.org\r\n", "References: <a@b>\r\n",
        "Bcc: another@example.net\r\n", "MIME-Version: 1.0\r\n"}) {
    EXPECT_EQ(mime::Canonicalize(WithHeader(trace)).canonical_sha256, base.canonical_sha256)
        << trace;
  }
  for (const char* visible : {"To: eve@example.org\r\n", "Cc: eve@example.org\r\n",
                              "Sender: eve@example.org\r\n", "Reply-To: eve@example.org\r\n"}) {
    EXPECT_NE(mime::Canonicalize(WithHeader(visible)).canonical_sha256, base.canonical_sha256)
        << visible;
  }
  std::vector<std::string> names;
  for (const auto& h : base.headers) names.push_back(h.name);
  EXPECT_EQ(names, (std::vector<std::string>{"from", "sender", "reply-to", "to", "cc", "subject",
                                             "date", "message-id", "in-reply-to"}));
}

TEST(CanonicalizeTest, HeaderValueWhitespaceIsCollapsedButCharactersCount) {
  const std::string base = "From: a@example.com\r\nSubject: Hello world\r\n\r\nx\r\n";
  const auto c = mime::Canonicalize(base);
  EXPECT_EQ(mime::Canonicalize("From: a@example.com\r\nSubject:  Hello\r\n \t world \r\n\r\nx\r\n")
                .canonical_sha256,
            c.canonical_sha256);
  EXPECT_EQ(mime::Canonicalize("FROM: a@example.com\r\nsubject: Hello world\r\n\r\nx\r\n")
                .canonical_sha256,
            c.canonical_sha256);
  EXPECT_NE(mime::Canonicalize("From: a@example.com\r\nSubject: Hello World\r\n\r\nx\r\n")
                .canonical_sha256,
            c.canonical_sha256);
  EXPECT_NE(mime::Canonicalize("From: a@example.com\r\nSubject: Hello world.\r\n\r\nx\r\n")
                .canonical_sha256,
            c.canonical_sha256);
}

TEST(CanonicalizeTest, NestedPositionsFollowTheMimeTree) {
  const std::string msg =
      "From: a@example.com\r\n"
      "Content-Type: multipart/mixed; boundary=outer\r\n\r\n"
      "--outer\r\n"
      "Content-Type: multipart/alternative; boundary=inner\r\n\r\n"
      "--inner\r\nContent-Type: text/plain\r\n\r\nplain\r\n"
      "--inner\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n"
      "--inner--\r\n"
      "--outer\r\n"
      "Content-Type: image/png\r\nContent-Disposition: inline\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n"
      "--outer--\r\n";
  const auto c = mime::Canonicalize(msg);
  ASSERT_EQ(c.parts.size(), 3u);
  EXPECT_EQ(c.parts[0].position, "1.1");
  EXPECT_EQ(c.parts[1].position, "1.2");
  EXPECT_EQ(c.parts[1].content_type, "text/html");
  EXPECT_EQ(c.parts[2].position, "2");
  EXPECT_EQ(c.parts[2].disposition, "inline");
  EXPECT_EQ(c.parts[2].size, 8u);
  EXPECT_EQ(c.parts[2].sha256, common::Sha256Of(std::string_view("\x89PNG\r\n\x1a\n", 8)));
  ASSERT_EQ(c.multiparts.size(), 2u);
  EXPECT_EQ(c.multiparts[0].position, "");
  EXPECT_EQ(c.multiparts[0].content_type, "multipart/mixed");
  EXPECT_EQ(c.multiparts[1].position, "1");
  EXPECT_EQ(c.multiparts[1].content_type, "multipart/alternative");

  // The container's subtype is visible (alternatives vs a list), so it is in the form.
  std::string mixed = msg;
  mixed.replace(mixed.find("multipart/alternative"), 21, "multipart/mixed");
  EXPECT_NE(mime::Canonicalize(mixed).canonical_sha256, c.canonical_sha256);
}

TEST(CanonicalizeTest, TextBodyLineEndsAndTrailingWhitespaceDoNotMatter) {
  const std::string head = "From: a@example.com\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n";
  const auto c = mime::Canonicalize(head + "one\r\ntwo\r\n");
  EXPECT_EQ(mime::Canonicalize(head + "one  \r\ntwo\t\r\n\r\n \r\n").canonical_sha256,
            c.canonical_sha256);
  EXPECT_EQ(mime::Canonicalize(head + "one\ntwo").canonical_sha256, c.canonical_sha256);
  EXPECT_NE(mime::Canonicalize(head + " one\r\ntwo\r\n").canonical_sha256, c.canonical_sha256);
  EXPECT_NE(mime::Canonicalize(head + "one\r\n\r\ntwo\r\n").canonical_sha256, c.canonical_sha256);
  EXPECT_NE(mime::Canonicalize(head + "one two\r\n").canonical_sha256, c.canonical_sha256);
}

TEST(CanonicalizeTest, CharsetReencodingOfBodyDoesNotMatter) {
  const std::string utf8 =
      "From: a@example.com\r\nContent-Type: text/plain; charset=utf-8\r\n"
      "Content-Transfer-Encoding: 8bit\r\n\r\ncaf\xc3\xa9\r\n";
  const std::string latin1 =
      "From: a@example.com\r\nContent-Type: text/plain; charset=ISO-8859-1\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n\r\ncaf=E9\r\n";
  const auto a = mime::Canonicalize(utf8);
  const auto b = mime::Canonicalize(latin1);
  EXPECT_EQ(a.canonical_sha256, b.canonical_sha256);
  EXPECT_NE(a.parts[0].sha256, b.parts[0].sha256);  // the saved bytes do differ
  EXPECT_EQ(b.parts[0].charset, "iso-8859-1");
}

TEST(CanonicalizeTest, UnknownCharsetIsHashedRawWithWarning) {
  const std::string msg =
      "From: a@example.com\r\nDate: Tue, 01 Jul 2025 10:00:00 +0200\r\n"
      "Content-Type: text/plain; charset=x-no-such-charset\r\n\r\nabc\xff\r\n";
  const auto c = mime::Canonicalize(msg);
  ASSERT_EQ(c.parts.size(), 1u);
  EXPECT_NE(c.canonical.find(" 8:text-raw 17:x-no-such-charset "), std::string::npos)
      << c.canonical;
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].find("not convertible to UTF-8"), std::string::npos);
  std::string changed = msg;
  changed[changed.size() - 3] = '\xfe';
  EXPECT_NE(mime::Canonicalize(changed).canonical_sha256, c.canonical_sha256);
}

TEST(CanonicalizeTest, TextAttachmentsKeepExactBytes) {
  // A text file sent as an attachment is a file: trailing spaces in it are content.
  const std::string head =
      "From: a@example.com\r\nContent-Type: text/csv\r\n"
      "Content-Disposition: attachment; filename=data.csv\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n";
  const auto a = mime::Canonicalize(head + "YSxiDQo=\r\n");  // "a,b\r\n"
  const auto b = mime::Canonicalize(head + "YSxiIA0K\r\n");  // "a,b \r\n"
  EXPECT_FALSE(a.parts[0].normalised_text);
  EXPECT_EQ(a.parts[0].content_sha256, a.parts[0].sha256);
  EXPECT_NE(a.canonical_sha256, b.canonical_sha256);
  EXPECT_EQ(a.metadata.attachment_names, std::vector<std::string>{"data.csv"});
}

TEST(CanonicalizeTest, Rfc2231AndRfc2047FileNamesDecode) {
  const std::string msg =
      "From: a@example.com\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
      "--b\r\nContent-Type: application/pdf\r\n"
      "Content-Disposition: attachment;\r\n filename*0*=UTF-8''%EA%B3%84%EC%95%BD;\r\n"
      " filename*1*=%EC%84%9C.pdf\r\n\r\nx\r\n"
      "--b\r\nContent-Type: application/pdf; name=\"=?utf-8?b?5ZCI5ZCMLnBkZg==?=\"\r\n\r\ny\r\n"
      "--b--\r\n";
  const auto c = mime::Canonicalize(msg);
  ASSERT_EQ(c.parts.size(), 2u);
  EXPECT_EQ(c.parts[0].filename, "계약서.pdf");
  EXPECT_EQ(c.parts[1].filename, "合同.pdf");
}

TEST(CanonicalizeTest, MboxFromLineIsDroppedButObsoleteFromHeaderIsNot) {
  const auto c = mime::Canonicalize(kSimple);
  EXPECT_EQ(
      mime::Canonicalize(std::string("From jose@example.com Tue Jul  1 10:00:00 2025\n") + kSimple)
          .canonical_sha256,
      c.canonical_sha256);
  // "From :" (RFC 5322 §4.5.1 obsolete syntax) is a header, not an mbox separator.
  const auto obs = mime::Canonicalize("From : x@example.com\r\nSubject: s\r\n\r\nb\r\n");
  EXPECT_EQ(obs.metadata.from, "x@example.com");
}

TEST(PartRecordTest, EncodingIsByteExact) {
  mime::Part p;
  p.position = "1.2";
  p.content_type = "application/pdf";
  p.charset = "";
  p.disposition = "attachment";
  p.filename = "a.pdf";
  p.size = 258;
  for (size_t i = 0; i < p.sha256.size(); ++i) p.sha256[i] = static_cast<uint8_t>(i);
  std::string expected("\x00\x00\x00\x01", 4);
  auto lp = [&](std::string_view s) {
    const char len[4] = {0, 0, 0, static_cast<char>(s.size())};
    expected.append(len, 4);
    expected += s;
  };
  lp("1.2");
  lp("application/pdf");
  lp("");
  lp("attachment");
  lp("a.pdf");
  expected += std::string("\x00\x00\x00\x00\x00\x00\x01\x02", 8);
  for (uint8_t b : p.sha256) expected += static_cast<char>(b);
  EXPECT_EQ(mime::EncodePartRecord(p), expected);
}

TEST(PartRecordTest, PartsRootIsRfc6962RootOverRecords) {
  const auto c = mime::Canonicalize(
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n--b\r\n\r\ntwo\r\n"
      "--b\r\n\r\nthree\r\n--b--\r\n");
  ASSERT_EQ(c.parts.size(), 3u);
  const common::Hash l0 = common::HashLeaf(mime::EncodePartRecord(c.parts[0]));
  const common::Hash l1 = common::HashLeaf(mime::EncodePartRecord(c.parts[1]));
  const common::Hash l2 = common::HashLeaf(mime::EncodePartRecord(c.parts[2]));
  EXPECT_EQ(c.parts_root, common::HashChildren(common::HashChildren(l0, l1), l2));
  EXPECT_EQ(mime::PartsRoot({}), common::Sha256Of(std::string_view()));
}

TEST(DifferencesTest, EmptyForEqualAndNamesHeaderAndAddedPart) {
  const auto a = mime::Canonicalize(kSimple);
  EXPECT_TRUE(mime::Differences(a, a).empty());
  std::string other = kSimple;
  other.replace(other.find("<m1@"), 4, "<m2@");
  const auto d = mime::Differences(a, mime::Canonicalize(other));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(
      d[0],
      "header message-id differs: notarised \"<m1@example.com>\", other \"<m2@example.com>\"");

  const auto one = mime::Canonicalize(
      "From: a@b\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n--b--\r\n");
  const auto two = mime::Canonicalize(
      "From: a@b\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n"
      "--b\r\nContent-Type: application/zip\r\n\r\nzz\r\n--b--\r\n");
  const auto added = mime::Differences(one, two);
  ASSERT_EQ(added.size(), 1u);
  EXPECT_EQ(added[0], "part 2 (application/zip): only in the other message");
  const auto removed = mime::Differences(two, one);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0], "part 2 (application/zip): missing from the other message");
}

TEST(CanonicalizeTest, ConcurrentCallsAgree) {
  const auto expected = mime::Canonicalize(kSimple).canonical_sha256;
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i)
        ok[t] += mime::Canonicalize(kSimple).canonical_sha256 == expected;
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(ok[t], 200);
}

}  // namespace
