// libFuzzer target for the HTTP front door's pure parsers (http/include/http/head.h) and the
// envelope of HTTP ingest (http/include/http/envelope.h): hostile bytes must give an answer,
// never a crash, hang or undefined behaviour; a chunked body decodes alike however it is
// split.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "http/envelope.h"
#include "http/head.h"

namespace {

std::string Chunked(std::string_view in, size_t chunk, bool* done) {
  http::HttpChunkedDecoder d(1 << 20);
  size_t pos = 0;
  while (pos < in.size() && !d.done() && d.fault() == http::HttpFault::kNone) {
    const size_t n = std::min(chunk, in.size() - pos);
    const size_t used = d.Feed(in.substr(pos, n));
    if (used > n) std::abort();
    pos += used;
    if (used < n) break;
  }
  *done = d.done();
  return d.done() ? d.body() : std::string();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  http::HttpHeadLimits limits;
  http::HttpHead head;
  if (http::ParseHttpHead(in, limits, head) == http::HttpFault::kNone) {
    (void)http::SerializeHttpHead(head, head.content_length == UINT64_MAX ? 0 : 1);
  }
  bool whole_done = false, one_done = false;
  const std::string whole = Chunked(in, in.size() + 1, &whole_done);
  const std::string ones = Chunked(in, 1, &one_done);
  if (whole_done != one_done || whole != ones) std::abort();

  std::vector<std::string> rcpts;
  (void)http::AppendEnvelopeToHeader(in.substr(0, 8192), 1000, rcpts);
  if (rcpts.size() > 1000) std::abort();
  (void)http::ParseEnvelopeFromHeader(in.substr(0, 8192));
  auto body = http::ParseEnvelopeBody(in, 1000);
  if (body.ok() && (body->message_offset > in.size() || body->envelope.rcpt_to.empty() ||
                    body->envelope.rcpt_to.size() > 1000)) {
    std::abort();
  }
  return 0;
}
