#include "connection.h"

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <utility>

#include "common/utf8.h"

namespace http {
namespace {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr size_t kHeadReadChunk = 4096;
constexpr size_t kBodyReadChunk = 64 * 1024;
// A connection the front door ends after answering: the client's further bytes are read
// and dropped for up to kLingerTime / kLingerBytes after our side is shut down (a
// lingering close), so that closing with unread input does not reset the connection and
// destroy the reply before the client reads it.
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr size_t kLingerBytes = 256 * 1024;
// Rate limit of the warnings for refusals that can come in floods; the counters are exact.
constexpr auto kWarnInterval = std::chrono::seconds(10);

// A reply the front door writes itself before closing.
struct Refusal {
  int status;
  const char* code;
  const char* message;
  HttpRejectReason reason;
};

Refusal FromFault(HttpFault f) {
  switch (f) {
    case HttpFault::kHeadTooLarge:
      return {431, "header_too_large", "request header fields too large",
              HttpRejectReason::kHeadTooLarge};
    case HttpFault::kUriTooLong:
      return {414, "uri_too_long", "request line too long", HttpRejectReason::kHeadTooLarge};
    case HttpFault::kBodyTooLarge:
      return {413, "too_large", "request body too large", HttpRejectReason::kBodyTooLarge};
    case HttpFault::kNotImplemented:
      return {501, "not_implemented", "send the body with Content-Length or chunked only",
              HttpRejectReason::kMalformed};
    case HttpFault::kBadVersion:
      return {505, "http_version_not_supported", "only HTTP/1.0 and HTTP/1.1 are served",
              HttpRejectReason::kMalformed};
    case HttpFault::kExpectation:
      return {417, "expectation_failed", "only Expect: 100-continue is supported",
              HttpRejectReason::kMalformed};
    case HttpFault::kMalformed:
    case HttpFault::kNone:
      break;
  }
  return {400, "bad_request", "malformed request", HttpRejectReason::kMalformed};
}

const char* StatusText(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 408:
      return "Request Timeout";
    case 413:
      return "Payload Too Large";
    case 414:
      return "URI Too Long";
    case 417:
      return "Expectation Failed";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Error";
  }
}

std::string ErrorResponse(const Refusal& r) {
  return HttpErrorResponse(r.status, r.code, r.message);
}

// ---------------------------------------------------------------------------------------
// One request's response, between the worker writing it and the connection's strand
// sending it. The worker appends to `out` and waits while more than the configured bytes
// are not yet written; the strand takes `out`, writes it, and says so.
struct Exchange {
  common::Mutex mu;
  std::condition_variable_any space;         // the worker waits here for the strand to write
  std::string out GUARDED_BY(mu);            // produced, not yet taken by the strand
  size_t writing GUARDED_BY(mu) = 0;         // taken by the strand, being written
  bool done GUARDED_BY(mu) = false;          // the worker finished
  bool failed GUARDED_BY(mu) = false;        // the connection cannot take more output
  bool keep_open GUARDED_BY(mu) = false;     // once done, whether the connection goes on
  bool wake_pending GUARDED_BY(mu) = false;  // a wake-up is posted and not yet seen
  std::function<void()> wake;                // set before the job starts: posts to the strand

  // The connection is gone: writes fail from now on and a waiting worker returns.
  void Fail() EXCLUDES(mu) {
    {
      common::MutexLock lock(mu);
      failed = true;
    }
    space.notify_all();
  }
  // Called by the worker, last.
  void Finish(bool keep) EXCLUDES(mu) {
    bool post = false;
    {
      common::MutexLock lock(mu);
      done = true;
      keep_open = keep;
      post = !wake_pending;
      wake_pending = true;
    }
    if (post) wake();
  }
};

// A complete request as a worker gets it.
struct PendingRequest {
  std::string head;     // SerializeHttpHead()
  std::string storage;  // holds the body at [body_offset, body_offset + body_length)
  size_t body_offset = 0;
  size_t body_length = 0;
  bool close = false;  // the connection ends after this response
  SSL* ssl = nullptr;  // read by the console only as "is this HTTPS"
  HttpPeer peer;
};

// cpp-httplib's view of one request: reads come from the buffered request, writes go to
// the Exchange. Used by one worker thread.
class RequestStream final : public httplib::Stream {
 public:
  RequestStream(const PendingRequest& r, Exchange& ex, size_t limit)
      : r_(r), ex_(ex), limit_(limit) {}

