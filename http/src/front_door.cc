#include "http/front_door.h"

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <optional>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "common/utf8.h"
#include "connection.h"

namespace http {
namespace {

using asio::ip::tcp;

// A refused connection (limits at accept) gets this long in all for its reply and linger;
// past kMaxRejecting such connections at once, further ones are closed without a reply, so
// that a flood of connections cannot pile up descriptors in refusals.
constexpr auto kRejectGrace = std::chrono::seconds(2);
constexpr size_t kRejectLingerBytes = 64 * 1024;
constexpr int kMaxRejecting = 256;
// Descriptors kept for everything but HTTP connections (SMTP, the database, files).
constexpr rlim_t kOtherDescriptors = 1024;

std::string PeerAddress(const asio::ip::address& address) {
  // A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d; they count as IPv4.
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).to_string();
  }
  return address.to_string();
}

std::string EndpointText(const std::string& address, uint16_t port) {
  if (address.find(':') != std::string::npos) return "[" + address + "]:" + std::to_string(port);
  return address + ":" + std::to_string(port);
}

// Answers a connection refused at accept and closes it; kRejectGrace in all.
asio::awaitable<void> RejectConnection(std::shared_ptr<HttpContext> ctx, tcp::socket socket,
                                       std::string reply) {
  auto s = std::make_shared<tcp::socket>(std::move(socket));
  asio::steady_timer timer(s->get_executor());
  timer.expires_after(kRejectGrace);
  timer.async_wait([s](const asio::error_code& ec) {
    if (ec) return;
    asio::error_code ignored;
    s->cancel(ignored);
  });
  asio::error_code ec;
  co_await asio::async_write(*s, asio::buffer(reply),
                             asio::redirect_error(asio::use_awaitable, ec));
  if (!ec) {
    s->shutdown(tcp::socket::shutdown_send, ec);
    char buf[4096];
    size_t dropped = 0;
    while (!ec && dropped < kRejectLingerBytes) {
      const size_t n = co_await s->async_read_some(asio::buffer(buf),
                                                   asio::redirect_error(asio::use_awaitable, ec));
      dropped += n;
    }
  }
  timer.cancel();
  asio::error_code ignored;
  s->close(ignored);
  ctx->rejecting.fetch_sub(1);
}

void SpawnReject(const std::shared_ptr<HttpContext>& ctx, tcp::socket socket, std::string reply) {
  // A TLS client cannot read a plain reply; the close says enough. So it does in a flood.
  if (ctx->tls || ctx->rejecting.load() >= kMaxRejecting) {
    asio::error_code ignored;
    socket.close(ignored);
    return;
  }
  ctx->rejecting.fetch_add(1);
  auto ex = socket.get_executor();
  asio::co_spawn(ex, RejectConnection(ctx, std::move(socket), std::move(reply)), asio::detached);
}

// The connection limit means nothing if descriptors run out first: accept() then fails
// for everyone (EMFILE). Raises the soft RLIMIT_NOFILE toward the hard one as far as the
// limit needs, and lowers the limit to half the descriptors when they still do not suffice.
size_t FitDescriptors(size_t max_connections) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return max_connections;
  const rlim_t want = static_cast<rlim_t>(max_connections) + kOtherDescriptors;
  if (rl.rlim_cur < want) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max == RLIM_INFINITY ? want : std::min(want, rl.rlim_max);
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  if (rl.rlim_cur >= want) return max_connections;
  const size_t fit = std::max<size_t>(1, static_cast<size_t>(rl.rlim_cur / 2));
  spdlog::warn("event=http_max_connections_lowered configured={} effective={} nofile={}",
               max_connections, fit, static_cast<uint64_t>(rl.rlim_cur));
  return fit;
}

