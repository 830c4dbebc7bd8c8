#include "session.h"

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <utility>

#include "common/utf8.h"
#include "smtp/command.h"

namespace smtp {
namespace {

constexpr size_t kCommandReadChunk = 4096;
constexpr size_t kDataReadChunk = 64 * 1024;
constexpr size_t kMaxHelo = 255;
// How long the last reply (421, 221) may take to leave before the socket is closed anyway.
constexpr auto kGoodbyeGrace = std::chrono::seconds(5);

// Hands a message to the sink and completes on the session's executor when `done` comes,
// from whatever thread the sink calls it. `io` is held until then so that a late answer
// (after Stop() gave up waiting) posts to a live io_context.
template <typename Token>
auto AsyncSubmit(pipeline::MessageSink& sink, std::shared_ptr<asio::io_context> io,
                 pipeline::Arrival arrival, std::string raw, Token&& token) {
  return asio::async_initiate<Token, void(pipeline::SubmitOutcome)>(
      [](auto handler, pipeline::MessageSink* s, std::shared_ptr<asio::io_context> keep,
         pipeline::Arrival arr, std::string bytes) {
        using Handler = std::decay_t<decltype(handler)>;
        // std::function needs a copyable callable; the handler itself is move-only.
        auto slot = std::make_shared<std::optional<Handler>>(std::move(handler));
        s->Submit(std::move(arr), std::move(bytes),
                  [slot, keep = std::move(keep)](pipeline::SubmitOutcome outcome) {
                    if (!slot->has_value()) return;  // `done` called twice: ignore the rest
                    Handler h = std::move(**slot);
                    slot->reset();
                    auto ex = asio::get_associated_executor(h);
                    asio::post(ex, [h = std::move(h), o = std::move(outcome)]() mutable {
                      std::move(h)(std::move(o));
                    });
                  });
      },
      token, &sink, std::move(io), std::move(arrival), std::move(raw));
}

const char* StepName(int step) {
  static const char* const kNames[] = {"continue", "closed", "timeout",
                                       "stopping", "quit",   "too_many_errors"};
  return kNames[step];
}

}  // namespace

SmtpSession::SmtpSession(std::shared_ptr<SmtpContext> ctx, std::weak_ptr<asio::io_context> io,
                         asio::ip::tcp::socket socket, uint64_t id, std::string peer_ip,
                         uint16_t peer_port)
    : ctx_(std::move(ctx)),
      io_(std::move(io)),
      socket_(std::move(socket)),
      timer_(socket_.get_executor()),
      id_(id),
      peer_ip_(std::move(peer_ip)),
      peer_port_(peer_port),
      next_mail_deadline_(Clock::now() + ctx_->config.between_messages_timeout) {
  ctx_->stats->sessions_active.fetch_add(1);
  ctx_->stats->sessions_total.fetch_add(1);
  common::MutexLock lock(ctx_->mu);
  ++ctx_->per_ip[peer_ip_];
}

SmtpSession::~SmtpSession() {
  ctx_->stats->sessions_active.fetch_sub(1);
  common::MutexLock lock(ctx_->mu);
  ctx_->sessions.erase(id_);
  if (auto it = ctx_->per_ip.find(peer_ip_); it != ctx_->per_ip.end() && --it->second == 0) {
    ctx_->per_ip.erase(it);
  }
}

void SmtpSession::Launch(std::shared_ptr<SmtpSession> session) {
  {
    common::MutexLock lock(session->ctx_->mu);
    session->ctx_->sessions[session->id_] = session;
  }
  // Stop() sets `stopping` before it collects the sessions, so one registered after that
  // collection sees the flag here.
  if (session->ctx_->stopping.load()) session->RequestStop();
  auto ex = session->socket_.get_executor();
  const uint64_t id = session->id_;
  asio::co_spawn(ex, Run(std::move(session)), [id](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex2) {
      spdlog::error("event=smtp_session_exception session={} what={}", id,
                    common::LogSafe(ex2.what()));
    } catch (...) {
      spdlog::error("event=smtp_session_exception session={} what=unknown", id);
    }
  });
}

