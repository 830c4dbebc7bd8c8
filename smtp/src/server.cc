#include "smtp/server.h"

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <thread>

#include "common/utf8.h"
#include "session.h"
#include "smtp/command.h"

namespace smtp {
namespace {

using asio::ip::tcp;

// Writes one reply to a connection that gets no session (policy, session limit) and closes
// it; at most kRejectGrace is spent on a client that does not read.
constexpr auto kRejectGrace = std::chrono::seconds(5);

void RejectAndClose(tcp::socket socket, std::string reply) {
  struct State {
    explicit State(tcp::socket s) : socket(std::move(s)), timer(socket.get_executor()) {}
    tcp::socket socket;
    asio::steady_timer timer;
    std::string reply;
  };
  auto state = std::make_shared<State>(std::move(socket));
  state->reply = std::move(reply) + "\r\n";
  state->timer.expires_after(kRejectGrace);
  state->timer.async_wait([state](const asio::error_code& ec) {
    if (!ec) {
      asio::error_code ignored;
      state->socket.close(ignored);
    }
  });
  asio::async_write(state->socket, asio::buffer(state->reply),
                    [state](const asio::error_code&, size_t) {
                      asio::error_code ignored;
                      state->socket.shutdown(tcp::socket::shutdown_both, ignored);
                      state->socket.close(ignored);
                      state->timer.cancel();
                    });
}

std::string PeerAddress(const asio::ip::address& address) {
  // A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d; record them as IPv4.
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).to_string();
  }
  return address.to_string();
}

asio::awaitable<void> AcceptLoop(std::shared_ptr<SmtpContext> ctx,
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
      spdlog::warn("event=smtp_accept_failed error={}", common::LogSafe(ec.message()));
      backoff.expires_after(std::chrono::milliseconds(100));
      co_await backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    tcp::endpoint remote = socket.remote_endpoint(ec);
    if (ec) continue;  // already gone
    const std::string ip = PeerAddress(remote.address());
    if (!ctx->allow.Contains(ip)) {
      ctx->stats->refused_policy.fetch_add(1);
      spdlog::info("event=smtp_connection_refused reason=policy peer={}", ip);
      RejectAndClose(std::move(socket),
                     "554 5.7.1 " + ctx->config.hostname + " Error: client address not allowed");
      continue;
    }
    bool per_ip_full = false;
    {
      common::MutexLock lock(ctx->mu);
      auto it = ctx->per_ip.find(ip);
      per_ip_full = it != ctx->per_ip.end() && it->second >= ctx->config.max_sessions_per_ip;
    }
    if (per_ip_full) {
      ctx->stats->refused_session_limit.fetch_add(1);
      spdlog::warn("event=smtp_connection_refused reason=per_ip_limit peer={} limit={}", ip,
                   ctx->config.max_sessions_per_ip);
      RejectAndClose(std::move(socket), "421 4.7.0 " + ctx->config.hostname +
                                            " Error: too many sessions from your address");
      continue;
    }
    if (ctx->stats->sessions_active.load() >= ctx->config.max_sessions) {
      ctx->stats->refused_session_limit.fetch_add(1);
      spdlog::warn("event=smtp_connection_refused reason=session_limit peer={} limit={}", ip,
                   ctx->config.max_sessions);
      RejectAndClose(std::move(socket), "421 4.7.0 " + ctx->config.hostname +
                                            " Error: too many sessions, try again later");
      continue;
    }
    auto session = std::make_shared<SmtpSession>(ctx, io_weak, std::move(socket), ++next_id, ip,
                                                 remote.port());
    SmtpSession::Launch(std::move(session));
  }
}

std::string EndpointText(const std::string& address, uint16_t port) {
  if (address.find(':') != std::string::npos) return "[" + address + "]:" + std::to_string(port);
  return address + ":" + std::to_string(port);
}

}  // namespace

SmtpStatsSnapshot SmtpStats::Snapshot() const {
  SmtpStatsSnapshot s;
  s.sessions_active = sessions_active.load();
  s.sessions_total = sessions_total.load();
  s.messages_accepted = messages_accepted.load();
  s.bytes_accepted = bytes_accepted.load();
  s.refused_size = refused_size.load();
  s.refused_timeout = refused_timeout.load();
  s.refused_policy = refused_policy.load();
  s.refused_session_limit = refused_session_limit.load();
  s.refused_temp_failure = refused_temp_failure.load();
  s.refused_memory = refused_memory.load();
  s.refused_perm_failure = refused_perm_failure.load();
  s.refused_protocol = refused_protocol.load();
  s.aborted_in_data = aborted_in_data.load();
  return s;
}

struct SmtpServer::Impl {
  std::shared_ptr<SmtpContext> ctx;
  std::shared_ptr<asio::io_context> io;
  std::shared_ptr<tcp::acceptor> acceptor;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::vector<std::jthread> threads;
};

SmtpServer::SmtpServer(SmtpServerConfig config, pipeline::MessageSink& sink)
    : config_(std::move(config)), sink_(sink), stats_(std::make_shared<SmtpStats>()) {}

SmtpServer::~SmtpServer() { Stop(); }

SmtpStatsSnapshot SmtpServer::stats() const { return stats_->Snapshot(); }

