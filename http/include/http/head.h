// HTTP/1.1 request framing (RFC 9112), apart from the socket: where a request head ends,
// what it says (request line, fields, Content-Length, Transfer-Encoding, Expect,
// Connection), the head handed on to cpp-httplib, and a decoder for chunked bodies. The
// front door (front_door.cc) feeds what it read and asks what it has; nothing here
// does I/O, and every input is bounded.
//
// Strict where leniency lets two parsers disagree about where a request ends (request
// smuggling): only CRLF ends a line (a bare LF or CR is refused), obs-fold is refused, no
// whitespace before a field's colon, Content-Length and Transfer-Encoding never together,
// conflicting Content-Lengths refused, "chunked" the only transfer coding.
//
// Thread-safety: pure functions; a scanner or decoder belongs to one request.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace http {

struct HttpHeadLimits {
  size_t max_head_bytes = 64 * 1024;  // leading empty lines, request line, fields, empty line
  size_t max_request_line = 8192;     // with its CRLF (cpp-httplib's own limit)
  size_t max_field_line = 8192;       // one field line with its CRLF (cpp-httplib's own limit)
  size_t max_fields = 100;
};

// Why a head or body was refused; the front door maps each to one reply and one counter.
enum class HttpFault {
  kNone,
  kMalformed,       // 400
  kHeadTooLarge,    // 431: the head, one field line (or trailer section) or field count
  kUriTooLong,      // 414: the request line
  kBodyTooLarge,    // 413
  kNotImplemented,  // 501: a transfer coding other than chunked
  kBadVersion,      // 505: not HTTP/1.x
  kExpectation,     // 417: an Expect other than 100-continue
};

// Finds the end of a request head as bytes arrive. Empty lines before the request line
// are skipped (RFC 9112 §2.2). Any LF ends a line here, so a head with bare LFs still ends
// promptly and is then refused by ParseHttpHead; the line and size limits apply as the
// bytes come, before the end is seen.
class HttpHeadScanner {
 public:
  enum class State { kNeedMore, kComplete, kFault };

  explicit HttpHeadScanner(const HttpHeadLimits& limits) : limits_(limits) {}

  // `buf` is everything received for this request so far; earlier calls saw a prefix of it.
  State Scan(std::string_view buf);

  // kComplete: the head is buf[start(), end()); end() is where the body begins.
  size_t start() const { return start_; }
  size_t end() const { return end_; }
  HttpFault fault() const { return fault_; }
  // Whether any of the head itself (not just leading empty lines) has arrived.
  bool started() const { return started_; }

 private:
  HttpHeadLimits limits_;
  size_t pos_ = 0;         // next byte to look at
  size_t line_start_ = 0;  // where the current line began
  size_t start_ = 0;       // where the request line began
  size_t end_ = 0;
  size_t fields_ = 0;
  bool leading_ = true;  // still before the request line
  bool started_ = false;
  HttpFault fault_ = HttpFault::kNone;
};

struct HttpHead {
  enum class Body { kNone, kLength, kChunked };

  std::string method;
  std::string target;
  int minor_version = 1;  // HTTP/1.<minor>; a higher minor is read as 1.1 (RFC 9110 §6.2)
  // Field lines as received, in order; values without surrounding whitespace.
  std::vector<std::pair<std::string, std::string>> fields;
  Body body = Body::kNone;
  uint64_t content_length = 0;  // kLength; UINT64_MAX for a value too large to hold
  bool expect_continue = false;
  // RFC 9112 §9.3: HTTP/1.1 unless "Connection: close"; HTTP/1.0 with "keep-alive".
  bool keep_alive = true;
};

// Parses a head found by HttpHeadScanner: `head` runs from the request line through the
// empty line. kNone on success.
HttpFault ParseHttpHead(std::string_view head, const HttpHeadLimits& limits, HttpHead& out);

// The head handed to cpp-httplib: the request line (as HTTP/1.x with x = minor_version),
// every field but Content-Length, Transfer-Encoding, Expect and the names cpp-httplib sets
// itself (REMOTE_ADDR, REMOTE_PORT, LOCAL_ADDR, LOCAL_PORT), then "Content-Length:
// body_length" when the request has a body, and the empty line. cpp-httplib then sees one
// plain framing only, the one the front door read, and writes no interim response itself.
std::string SerializeHttpHead(const HttpHead& head, uint64_t body_length);

// Decodes a chunked body (RFC 9112 §7.1) as bytes arrive. Chunk extensions are checked for
// shape and dropped; trailer fields are checked for shape, bounded and dropped (RFC 9110
// §6.5.1 lets a recipient discard them).
class HttpChunkedDecoder {
 public:
  // REQUIRES: max_body < 2^59.
  explicit HttpChunkedDecoder(uint64_t max_body, size_t max_line = 4096,
                              size_t max_trailer_bytes = 16 * 1024);

  // Consumes bytes from the front of `in` and returns how many; stops right after the
  // body's last CRLF, leaving what follows (a pipelined request) unread, or at a fault.
  size_t Feed(std::string_view in);

  bool done() const { return state_ == State::kDone; }
  HttpFault fault() const { return fault_; }
  std::string& body() { return body_; }

 private:
  enum class State { kSizeLine, kData, kDataCr, kDataLf, kTrailer, kDone, kFault };
  bool EndSizeLine();
  bool EndTrailerLine();
  size_t Fail(HttpFault f, size_t consumed);

  uint64_t max_body_;
  size_t max_line_;
  size_t max_trailer_bytes_;
  State state_ = State::kSizeLine;
  std::string line_;        // the size or trailer line so far, without its LF
  uint64_t remaining_ = 0;  // of the current chunk's data
  size_t trailer_bytes_ = 0;
  std::string body_;
  HttpFault fault_ = HttpFault::kNone;
};

}  // namespace http
