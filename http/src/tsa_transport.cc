#include "http/tsa_transport.h"

#include <httplib.h>

#include <chrono>
#include <string>

namespace http {
namespace {

// A reply carries one token and its certificates: kilobytes. The limit keeps a hostile or
// broken authority from making the sealer buffer without bound.
constexpr size_t kMaxReplyBytes = 1 << 20;

common::Result<std::string> Post(const std::string& url, std::string_view query_der) {
  // Split scheme://host[:port]/path.
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return common::Error::InvalidInput("TSA URL needs a scheme");
  const auto path_start = url.find('/', scheme_end + 3);
  const std::string base = url.substr(0, path_start);
  const std::string path = path_start == std::string::npos ? "/" : url.substr(path_start);
  httplib::Client client(base);
  client.set_connection_timeout(std::chrono::seconds(5));
  client.set_read_timeout(std::chrono::seconds(10));
  client.set_write_timeout(std::chrono::seconds(10));
  httplib::Request req;
  req.method = "POST";
  req.path = path;
  req.set_header("Content-Type", "application/timestamp-query");
  req.body.assign(query_der.data(), query_der.size());
  std::string body;
  bool too_large = false;
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    if (body.size() + n > kMaxReplyBytes) {
      too_large = true;
      return false;
    }
    body.append(data, n);
    return true;
  };
  auto res = client.send(req);
  if (too_large) return common::Error::Unavailable("TSA reply larger than 1 MiB");
  if (!res) {
    return common::Error::Unavailable("TSA unreachable: " + httplib::to_string(res.error()));
  }
  if (res->status != 200) {
    return common::Error::Unavailable("TSA answered HTTP " + std::to_string(res->status));
  }
  return body;
}

}  // namespace

pipeline::TsaTransport HttpTsaTransport() { return Post; }

}  // namespace http