void SmtpSession::RequestStop() {
  auto self = shared_from_this();
  asio::post(socket_.get_executor(), [self] {
    self->stopping_ = true;
    // A session waiting for its commit answers it first; everything else stops now.
    if (!self->in_submit_) {
      asio::error_code ignored;
      self->Lowest().cancel(ignored);
    }
  });
}

asio::ip::tcp::socket& SmtpSession::Lowest() { return tls_ ? tls_->next_layer() : socket_; }

SmtpSession::Clock::time_point SmtpSession::Deadline() const {
  Clock::time_point d = Clock::now() + ctx_->config.idle_timeout;
  // Inside a transaction its deadline; outside, the time left to start the next one (a NOOP
  // every few minutes must not hold a session forever).
  d = std::min(d, have_mail_ ? transaction_deadline_ : next_mail_deadline_);
  return d;
}

void SmtpSession::ArmTimer(Clock::time_point deadline) {
  timed_out_ = false;
  const uint64_t generation = ++timer_generation_;
  timer_.expires_at(deadline);
  timer_.async_wait([self = shared_from_this(), generation](const asio::error_code& ec) {
    if (ec || generation != self->timer_generation_) return;
    self->timed_out_ = true;
    asio::error_code ignored;
    self->Lowest().cancel(ignored);
  });
}

void SmtpSession::DisarmTimer() {
  ++timer_generation_;
  timer_.cancel();
}

void SmtpSession::Reply(std::string_view line) {
  out_.append(line);
  out_.append("\r\n");
}

void SmtpSession::RefuseCommand(std::string_view line) {
  Reply(line);
  ++errors_;
  ctx_->stats->refused_protocol.fetch_add(1);
  spdlog::info("event=smtp_command_refused session={} code={}", id_, line.substr(0, 9));
}

void SmtpSession::ResetTransaction() {
  have_mail_ = false;
  mail_from_.clear();
  rcpt_to_.clear();
  body_.clear();
  smtputf8_ = false;
  bdat_.reset();
}

asio::awaitable<void> SmtpSession::Run(std::shared_ptr<SmtpSession> self) {
  spdlog::info("event=smtp_session_open session={} peer={} port={}", self->id_, self->peer_ip_,
               self->peer_port_);
  self->Reply("220 " + self->ctx_->config.hostname + " ESMTP notary ready");
  Step step = Step::kContinue;
  std::string line;
  while (step == Step::kContinue) {
    if (self->stopping_) {
      step = Step::kStopping;
      break;
    }
    step = co_await self->ReadLine(line);
    if (step != Step::kContinue) break;
    step = co_await self->Handle(line);
    if (step == Step::kContinue && self->errors_ >= self->ctx_->config.max_errors) {
      step = Step::kTooManyErrors;
    }
  }
  co_await self->Finish(step);
}

asio::awaitable<void> SmtpSession::Finish(Step why) {
  const std::string& host = ctx_->config.hostname;
  switch (why) {
    case Step::kTimeout:
      ctx_->stats->refused_timeout.fetch_add(1);
      spdlog::info("event=smtp_timeout session={} peer={} in_transaction={}", id_, peer_ip_,
                   have_mail_);
      Reply("421 4.4.2 " + host + " Error: timeout exceeded");
      break;
    case Step::kStopping:
      Reply("421 4.3.2 " + host + " Service shutting down");
      break;
    case Step::kTooManyErrors:
      Reply("421 4.7.0 " + host + " Error: too many errors");
      break;
    case Step::kClosed:
      out_.clear();
      break;
    case Step::kContinue:
    case Step::kQuit:
      break;
  }
  // Mid-handshake there is no channel to answer on.
  bool flushed = true;
  if (!out_.empty() && (!tls_ || tls_ready_)) {
    flushed = co_await Flush(Clock::now() + kGoodbyeGrace) == Step::kContinue;
  }
  DisarmTimer();
  // An orderly end over TLS says so (close_notify): without it the client cannot tell our
  // goodbye from a connection cut by someone in between, and logs a TLS error (Exim: "The TLS
  // connection was non-properly terminated"). Waiting for the client's own close_notify is
  // bounded like the goodbye; a client that went silent (timeout, or a goodbye it did not read)
  // or away is not waited for.
  if (tls_ && tls_ready_ && flushed && why != Step::kClosed && why != Step::kTimeout) {
    ArmTimer(Clock::now() + kGoodbyeGrace);
    asio::error_code ec;
    co_await tls_->async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
    DisarmTimer();
  }
  asio::error_code ignored;
  Lowest().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  Lowest().close(ignored);
  spdlog::info("event=smtp_session_close session={} reason={} messages={}", id_,
               StepName(static_cast<int>(why)), messages_);
}

