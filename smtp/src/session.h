// SmtpSession: one client connection of SmtpServer, run as a coroutine on its own strand.
// SmtpContext: what every session of one listener shares (configuration, counters, the
// TLS context, the sink and the list of live sessions used by Stop()).
//
// Internal to server.cc; not part of the server's interface.
//
// Thread-safety: a session's members are touched only on its strand; SmtpContext members
// are immutable after Start() except the atomics and the members GUARDED_BY(mu).
#pragma once

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/cidr.h"
#include "common/thread_annotations.h"
#include "pipeline/message_sink.h"
#include "smtp/data.h"
#include "smtp/memory_budget.h"
#include "smtp/server.h"

namespace smtp {

class SmtpSession;

struct SmtpContext {
  SmtpServerConfig config;  // listener_name filled in
  common::CidrSet allow;
  common::CidrSet journal_from;  // trusted journaling sources (SmtpServerConfig::journal_from)
  pipeline::MessageSink* sink = nullptr;
  std::shared_ptr<SmtpStats> stats;
  std::unique_ptr<asio::ssl::context> tls;  // null when STARTTLS is not offered
  std::atomic<bool> stopping{false};

  std::unique_ptr<MemoryBudget> budget;  // bytes of messages being received

  common::Mutex mu;
  std::unordered_map<uint64_t, std::weak_ptr<SmtpSession>> sessions GUARDED_BY(mu);
  std::unordered_map<std::string, size_t> per_ip GUARDED_BY(mu);  // live sessions per address
};

class SmtpSession : public std::enable_shared_from_this<SmtpSession> {
 public:
  // `socket` is connected and bound to the session's strand.
  SmtpSession(std::shared_ptr<SmtpContext> ctx, std::weak_ptr<asio::io_context> io,
              asio::ip::tcp::socket socket, uint64_t id, std::string peer_ip, uint16_t peer_port);
  ~SmtpSession();
  SmtpSession(const SmtpSession&) = delete;
  SmtpSession& operator=(const SmtpSession&) = delete;

  // Registers the session with its context and starts its coroutine.
  static void Launch(std::shared_ptr<SmtpSession> session);
  // Asks the session to finish: idle sessions are told 421 and closed at once, a message
  // being committed is answered first. Safe to call from any thread.
  void RequestStop();

 private:
  enum class Step { kContinue, kClosed, kTimeout, kStopping, kQuit, kTooManyErrors };
  using Clock = std::chrono::steady_clock;

  static asio::awaitable<void> Run(std::shared_ptr<SmtpSession> self);
  asio::awaitable<Step> ReadLine(std::string& line);
  asio::awaitable<Step> ReadMore(size_t chunk);
  asio::awaitable<Step> Flush(Clock::time_point deadline);
  asio::awaitable<Step> Handle(const std::string& line);
  asio::awaitable<Step> DoData(std::string_view args);
  asio::awaitable<Step> DoBdat(std::string_view args);
  asio::awaitable<Step> DoStartTls(std::string_view args);
  asio::awaitable<Step> Deliver(SmtpDataDecoder& decoder);
  asio::awaitable<void> Finish(Step why);

  void DoEhlo(std::string_view args, bool extended);
  void DoMail(std::string_view args);
  void DoRcpt(std::string_view args);
  void Reply(std::string_view line);
  void RefuseCommand(std::string_view line);  // a 5xx for a protocol error
  void ResetTransaction();
  Clock::time_point Deadline() const;
  void ArmTimer(Clock::time_point deadline);
  void DisarmTimer();
  asio::ip::tcp::socket& Lowest();

  std::shared_ptr<SmtpContext> ctx_;
  std::weak_ptr<asio::io_context> io_;
  asio::ip::tcp::socket socket_;  // moved into tls_ by STARTTLS
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket>> tls_;
  bool tls_ready_ = false;
  asio::steady_timer timer_;
  uint64_t timer_generation_ = 0;
  bool timed_out_ = false;
  bool stopping_ = false;
  bool in_submit_ = false;

  const uint64_t id_;
  const std::string peer_ip_;
  const uint16_t peer_port_;
  std::string in_;   // received, not yet consumed
  std::string out_;  // replies not yet written (PIPELINING: flushed before reading)
  bool discarding_line_ = false;
  int errors_ = 0;
  uint64_t messages_ = 0;

  // Session state (RFC 5321 §4.1.4; reset by STARTTLS, RFC 3207 §4.2).
  std::string helo_;
  std::string tls_protocol_;
  std::string tls_cipher_;
  // Transaction state (reset by RSET, EHLO/HELO, and every end of data).
  bool have_mail_ = false;
  std::string mail_from_;
  std::vector<std::string> rcpt_to_;
  std::string body_;
  bool smtputf8_ = false;
  Clock::time_point transaction_deadline_{};
  // When a session outside a transaction must have started one (between_messages_timeout
  // after connect or the end of the last message).
  Clock::time_point next_mail_deadline_{};
  std::optional<SmtpDataDecoder> bdat_;
};

}  // namespace smtp