  bool is_readable() const override {
    return head_pos_ < r_.head.size() || body_pos_ < r_.body_length;
  }
  bool is_writable() const override {
    common::MutexLock lock(ex_.mu);
    return !ex_.failed;
  }

  ssize_t read(char* ptr, size_t size) override {
    if (head_pos_ < r_.head.size()) {
      const size_t n = std::min(size, r_.head.size() - head_pos_);
      std::memcpy(ptr, r_.head.data() + head_pos_, n);
      head_pos_ += n;
      return static_cast<ssize_t>(n);
    }
    const size_t n = std::min(size, r_.body_length - body_pos_);
    std::memcpy(ptr, r_.storage.data() + r_.body_offset + body_pos_, n);
    body_pos_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (size == 0) return 0;
    bool post = false;
    size_t n = 0;
    {
      common::MutexLock lock(ex_.mu);
      ex_.space.wait(lock, [&]() REQUIRES(ex_.mu) {
        return ex_.failed || ex_.out.size() + ex_.writing < limit_;
      });
      if (ex_.failed) return -1;
      n = std::min(size, limit_ - (ex_.out.size() + ex_.writing));
      ex_.out.append(ptr, n);
      post = !ex_.wake_pending;
      ex_.wake_pending = true;
    }
    wrote_ = true;
    if (post) ex_.wake();
    return static_cast<ssize_t>(n);
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = r_.peer.remote_ip;
    port = r_.peer.remote_port;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = r_.peer.local_ip;
    port = r_.peer.local_port;
  }
  // Not a descriptor cpp-httplib may use: it only compares it with FD_SETSIZE.
  socket_t socket() const override { return INVALID_SOCKET; }

  bool wrote() const { return wrote_; }

 private:
  const PendingRequest& r_;
  Exchange& ex_;
  const size_t limit_;
  size_t head_pos_ = 0;
  size_t body_pos_ = 0;
  bool wrote_ = false;
};

// Runs one request on a worker thread. Never throws.
void RunRequest(HttpRouter& router, const PendingRequest& r, Exchange& ex, size_t limit) {
  RequestStream strm(r, ex, limit);
  bool connection_closed = false;
  bool ok = false;
  try {
    SSL* ssl = r.ssl;
    ok = router.process_request(strm, r.close, connection_closed,
                                [ssl](httplib::Request& req) { req.ssl = ssl; });
  } catch (const std::exception& e) {
    spdlog::error("event=http_request_exception what={}", common::LogSafe(e.what()));
  } catch (...) {
    spdlog::error("event=http_request_exception what=unknown");
  }
  if (!ok && !strm.wrote()) {
    // Nothing was answered (an exception outside the routes' own handler): answer 500.
    const std::string reply = HttpErrorResponse(500, "internal", "internal error");
    size_t off = 0;
    while (off < reply.size()) {
      const ssize_t n = strm.write(reply.data() + off, reply.size() - off);
      if (n < 0) break;
      off += static_cast<size_t>(n);
    }
    connection_closed = true;
  }
  ex.Finish(ok && !connection_closed && !r.close);
}

// ---------------------------------------------------------------------------------------
// One client connection, a coroutine on its own strand: reads requests under the limits,
// hands each complete one to a worker, writes the response, and goes on while kept alive.
class Connection final : public HttpConnection, public std::enable_shared_from_this<Connection> {
 public:
  Connection(std::shared_ptr<HttpContext> ctx, tcp::socket socket, uint64_t id, HttpPeer peer)
      : ctx_(std::move(ctx)),
        executor_(socket.get_executor()),
        socket_(std::move(socket)),
        timer_(executor_),
        signal_(executor_),
        id_(id),
        peer_(std::move(peer)),
        started_(Clock::now()) {
    if (ctx_->tls) {
      tls_ = std::make_unique<asio::ssl::stream<tcp::socket>>(std::move(socket_), *ctx_->tls);
    }
  }