asio::awaitable<SmtpSession::Step> SmtpSession::ReadMore(size_t chunk) {
  Step step = co_await Flush(Deadline());
  if (step != Step::kContinue) co_return step;
  if (stopping_) co_return Step::kStopping;
  if (in_.empty() && in_.capacity() > 2 * kDataReadChunk) in_.shrink_to_fit();
  const size_t old = in_.size();
  in_.resize(old + chunk);
  asio::error_code ec;
  size_t n = 0;
  ArmTimer(Deadline());
  if (tls_) {
    n = co_await tls_->async_read_some(asio::buffer(in_.data() + old, chunk),
                                       asio::redirect_error(asio::use_awaitable, ec));
  } else {
    n = co_await socket_.async_read_some(asio::buffer(in_.data() + old, chunk),
                                         asio::redirect_error(asio::use_awaitable, ec));
  }
  DisarmTimer();
  in_.resize(old + n);
  if (timed_out_) co_return Step::kTimeout;
  if (stopping_ && ec) co_return Step::kStopping;
  if (ec) co_return Step::kClosed;
  co_return Step::kContinue;
}

asio::awaitable<SmtpSession::Step> SmtpSession::Flush(Clock::time_point deadline) {
  if (out_.empty()) co_return Step::kContinue;
  asio::error_code ec;
  ArmTimer(deadline);
  if (tls_) {
    co_await asio::async_write(*tls_, asio::buffer(out_),
                               asio::redirect_error(asio::use_awaitable, ec));
  } else {
    co_await asio::async_write(socket_, asio::buffer(out_),
                               asio::redirect_error(asio::use_awaitable, ec));
  }
  DisarmTimer();
  out_.clear();
  if (timed_out_) co_return Step::kTimeout;
  if (stopping_ && ec) co_return Step::kStopping;
  if (ec) co_return Step::kClosed;
  co_return Step::kContinue;
}

asio::awaitable<SmtpSession::Step> SmtpSession::ReadLine(std::string& line) {
  size_t scanned = 0;
  for (;;) {
    const size_t nl = in_.find('\n', scanned);
    if (nl != std::string::npos) {
      // RFC 5321 §4.5.3.1.4: 512 octets including CRLF. A bare LF also ends a command line.
      if (discarding_line_ || nl + 1 > kSmtpMaxCommandLine) {
        in_.erase(0, nl + 1);
        discarding_line_ = false;
        scanned = 0;
        RefuseCommand("500 5.5.6 Error: line too long");
        if (errors_ >= ctx_->config.max_errors) co_return Step::kTooManyErrors;
        continue;
      }
      size_t len = nl;
      if (len > 0 && in_[len - 1] == '\r') --len;
      line.assign(in_, 0, len);
      in_.erase(0, nl + 1);
      co_return Step::kContinue;
    }
    if (in_.size() >= kSmtpMaxCommandLine) {
      // Too long already: drop it and keep dropping up to the next LF.
      discarding_line_ = true;
      in_.clear();
    }
    scanned = in_.size();
    Step step = co_await ReadMore(kCommandReadChunk);
    if (step != Step::kContinue) co_return step;
  }
}

