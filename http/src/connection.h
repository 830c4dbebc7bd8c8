// The HTTP front door's connections (http/front_door.h): LaunchHttpConnection() serves one
// accepted connection as a coroutine on its own strand. It reads each request under the
// limits and deadlines, hands the complete request to a worker of the HttpWorkerPool (which
// runs cpp-httplib's process_request() over it), writes the response as the worker produces
// it, and goes on while the connection is kept alive. HttpContext is what every connection
// of one listener shares.
//
// Internal to front_door.cc; not part of the server's interface.
//
// Thread-safety: a connection's state is touched only on its strand; RequestStop() and
// ForceClose() may be called from any thread. HttpContext members are immutable after
// Start() except the atomics and the maps guarded by `mu`. HttpWorkerPool is thread-safe.
#pragma once

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/thread_annotations.h"
#include "http/front_door.h"

namespace http {

// Why the front door refused or cut a connection; one counter each.
enum class HttpRejectReason {
  kPerIp,
  kGlobal,
  kHeadTimeout,
  kBodyTimeout,
  kHeadTooLarge,
  kBodyTooLarge,
  kMalformed,
  kWriteTimeout,
  kBusy,
};

const char* HttpRejectReasonName(HttpRejectReason r);  // the metric's label
void CountRejection(HttpFrontDoorStats& s, HttpRejectReason r);
// True at most once per 10 s for one `last`: warnings about refusals that come in floods.
bool WarnDue(std::atomic<int64_t>& last);
// The routes' error shape (util.h SendError) as a whole HTTP/1.1 response that closes
// the connection: JSON, Connection: close, Retry-After on 429 and 503.
std::string HttpErrorResponse(int status, const std::string& code, const std::string& message);

// A fixed pool of threads running complete requests in arrival order. The queue holds at
// most one job per connection, so max_connections bounds it.
class HttpWorkerPool {
 public:
  struct Job {
    std::function<void()> run;
    std::function<void()> abandon;  // called instead of run when the pool shuts down first
  };

  explicit HttpWorkerPool(int threads);
  ~HttpWorkerPool();  // Shutdown()
  HttpWorkerPool(const HttpWorkerPool&) = delete;
  HttpWorkerPool& operator=(const HttpWorkerPool&) = delete;

  bool Submit(Job job) EXCLUDES(mu_);  // false once Shutdown() began
  // Abandons queued jobs, lets running ones finish, joins. Idempotent.
  void Shutdown() EXCLUDES(mu_);

 private:
  void Work() EXCLUDES(mu_);

  common::Mutex mu_;
  std::condition_variable_any cv_;
  std::deque<Job> queue_ GUARDED_BY(mu_);
  bool closed_ GUARDED_BY(mu_) = false;
  std::vector<std::jthread> threads_;
};

struct HttpPeer {
  std::string remote_ip;  // IPv4-mapped IPv6 as IPv4
  uint16_t remote_port = 0;
  std::string local_ip;
  uint16_t local_port = 0;
};

// What Stop() may ask of a live connection.
class HttpConnection {
 public:
  virtual ~HttpConnection() = default;
  // Idle connections and those still receiving a request close now; a request with a
  // worker is answered first.
  virtual void RequestStop() = 0;
  // After the drain deadline: the response in progress is abandoned, its worker's writes
  // fail, and the connection closes.
  virtual void ForceClose() = 0;
};

struct HttpContext {
  HttpFrontDoorConfig config;  // max_connections and max_buffered_body_bytes as effective
  HttpRouter* router = nullptr;
  std::shared_ptr<HttpFrontDoorStats> stats;
  std::unique_ptr<asio::ssl::context> tls;  // null: plain HTTP
  std::shared_ptr<HttpWorkerPool> pool;
  std::atomic<bool> stopping{false};
  std::atomic<int64_t> last_warn_limit{0};
  std::atomic<int64_t> last_warn_busy{0};
  std::atomic<int> rejecting{0};  // connections refused at accept, reply still going out

  common::Mutex mu;
  std::condition_variable_any drained;  // notified when `connections` becomes empty
  std::unordered_map<uint64_t, std::weak_ptr<HttpConnection>> connections GUARDED_BY(mu);
  std::unordered_map<std::string, size_t> per_ip GUARDED_BY(mu);  // live connections
};

// Serves an accepted connection. REQUIRES: the caller counted it in stats->connections_active
// and per_ip[peer.remote_ip]; the connection gives both back when it ends (or at once when
// it cannot be made: then this throws). `socket` is bound to the connection's strand.
void LaunchHttpConnection(std::shared_ptr<HttpContext> ctx, asio::ip::tcp::socket socket,
                          uint64_t id, HttpPeer peer);

}  // namespace http