  ~Connection() {
    ReserveBody(0);
    common::MutexLock lock(ctx_->mu);
    auto it = ctx_->per_ip.find(peer_.remote_ip);
    if (it != ctx_->per_ip.end() && --it->second == 0) ctx_->per_ip.erase(it);
    ctx_->connections.erase(id_);
    ctx_->stats->connections_active.fetch_sub(1);
    if (ctx_->connections.empty()) ctx_->drained.notify_all();
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  static void Launch(std::shared_ptr<Connection> c) {
    {
      common::MutexLock lock(c->ctx_->mu);
      c->ctx_->connections[c->id_] = c;
    }
    // Stop() sets `stopping` before it collects the connections, so one registered after
    // that collection sees the flag here.
    if (c->ctx_->stopping.load()) c->RequestStop();
    auto ex = c->executor_;
    const uint64_t id = c->id_;
    asio::co_spawn(ex, Run(std::move(c)), [id](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex2) {
        spdlog::error("event=http_connection_exception connection={} what={}", id,
                      common::LogSafe(ex2.what()));
      } catch (...) {
        spdlog::error("event=http_connection_exception connection={} what=unknown", id);
      }
    });
  }

  // Stop(): idle connections and those still receiving a request close now; a request with
  // a worker is answered first. Any thread.
  void RequestStop() override {
    asio::post(executor_, [self = shared_from_this()] {
      self->stopping_ = true;
      if (!self->in_job_) self->CancelIo();
    });
  }

  // Stop() after its drain deadline: the response in progress is abandoned. Any thread.
  void ForceClose() override {
    {
      common::MutexLock lock(job_mu_);
      if (job_) job_->Fail();
    }
    asio::post(executor_, [self = shared_from_this()] {
      self->stopping_ = true;
      self->CancelIo();
      self->signal_.cancel();
    });
  }

 private:
  enum class Io { kOk, kTimeout, kClosed, kStopping };

  static asio::awaitable<void> Run(std::shared_ptr<Connection> self) {
    bool more = true;
    if (self->tls_) more = co_await self->Handshake();
    while (more && !self->stopping_) more = co_await self->ServeRequest();
    co_await self->Finish();
  }

  tcp::socket& Lowest() { return tls_ ? tls_->next_layer() : socket_; }

  void CancelIo() {
    asio::error_code ignored;
    Lowest().cancel(ignored);
  }

  void ArmTimer(Clock::time_point deadline) {
    timed_out_ = false;
    const uint64_t generation = ++timer_generation_;
    timer_.expires_at(deadline);
    timer_.async_wait([self = shared_from_this(), generation](const asio::error_code& ec) {
      if (ec || generation != self->timer_generation_) return;
      self->timed_out_ = true;
      self->CancelIo();
    });
  }

  void DisarmTimer() {
    ++timer_generation_;
    timer_.cancel();
  }

  // Reads what comes, at most `chunk` bytes, into in_.
  asio::awaitable<Io> ReadSome(size_t chunk, Clock::time_point deadline) {
    if (stopping_) co_return Io::kStopping;
    if (in_.empty() && in_.capacity() > 2 * kBodyReadChunk) in_.shrink_to_fit();
    const size_t old = in_.size();
    in_.resize(old + chunk);
    asio::error_code ec;
    size_t n = 0;
    ArmTimer(deadline);
    if (tls_) {
      n = co_await tls_->async_read_some(asio::buffer(in_.data() + old, chunk),
                                         asio::redirect_error(asio::use_awaitable, ec));
    } else {
      n = co_await socket_.async_read_some(asio::buffer(in_.data() + old, chunk),
                                           asio::redirect_error(asio::use_awaitable, ec));
    }
    DisarmTimer();
    in_.resize(old + n);
    if (timed_out_) co_return Io::kTimeout;
    if (stopping_ && ec) co_return Io::kStopping;
    if (ec) co_return Io::kClosed;
    co_return Io::kOk;
  }