asio::awaitable<SmtpSession::Step> SmtpSession::Handle(const std::string& line) {
  if (line.find('\0') != std::string::npos) {
    RefuseCommand("501 5.5.2 Error: NUL byte in command");
    co_return Step::kContinue;
  }
  SmtpCommand cmd = ParseSmtpCommand(line);
  const std::string& v = cmd.verb;
  if (v == "EHLO" || v == "HELO") {
    DoEhlo(cmd.args, v == "EHLO");
  } else if (v == "MAIL") {
    DoMail(cmd.args);
  } else if (v == "RCPT") {
    DoRcpt(cmd.args);
  } else if (v == "DATA") {
    co_return co_await DoData(cmd.args);
  } else if (v == "BDAT") {
    co_return co_await DoBdat(cmd.args);
  } else if (v == "RSET") {
    if (!cmd.args.empty()) {
      RefuseCommand("501 5.5.4 Syntax: RSET");
    } else {
      ResetTransaction();
      Reply("250 2.0.0 Ok");
    }
  } else if (v == "NOOP") {
    Reply("250 2.0.0 Ok");
  } else if (v == "QUIT") {
    Reply("221 2.0.0 Bye");
    co_return Step::kQuit;
  } else if (v == "HELP") {
    Reply("214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY" +
          std::string(ctx_->tls && !tls_ ? " STARTTLS" : ""));
  } else if (v == "VRFY") {
    if (cmd.args.empty()) {
      RefuseCommand("501 5.5.4 Syntax: VRFY address");
    } else {
      // RFC 5321 §3.5.3: 252 says nothing about whether the address exists.
      Reply("252 2.5.0 Cannot VRFY; send mail and it will be recorded");
    }
  } else if (v == "EXPN") {
    RefuseCommand("502 5.5.1 Error: EXPN not available");
  } else if (v == "STARTTLS") {
    co_return co_await DoStartTls(cmd.args);
  } else {
    spdlog::info("event=smtp_unknown_command session={} verb={}", id_, common::LogSafe(v, 16));
    RefuseCommand("500 5.5.1 Error: command not recognized");
  }
  co_return Step::kContinue;
}

void SmtpSession::DoEhlo(std::string_view args, bool extended) {
  if (args.empty()) {
    RefuseCommand(extended ? "501 5.5.4 Syntax: EHLO hostname" : "501 5.5.4 Syntax: HELO hostname");
    return;
  }
  // RFC 5321 §4.1.4: EHLO/HELO in the middle of a transaction also resets it.
  ResetTransaction();
  helo_ = std::string(args.substr(0, kMaxHelo));
  const std::string& host = ctx_->config.hostname;
  if (!extended) {
    Reply("250 " + host);
    return;
  }
  // RFC 2034 §4: the EHLO reply carries no enhanced status codes; its lines are keywords.
  Reply("250-" + host);
  Reply("250-PIPELINING");
  Reply("250-SIZE " + std::to_string(ctx_->config.max_message_bytes));
  Reply("250-8BITMIME");
  Reply("250-SMTPUTF8");
  Reply("250-ENHANCEDSTATUSCODES");
  if (ctx_->tls && !tls_) Reply("250-STARTTLS");
  Reply("250 CHUNKING");
}

void SmtpSession::DoMail(std::string_view args) {
  if (helo_.empty()) {
    RefuseCommand("503 5.5.1 Error: send HELO/EHLO first");
    return;
  }
  if (have_mail_) {
    RefuseCommand("503 5.5.1 Error: nested MAIL command");
    return;
  }
  MailFromArgs mail;
  switch (ParseMailFrom(args, mail)) {
    case SmtpArgError::kNone:
      break;
    case SmtpArgError::kSyntax:
      RefuseCommand("501 5.1.7 Syntax: MAIL FROM:<address>");
      return;
    case SmtpArgError::kUnknownParameter:
      RefuseCommand("555 5.5.4 Error: unsupported MAIL parameter");
      return;
    case SmtpArgError::kBadParameterValue:
      RefuseCommand("501 5.5.4 Error: bad MAIL parameter value");
      return;
    case SmtpArgError::kNonAsciiAddress:
      RefuseCommand("553 5.6.7 Error: non-ASCII address needs SMTPUTF8");
      return;
  }
  if (mail.size && *mail.size > ctx_->config.max_message_bytes) {
    ctx_->stats->refused_size.fetch_add(1);
    spdlog::info("event=smtp_message_refused session={} reason=size declared_bytes={}", id_,
                 *mail.size);
    Reply("552 5.3.4 Error: message size exceeds fixed maximum message size");
    return;
  }
  have_mail_ = true;
  mail_from_ = std::move(mail.address);
  body_ = std::move(mail.body);
  smtputf8_ = mail.smtputf8;
  transaction_deadline_ = Clock::now() + ctx_->config.transaction_timeout;
  Reply("250 2.1.0 Ok");
}