// Applies the connection limits to an accepted connection and serves or refuses it.
void Admit(const std::shared_ptr<HttpContext>& ctx, tcp::socket socket, uint64_t id) {
  const HttpFrontDoorConfig& c = ctx->config;
  asio::error_code ec;
  HttpPeer peer;
  const tcp::endpoint remote = socket.remote_endpoint(ec);
  if (ec) return;  // already gone
  const tcp::endpoint local = socket.local_endpoint(ec);
  if (ec) return;
  peer.remote_ip = PeerAddress(remote.address());
  peer.remote_port = remote.port();
  peer.local_ip = PeerAddress(local.address());
  peer.local_port = local.port();
  socket.set_option(tcp::no_delay(true), ec);

  std::optional<HttpRejectReason> refused;
  {
    common::MutexLock lock(ctx->mu);
    size_t& from_ip = ctx->per_ip[peer.remote_ip];
    if (ctx->stats->connections_active.load() >= c.max_connections) {
      refused = HttpRejectReason::kGlobal;
    } else if (from_ip >= c.max_connections_per_ip) {
      refused = HttpRejectReason::kPerIp;
    } else {
      ++from_ip;
      ctx->stats->connections_active.fetch_add(1);
    }
    if (from_ip == 0) ctx->per_ip.erase(peer.remote_ip);
  }
  if (refused) {
    CountRejection(*ctx->stats, *refused);
    if (WarnDue(ctx->last_warn_limit)) {
      spdlog::warn(
          "event=http_connection_refused reason={} peer={} active={} limit={}",
          HttpRejectReasonName(*refused), common::LogSafe(peer.remote_ip),
          ctx->stats->connections_active.load(),
          *refused == HttpRejectReason::kGlobal ? c.max_connections : c.max_connections_per_ip);
    }
    SpawnReject(ctx, std::move(socket),
                *refused == HttpRejectReason::kGlobal
                    ? HttpErrorResponse(503, "unavailable", "too many connections, try again later")
                    : HttpErrorResponse(429, "too_many_connections",
                                        "too many connections from this address"));
    return;
  }
  ctx->stats->connections_accepted.fetch_add(1);
  LaunchHttpConnection(ctx, std::move(socket), id, std::move(peer));
}

asio::awaitable<void> AcceptLoop(std::shared_ptr<HttpContext> ctx,
                                 std::shared_ptr<tcp::acceptor> acceptor,
                                 std::weak_ptr<asio::io_context> io_weak) {
  uint64_t next_id = 0;
  asio::steady_timer backoff(acceptor->get_executor());
  for (;;) {
    std::shared_ptr<asio::io_context> io = io_weak.lock();
    if (!io) co_return;
    tcp::socket socket(asio::make_strand(*io));
    io.reset();
    asio::error_code ec;
    co_await acceptor->async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
    if (ctx->stopping.load() || !acceptor->is_open()) co_return;
    if (ec) {
      // EMFILE and friends: wait instead of spinning; the listener stays up.
      spdlog::warn("event=http_accept_failed error={}", common::LogSafe(ec.message()));
      backoff.expires_after(std::chrono::milliseconds(100));
      co_await backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    // One connection's trouble (no memory, TLS state that cannot be made) must not end the
    // listener for everyone.
    try {
      Admit(ctx, std::move(socket), ++next_id);
    } catch (const std::exception& e) {
      spdlog::error("event=http_admit_failed what={}", common::LogSafe(e.what()));
    }
  }
}

}  // namespace

HttpFrontDoorStatsSnapshot HttpFrontDoorStats::Snapshot() const {
  HttpFrontDoorStatsSnapshot s;
  s.connections_active = connections_active.load();
  s.connections_accepted = connections_accepted.load();
  s.requests = requests.load();
  s.requests_in_flight = requests_in_flight.load();
  s.buffered_body_bytes = buffered_body_bytes.load();
  s.rejected_per_ip = rejected_per_ip.load();
  s.rejected_global = rejected_global.load();
  s.rejected_head_timeout = rejected_head_timeout.load();
  s.rejected_body_timeout = rejected_body_timeout.load();
  s.rejected_head_too_large = rejected_head_too_large.load();
  s.rejected_body_too_large = rejected_body_too_large.load();
  s.rejected_malformed = rejected_malformed.load();
  s.rejected_write_timeout = rejected_write_timeout.load();
  s.rejected_busy = rejected_busy.load();
  return s;
}