  asio::awaitable<Io> WriteAll(std::string_view data, Clock::time_point deadline) {
    asio::error_code ec;
    ArmTimer(deadline);
    if (tls_) {
      co_await asio::async_write(*tls_, asio::buffer(data),
                                 asio::redirect_error(asio::use_awaitable, ec));
    } else {
      co_await asio::async_write(socket_, asio::buffer(data),
                                 asio::redirect_error(asio::use_awaitable, ec));
    }
    DisarmTimer();
    if (timed_out_) co_return Io::kTimeout;
    if (ec) co_return stopping_ ? Io::kStopping : Io::kClosed;
    co_return Io::kOk;
  }

  // TLS: the handshake is part of the first head's time.
  asio::awaitable<bool> Handshake() {
    asio::error_code ec;
    ArmTimer(started_ + ctx_->config.header_timeout);
    co_await tls_->async_handshake(asio::ssl::stream_base::server,
                                   asio::redirect_error(asio::use_awaitable, ec));
    DisarmTimer();
    if (timed_out_) {
      CountRejection(*ctx_->stats, HttpRejectReason::kHeadTimeout);
      close_reason_ = "tls_timeout";
      co_return false;
    }
    if (ec) {
      if (!stopping_) CountRejection(*ctx_->stats, HttpRejectReason::kMalformed);
      close_reason_ = "tls_failed";
      spdlog::debug("event=http_tls_failed connection={} error={}", id_,
                    common::LogSafe(ec.message()));
      co_return false;
    }
    tls_ready_ = true;
    co_return true;
  }

  bool Refuse(const Refusal& r) {
    refusal_ = r;
    close_reason_ = HttpRejectReasonName(r.reason);
    return false;
  }

  // Holds `bytes` of the shared body budget for this connection (0 releases it); false
  // when the budget cannot take them.
  bool ReserveBody(uint64_t bytes) {
    if (bytes <= reserved_) {
      ctx_->stats->buffered_body_bytes.fetch_sub(reserved_ - bytes);
      reserved_ = bytes;
      return true;
    }
    const uint64_t more = bytes - reserved_;
    const uint64_t before = ctx_->stats->buffered_body_bytes.fetch_add(more);
    if (before + more > ctx_->config.max_buffered_body_bytes) {
      ctx_->stats->buffered_body_bytes.fetch_sub(more);
      return false;
    }
    reserved_ = bytes;
    return true;
  }

  bool RefuseBusy() {
    if (WarnDue(ctx_->last_warn_busy)) {
      spdlog::warn("event=http_request_refused reason=busy buffered_body_bytes={} limit={}",
                   ctx_->stats->buffered_body_bytes.load(), ctx_->config.max_buffered_body_bytes);
    }
    return Refuse(
        {503, "unavailable", "the server is busy, try again later", HttpRejectReason::kBusy});
  }

  // The body may take body_timeout plus one second per body_min_rate bytes received so
  // far, and no single wait may exceed body_idle_timeout.
  Clock::time_point BodyDeadline(Clock::time_point body_start, uint64_t received) const {
    const HttpFrontDoorConfig& c = ctx_->config;
    const auto earned = std::chrono::milliseconds(received * 1000 / c.body_min_rate);
    return std::min(Clock::now() + c.body_idle_timeout, body_start + c.body_timeout + earned);
  }