common::Status SmtpServer::Start() {
  if (impl_) return common::Error::Internal("SMTP server already started");
  auto ctx = std::make_shared<SmtpContext>();
  ctx->config = config_;
  ctx->sink = &sink_;
  ctx->stats = stats_;
  if (config_.threads < 1 || config_.max_sessions < 1 || config_.max_recipients < 1) {
    return common::Error::InvalidInput(
        "SMTP threads, max_sessions and max_recipients must be >= 1");
  }
  common::Result<common::CidrSet> allow = common::CidrSet::Parse(config_.allow);
  if (!allow.ok())
    return common::Error::InvalidInput("SMTP allow-list: " + allow.error().message());
  ctx->allow = std::move(*allow);
  common::Result<common::CidrSet> journal = common::CidrSet::Parse(config_.journal_from);
  if (!journal.ok()) {
    return common::Error::InvalidInput("SMTP journal sources: " + journal.error().message());
  }
  ctx->journal_from = std::move(*journal);
  ctx->budget = std::make_unique<MemoryBudget>(config_.max_buffered_bytes);

  asio::error_code ec;
  asio::ip::address address = asio::ip::make_address(config_.listen_address, ec);
  if (ec) {
    return common::Error::InvalidInput("SMTP listen address '" + config_.listen_address +
                                       "' is not an IP address");
  }

  if (!config_.tls_cert_file.empty() || !config_.tls_key_file.empty()) {
    if (config_.tls_cert_file.empty() || config_.tls_key_file.empty()) {
      return common::Error::InvalidInput("SMTP TLS needs both a certificate and a key file");
    }
    auto tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                     asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
    SSL_CTX_set_min_proto_version(tls->native_handle(), TLS1_2_VERSION);
    tls->use_certificate_chain_file(config_.tls_cert_file, ec);
    if (ec) {
      return common::Error::InvalidInput("SMTP TLS certificate '" + config_.tls_cert_file +
                                         "': " + ec.message());
    }
    tls->use_private_key_file(config_.tls_key_file, asio::ssl::context::pem, ec);
    if (ec) {
      return common::Error::InvalidInput("SMTP TLS key '" + config_.tls_key_file +
                                         "': " + ec.message());
    }
    if (SSL_CTX_check_private_key(tls->native_handle()) != 1) {
      return common::Error::InvalidInput("SMTP TLS key '" + config_.tls_key_file +
                                         "' does not match the certificate");
    }
    ctx->tls = std::move(tls);
  }

  auto impl = std::make_unique<Impl>();
  impl->io = std::make_shared<asio::io_context>(config_.threads);
  impl->acceptor = std::make_shared<tcp::acceptor>(*impl->io);
  tcp::endpoint endpoint(address, config_.port);
  const std::string where = EndpointText(config_.listen_address, config_.port);
  tcp::acceptor& acceptor = *impl->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (ec) {
    return common::Error::Unavailable("cannot open SMTP socket for " + where + ": " + ec.message());
  }
  acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (address.is_v6() && address.is_unspecified()) {
    acceptor.set_option(asio::ip::v6_only(false), ec);  // "::" also takes IPv4
  }
  acceptor.bind(endpoint, ec);
  if (ec) {
    return common::Error::Unavailable("cannot listen for SMTP on " + where + ": " + ec.message());
  }
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return common::Error::Unavailable("cannot listen for SMTP on " + where + ": " + ec.message());
  }
  const uint16_t bound = acceptor.local_endpoint(ec).port();
  port_.store(bound);
  if (ctx->config.listener_name.empty()) {
    ctx->config.listener_name = "smtp:" + EndpointText(config_.listen_address, bound);
  }
  impl->ctx = ctx;

  asio::co_spawn(impl->io->get_executor(),
                 AcceptLoop(ctx, impl->acceptor, std::weak_ptr<asio::io_context>(impl->io)),
                 [](std::exception_ptr e) {
                   if (!e) return;
                   try {
                     std::rethrow_exception(e);
                   } catch (const std::exception& ex) {
                     spdlog::error("event=smtp_accept_loop_failed what={}",
                                   common::LogSafe(ex.what()));
                   } catch (...) {
                     spdlog::error("event=smtp_accept_loop_failed what=unknown");
                   }
                 });
  impl->work.emplace(impl->io->get_executor());
  for (int i = 0; i < config_.threads; ++i) {
    impl->threads.emplace_back([io = impl->io] {
      for (;;) {
        try {
          io->run();
          return;
        } catch (const std::exception& e) {
          // Every handler catches its own errors; this is the last line of defence.
          spdlog::error("event=smtp_loop_exception what={}", common::LogSafe(e.what()));
        }
      }
    });
  }
  spdlog::info("event=smtp_listening listener={} port={} tls={} max_sessions={}",
               ctx->config.listener_name, bound, ctx->tls != nullptr, config_.max_sessions);
  impl_ = std::move(impl);
  return common::Ok();
}

void SmtpServer::Stop() {
  if (!impl_) return;
  Impl& impl = *impl_;
  impl.ctx->stopping.store(true);
  asio::post(impl.io->get_executor(), [acceptor = impl.acceptor] {
    asio::error_code ignored;
    acceptor->close(ignored);
  });
  std::vector<std::shared_ptr<SmtpSession>> sessions;
  {
    common::MutexLock lock(impl.ctx->mu);
    for (auto& [id, weak] : impl.ctx->sessions) {
      if (auto s = weak.lock()) sessions.push_back(std::move(s));
    }
  }
  for (auto& s : sessions) s->RequestStop();
  sessions.clear();
  const auto deadline = std::chrono::steady_clock::now() + config_.drain_timeout;
  while (stats_->sessions_active.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const uint64_t left = stats_->sessions_active.load();
  if (left > 0) {
    spdlog::warn("event=smtp_stop_drain_timeout sessions={}", left);
  }
  impl.work.reset();
  impl.io->stop();
  impl.threads.clear();  // joins
  spdlog::info("event=smtp_stopped listener={}", impl.ctx->config.listener_name);
  impl_.reset();
}

}  // namespace smtp