void SmtpSession::DoRcpt(std::string_view args) {
  if (!have_mail_) {
    RefuseCommand("503 5.5.1 Error: need MAIL command");
    return;
  }
  if (rcpt_to_.size() >= ctx_->config.max_recipients) {
    Reply("452 4.5.3 Error: too many recipients");
    return;
  }
  RcptToArgs rcpt;
  switch (ParseRcptTo(args, smtputf8_, rcpt)) {
    case SmtpArgError::kNone:
      break;
    case SmtpArgError::kSyntax:
      RefuseCommand("501 5.1.3 Syntax: RCPT TO:<address>");
      return;
    case SmtpArgError::kUnknownParameter:
      RefuseCommand("555 5.5.4 Error: unsupported RCPT parameter");
      return;
    case SmtpArgError::kBadParameterValue:
      RefuseCommand("501 5.5.4 Error: bad RCPT parameter value");
      return;
    case SmtpArgError::kNonAsciiAddress:
      RefuseCommand("553 5.6.7 Error: non-ASCII address needs SMTPUTF8");
      return;
  }
  rcpt_to_.push_back(std::move(rcpt.address));
  Reply("250 2.1.5 Ok");
}

asio::awaitable<SmtpSession::Step> SmtpSession::DoData(std::string_view args) {
  if (!args.empty()) {
    RefuseCommand("501 5.5.4 Syntax: DATA");
    co_return Step::kContinue;
  }
  if (!have_mail_ || rcpt_to_.empty() || bdat_) {
    RefuseCommand(bdat_ ? "503 5.5.1 Error: DATA after BDAT"
                        : "503 5.5.1 Error: need MAIL and RCPT before DATA");
    co_return Step::kContinue;
  }
  Reply("354 End data with <CR><LF>.<CR><LF>");
  SmtpDataDecoder decoder(SmtpDataDecoder::Mode::kDotStuffed, ctx_->config.max_message_bytes,
                          ctx_->budget.get());
  for (;;) {
    const size_t used = decoder.Feed(in_);
    in_.erase(0, used);
    if (decoder.done()) break;
    Step step = co_await ReadMore(kDataReadChunk);
    if (step != Step::kContinue) {
      if (step == Step::kClosed) {
        ctx_->stats->aborted_in_data.fetch_add(1);
        spdlog::info("event=smtp_data_aborted session={} peer={} bytes={}", id_, peer_ip_,
                     decoder.total_bytes());
      }
      ResetTransaction();
      co_return step;
    }
  }
  co_return co_await Deliver(decoder);
}