  // Reads, answers and finishes one request; false when the connection ends.
  asio::awaitable<bool> ServeRequest() {
    const HttpFrontDoorConfig& c = ctx_->config;
    // The head's clock starts with the connection, or with the first byte of a later
    // request; a kept-alive connection waits keepalive_timeout for that byte.
    Clock::time_point head_start = started_;
    if (requests_ > 0) {
      if (in_.empty()) {
        const Io io = co_await ReadSome(kHeadReadChunk, Clock::now() + c.keepalive_timeout);
        if (io != Io::kOk) {
          close_reason_ = io == Io::kTimeout ? "keepalive_timeout" : "closed";
          co_return false;
        }
      }
      head_start = Clock::now();
    }
    const Clock::time_point head_deadline = head_start + c.header_timeout;
    HttpHeadScanner scanner(c.head_limits);
    for (;;) {
      const HttpHeadScanner::State st = scanner.Scan(in_);
      if (st == HttpHeadScanner::State::kComplete) break;
      if (st == HttpHeadScanner::State::kFault) co_return Refuse(FromFault(scanner.fault()));
      const Io io = co_await ReadSome(kHeadReadChunk, head_deadline);
      if (io == Io::kTimeout) {
        if (scanner.started()) {
          co_return Refuse({408, "request_timeout", "the request head did not arrive in time",
                            HttpRejectReason::kHeadTimeout});
        }
        CountRejection(*ctx_->stats, HttpRejectReason::kHeadTimeout);
        close_reason_ = "head_timeout";
        co_return false;
      }
      if (io != Io::kOk) {
        close_reason_ = io == Io::kStopping ? "stopping" : "closed";
        co_return false;
      }
    }

    HttpHead head;
    const size_t head_end = scanner.end();
    const HttpFault fault =
        ParseHttpHead(std::string_view(in_).substr(scanner.start(), head_end - scanner.start()),
                      c.head_limits, head);
    if (fault != HttpFault::kNone) co_return Refuse(FromFault(fault));
    // HTTP/1.0: one request per connection (cpp-httplib's replies do not say keep-alive).
    const bool close = !head.keep_alive || head.minor_version == 0 ||
                       requests_ + 1 >= c.max_requests_per_connection || stopping_;

    auto pending = std::make_shared<PendingRequest>();
    const Clock::time_point body_start = Clock::now();
    if (head.body == HttpHead::Body::kLength) {
      // Refused before a byte of it is read, with or without Expect: 100-continue.
      if (head.content_length > c.max_body_bytes)
        co_return Refuse(FromFault(HttpFault::kBodyTooLarge));
      const size_t length = static_cast<size_t>(head.content_length);
      if (head.expect_continue && length > 0 && in_.size() == head_end) {
        const bool go_on = co_await Continue();
        if (!go_on) co_return false;
      }
      while (in_.size() - head_end < length) {
        if (!ReserveBody(in_.size() - head_end)) co_return RefuseBusy();
        const uint64_t received = in_.size() - head_end;
        const size_t want = std::min(kBodyReadChunk, length - (in_.size() - head_end));
        const Io io = co_await ReadSome(want, BodyDeadline(body_start, received));
        if (io == Io::kTimeout) {
          co_return Refuse({408, "request_timeout", "the request body arrived too slowly",
                            HttpRejectReason::kBodyTimeout});
        }
        if (io != Io::kOk) {
          close_reason_ = io == Io::kStopping ? "stopping" : "closed";
          co_return false;
        }
      }
      if (!ReserveBody(length)) co_return RefuseBusy();
      // The buffer becomes the request; what follows the body stays for the next request.
      pending->storage = std::move(in_);
      in_.assign(pending->storage, head_end + length);
      pending->body_offset = head_end;
      pending->body_length = length;
    } else if (head.body == HttpHead::Body::kChunked) {
      if (head.expect_continue && in_.size() == head_end) {
        const bool go_on = co_await Continue();
        if (!go_on) co_return false;
      }
      HttpChunkedDecoder decoder(c.max_body_bytes);
      in_.erase(0, head_end);
      uint64_t received = 0;
      for (;;) {
        const size_t used = decoder.Feed(in_);
        in_.erase(0, used);
        received += used;
        if (decoder.fault() != HttpFault::kNone) co_return Refuse(FromFault(decoder.fault()));
        if (decoder.done()) break;
        if (!ReserveBody(decoder.body().size() + in_.size())) co_return RefuseBusy();
        const Io io = co_await ReadSome(kBodyReadChunk, BodyDeadline(body_start, received));
        if (io == Io::kTimeout) {
          co_return Refuse({408, "request_timeout", "the request body arrived too slowly",
                            HttpRejectReason::kBodyTimeout});
        }
        if (io != Io::kOk) {
          close_reason_ = io == Io::kStopping ? "stopping" : "closed";
          co_return false;
        }
      }
      if (!ReserveBody(decoder.body().size())) co_return RefuseBusy();
      pending->storage = std::move(decoder.body());
      pending->body_length = pending->storage.size();
    } else {
      in_.erase(0, head_end);
    }

    pending->head = SerializeHttpHead(head, pending->body_length);
    pending->close = close;
    pending->ssl = tls_ ? tls_->native_handle() : nullptr;
    pending->peer = peer_;
    const bool keep = co_await Dispatch(std::move(pending));
    ReserveBody(0);
    ++requests_;
    if (!keep) {
      if (close_reason_ == nullptr) close_reason_ = "done";
      linger_ = close_reason_ == std::string_view("done");
      co_return false;
    }
    co_return true;
  }

