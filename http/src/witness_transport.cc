#include "http/witness_transport.h"

#include <httplib.h>

#include <chrono>
#include <string>

namespace http {
namespace {

// An answer is a few signature lines (or a size, or an error): bytes. The limit keeps a
// hostile witness from making notaryd buffer without bound.
constexpr size_t kMaxAnswerBytes = 64 << 10;

common::Result<pipeline::WitnessReply> Post(const std::string& url, std::string_view body,
                                            std::chrono::milliseconds timeout) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) {
    return common::Error::InvalidInput("witness URL needs a scheme");
  }
  const auto path_start = url.find('/', scheme_end + 3);
  const std::string base = url.substr(0, path_start);
  const std::string path = path_start == std::string::npos ? "/" : url.substr(path_start);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  httplib::Client client(base);
  client.set_connection_timeout(timeout);
  client.set_read_timeout(timeout);
  client.set_write_timeout(timeout);
  httplib::Request req;
  req.method = "POST";
  req.path = path;
  req.set_header("Content-Type", "text/plain; charset=utf-8");
  req.body.assign(body.data(), body.size());
  std::string answer;
  bool too_large = false, too_slow = false;
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    if (answer.size() + n > kMaxAnswerBytes) {
      too_large = true;
      return false;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      too_slow = true;
      return false;
    }
    answer.append(data, n);
    return true;
  };
  auto res = client.send(req);
  if (too_large) return common::Error::Unavailable("witness answer larger than 64 KiB");
  if (too_slow) return common::Error::Unavailable("witness answer slower than the timeout");
  if (!res) {
    return common::Error::Unavailable("witness unreachable: " + httplib::to_string(res.error()));
  }
  return pipeline::WitnessReply{res->status, res->get_header_value("Content-Type"),
                                std::move(answer)};
}

}  // namespace

pipeline::WitnessTransport HttpWitnessTransport() { return Post; }

}  // namespace http
