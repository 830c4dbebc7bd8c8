// The witness's HTTP listener (cpp-httplib): POST /add-checkpoint and nothing else
// (other methods on it: 405; other paths: 404). Bounded: a request body limit, read and
// write timeouts, a fixed pool of worker threads with a bounded queue of accepted
// connections, keep-alive connections with an idle timeout and a cap on the requests each
// carries. Every request's outcome is logged at info (origin, sizes, status,
// reason): never a key, never the body.
//
// Thread-safety: Stop() may be called from any thread (a signal handler's thread); the rest
// from the thread that owns the server.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "common/result.h"
#include "witness/witness.h"

namespace witness {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;                       // 0: any free port (see port())
  size_t max_body_bytes = 64 * 1024;  // 63 proof lines and a note with 100 signatures fit
  int threads = 4;
  size_t max_pending_connections = 64;  // accepted, waiting for a thread; then accept waits
  int read_timeout_s = 10;
  int write_timeout_s = 10;
  int keep_alive_timeout_s = 5;  // an idle keep-alive connection holds a thread this long
  size_t keep_alive_max_requests = 1000;
};

class HttpServer {
 public:
  // `witness` must outlive the server.
  HttpServer(Witness& witness, HttpServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds the socket; kUnavailable when the address cannot be bound.
  common::Status Bind();
  // The bound port (after Bind()).
  int port() const { return port_; }
  // Serves until Stop(). REQUIRES: Bind() succeeded.
  common::Status Serve();
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  HttpServerOptions options_;
  int port_ = 0;
};

// "HOST:PORT" ("[::1]:PORT" for IPv6); kInvalidInput otherwise.
common::Result<std::pair<std::string, int>> ParseListenAddress(std::string_view s);

}  // namespace witness