  // Expect: 100-continue: the interim response goes out before the body is read.
  asio::awaitable<bool> Continue() {
    static constexpr std::string_view k100 = "HTTP/1.1 100 Continue\r\n\r\n";
    const Io io = co_await WriteAll(k100, Clock::now() + ctx_->config.write_timeout);
    if (io == Io::kOk) co_return true;
    if (io == Io::kTimeout) CountRejection(*ctx_->stats, HttpRejectReason::kWriteTimeout);
    close_reason_ = io == Io::kTimeout ? "write_timeout" : "closed";
    co_return false;
  }

  // Hands the request to a worker and writes its response as it comes; whether the
  // connection goes on.
  asio::awaitable<bool> Dispatch(std::shared_ptr<PendingRequest> pending) {
    auto ex = std::make_shared<Exchange>();
    ex->wake = [weak = weak_from_this(), exec = executor_] {
      asio::post(exec, [weak] {
        if (auto self = weak.lock()) self->signal_.cancel();
      });
    };
    {
      common::MutexLock lock(job_mu_);
      job_ = ex;
    }
    ctx_->stats->requests.fetch_add(1);
    ctx_->stats->requests_in_flight.fetch_add(1);
    in_job_ = true;
    HttpRouter* router = ctx_->router;
    const size_t limit = ctx_->config.output_buffer_bytes;
    const bool queued = ctx_->pool->Submit(
        {[router, pending, ex, limit] { RunRequest(*router, *pending, *ex, limit); },
         [ex] {
           ex->Fail();
           ex->Finish(false);
         }});
    bool keep = false;
    if (queued) {
      keep = co_await Pump(*ex);
    } else {
      Refuse({503, "unavailable", "the server is shutting down", HttpRejectReason::kBusy});
    }
    in_job_ = false;
    ctx_->stats->requests_in_flight.fetch_sub(1);
    {
      common::MutexLock lock(job_mu_);
      job_.reset();
    }
    co_return keep;
  }

