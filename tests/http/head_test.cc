// The front door's pure parts: where a request head ends, what it says, the head handed to
// cpp-httplib, and the chunked-body decoder; well-formed and hostile inputs.
#include "http/head.h"

#include <gtest/gtest.h>

#include <string>

namespace http {
namespace {

using State = HttpHeadScanner::State;

// Scans `head` in one piece and parses it; the fault, kNone when it parses.
HttpFault ParseWhole(const std::string& head, HttpHead& out, HttpHeadLimits limits = {}) {
  HttpHeadScanner scanner(limits);
  const State st = scanner.Scan(head);
  if (st == State::kFault) return scanner.fault();
  EXPECT_EQ(st, State::kComplete) << head;
  if (st != State::kComplete) return HttpFault::kMalformed;
  return ParseHttpHead(
      std::string_view(head).substr(scanner.start(), scanner.end() - scanner.start()), limits, out);
}

HttpFault Fault(const std::string& head) {
  HttpHead h;
  return ParseWhole(head, h);
}

TEST(HttpHeadScannerTest, FindsTheEndAsBytesArriveOneByOne) {
  const std::string req = "\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\nGET /next";
  HttpHeadScanner scanner({});
  std::string buf;
  State st = State::kNeedMore;
  size_t i = 0;
  for (; i < req.size() && st == State::kNeedMore; ++i) {
    buf.push_back(req[i]);
    st = scanner.Scan(buf);
    if (i < 4) {
      EXPECT_FALSE(scanner.started()) << i;  // leading empty lines only
    }
  }
  ASSERT_EQ(st, State::kComplete);
  EXPECT_EQ(scanner.start(), 4u);
  EXPECT_EQ(scanner.end(), req.find("GET /next"));
  EXPECT_EQ(i, scanner.end());
  EXPECT_TRUE(scanner.started());
}

TEST(HttpHeadScannerTest, BoundsTheHeadTheLinesAndTheFieldCountBeforeTheEnd) {
  HttpHeadLimits limits;
  limits.max_head_bytes = 1024;
  limits.max_request_line = 64;
  limits.max_field_line = 128;
  limits.max_fields = 3;
  {  // a request line that never ends
    HttpHeadScanner s(limits);
    EXPECT_EQ(s.Scan("GET /" + std::string(100, 'a')), State::kFault);
    EXPECT_EQ(s.fault(), HttpFault::kUriTooLong);
  }
  {  // a field line that never ends
    HttpHeadScanner s(limits);
    EXPECT_EQ(s.Scan("GET / HTTP/1.1\r\nX: " + std::string(200, 'a')), State::kFault);
    EXPECT_EQ(s.fault(), HttpFault::kHeadTooLarge);
  }
  {  // too many fields
    HttpHeadScanner s(limits);
    EXPECT_EQ(s.Scan("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n"), State::kFault);
    EXPECT_EQ(s.fault(), HttpFault::kHeadTooLarge);
  }
  {  // many short lines past the head limit
    std::string head = "GET / HTTP/1.1\r\n";
    limits.max_fields = 1000;
    HttpHeadScanner many(limits);
    for (int i = 0; i < 200; ++i) head += "X-" + std::to_string(i) + ": yy\r\n";
    EXPECT_EQ(many.Scan(head), State::kFault);
    EXPECT_EQ(many.fault(), HttpFault::kHeadTooLarge);
  }
  {  // endless leading empty lines count too
    HttpHeadScanner s(limits);
    std::string crlfs;
    for (int i = 0; i < 600; ++i) crlfs += "\r\n";
    EXPECT_EQ(s.Scan(crlfs), State::kFault);
    EXPECT_EQ(s.fault(), HttpFault::kHeadTooLarge);
  }
}

TEST(HttpHeadTest, ParsesAWellFormedHead) {
  HttpHead h;
  ASSERT_EQ(ParseWhole("POST /v1/messages?x=1 HTTP/1.1\r\nHost: n\r\nContent-Length:  12 \r\n"
                       "Expect: 100-Continue\r\nX-Empty:\r\n\r\n",
                       h),
            HttpFault::kNone);
  EXPECT_EQ(h.method, "POST");
  EXPECT_EQ(h.target, "/v1/messages?x=1");
  EXPECT_EQ(h.minor_version, 1);
  EXPECT_EQ(h.body, HttpHead::Body::kLength);
  EXPECT_EQ(h.content_length, 12u);
  EXPECT_TRUE(h.expect_continue);
  EXPECT_TRUE(h.keep_alive);
  ASSERT_EQ(h.fields.size(), 4u);
  EXPECT_EQ(h.fields[1].second, "12");
  EXPECT_EQ(h.fields[3].first, "X-Empty");
  EXPECT_EQ(h.fields[3].second, "");
}

TEST(HttpHeadTest, ConnectionPersistence) {
  HttpHead h;
  ASSERT_EQ(ParseWhole("GET / HTTP/1.1\r\nHost: n\r\nConnection: Keep-Alive, CLOSE\r\n\r\n", h),
            HttpFault::kNone);
  EXPECT_FALSE(h.keep_alive);
  ASSERT_EQ(ParseWhole("GET / HTTP/1.0\r\n\r\n", h), HttpFault::kNone);  // no Host needed
  EXPECT_FALSE(h.keep_alive);
  ASSERT_EQ(ParseWhole("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", h), HttpFault::kNone);
  EXPECT_TRUE(h.keep_alive);
  // HTTP/1.0 ignores 100-continue (RFC 9110 §10.1.1); HTTP/1.9 is read as 1.1.
  ASSERT_EQ(ParseWhole("PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n", h),
            HttpFault::kNone);
  EXPECT_FALSE(h.expect_continue);
  ASSERT_EQ(ParseWhole("GET / HTTP/1.9\r\nHost: n\r\n\r\n", h), HttpFault::kNone);
  EXPECT_EQ(h.minor_version, 1);
}

TEST(HttpHeadTest, LineEndingsAndFolding) {
  EXPECT_EQ(Fault("GET / HTTP/1.1\nHost: n\n\n"), HttpFault::kMalformed);           // bare LF
  EXPECT_EQ(Fault("GET / HTTP/1.1\r\nHost: n\n\r\n"), HttpFault::kMalformed);       // one bare LF
  EXPECT_EQ(Fault("GET / HTTP/1.1\r\nHost: n\r\n\n"), HttpFault::kMalformed);       // bare LF end
  EXPECT_EQ(Fault("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n"), HttpFault::kMalformed);  // bare CR
  EXPECT_EQ(Fault("GET / HTTP/1.1\r\nHost: n\r\nX: a\r\n  folded\r\n\r\n"),
            HttpFault::kMalformed);  // obs-fold
  EXPECT_EQ(Fault("GET / HTTP/1.1\r\nHost: n\r\nX: a\r\n\tfolded\r\n\r\n"), HttpFault::kMalformed);
  EXPECT_EQ(Fault("\nGET / HTTP/1.1\r\nHost: n\r\n\r\n"), HttpFault::kMalformed);  // lone LF first
}

TEST(HttpHeadTest, RequestLineAndFieldSyntax) {
  EXPECT_EQ(Fault("GET  / HTTP/1.1\r\nHost: n\r\n\r\n"), HttpFault::kMalformed);
  EXPECT_EQ(Fault("GET / HTTP/1.1 \r\nHost: n\r\n\r\n"), HttpFault::kMalformed);
  EXPECT_EQ(Fault("GET /a b HTTP/1.1\r\nHost: n\r\n\r\n"), HttpFault::kMalformed);
  EXPECT_EQ(Fault("G(T / HTTP/1.1\r\nHost: n\r\n\r\n"), HttpFault::kMalformed);
  EXPECT_EQ(Fault("GET /\x7f HTTP/1.1\r\nHost: n\r\n\r\n"), HttpFault::kMalformed);
  EXPECT_EQ(Fault("GET / http/1.1\r\nHost: n\r\n\r\n"), HttpFault::kMalformed);
  EXPECT_EQ(Fault("GET / HTTP/2.0\r\nHost: n\r\n\r\n"), HttpFault::kBadVersion);
  EXPECT_EQ(Fault("GET / HTTP/1.1\r\nHost : n\r\n\r\n"), HttpFault::kMalformed);  // space before :
  EXPECT_EQ(Fault("GET / HTTP/1.1\r\nHost: n\r\nNo colon\r\n\r\n"), HttpFault::kMalformed);
  EXPECT_EQ(Fault("GET / HTTP/1.1\r\nHost: n\r\n: empty name\r\n\r\n"), HttpFault::kMalformed);
  EXPECT_EQ(Fault(std::string("GET / HTTP/1.1\r\nHost: n\r\nX: a\0b\r\n\r\n", 35)),
            HttpFault::kMalformed);  // NUL in a value
  EXPECT_EQ(Fault("GET / HTTP/1.1\r\nHost: n\r\nX: \x01\r\n\r\n"), HttpFault::kMalformed);
  EXPECT_EQ(Fault("GET / HTTP/1.1\r\nHost: n\r\nX: caf\xc3\xa9\r\n\r\n"), HttpFault::kNone);
  EXPECT_EQ(Fault("GET / HTTP/1.1\r\n\r\n"), HttpFault::kMalformed);  // no Host
  EXPECT_EQ(Fault("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), HttpFault::kMalformed);
  EXPECT_EQ(Fault("GET / HTTP/1.1\r\nHost: n\r\nExpect: something\r\n\r\n"),
            HttpFault::kExpectation);
}

TEST(HttpHeadTest, LineAndFieldLimitsInTheParser) {
  HttpHeadLimits limits;
  limits.max_fields = 2;
  HttpHead h;
  EXPECT_EQ(ParseHttpHead("GET / HTTP/1.1\r\nHost: n\r\nA: 1\r\nB: 2\r\n\r\n", limits, h),
            HttpFault::kHeadTooLarge);
  limits = {};
  limits.max_field_line = 20;
  EXPECT_EQ(ParseHttpHead("GET / HTTP/1.1\r\nHost: n\r\nX: " + std::string(30, 'a') + "\r\n\r\n",
                          limits, h),
            HttpFault::kHeadTooLarge);
  limits = {};
  limits.max_request_line = 20;
  EXPECT_EQ(
      ParseHttpHead("GET /" + std::string(30, 'a') + " HTTP/1.1\r\nHost: n\r\n\r\n", limits, h),
      HttpFault::kUriTooLong);
}

TEST(HttpHeadTest, ContentLength) {
  HttpHead h;
  ASSERT_EQ(ParseWhole("POST / HTTP/1.1\r\nHost: n\r\nContent-Length: 5, 5\r\n"
                       "content-length: 005\r\n\r\n",
                       h),
            HttpFault::kNone);  // identical values are one (RFC 9110 §8.6)
  EXPECT_EQ(h.content_length, 5u);
  EXPECT_EQ(Fault("POST / HTTP/1.1\r\nHost: n\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
            HttpFault::kMalformed);
  EXPECT_EQ(Fault("POST / HTTP/1.1\r\nHost: n\r\nContent-Length: 5, 6\r\n\r\n"),
            HttpFault::kMalformed);
  EXPECT_EQ(Fault("POST / HTTP/1.1\r\nHost: n\r\nContent-Length: -1\r\n\r\n"),
            HttpFault::kMalformed);
  EXPECT_EQ(Fault("POST / HTTP/1.1\r\nHost: n\r\nContent-Length: +1\r\n\r\n"),
            HttpFault::kMalformed);
  EXPECT_EQ(Fault("POST / HTTP/1.1\r\nHost: n\r\nContent-Length: 0x10\r\n\r\n"),
            HttpFault::kMalformed);
  EXPECT_EQ(Fault("POST / HTTP/1.1\r\nHost: n\r\nContent-Length: 1 2\r\n\r\n"),
            HttpFault::kMalformed);
  EXPECT_EQ(Fault("POST / HTTP/1.1\r\nHost: n\r\nContent-Length:\r\n\r\n"), HttpFault::kMalformed);
  // Huge values do not wrap: they saturate, and the front door answers 413.
  ASSERT_EQ(ParseWhole("POST / HTTP/1.1\r\nHost: n\r\nContent-Length: "
                       "99999999999999999999999999999\r\n\r\n",
                       h),
            HttpFault::kNone);
  EXPECT_EQ(h.content_length, UINT64_MAX);
  ASSERT_EQ(
      ParseWhole("POST / HTTP/1.1\r\nHost: n\r\nContent-Length: 18446744073709551616\r\n\r\n", h),
      HttpFault::kNone);
  EXPECT_EQ(h.content_length, UINT64_MAX);
}

TEST(HttpHeadTest, TransferEncoding) {
  HttpHead h;
  ASSERT_EQ(ParseWhole("POST / HTTP/1.1\r\nHost: n\r\nTransfer-Encoding: Chunked\r\n\r\n", h),
            HttpFault::kNone);
  EXPECT_EQ(h.body, HttpHead::Body::kChunked);
  // Both framings at once: the classic smuggling pair.
  EXPECT_EQ(Fault("POST / HTTP/1.1\r\nHost: n\r\nContent-Length: 3\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n"),
            HttpFault::kMalformed);
  EXPECT_EQ(Fault("POST / HTTP/1.1\r\nHost: n\r\nTransfer-Encoding: chunked\r\n"
                  "Content-Length: 3\r\n\r\n"),
            HttpFault::kMalformed);
  EXPECT_EQ(Fault("POST / HTTP/1.1\r\nHost: n\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
            HttpFault::kNotImplemented);
  EXPECT_EQ(Fault("POST / HTTP/1.1\r\nHost: n\r\nTransfer-Encoding: gzip\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n"),
            HttpFault::kNotImplemented);
  EXPECT_EQ(Fault("POST / HTTP/1.1\r\nHost: n\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
            HttpFault::kMalformed);
  EXPECT_EQ(Fault("POST / HTTP/1.1\r\nHost: n\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"),
            HttpFault::kMalformed);
  EXPECT_EQ(Fault("POST / HTTP/1.1\r\nHost: n\r\nTransfer-Encoding: identity\r\n\r\n"),
            HttpFault::kMalformed);
  EXPECT_EQ(Fault("POST / HTTP/1.1\r\nHost: n\r\nTransfer-Encoding:\r\n\r\n"),
            HttpFault::kMalformed);
  EXPECT_EQ(Fault("POST / HTTP/1.1\r\nHost: n\r\nTransfer-Encoding: xchunked\r\n\r\n"),
            HttpFault::kMalformed);
  EXPECT_EQ(Fault("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), HttpFault::kMalformed);
}

TEST(HttpHeadTest, SerializedHeadHasOneFramingAndNoPseudoFields) {
  HttpHead h;
  ASSERT_EQ(ParseWhole("POST /m HTTP/1.1\r\nHost: n\r\nTransfer-Encoding: chunked\r\n"
                       "Expect: 100-continue\r\nREMOTE_ADDR: 6.6.6.6\r\nX-A:  b \r\n\r\n",
                       h),
            HttpFault::kNone);
  EXPECT_EQ(SerializeHttpHead(h, 42),
            "POST /m HTTP/1.1\r\nHost: n\r\nX-A: b\r\nContent-Length: 42\r\n\r\n");
  ASSERT_EQ(ParseWhole("GET / HTTP/1.0\r\n\r\n", h), HttpFault::kNone);
  EXPECT_EQ(SerializeHttpHead(h, 0), "GET / HTTP/1.0\r\n\r\n");
}

// ---------------------------------------------------------------------------------------

struct Decoded {
  HttpFault fault = HttpFault::kNone;
  bool done = false;
  std::string body;
  size_t used = 0;
};

Decoded Decode(const std::string& in, uint64_t max = 1 << 20, bool byte_by_byte = false) {
  HttpChunkedDecoder d(max, 64, 64);
  Decoded out;
  if (byte_by_byte) {
    for (size_t i = 0; i < in.size() && !d.done() && d.fault() == HttpFault::kNone; ++i) {
      out.used += d.Feed(std::string_view(in).substr(i, 1));
    }
  } else {
    out.used = d.Feed(in);
  }
  out.fault = d.fault();
  out.done = d.done();
  out.body = d.body();
  return out;
}

TEST(HttpHeadChunkedDecoderTest, DecodesAndStopsAtTheEnd) {
  const std::string in = "5\r\nhello\r\n7;name=\"v;x\" ;flag\r\n, world\r\n0\r\n\r\nGET /next";
  for (bool one : {false, true}) {
    Decoded d = Decode(in, 1 << 20, one);
    EXPECT_EQ(d.fault, HttpFault::kNone);
    EXPECT_TRUE(d.done);
    EXPECT_EQ(d.body, "hello, world");
    EXPECT_EQ(d.used, in.find("GET /next"));
  }
  Decoded upper = Decode("A\r\n0123456789\r\n000\r\n\r\n");
  EXPECT_TRUE(upper.done);
  EXPECT_EQ(upper.body, "0123456789");
  EXPECT_FALSE(Decode("5\r\nhel").done);
}

TEST(HttpHeadChunkedDecoderTest, TrailersAreCheckedAndDropped) {
  Decoded d = Decode("3\r\nabc\r\n0\r\nX-Sum: 1\r\nY: 2\r\n\r\n");
  EXPECT_TRUE(d.done);
  EXPECT_EQ(d.body, "abc");
  EXPECT_EQ(Decode("0\r\nno colon\r\n\r\n").fault, HttpFault::kMalformed);
  EXPECT_EQ(Decode("0\r\n folded: x\r\n\r\n").fault, HttpFault::kMalformed);
  EXPECT_EQ(Decode("0\r\nX: 1\n\r\n").fault, HttpFault::kMalformed);
  // The trailer section is bounded (64 bytes in these tests).
  std::string trailers = "0\r\n";
  for (int i = 0; i < 5; ++i) trailers += "T" + std::to_string(i) + ": 1234567890\r\n";
  EXPECT_EQ(Decode(trailers + "\r\n").fault, HttpFault::kHeadTooLarge);
}

TEST(HttpHeadChunkedDecoderTest, HostileInputs) {
  EXPECT_EQ(Decode("\r\n").fault, HttpFault::kMalformed);             // no size
  EXPECT_EQ(Decode("x\r\n").fault, HttpFault::kMalformed);            // not hex
  EXPECT_EQ(Decode("-1\r\n").fault, HttpFault::kMalformed);           // negative
  EXPECT_EQ(Decode("5 \r\nhello\r\n").fault, HttpFault::kMalformed);  // space, no extension
  EXPECT_EQ(Decode("5\nhello\r\n").fault, HttpFault::kMalformed);     // bare LF
  EXPECT_EQ(Decode("5\r\nhelloXY").fault, HttpFault::kMalformed);     // no CRLF after the data
  EXPECT_EQ(Decode("5\r\nhello\n0\r\n\r\n").fault, HttpFault::kMalformed);
  EXPECT_EQ(Decode("5;\x01\r\nhello\r\n").fault, HttpFault::kMalformed);  // control in ext
  EXPECT_EQ(Decode("0x5\r\nhello\r\n").fault, HttpFault::kMalformed);
  // A size line longer than the bound (64 in these tests), e.g. an endless extension.
  EXPECT_EQ(Decode("5;" + std::string(100, 'e') + "\r\n").fault, HttpFault::kMalformed);
  // Sizes that overflow 64 bits, or pass the body limit, are too large, not wrapped.
  EXPECT_EQ(Decode("10000000000000001\r\n").fault, HttpFault::kBodyTooLarge);
  EXPECT_EQ(Decode("ffffffffffffffffffff\r\n").fault, HttpFault::kBodyTooLarge);
  EXPECT_EQ(Decode("11\r\n", 16).fault, HttpFault::kBodyTooLarge);
  EXPECT_EQ(Decode("8\r\n12345678\r\n9\r\n", 16).fault, HttpFault::kBodyTooLarge);
  Decoded exact = Decode("8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n", 16);
  EXPECT_TRUE(exact.done);
  EXPECT_EQ(exact.body.size(), 16u);
  // Leading zeros do not count against anything.
  EXPECT_TRUE(Decode("0000000000000000000000000003\r\nabc\r\n0\r\n\r\n").done);
}

}  // namespace
}  // namespace http
