// HttpFrontDoor: the HTTP listener's connection handling, on an Asio event loop, in front
// of cpp-httplib's routing. A slow client costs a socket and a small buffer, never a
// worker thread: the event loop accepts (TLS too), reads a whole request (head and body)
// under deadlines and size limits, and only a complete request goes to a worker, which
// runs cpp-httplib's process_request() over it (HttpRouter). The worker's response goes
// back through the event loop, which writes it under a write deadline; a worker producing
// a large response waits while more than output_buffer_bytes are not yet written.
//
// Every refusal the front door writes itself has the routes' JSON shape
// ({"error": {"code", "message"}}), Connection: close, and Retry-After on 429 and 503;
// each is counted by reason (HttpFrontDoorStats, rendered by AppendHttpFrontDoorMetrics).
//
// Thread-safety: Start(), Stop() and the destructor are called from one owning thread;
// port() and stats() from any thread.
// Ownership: the HttpRouter is borrowed and must outlive the front door; after Stop()
// returns no worker calls it.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "http/head.h"

namespace http {

// cpp-httplib's Server with its per-request entry point opened: process_request() runs one
// request from any httplib::Stream (protected in cpp-httplib 0.11).
class HttpRouter : public httplib::Server {
 public:
  using httplib::Server::process_request;
  // cpp-httplib's content providers stop when the listening socket is INVALID_SOCKET, which
  // it is when cpp-httplib does not listen itself: `serving` says whether they may run.
  void SetServing(bool serving) { svr_sock_ = serving ? 0 : INVALID_SOCKET; }
};

struct HttpFrontDoorConfig {
  std::string listen_address = "127.0.0.1";  // IPv4 or IPv6 literal; "::" is dual-stack
  uint16_t port = 8080;                      // 0 picks a free port; see port()
  std::string tls_cert_file, tls_key_file;   // both or neither; TLS 1.2 or newer
  int io_threads = 1;                        // event-loop threads
  int worker_threads = 8;                    // threads running cpp-httplib's routes

  // Connections past this many get 503 (plain TCP) and are closed.
  size_t max_connections = 4096;
  // Connections past this many from one address (IPv4-mapped IPv6 counted as IPv4) get 429.
  size_t max_connections_per_ip = 128;
  // The whole request head must arrive within this time from the connection's start (TLS
  // handshake included) or, on a kept-alive connection, from the next request's first byte.
  std::chrono::milliseconds header_timeout{std::chrono::seconds(10)};
  // A kept-alive connection may wait this long for its next request to begin.
  std::chrono::milliseconds keepalive_timeout{std::chrono::seconds(5)};
  // The body must keep up an average of body_min_rate bytes per second after a grace of
  // body_timeout, and no read may wait longer than body_idle_timeout: the body of n bytes
  // has at most body_timeout + n / body_min_rate in all.
  std::chrono::milliseconds body_timeout{std::chrono::seconds(60)};
  std::chrono::milliseconds body_idle_timeout{std::chrono::seconds(30)};
  uint64_t body_min_rate = 16 * 1024;
  // Each piece of output handed to the socket (at most about output_buffer_bytes) must be
  // taken by the client within this time, or the connection is cut.
  std::chrono::milliseconds write_timeout{std::chrono::seconds(30)};
  uint64_t max_body_bytes = (50ull << 20) + 1;  // 413 past it; REQUIRES < 2^59
  // Request bodies held by all connections together; a body that would pass it gets 503.
  uint64_t max_buffered_body_bytes = 1ull << 30;
  size_t output_buffer_bytes = 1 << 20;  // per response, between a worker and the socket
  size_t max_requests_per_connection = 1000;
  // Stop() lets requests already with a worker finish for this long.
  std::chrono::milliseconds drain_timeout{std::chrono::seconds(30)};
  HttpHeadLimits head_limits;
};

struct HttpFrontDoorStatsSnapshot {
  uint64_t connections_active = 0;
  uint64_t connections_accepted = 0;
  uint64_t requests = 0;  // complete requests handed to a worker
  uint64_t requests_in_flight = 0;
  uint64_t buffered_body_bytes = 0;
  // Connections refused or closed by the front door, by reason.
  uint64_t rejected_per_ip = 0;          // 429 at accept
  uint64_t rejected_global = 0;          // 503 at accept
  uint64_t rejected_head_timeout = 0;    // 408 (or a silent close) for a late head
  uint64_t rejected_body_timeout = 0;    // 408 for a body below the minimum rate
  uint64_t rejected_head_too_large = 0;  // 431 / 414
  uint64_t rejected_body_too_large = 0;  // 413
  uint64_t rejected_malformed = 0;       // 400 / 417 / 501 / 505, failed TLS handshakes
  uint64_t rejected_write_timeout = 0;   // a client that did not take its response
  uint64_t rejected_busy = 0;            // 503: body memory or worker pool unavailable
};

struct HttpFrontDoorStats {
  std::atomic<uint64_t> connections_active{0};
  std::atomic<uint64_t> connections_accepted{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> requests_in_flight{0};
  std::atomic<uint64_t> buffered_body_bytes{0};
  std::atomic<uint64_t> rejected_per_ip{0};
  std::atomic<uint64_t> rejected_global{0};
  std::atomic<uint64_t> rejected_head_timeout{0};
  std::atomic<uint64_t> rejected_body_timeout{0};
  std::atomic<uint64_t> rejected_head_too_large{0};
  std::atomic<uint64_t> rejected_body_too_large{0};
  std::atomic<uint64_t> rejected_malformed{0};
  std::atomic<uint64_t> rejected_write_timeout{0};
  std::atomic<uint64_t> rejected_busy{0};

  HttpFrontDoorStatsSnapshot Snapshot() const;
};

class HttpFrontDoor {
 public:
  // REQUIRES: `router` outlives this object.
  HttpFrontDoor(HttpFrontDoorConfig config, HttpRouter& router);
  ~HttpFrontDoor();  // Stop()s if running
  HttpFrontDoor(const HttpFrontDoor&) = delete;
  HttpFrontDoor& operator=(const HttpFrontDoor&) = delete;

  // Loads the TLS files, binds, listens and starts the event loop and the workers. Errors
  // (unreadable certificate, address in use) say what and where.
  common::Status Start();
  // Stops accepting, closes idle connections and those still sending a request, lets
  // requests already with a worker finish and be answered (up to drain_timeout), then
  // joins every thread. Idempotent.
  void Stop();

  uint16_t port() const { return port_.load(); }  // the bound port once Start() succeeded
  HttpFrontDoorStatsSnapshot stats() const { return stats_->Snapshot(); }
  std::shared_ptr<const HttpFrontDoorStats> shared_stats() const { return stats_; }

  struct Impl;

 private:
  HttpFrontDoorConfig config_;
  HttpRouter& router_;
  std::atomic<uint16_t> port_{0};
  std::shared_ptr<HttpFrontDoorStats> stats_;
  std::unique_ptr<Impl> impl_;
};

// Prometheus text: http_connections_active, http_connections_accepted_total,
// http_connections_rejected_total{reason="…"}, http_requests_dispatched_total,
// http_requests_in_flight, http_buffered_body_bytes.
void AppendHttpFrontDoorMetrics(const HttpFrontDoorStatsSnapshot& s, std::string& out);

}  // namespace http