void AppendHttpFrontDoorMetrics(const HttpFrontDoorStatsSnapshot& s, std::string& out) {
  common::AppendMetric(out, "http_connections_active", "gauge",
                       static_cast<double>(s.connections_active));
  common::AppendMetric(out, "http_connections_accepted_total", "counter",
                       static_cast<double>(s.connections_accepted));
  auto d = [](uint64_t v) { return static_cast<double>(v); };
  common::AppendLabelledMetric(out, "http_connections_rejected_total", "counter", "reason",
                               {{"per_ip", d(s.rejected_per_ip)},
                                {"global", d(s.rejected_global)},
                                {"head_timeout", d(s.rejected_head_timeout)},
                                {"body_timeout", d(s.rejected_body_timeout)},
                                {"head_too_large", d(s.rejected_head_too_large)},
                                {"body_too_large", d(s.rejected_body_too_large)},
                                {"malformed", d(s.rejected_malformed)},
                                {"write_timeout", d(s.rejected_write_timeout)},
                                {"busy", d(s.rejected_busy)}});
  common::AppendMetric(out, "http_requests_dispatched_total", "counter",
                       static_cast<double>(s.requests));
  common::AppendMetric(out, "http_requests_in_flight", "gauge",
                       static_cast<double>(s.requests_in_flight));
  common::AppendMetric(out, "http_buffered_body_bytes", "gauge",
                       static_cast<double>(s.buffered_body_bytes));
}

struct HttpFrontDoor::Impl {
  std::shared_ptr<HttpContext> ctx;
  std::shared_ptr<asio::io_context> io;
  std::shared_ptr<tcp::acceptor> acceptor;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::vector<std::jthread> threads;
};

HttpFrontDoor::HttpFrontDoor(HttpFrontDoorConfig config, HttpRouter& router)
    : config_(std::move(config)), router_(router), stats_(std::make_shared<HttpFrontDoorStats>()) {}

HttpFrontDoor::~HttpFrontDoor() { Stop(); }