asio::awaitable<SmtpSession::Step> SmtpSession::DoBdat(std::string_view args) {
  std::optional<BdatArgs> bdat = ParseBdat(args);
  if (!bdat) {
    // Without a size the rest of the stream cannot be told apart from commands: close, so
    // that message text is never run as commands.
    RefuseCommand("501 5.5.4 Syntax: BDAT size [LAST]");
    co_return Step::kQuit;
  }
  const bool accept = have_mail_ && !rcpt_to_.empty();
  if (accept && !bdat_) {
    bdat_.emplace(SmtpDataDecoder::Mode::kChunked, ctx_->config.max_message_bytes,
                  ctx_->budget.get());
  }
  // RFC 3030 §2: the chunk is read in full whatever the answer will be.
  uint64_t left = bdat->size;
  while (left > 0) {
    if (in_.empty()) {
      Step step = co_await ReadMore(kDataReadChunk);
      if (step != Step::kContinue) {
        if (step == Step::kClosed && accept) {
          ctx_->stats->aborted_in_data.fetch_add(1);
          spdlog::info("event=smtp_data_aborted session={} peer={} bytes={}", id_, peer_ip_,
                       bdat_->total_bytes());
        }
        ResetTransaction();
        co_return step;
      }
    }
    const size_t take = static_cast<size_t>(std::min<uint64_t>(left, in_.size()));
    if (accept) bdat_->Feed(std::string_view(in_).substr(0, take));
    in_.erase(0, take);
    left -= take;
  }
  if (!accept) {
    RefuseCommand("503 5.5.1 Error: need MAIL and RCPT before BDAT");
    co_return Step::kContinue;
  }
  if (bdat_->over_budget()) {
    ctx_->stats->refused_memory.fetch_add(1);
    spdlog::warn("event=smtp_message_refused session={} reason=memory_budget bytes={}", id_,
                 bdat_->total_bytes());
    Reply("452 4.3.1 Error: insufficient system storage, try again later");
    ResetTransaction();
    co_return Step::kContinue;
  }
  if (bdat_->oversize()) {
    // RFC 3030 §2: after a failed chunk the client sends no more; the transaction is over.
    ctx_->stats->refused_size.fetch_add(1);
    spdlog::info("event=smtp_message_refused session={} reason=size bytes={}", id_,
                 bdat_->total_bytes());
    Reply("552 5.3.4 Error: message size exceeds fixed maximum message size");
    ResetTransaction();
    co_return Step::kContinue;
  }
  if (!bdat->last) {
    Reply("250 2.0.0 " + std::to_string(bdat->size) + " octets received");
    co_return Step::kContinue;
  }
  co_return co_await Deliver(*bdat_);
}

asio::awaitable<SmtpSession::Step> SmtpSession::Deliver(SmtpDataDecoder& decoder) {
  // Whatever the answer, the next message may take as long again to start.
  next_mail_deadline_ = Clock::now() + ctx_->config.between_messages_timeout;
  if (decoder.over_budget()) {
    ctx_->stats->refused_memory.fetch_add(1);
    spdlog::warn("event=smtp_message_refused session={} reason=memory_budget bytes={}", id_,
                 decoder.total_bytes());
    Reply("452 4.3.1 Error: insufficient system storage, try again later");
    ResetTransaction();
    co_return Step::kContinue;
  }
  if (decoder.oversize()) {
    ctx_->stats->refused_size.fetch_add(1);
    spdlog::info("event=smtp_message_refused session={} reason=size bytes={}", id_,
                 decoder.total_bytes());
    Reply("552 5.3.4 Error: message size exceeds fixed maximum message size");
    ResetTransaction();
    co_return Step::kContinue;
  }
  // RFC 5321 §4.5.3.1.6 limits text lines to 998 octets; RFC 6152 8BITMIME is what our
  // clients use to say they send longer ones, so only then are they accepted.
  if (decoder.long_line() && body_ != "8BITMIME") {
    spdlog::info("event=smtp_message_refused session={} reason=long_line bytes={}", id_,
                 decoder.total_bytes());
    RefuseCommand("554 5.6.0 Error: line longer than 998 octets without BODY=8BITMIME");
    ResetTransaction();
    co_return Step::kContinue;
  }
  pipeline::Arrival arrival;
  notary::Envelope& envelope = arrival.envelope;
  envelope.mail_from = std::move(mail_from_);
  envelope.recipients = std::move(rcpt_to_);
  envelope.client_ip = peer_ip_;
  envelope.client_port = peer_port_;
  envelope.helo = helo_;
  envelope.tls_protocol = tls_protocol_;
  envelope.tls_cipher = tls_cipher_;
  arrival.provenance.source = "smtp";
  arrival.provenance.listener = ctx_->config.listener_name;
  arrival.journal_trusted = ctx_->journal_from.Contains(peer_ip_);
  arrival.smtputf8 = smtputf8_;
  arrival.body_type = body_;
  const size_t rcpts = envelope.recipients.size();
  std::string raw = decoder.TakeMessage();
  const uint64_t bytes = raw.size();
  ResetTransaction();

  // Replies queued so far go out now; the commit can take a while.
  Step step = co_await Flush(Clock::now() + ctx_->config.idle_timeout);
  if (step != Step::kContinue) co_return step;
  std::shared_ptr<asio::io_context> io = io_.lock();
  if (!io) co_return Step::kStopping;
  const auto started = Clock::now();
  in_submit_ = true;
  pipeline::SubmitOutcome outcome = co_await AsyncSubmit(
      *ctx_->sink, std::move(io), std::move(arrival), std::move(raw), asio::use_awaitable);
  in_submit_ = false;
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
  switch (outcome.kind) {
    case pipeline::SubmitOutcome::Kind::kAccepted:
      ++messages_;
      ctx_->stats->messages_accepted.fetch_add(1);
      ctx_->stats->bytes_accepted.fetch_add(bytes);
      spdlog::info(
          "event=smtp_message_accepted session={} id={} sha256={} bytes={} rcpts={} commit_ms={}",
          id_, common::LogSafe(outcome.receipt_id), common::LogSafe(outcome.raw_sha256_hex), bytes,
          rcpts, ms);
      Reply("250 2.0.0 Ok: notarised id=" + ReplySafe(outcome.receipt_id, 100) +
            " sha256=" + ReplySafe(outcome.raw_sha256_hex, 64));
      break;
    case pipeline::SubmitOutcome::Kind::kTempFail:
      ctx_->stats->refused_temp_failure.fetch_add(1);
      spdlog::warn("event=smtp_message_refused session={} reason=temp_failure bytes={}", id_,
                   bytes);
      Reply("451 4.3.0 Error: message not stored, try again later");
      break;
    case pipeline::SubmitOutcome::Kind::kPermFail:
    case pipeline::SubmitOutcome::Kind::kConflict:  // SMTP carries no idempotency key; never
                                                    // expected
      ctx_->stats->refused_perm_failure.fetch_add(1);
      spdlog::info("event=smtp_message_refused session={} reason=perm_failure bytes={}", id_,
                   bytes);
      Reply("554 5.6.0 Error: message refused" +
            (outcome.message.empty() ? std::string() : ": " + ReplySafe(outcome.message)));
      break;
  }
  co_return Step::kContinue;
}