  // Writes what the worker produces until it is done.
  asio::awaitable<bool> Pump(Exchange& ex) {
    bool broken = false;
    std::string chunk;
    for (;;) {
      bool done = false;
      {
        common::MutexLock lock(ex.mu);
        chunk.swap(ex.out);
        ex.writing = chunk.size();
        ex.wake_pending = false;
        done = ex.done;
      }
      if (!chunk.empty()) {
        if (!broken) {
          const Io io = co_await WriteAll(chunk, Clock::now() + ctx_->config.write_timeout);
          if (io != Io::kOk) {
            broken = true;
            ex.Fail();
            if (io == Io::kTimeout) {
              CountRejection(*ctx_->stats, HttpRejectReason::kWriteTimeout);
              close_reason_ = "write_timeout";
              spdlog::debug("event=http_write_timeout connection={}", id_);
            } else {
              close_reason_ = "closed";
            }
          }
        }
        chunk.clear();
        {
          common::MutexLock lock(ex.mu);
          ex.writing = 0;
        }
        ex.space.notify_all();
        continue;
      }
      if (done) {
        common::MutexLock lock(ex.mu);
        co_return !broken && ex.keep_open;
      }
      signal_.expires_at(Clock::time_point::max());
      asio::error_code ec;
      co_await signal_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  asio::awaitable<void> Finish() {
    DisarmTimer();
    const bool can_write = !tls_ || tls_ready_;
    if (refusal_) {
      CountRejection(*ctx_->stats, refusal_->reason);
      spdlog::debug("event=http_request_refused connection={} status={} reason={}", id_,
                    refusal_->status, HttpRejectReasonName(refusal_->reason));
      if (can_write) {
        const auto grace = std::min<std::chrono::milliseconds>(ctx_->config.write_timeout,
                                                               std::chrono::seconds(5));
        const Io io = co_await WriteAll(ErrorResponse(*refusal_), Clock::now() + grace);
        linger_ = io == Io::kOk;
      }
    }
    asio::error_code ignored;
    if (linger_ && !stopping_) {
      Lowest().shutdown(tcp::socket::shutdown_send, ignored);
      const Clock::time_point until = Clock::now() + kLingerTime;
      size_t dropped = 0;
      char buf[4096];
      while (dropped < kLingerBytes) {
        asio::error_code ec;
        ArmTimer(until);
        const size_t n = co_await Lowest().async_read_some(
            asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
        DisarmTimer();
        if (ec || timed_out_) break;
        dropped += n;
      }
    }
    Lowest().shutdown(tcp::socket::shutdown_both, ignored);
    Lowest().close(ignored);
    spdlog::debug("event=http_connection_closed connection={} reason={} requests={}", id_,
                  close_reason_ ? close_reason_ : "closed", requests_);
  }

  std::shared_ptr<HttpContext> ctx_;
  asio::any_io_executor executor_;  // the connection's strand
  tcp::socket socket_;              // moved into tls_ when TLS is on
  std::unique_ptr<asio::ssl::stream<tcp::socket>> tls_;
  bool tls_ready_ = false;
  asio::steady_timer timer_;   // the current deadline
  asio::steady_timer signal_;  // wakes Pump() when the worker has output or is done
  uint64_t timer_generation_ = 0;
  bool timed_out_ = false;
  bool stopping_ = false;
  bool in_job_ = false;
  bool linger_ = false;

  const uint64_t id_;
  const HttpPeer peer_;
  const Clock::time_point started_;
  std::string in_;  // received, not yet consumed (pipelined requests stay here)
  size_t requests_ = 0;
  uint64_t reserved_ = 0;  // of ctx_->stats->buffered_body_bytes
  std::optional<Refusal> refusal_;
  const char* close_reason_ = nullptr;

  common::Mutex job_mu_;
  std::shared_ptr<Exchange> job_ GUARDED_BY(job_mu_);  // the request with a worker
};

}  // namespace

const char* HttpRejectReasonName(HttpRejectReason r) {
  switch (r) {
    case HttpRejectReason::kPerIp:
      return "per_ip";
    case HttpRejectReason::kGlobal:
      return "global";
    case HttpRejectReason::kHeadTimeout:
      return "head_timeout";
    case HttpRejectReason::kBodyTimeout:
      return "body_timeout";
    case HttpRejectReason::kHeadTooLarge:
      return "head_too_large";
    case HttpRejectReason::kBodyTooLarge:
      return "body_too_large";
    case HttpRejectReason::kMalformed:
      return "malformed";
    case HttpRejectReason::kWriteTimeout:
      return "write_timeout";
    case HttpRejectReason::kBusy:
      return "busy";
  }
  return "unknown";
}

void CountRejection(HttpFrontDoorStats& s, HttpRejectReason r) {
  std::atomic<uint64_t>* c = nullptr;
  switch (r) {
    case HttpRejectReason::kPerIp:
      c = &s.rejected_per_ip;
      break;
    case HttpRejectReason::kGlobal:
      c = &s.rejected_global;
      break;
    case HttpRejectReason::kHeadTimeout:
      c = &s.rejected_head_timeout;
      break;
    case HttpRejectReason::kBodyTimeout:
      c = &s.rejected_body_timeout;
      break;
    case HttpRejectReason::kHeadTooLarge:
      c = &s.rejected_head_too_large;
      break;
    case HttpRejectReason::kBodyTooLarge:
      c = &s.rejected_body_too_large;
      break;
    case HttpRejectReason::kMalformed:
      c = &s.rejected_malformed;
      break;
    case HttpRejectReason::kWriteTimeout:
      c = &s.rejected_write_timeout;
      break;
    case HttpRejectReason::kBusy:
      c = &s.rejected_busy;
      break;
  }
  c->fetch_add(1, std::memory_order_relaxed);
}

bool WarnDue(std::atomic<int64_t>& last) {
  const int64_t now = Clock::now().time_since_epoch().count();
  int64_t prev = last.load();
  const int64_t interval = std::chrono::duration_cast<Clock::duration>(kWarnInterval).count();
  return now - prev >= interval && last.compare_exchange_strong(prev, now);
}

std::string HttpErrorResponse(int status, const std::string& code, const std::string& message) {
  const std::string body = nlohmann::json{{"error", {{"code", code}, {"message", message}}}}.dump();
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + StatusText(status) + "\r\n";
  out += "Content-Type: application/json\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += "Connection: close\r\n";
  out += "X-Content-Type-Options: nosniff\r\n";
  out += "Cache-Control: no-store\r\n";
  if (status == 429 || status == 503) out += "Retry-After: 5\r\n";
  out += "\r\n";
  out += body;
  return out;
}

HttpWorkerPool::HttpWorkerPool(int threads) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(); });
}

