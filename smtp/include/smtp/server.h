// SmtpServer: the ESMTP listener through which mail servers hand the notary a copy of every
// message (RFC 5321 with PIPELINING, SIZE, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES,
// CHUNKING and, with a certificate, STARTTLS). A message is passed to a MessageSink and
// answered 250 only after the sink reports it committed; 451 4.3.0 when the sink says
// "retry", 554 when it refuses.
//
// One Asio event loop (config.threads threads, default 1) serves every session; a session
// is a coroutine on its own strand, so idle sessions cost memory, not threads.
//
// Thread-safety: Start(), Stop() and the destructor are called from one owning thread;
// port() and stats() may be called from any thread.
// Ownership: the MessageSink is borrowed and must outlive the SmtpServer; after Stop()
// returns no Submit() is made, and a `done` that arrives after the drain deadline is
// harmless.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "pipeline/message_sink.h"

namespace smtp {

struct SmtpServerConfig {
  std::string listen_address = "127.0.0.1";  // IPv4 or IPv6 literal; "::" is dual-stack
  uint16_t port = 2525;                      // 0 picks a free port; see SmtpServer::port()
  std::string hostname = "localhost";        // in the banner and the EHLO reply
  // Clients outside these prefixes get "554 5.7.1" at connect and are closed.
  std::vector<std::string> allow = {"127.0.0.0/8", "::1/128"};
  // Trusted journaling sources: an Exchange / Microsoft 365 journal report from a client in
  // these prefixes is unwrapped (its original notarised with the envelope the report states).
  // Empty: journal reports are notarised as received, like any other message.
  std::vector<std::string> journal_from;
  uint64_t max_message_bytes = 50ull * 1024 * 1024;
  size_t max_recipients = 1000;  // further RCPTs get "452 4.5.3"
  size_t max_sessions = 2000;    // further connections get "421 4.7.0" and are closed
  // Sessions from one client address; further connections get "421 4.7.0" and are closed.
  size_t max_sessions_per_ip = 100;
  // Bytes of messages being received, all sessions together; a message that does not fit is
  // read to its end, dropped and answered "452 4.3.1" (the sender retries).
  uint64_t max_buffered_bytes = 1ull << 30;
  // Longest wait for the client to send (or take) data; then "421 4.4.2" and close.
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(5)};
  // Longest time from MAIL to the end of the message data.
  std::chrono::milliseconds transaction_timeout{std::chrono::minutes(10)};
  // Longest time outside a transaction: from connect, or the end of the last message, to the
  // next MAIL. NOOPs and RSETs do not extend it; then "421 4.4.2" and close.
  std::chrono::milliseconds between_messages_timeout{std::chrono::minutes(5)};
  // PEM files; STARTTLS is offered only when both are set. TLS 1.2 or newer.
  std::string tls_cert_file;
  std::string tls_key_file;
  // Recorded in Provenance::listener; "" means "smtp:<listen_address>:<bound port>".
  std::string listener_name;
  int threads = 1;  // event-loop threads (1 or 2 is plenty)
  // Stop() waits this long for in-flight commits to be answered.
  std::chrono::milliseconds drain_timeout{std::chrono::seconds(30)};
  // After this many refused commands in a session: "421 4.7.0" and close.
  int max_errors = 20;
};

struct SmtpStatsSnapshot {
  uint64_t sessions_active = 0;
  uint64_t sessions_total = 0;  // connections accepted past the allow-list and session limit
  uint64_t messages_accepted = 0;
  uint64_t bytes_accepted = 0;
  uint64_t refused_size = 0;           // 552: SIZE= or actual size over the limit
  uint64_t refused_timeout = 0;        // 421 4.4.2: idle or transaction timeout
  uint64_t refused_policy = 0;         // 554 5.7.1: client address not allowed
  uint64_t refused_session_limit = 0;  // 421 4.7.0: too many sessions (all, or one address)
  uint64_t refused_temp_failure = 0;   // 451 4.3.0: the sink said retry
  uint64_t refused_memory = 0;         // 452 4.3.1: the memory budget was spent
  uint64_t refused_perm_failure = 0;   // 554: the sink refused the message
  uint64_t refused_protocol = 0;       // 5xx for bad commands, syntax, sequence, long lines
  uint64_t aborted_in_data = 0;        // the client went away during DATA/BDAT
};

// Counters updated by sessions; a snapshot is what /metrics reads.
struct SmtpStats {
  std::atomic<uint64_t> sessions_active{0};
  std::atomic<uint64_t> sessions_total{0};
  std::atomic<uint64_t> messages_accepted{0};
  std::atomic<uint64_t> bytes_accepted{0};
  std::atomic<uint64_t> refused_size{0};
  std::atomic<uint64_t> refused_timeout{0};
  std::atomic<uint64_t> refused_policy{0};
  std::atomic<uint64_t> refused_session_limit{0};
  std::atomic<uint64_t> refused_temp_failure{0};
  std::atomic<uint64_t> refused_memory{0};
  std::atomic<uint64_t> refused_perm_failure{0};
  std::atomic<uint64_t> refused_protocol{0};
  std::atomic<uint64_t> aborted_in_data{0};

  SmtpStatsSnapshot Snapshot() const;
};

class SmtpServer {
 public:
  // REQUIRES: `sink` outlives this object.
  SmtpServer(SmtpServerConfig config, pipeline::MessageSink& sink);
  ~SmtpServer();  // Stop()s if running
  SmtpServer(const SmtpServer&) = delete;
  SmtpServer& operator=(const SmtpServer&) = delete;

  // Parses the allow-list, loads the TLS files, binds, listens and starts the event loop.
  // Errors (bad CIDR, unreadable certificate, address in use) say what and where.
  common::Status Start();
  // Stops accepting, tells idle sessions "421 4.3.2" and closes them, lets sessions whose
  // message is being committed answer it (up to drain_timeout), then ends the event loop.
  // Idempotent.
  void Stop();

  uint16_t port() const { return port_.load(); }  // the bound port once Start() succeeded
  SmtpStatsSnapshot stats() const;

  struct Impl;

 private:
  SmtpServerConfig config_;
  pipeline::MessageSink& sink_;
  std::atomic<uint16_t> port_{0};
  std::shared_ptr<SmtpStats> stats_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace smtp