asio::awaitable<SmtpSession::Step> SmtpSession::DoStartTls(std::string_view args) {
  if (!ctx_->tls) {
    RefuseCommand("502 5.5.1 Error: STARTTLS not available");
    co_return Step::kContinue;
  }
  if (tls_) {
    RefuseCommand("503 5.5.1 Error: TLS already active");
    co_return Step::kContinue;
  }
  if (!args.empty()) {
    RefuseCommand("501 5.5.4 Syntax: STARTTLS");
    co_return Step::kContinue;
  }
  Reply("220 2.0.0 Ready to start TLS");
  Step step = co_await Flush(Deadline());
  if (step != Step::kContinue) co_return step;
  // RFC 3207 §4.2 / CVE-2011-0411: whatever was pipelined after STARTTLS came in clear text
  // and must not be run inside the TLS session.
  in_.clear();
  discarding_line_ = false;
  tls_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket>>(std::move(socket_), *ctx_->tls);
  asio::error_code ec;
  ArmTimer(Deadline());
  co_await tls_->async_handshake(asio::ssl::stream_base::server,
                                 asio::redirect_error(asio::use_awaitable, ec));
  DisarmTimer();
  if (timed_out_) co_return Step::kTimeout;
  if (ec) {
    spdlog::info("event=smtp_tls_failed session={} peer={} error={}", id_, peer_ip_,
                 common::LogSafe(ec.message()));
    co_return Step::kClosed;
  }
  tls_ready_ = true;
  SSL* ssl = tls_->native_handle();
  tls_protocol_ = SSL_get_version(ssl);
  const char* cipher = SSL_get_cipher_name(ssl);
  tls_cipher_ = cipher ? cipher : "";
  spdlog::info("event=smtp_tls session={} protocol={} cipher={}", id_, tls_protocol_, tls_cipher_);
  // RFC 3207 §4.2: forget everything learnt before; the client starts with EHLO again.
  helo_.clear();
  ResetTransaction();
  co_return Step::kContinue;
}

}  // namespace smtp