common::Status HttpFrontDoor::Start() {
  if (impl_) return common::Error::Internal("HTTP front door already started");
  const HttpFrontDoorConfig& c = config_;
  if (c.io_threads < 1 || c.worker_threads < 1 || c.max_connections < 1 ||
      c.max_connections_per_ip < 1 || c.body_min_rate < 1 || c.output_buffer_bytes < 1 ||
      c.max_requests_per_connection < 1 || c.max_body_bytes >= (1ull << 59)) {
    return common::Error::InvalidInput("HTTP front door: a limit is out of range");
  }
  auto ctx = std::make_shared<HttpContext>();
  ctx->config = config_;
  // One body of the largest size must always fit.
  ctx->config.max_buffered_body_bytes =
      std::max(ctx->config.max_buffered_body_bytes, ctx->config.max_body_bytes);
  ctx->router = &router_;
  ctx->stats = stats_;
  ctx->config.max_connections = FitDescriptors(ctx->config.max_connections);

  asio::error_code ec;
  const asio::ip::address address = asio::ip::make_address(c.listen_address, ec);
  if (ec) {
    return common::Error::InvalidInput("HTTP listen address '" + c.listen_address +
                                       "' is not an IP address");
  }
  if (!c.tls_cert_file.empty() || !c.tls_key_file.empty()) {
    if (c.tls_cert_file.empty() || c.tls_key_file.empty()) {
      return common::Error::InvalidInput("HTTPS needs both a certificate and a key file");
    }
    auto tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                     asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
    SSL_CTX_set_min_proto_version(tls->native_handle(), TLS1_2_VERSION);
    tls->use_certificate_chain_file(c.tls_cert_file, ec);
    if (ec) {
      return common::Error::InvalidInput("cannot load --tls-cert '" + c.tls_cert_file +
                                         "': " + ec.message());
    }
    tls->use_private_key_file(c.tls_key_file, asio::ssl::context::pem, ec);
    if (ec) {
      return common::Error::InvalidInput("cannot load --tls-key '" + c.tls_key_file +
                                         "': " + ec.message());
    }
    if (SSL_CTX_check_private_key(tls->native_handle()) != 1) {
      return common::Error::InvalidInput("--tls-key '" + c.tls_key_file +
                                         "' does not match the certificate");
    }
    ctx->tls = std::move(tls);
  }

  auto impl = std::make_unique<Impl>();
  impl->io = std::make_shared<asio::io_context>(c.io_threads);
  impl->acceptor = std::make_shared<tcp::acceptor>(*impl->io);
  const tcp::endpoint endpoint(address, c.port);
  const std::string where = EndpointText(c.listen_address, c.port);
  tcp::acceptor& acceptor = *impl->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (ec) {
    return common::Error::Unavailable("cannot open HTTP socket for " + where + ": " + ec.message());
  }
  acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (address.is_v6() && address.is_unspecified()) {
    acceptor.set_option(asio::ip::v6_only(false), ec);  // "::" also takes IPv4
  }
  acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return common::Error::Unavailable("cannot listen for HTTP on " + where + ": " + ec.message());
  }
  port_.store(acceptor.local_endpoint(ec).port());

  ctx->pool = std::make_shared<HttpWorkerPool>(c.worker_threads);
  impl->ctx = ctx;
  router_.SetServing(true);
  asio::co_spawn(impl->io->get_executor(),
                 AcceptLoop(ctx, impl->acceptor, std::weak_ptr<asio::io_context>(impl->io)),
                 [](std::exception_ptr e) {
                   if (!e) return;
                   try {
                     std::rethrow_exception(e);
                   } catch (const std::exception& ex) {
                     spdlog::error("event=http_accept_loop_failed what={}",
                                   common::LogSafe(ex.what()));
                   } catch (...) {
                     spdlog::error("event=http_accept_loop_failed what=unknown");
                   }
                 });
  impl->work.emplace(impl->io->get_executor());
  for (int i = 0; i < c.io_threads; ++i) {
    impl->threads.emplace_back([io = impl->io] {
      for (;;) {
        try {
          io->run();
          return;
        } catch (const std::exception& e) {
          // Every handler catches its own errors; this is the last line of defence.
          spdlog::error("event=http_loop_exception what={}", common::LogSafe(e.what()));
        }
      }
    });
  }
  spdlog::info(
      "event=http_front_door_started port={} tls={} max_connections={} max_per_ip={} "
      "header_timeout_ms={} workers={}",
      port_.load(), ctx->tls != nullptr, ctx->config.max_connections, c.max_connections_per_ip,
      c.header_timeout.count(), c.worker_threads);
  impl_ = std::move(impl);
  return common::Ok();
}

void HttpFrontDoor::Stop() {
  if (!impl_) return;
  Impl& impl = *impl_;
  HttpContext& ctx = *impl.ctx;
  ctx.stopping.store(true);
  asio::post(impl.io->get_executor(), [acceptor = impl.acceptor] {
    asio::error_code ignored;
    acceptor->close(ignored);
  });
  auto live = [&ctx] {
    std::vector<std::shared_ptr<HttpConnection>> out;
    common::MutexLock lock(ctx.mu);
    for (auto& [id, weak] : ctx.connections) {
      if (auto conn = weak.lock()) out.push_back(std::move(conn));
    }
    return out;
  };
  for (auto& conn : live()) conn->RequestStop();
  {
    common::MutexLock lock(ctx.mu);
    ctx.drained.wait_for(lock, config_.drain_timeout,
                         [&]() REQUIRES(ctx.mu) { return ctx.connections.empty(); });
  }
  auto left = live();
  if (!left.empty()) {
    spdlog::warn("event=http_stop_drain_timeout connections={}", left.size());
    for (auto& conn : left) conn->ForceClose();
  }
  left.clear();
  router_.SetServing(false);  // content providers stop
  ctx.pool->Shutdown();       // queued requests are abandoned, running ones finish
  impl.work.reset();
  impl.io->stop();
  impl.threads.clear();  // joins
  spdlog::info("event=http_front_door_stopped port={}", port_.load());
  impl_.reset();
}

}  // namespace http