HttpWorkerPool::~HttpWorkerPool() { Shutdown(); }

bool HttpWorkerPool::Submit(Job job) {
  {
    common::MutexLock lock(mu_);
    if (closed_) return false;
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

void HttpWorkerPool::Shutdown() {
  std::deque<Job> left;
  {
    common::MutexLock lock(mu_);
    closed_ = true;
    left.swap(queue_);
  }
  cv_.notify_all();
  for (Job& j : left) j.abandon();
  threads_.clear();
}

void HttpWorkerPool::Work() {
  for (;;) {
    Job job;
    {
      common::MutexLock lock(mu_);
      cv_.wait(lock, [&]() REQUIRES(mu_) { return closed_ || !queue_.empty(); });
      if (queue_.empty()) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    try {
      job.run();  // RunRequest catches everything itself; this is the last line of defence
    } catch (const std::exception& e) {
      spdlog::error("event=http_worker_exception what={}", common::LogSafe(e.what()));
    } catch (...) {
      spdlog::error("event=http_worker_exception what=unknown");
    }
  }
}

void LaunchHttpConnection(std::shared_ptr<HttpContext> ctx, tcp::socket socket, uint64_t id,
                          HttpPeer peer) {
  std::shared_ptr<Connection> conn;
  try {
    conn = std::make_shared<Connection>(ctx, std::move(socket), id, peer);
  } catch (...) {
    // Never constructed, so its destructor will not give back what the caller counted.
    {
      common::MutexLock lock(ctx->mu);
      auto it = ctx->per_ip.find(peer.remote_ip);
      if (it != ctx->per_ip.end() && --it->second == 0) ctx->per_ip.erase(it);
      ctx->stats->connections_active.fetch_sub(1);
    }
    throw;
  }
  Connection::Launch(std::move(conn));
}

}  // namespace http
