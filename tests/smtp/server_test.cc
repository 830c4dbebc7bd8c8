// SmtpServer driven by clients that were not written here (swaks, Postfix's smtp-source,
// Python's smtplib) and by a raw socket for what those cannot send (BDAT, NUL bytes,
// broken clients). The sink records messages in memory and answers from its own thread.
#include "smtp/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <regex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "common/bytes.h"
#include "common/sha256.h"
#include "support/test_support.h"

namespace smtp {
namespace {

using namespace std::chrono_literals;
using testsupport::CommandResult;
using testsupport::RunCommand;

// ---------------------------------------------------------------------------------------
// A MessageSink that records what it is given and answers from a worker thread, like the
// real store. It can be told to fail or to take its time.
class RecordingSink : public pipeline::MessageSink {
 public:
  enum class Mode { kAccept, kTempFail, kPermFail };
  struct Stored {
    pipeline::Arrival arrival;
    std::string raw;
  };

  void Submit(pipeline::Arrival arrival, std::string raw,
              std::function<void(pipeline::SubmitOutcome)> done) override {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back({std::move(arrival), std::move(raw), std::move(done)});
    cv_.notify_all();
  }

  void set_mode(Mode m) {
    std::lock_guard<std::mutex> lock(mu_);
    mode_ = m;
  }
  void set_delay(std::chrono::milliseconds d) {
    std::lock_guard<std::mutex> lock(mu_);
    delay_ = d;
  }
  std::vector<Stored> messages() {
    std::lock_guard<std::mutex> lock(mu_);
    return stored_;
  }
  size_t submitted() {
    std::lock_guard<std::mutex> lock(mu_);
    return submitted_;
  }

 private:
  struct Item {
    pipeline::Arrival arrival;
    std::string raw;
    std::function<void(pipeline::SubmitOutcome)> done;
  };

  void Work(std::stop_token stop) {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, stop, [&] { return !queue_.empty(); });
      if (queue_.empty()) return;  // stop requested
      Item item = std::move(queue_.front());
      queue_.pop_front();
      ++submitted_;
      const Mode mode = mode_;
      const auto delay = delay_;
      lock.unlock();
      std::this_thread::sleep_for(delay);
      pipeline::SubmitOutcome outcome;
      if (mode == Mode::kAccept) {
        outcome.kind = pipeline::SubmitOutcome::Kind::kAccepted;
        outcome.raw_sha256_hex = common::ToHex(common::Sha256Of(item.raw));
        lock.lock();
        outcome.receipt_id = "r" + std::to_string(stored_.size() + 1);
        stored_.push_back({std::move(item.arrival), std::move(item.raw)});
        lock.unlock();
      } else if (mode == Mode::kTempFail) {
        outcome.kind = pipeline::SubmitOutcome::Kind::kTempFail;
        outcome.message = "database unavailable";
      } else {
        outcome.kind = pipeline::SubmitOutcome::Kind::kPermFail;
        outcome.message = "refused by policy";
      }
      item.done(std::move(outcome));
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable_any cv_;
  std::deque<Item> queue_;                                         // guarded by mu_
  std::vector<Stored> stored_;                                     // guarded by mu_
  size_t submitted_ = 0;                                           // guarded by mu_
  Mode mode_ = Mode::kAccept;                                      // guarded by mu_
  std::chrono::milliseconds delay_{0};                             // guarded by mu_
  std::jthread worker_{[this](std::stop_token st) { Work(st); }};  // last: starts after the rest
};

// ---------------------------------------------------------------------------------------
// A plain TCP client for what the real clients cannot send.
class RawClient {
 public:
  // `from`: the loopback address to connect from (a second client address for per-address
  // limits); empty: the kernel's choice (127.0.0.1).
  explicit RawClient(uint16_t port, const char* from = nullptr) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    if (from != nullptr) {
      sockaddr_in local{};
      local.sin_family = AF_INET;
      inet_pton(AF_INET, from, &local.sin_addr);
      if (bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
        close(fd_);
        fd_ = -1;
        return;
      }
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      close(fd_);
      fd_ = -1;
    }
  }
  ~RawClient() {
    if (fd_ >= 0) close(fd_);
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return fd_ >= 0; }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // One complete reply (every line of a multi-line one); "" on timeout or close.
  std::string Reply(int timeout_ms = 15000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      size_t start = 0;
      for (;;) {
        size_t end = buf_.find("\r\n", start);
        if (end == std::string::npos) break;
        if (end - start < 4 || buf_[start + 3] == ' ') {
          std::string reply = buf_.substr(0, end + 2);
          buf_.erase(0, end + 2);
          return reply;
        }
        start = end + 2;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || ReadSome(static_cast<int>(left.count())) <= 0) return "";
    }
  }

  std::string Command(std::string_view line) {
    Send(std::string(line) + "\r\n");
    return Reply();
  }

  // True when the server closes the connection within the timeout.
  bool WaitClosed(int timeout_ms = 15000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      int n = ReadSome(static_cast<int>(left.count()));
      if (n < 0) return true;    // EOF or reset
      if (n == 0) return false;  // timeout
    }
  }

 private:
  // >0 bytes read, 0 timeout, <0 closed.
  int ReadSome(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    int r = poll(&p, 1, timeout_ms);
    if (r <= 0) return 0;
    char tmp[8192];
    ssize_t n = recv(fd_, tmp, sizeof(tmp), 0);
    if (n <= 0) return -1;
    buf_.append(tmp, static_cast<size_t>(n));
    return static_cast<int>(n);
  }

  int fd_ = -1;
  std::string buf_;
};

int Code(const std::string& reply) {
  return reply.size() >= 3 ? std::atoi(reply.substr(0, 3).c_str()) : -1;
}

// RFC 2034: every reply but the greeting and EHLO's carries an enhanced status code.
bool HasEnhancedCode(const std::string& reply) {
  static const std::regex kRe("^[245][0-9][0-9] [245]\\.[0-9]{1,3}\\.[0-9]{1,3} .*\r\n$");
  return std::regex_match(reply, kRe);
}

bool WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 15s) {
  return testsupport::WaitUntil(pred, timeout, 10ms);
}

std::string AcceptedReply(const std::string& id, const std::string& raw) {
  return "250 2.0.0 Ok: notarised id=" + id + " sha256=" + common::ToHex(common::Sha256Of(raw)) +
         "\r\n";
}

class SmtpServerTest : public ::testing::Test {
 protected:
  static SmtpServerConfig BaseConfig() {
    SmtpServerConfig c;
    c.listen_address = "127.0.0.1";
    c.port = 0;
    c.hostname = "notary.test";
    c.idle_timeout = 30s;
    c.drain_timeout = 10s;
    return c;
  }

  bool StartServer(const SmtpServerConfig& config) {
    server_ = std::make_unique<SmtpServer>(config, sink_);
    common::Status st = server_->Start();
    EXPECT_TRUE(st.ok()) << st.error().ToString();
    port_ = server_->port();
    return st.ok() && port_ != 0;
  }

  // EHLO done, ready for MAIL.
  std::unique_ptr<RawClient> Greeted() {
    auto c = std::make_unique<RawClient>(port_);
    EXPECT_EQ(Code(c->Reply()), 220);
    std::string ehlo = c->Command("EHLO client.test");
    EXPECT_EQ(Code(ehlo), 250) << ehlo;
    return c;
  }

  CommandResult Swaks(const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {"swaks",
                                     "--server",
                                     "127.0.0.1",
                                     "--port",
                                     std::to_string(port_),
                                     "--from",
                                     "sender@example.org",
                                     "--to",
                                     "rcpt@example.net",
                                     "--timeout",
                                     "30",
                                     "--helo",
                                     "client.example"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunCommand(argv, "", 120);
  }

  RecordingSink sink_;  // outlives the server
  std::unique_ptr<SmtpServer> server_;
  uint16_t port_ = 0;
};

// ---------------------------------------------------------------------------------------
// Real clients, messages that are accepted.

TEST_F(SmtpServerTest, SwaksPlainMessageIsRecordedWithEnvelopeAndHash) {
  ASSERT_TRUE(StartServer(BaseConfig()));
  CommandResult r = Swaks({"--h-Subject", "plain", "--body", "Hello notary"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto msgs = sink_.messages();
  ASSERT_EQ(msgs.size(), 1u);
  const auto& m = msgs[0];
  EXPECT_NE(m.raw.find("Hello notary"), std::string::npos);
  EXPECT_NE(r.out.find(AcceptedReply("r1", m.raw).substr(0, 80)), std::string::npos) << r.out;
  EXPECT_EQ(m.arrival.envelope.mail_from, "sender@example.org");
  EXPECT_EQ(m.arrival.envelope.recipients, std::vector<std::string>{"rcpt@example.net"});
  EXPECT_EQ(m.arrival.envelope.client_ip, "127.0.0.1");
  EXPECT_NE(m.arrival.envelope.client_port, 0);
  EXPECT_EQ(m.arrival.envelope.helo, "client.example");
  EXPECT_EQ(m.arrival.provenance.source, "smtp");
  EXPECT_EQ(m.arrival.provenance.listener, "smtp:127.0.0.1:" + std::to_string(port_));
  EXPECT_TRUE(m.arrival.envelope.tls_protocol.empty());
  SmtpStatsSnapshot s = server_->stats();
  EXPECT_EQ(s.messages_accepted, 1u);
  EXPECT_EQ(s.bytes_accepted, m.raw.size());
  EXPECT_EQ(s.sessions_total, 1u);
}

TEST_F(SmtpServerTest, SwaksPipelinedWithSeveralRecipients) {
  ASSERT_TRUE(StartServer(BaseConfig()));
  CommandResult r = Swaks(
      {"--pipeline", "--to", "a@example.net,b@example.net,c@example.net", "--body", "pipelined"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("PIPELINING"), std::string::npos);
  auto msgs = sink_.messages();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].arrival.envelope.recipients,
            (std::vector<std::string>{"a@example.net", "b@example.net", "c@example.net"}));
}

TEST_F(SmtpServerTest, SwaksStartTlsRecordsProtocolAndCipher) {
  const std::string dir = testsupport::MakeTempDir("smtp-tls");
  CommandResult gen = RunCommand({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                                  "-keyout", dir + "/key.pem", "-out", dir + "/cert.pem", "-days",
                                  "2", "-subj", "/CN=notary.test"});
  ASSERT_EQ(gen.exit_code, 0) << gen.out;
  SmtpServerConfig c = BaseConfig();
  c.tls_cert_file = dir + "/cert.pem";
  c.tls_key_file = dir + "/key.pem";
  ASSERT_TRUE(StartServer(c));

  // Offered before TLS, not after; the state resets so MAIL needs a new EHLO.
  CommandResult r = Swaks({"--tls", "--body", "over tls"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("STARTTLS"), std::string::npos);
  EXPECT_NE(r.out.find("220 2.0.0 Ready to start TLS"), std::string::npos) << r.out;
  auto msgs = sink_.messages();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_TRUE(msgs[0].arrival.envelope.tls_protocol == "TLSv1.3" ||
              msgs[0].arrival.envelope.tls_protocol == "TLSv1.2")
      << msgs[0].arrival.envelope.tls_protocol;
  EXPECT_FALSE(msgs[0].arrival.envelope.tls_cipher.empty());

  // TLS 1.1 is refused.
  CommandResult old = Swaks({"--tls", "--tls-protocol", "tlsv1_1", "--body", "old"});
  EXPECT_NE(old.exit_code, 0) << old.out;
  EXPECT_EQ(sink_.messages().size(), 1u);
}

// Regression: the session closed TCP after "221" without a TLS close_notify, so clients saw
// a truncated stream (OpenSSL: "unexpected eof while reading"; Exim logged a TLS error on
// every copy it delivered).
TEST_F(SmtpServerTest, QuitOverTlsEndsWithCloseNotify) {
  const std::string dir = testsupport::MakeTempDir("smtp-tls-quit");
  CommandResult gen =
      RunCommand({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                  "-nodes", "-keyout", dir + "/key.pem", "-out", dir + "/cert.pem", "-days", "2",
                  "-subj", "/CN=notary.test"});
  ASSERT_EQ(gen.exit_code, 0) << gen.out;
  SmtpServerConfig c = BaseConfig();
  c.tls_cert_file = dir + "/cert.pem";
  c.tls_key_file = dir + "/key.pem";
  ASSERT_TRUE(StartServer(c));
  testsupport::WriteFile(dir + "/session", "EHLO client.test\r\nQUIT\r\n");
  // -ign_eof: s_client keeps reading after its input ends, until the server closes.
  CommandResult r = RunCommand({"sh", "-c",
                                "openssl s_client -brief -ign_eof -starttls smtp -connect "
                                "127.0.0.1:" +
                                    std::to_string(port_) + " < " + dir + "/session 2>&1"});
  EXPECT_NE(r.out.find("221 2.0.0"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("unexpected eof"), std::string::npos) << r.out;
  EXPECT_EQ(r.exit_code, 0) << r.out;
}

TEST_F(SmtpServerTest, StartTlsIsNotOfferedWithoutCertificate) {
  ASSERT_TRUE(StartServer(BaseConfig()));
  RawClient c(port_);
  ASSERT_EQ(Code(c.Reply()), 220);
  std::string ehlo = c.Command("EHLO x");
  EXPECT_EQ(ehlo.find("STARTTLS"), std::string::npos);
  for (const char* ext :
       {"PIPELINING", "SIZE 52428800", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "CHUNKING"}) {
    EXPECT_TRUE(ehlo.find(std::string("250-") + ext + "\r\n") != std::string::npos ||
                ehlo.find(std::string("250 ") + ext + "\r\n") != std::string::npos)
        << ext;
  }
  std::string st = c.Command("STARTTLS");
  EXPECT_EQ(Code(st), 502) << st;
}

TEST_F(SmtpServerTest, SwaksEightBitBody) {
  ASSERT_TRUE(StartServer(BaseConfig()));
  const std::string body =
      "Gr\xc3\xbc\xc3\x9f"
      "e \xe2\x82\xac 100";
  CommandResult r = Swaks({"--body", body});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto msgs = sink_.messages();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_NE(msgs[0].raw.find(body), std::string::npos);
}

// swaks cannot add MAIL parameters; Python's smtplib can.
CommandResult PythonSend(uint16_t port, const std::string& options, const std::string& from,
                         const std::string& to, const std::string& body_expr) {
  const std::string script =
      "import smtplib, sys\n"
      "s = smtplib.SMTP('127.0.0.1', " +
      std::to_string(port) +
      ", timeout=30)\n"
      "s.ehlo('py.example')\n"
      "s.command_encoding = 'utf-8'  # so that it can also send UTF-8 without SMTPUTF8\n"
      "print('MAIL', s.mail('" +
      from + "', " + options +
      "))\n"
      "print('RCPT', s.rcpt('" +
      to +
      "'))\n"
      "body = b'Subject: utf8\\r\\n\\r\\n' + " +
      body_expr +
      " + b'\\r\\n'\n"
      "print('DATA', s.data(body))\n"
      "s.quit()\n";
  return RunCommand({"python3", "-c", script}, "", 60);
}

TEST_F(SmtpServerTest, SmtpUtf8AndEightBitMimeWithLongLines) {
  ASSERT_TRUE(StartServer(BaseConfig()));
  CommandResult r =
      PythonSend(port_, "['SMTPUTF8', 'BODY=8BITMIME']", "j\u00fcrgen@ex\u00e4mple.org",
                 "zo\u00eb@example.net", "'\u00e9t\u00e9 '.encode() + b'x' * 2000");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("DATA (250, b'2.0.0 Ok: notarised id=r1"), std::string::npos) << r.out;
  auto msgs = sink_.messages();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].arrival.envelope.mail_from, "j\xc3\xbcrgen@ex\xc3\xa4mple.org");
  EXPECT_EQ(msgs[0].arrival.envelope.recipients[0], "zo\xc3\xab@example.net");
  EXPECT_TRUE(msgs[0].arrival.smtputf8);
  EXPECT_EQ(msgs[0].arrival.body_type, "8BITMIME");
  EXPECT_NE(msgs[0].raw.find(std::string(2000, 'x')), std::string::npos);
}

TEST_F(SmtpServerTest, LongLineWithoutEightBitMimeIsRefusedAndNotStored) {
  ASSERT_TRUE(StartServer(BaseConfig()));
  CommandResult r = PythonSend(port_, "[]", "a@example.org", "b@example.net", "b'x' * 2000");
  EXPECT_NE(r.out.find("DATA (554, b'5.6.0"), std::string::npos) << r.out;
  // A UTF-8 address without SMTPUTF8 is refused at MAIL.
  CommandResult u = PythonSend(port_, "[]", "j\u00fcrgen@example.org", "b@example.net", "b'x'");
  EXPECT_NE(u.out.find("MAIL (553, b'5.6.7"), std::string::npos) << u.out;
  EXPECT_TRUE(sink_.messages().empty());
}

TEST_F(SmtpServerTest, SmtpSourceFiftyRecipients) {
  ASSERT_TRUE(StartServer(BaseConfig()));
  CommandResult r =
      RunCommand({"/usr/sbin/smtp-source", "-r", "50", "-m", "1", "-f", "s@example.org", "-t",
                  "r@example.net", "127.0.0.1:" + std::to_string(port_)},
                 "", 120);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto msgs = sink_.messages();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].arrival.envelope.recipients.size(), 50u);
}

TEST_F(SmtpServerTest, SmtpSourceThousandMessagesInTwentySessions) {
  ASSERT_TRUE(StartServer(BaseConfig()));
  CommandResult r =
      RunCommand({"/usr/sbin/smtp-source", "-d", "-s", "20", "-m", "1000", "-l", "5000", "-f",
                  "s@example.org", "-t", "r@example.net", "127.0.0.1:" + std::to_string(port_)},
                 "", 300);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto msgs = sink_.messages();
  ASSERT_EQ(msgs.size(), 1000u);
  uint64_t total = 0;
  for (const auto& m : msgs) {
    // smtp-source sends a few header lines, a blank line and -l bytes of body text in
    // CRLF-terminated lines (CRLFs counted), then the CRLF that ends the last line.
    size_t body = m.raw.find("\r\n\r\n");
    ASSERT_NE(body, std::string::npos);
    EXPECT_EQ(m.raw.size() - body - 4, 5002u) << m.raw.substr(0, 400);
    EXPECT_EQ(m.raw.substr(m.raw.size() - 2), "\r\n");
    EXPECT_EQ(m.arrival.envelope.recipients, std::vector<std::string>{"r@example.net"});
    total += m.raw.size();
  }
  SmtpStatsSnapshot s = server_->stats();
  EXPECT_EQ(s.messages_accepted, 1000u);
  EXPECT_EQ(s.bytes_accepted, total);
  EXPECT_EQ(s.sessions_total, 20u);
}

TEST_F(SmtpServerTest, TwoLoopThreadsServeConcurrentSessions) {
  SmtpServerConfig cfg = BaseConfig();
  cfg.threads = 2;
  ASSERT_TRUE(StartServer(cfg));
  CommandResult r = RunCommand(
      {"/usr/sbin/smtp-source", "-d", "-s", "20", "-m", "400", "-l", "20000", "-r", "3", "-f",
       "s@example.org", "-t", "r@example.net", "127.0.0.1:" + std::to_string(port_)},
      "", 300);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto msgs = sink_.messages();
  ASSERT_EQ(msgs.size(), 400u);
  for (const auto& m : msgs) EXPECT_EQ(m.arrival.envelope.recipients.size(), 3u);
  EXPECT_EQ(server_->stats().messages_accepted, 400u);
}

// ---------------------------------------------------------------------------------------
// Exact bytes, pipelining and BDAT over a raw socket.

TEST_F(SmtpServerTest, DotUnstuffingKeepsLineEndingsAsSent) {
  ASSERT_TRUE(StartServer(BaseConfig()));
  auto c = Greeted();
  EXPECT_EQ(Code(c->Command("MAIL FROM:<a@example.org>")), 250);
  EXPECT_EQ(Code(c->Command("RCPT TO:<b@example.net>")), 250);
  EXPECT_EQ(Code(c->Command("DATA")), 354);
  c->Send("Subject: dots\r\n\r\n..leading dot\r\nbare\nlf and bare\rcr\r\n.\r\n");
  const std::string want = "Subject: dots\r\n\r\n.leading dot\r\nbare\nlf and bare\rcr\r\n";
  EXPECT_EQ(c->Reply(), AcceptedReply("r1", want));
  auto msgs = sink_.messages();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].raw, want);
}

TEST_F(SmtpServerTest, PipelinedBatchesAreAnsweredInOrder) {
  ASSERT_TRUE(StartServer(BaseConfig()));
  RawClient c(port_);
  ASSERT_EQ(Code(c.Reply()), 220);
  c.Send(
      "EHLO a\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<c@example.net>\r\nRCPT TO:<bad\r\n"
      "DATA\r\n");
  EXPECT_EQ(Code(c.Reply()), 250);
  EXPECT_EQ(c.Reply(), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(c.Reply(), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(Code(c.Reply()), 501);
  EXPECT_EQ(Code(c.Reply()), 354);
  c.Send("one\r\n.\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<c@example.net>\r\nDATA\r\n");
  EXPECT_EQ(c.Reply(), AcceptedReply("r1", "one\r\n"));
  EXPECT_EQ(Code(c.Reply()), 250);
  EXPECT_EQ(Code(c.Reply()), 250);
  EXPECT_EQ(Code(c.Reply()), 354);
  c.Send("two\r\n.\r\nQUIT\r\n");
  EXPECT_EQ(c.Reply(), AcceptedReply("r2", "two\r\n"));
  EXPECT_EQ(c.Reply(), "221 2.0.0 Bye\r\n");
  EXPECT_TRUE(c.WaitClosed());
  auto msgs = sink_.messages();
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].raw, "one\r\n");
  EXPECT_EQ(msgs[1].raw, "two\r\n");
}

TEST_F(SmtpServerTest, BdatChunksAreStoredVerbatim) {
  ASSERT_TRUE(StartServer(BaseConfig()));
  auto c = Greeted();
  // Without a transaction the chunk is read and dropped; the session carries on.
  c->Send("BDAT 5\r\nMAIL ");
  EXPECT_EQ(Code(c->Reply()), 503);
  EXPECT_EQ(Code(c->Command("MAIL FROM:<a@example.org>")), 250);
  EXPECT_EQ(Code(c->Command("RCPT TO:<b@example.net>")), 250);
  const std::string part1 = "Subject: bdat\r\n\r\n";
  const std::string part2 = ".\r\nnot the end\r\n.\r\nQUIT\r\n";  // no dot rules in BDAT
  c->Send("BDAT " + std::to_string(part1.size()) + "\r\n" + part1);
  EXPECT_EQ(c->Reply(), "250 2.0.0 " + std::to_string(part1.size()) + " octets received\r\n");
  c->Send("BDAT " + std::to_string(part2.size()) + "\r\n" + part2 + "BDAT 0 LAST\r\nNOOP\r\n");
  EXPECT_EQ(Code(c->Reply()), 250);
  EXPECT_EQ(c->Reply(), AcceptedReply("r1", part1 + part2));
  EXPECT_EQ(c->Reply(), "250 2.0.0 Ok\r\n");
  // DATA after BDAT in one transaction is out of sequence.
  EXPECT_EQ(Code(c->Command("MAIL FROM:<a@example.org>")), 250);
  EXPECT_EQ(Code(c->Command("RCPT TO:<b@example.net>")), 250);
  c->Send("BDAT 2\r\nab");
  EXPECT_EQ(Code(c->Reply()), 250);
  EXPECT_EQ(Code(c->Command("DATA")), 503);
  c->Send("BDAT 1 LAST\r\nc");
  EXPECT_EQ(c->Reply(), AcceptedReply("r2", "abc"));
  auto msgs = sink_.messages();
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].raw, part1 + part2);
  // A BDAT whose size cannot be read ends the session rather than run data as commands.
  EXPECT_EQ(Code(c->Command("BDAT lots")), 501);
  EXPECT_TRUE(c->WaitClosed());
}

// ---------------------------------------------------------------------------------------
// Bad input: the right reply, nothing stored.

TEST_F(SmtpServerTest, ProtocolErrorsGetTheirCodesAndStoreNothing) {
  ASSERT_TRUE(StartServer(BaseConfig()));
  RawClient c(port_);
  ASSERT_EQ(Code(c.Reply()), 220);
  struct Case {
    std::string line;
    int code;
  };
  const std::vector<Case> cases = {
      {"MAIL FROM:<a@example.org>", 503},  // before EHLO
      {"EHLO", 501},
      {"XYZZY", 500},
      {"GET / HTTP/1.1", 500},
      {"HELO client.test", 250},
      {"RCPT TO:<b@example.net>", 503},
      {"DATA", 503},
      {"MAIL FROM:<a@example.org> FOO=1", 555},
      {"MAIL FROM:<a@example.org> SIZE=abc", 501},
      {"MAIL FROM:a@example.org", 501},
      {"MAIL FROM:<a@example.org>", 250},
      {"MAIL FROM:<a@example.org>", 503},
      {"RCPT TO:<b@example.net", 501},
      {"DATA", 503},
      {"VRFY root", 252},
      {"EXPN staff", 502},
      {"HELP", 214},
      {"NOOP", 250},
      {std::string("NOOP\0hidden", 11), 501},
      {std::string(600, 'A'), 500},
      {"RSET", 250},
      {"DATA", 503},
  };
  for (const Case& k : cases) {
    std::string reply = c.Command(k.line);
    EXPECT_EQ(Code(reply), k.code) << "case " << (&k - &cases[0]) << " -> " << reply;
    if (Code(reply) != 250 || k.line.rfind("HELO", 0) != 0) {
      EXPECT_TRUE(HasEnhancedCode(reply)) << reply;
    }
  }
  EXPECT_NE(c.Command(std::string(600, 'A')).find("500 5.5.6"), std::string::npos);
  EXPECT_EQ(Code(c.Command("NOOP")), 250);  // still usable
  EXPECT_EQ(c.Command("QUIT"), "221 2.0.0 Bye\r\n");
  EXPECT_TRUE(c.WaitClosed());
  EXPECT_TRUE(sink_.messages().empty());
  EXPECT_GE(server_->stats().refused_protocol, 14u);
}

TEST_F(SmtpServerTest, TooManyErrorsEndTheSession) {
  ASSERT_TRUE(StartServer(BaseConfig()));
  RawClient c(port_);
  ASSERT_EQ(Code(c.Reply()), 220);
  std::string garbage;
  for (int i = 0; i < 30; ++i) garbage += "JUNK\r\n";
  c.Send(garbage);
  std::string last;
  for (int i = 0; i < 30; ++i) {
    std::string r = c.Reply();
    if (r.empty()) break;
    last = r;
  }
  EXPECT_EQ(last.substr(0, 9), "421 4.7.0") << last;
  EXPECT_TRUE(c.WaitClosed());
}

TEST_F(SmtpServerTest, OversizedMessagesAreRefusedWith552) {
  SmtpServerConfig cfg = BaseConfig();
  cfg.max_message_bytes = 1000;
  ASSERT_TRUE(StartServer(cfg));
  auto c = Greeted();
  EXPECT_NE(c->Command("MAIL FROM:<a@example.org> SIZE=5000").find("552 5.3.4"), std::string::npos);
  EXPECT_EQ(Code(c->Command("MAIL FROM:<a@example.org> SIZE=900")), 250);
  EXPECT_EQ(Code(c->Command("RCPT TO:<b@example.net>")), 250);
  // BDAT over the limit: the chunk is read, the answer is 552, the session goes on.
  c->Send("BDAT 2000 LAST\r\n" + std::string(2000, 'x'));
  EXPECT_NE(c->Reply().find("552 5.3.4"), std::string::npos);
  EXPECT_EQ(Code(c->Command("NOOP")), 250);

  CommandResult r = Swaks({"--body", std::string(5000, 'y')});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("552 5.3.4"), std::string::npos) << r.out;
  EXPECT_TRUE(sink_.messages().empty());
  EXPECT_EQ(sink_.submitted(), 0u);
  EXPECT_EQ(server_->stats().refused_size, 3u);
}

TEST_F(SmtpServerTest, RecipientsPastTheLimitGet452) {
  SmtpServerConfig cfg = BaseConfig();
  cfg.max_recipients = 3;
  ASSERT_TRUE(StartServer(cfg));
  auto c = Greeted();
  EXPECT_EQ(Code(c->Command("MAIL FROM:<a@example.org>")), 250);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Code(c->Command("RCPT TO:<b@example.net>")), 250);
  EXPECT_EQ(c->Command("RCPT TO:<b@example.net>").substr(0, 9), "452 4.5.3");
  EXPECT_EQ(Code(c->Command("DATA")), 354);
  c->Send("x\r\n.\r\n");
  EXPECT_EQ(Code(c->Reply()), 250);
  auto msgs = sink_.messages();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].arrival.envelope.recipients.size(), 3u);
}

TEST_F(SmtpServerTest, ClientDroppingMidDataStoresNothing) {
  ASSERT_TRUE(StartServer(BaseConfig()));
  {
    auto c = Greeted();
    EXPECT_EQ(Code(c->Command("MAIL FROM:<a@example.org>")), 250);
    EXPECT_EQ(Code(c->Command("RCPT TO:<b@example.net>")), 250);
    EXPECT_EQ(Code(c->Command("DATA")), 354);
    c->Send("Subject: cut\r\n\r\npartial body\r\n");
  }  // closed here
  EXPECT_TRUE(WaitFor([&] { return server_->stats().aborted_in_data == 1; }));
  EXPECT_TRUE(WaitFor([&] { return server_->stats().sessions_active == 0; }));
  EXPECT_EQ(sink_.submitted(), 0u);
}

TEST_F(SmtpServerTest, SilentClientsTimeOutWith421) {
  SmtpServerConfig cfg = BaseConfig();
  cfg.idle_timeout = 1s;
  ASSERT_TRUE(StartServer(cfg));
  auto idle = Greeted();
  auto in_data = Greeted();
  EXPECT_EQ(Code(in_data->Command("MAIL FROM:<a@example.org>")), 250);
  EXPECT_EQ(Code(in_data->Command("RCPT TO:<b@example.net>")), 250);
  EXPECT_EQ(Code(in_data->Command("DATA")), 354);
  in_data->Send("Subject: slow\r\n");
  EXPECT_EQ(idle->Reply().substr(0, 9), "421 4.4.2");
  EXPECT_TRUE(idle->WaitClosed());
  EXPECT_EQ(in_data->Reply().substr(0, 9), "421 4.4.2");
  EXPECT_TRUE(in_data->WaitClosed());
  EXPECT_EQ(sink_.submitted(), 0u);
  EXPECT_EQ(server_->stats().refused_timeout, 2u);
}

TEST_F(SmtpServerTest, TransactionTimeoutBoundsATricklingClient) {
  SmtpServerConfig cfg = BaseConfig();
  cfg.idle_timeout = 10s;
  cfg.transaction_timeout = 1s;
  ASSERT_TRUE(StartServer(cfg));
  auto c = Greeted();
  EXPECT_EQ(Code(c->Command("MAIL FROM:<a@example.org>")), 250);
  EXPECT_EQ(Code(c->Command("RCPT TO:<b@example.net>")), 250);
  EXPECT_EQ(Code(c->Command("DATA")), 354);
  std::string reply;
  for (int i = 0; i < 100 && reply.empty(); ++i) {
    c->Send("a line\r\n");  // steady, but never finishing
    reply = c->Reply(200);
  }
  EXPECT_EQ(reply.substr(0, 9), "421 4.4.2") << reply;
  EXPECT_TRUE(c->WaitClosed());
  EXPECT_EQ(sink_.submitted(), 0u);
}

TEST_F(SmtpServerTest, DisallowedClientAddressGets554AtConnect) {
  SmtpServerConfig cfg = BaseConfig();
  cfg.allow = {"10.0.0.0/8", "2001:db8::/32"};
  ASSERT_TRUE(StartServer(cfg));
  CommandResult r = Swaks({"--body", "x"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("554 5.7.1"), std::string::npos) << r.out;
  RawClient c(port_);
  EXPECT_EQ(c.Reply().substr(0, 9), "554 5.7.1");
  EXPECT_TRUE(c.WaitClosed());
  EXPECT_EQ(server_->stats().refused_policy, 2u);
  EXPECT_EQ(server_->stats().sessions_total, 0u);
  EXPECT_EQ(sink_.submitted(), 0u);
}

TEST_F(SmtpServerTest, ConnectionsPastTheSessionLimitGet421) {
  SmtpServerConfig cfg = BaseConfig();
  cfg.max_sessions = 2;
  ASSERT_TRUE(StartServer(cfg));
  auto a = Greeted();
  auto b = Greeted();
  RawClient third(port_);
  EXPECT_EQ(third.Reply().substr(0, 9), "421 4.7.0");
  EXPECT_TRUE(third.WaitClosed());
  CommandResult r = Swaks({"--body", "x"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("421 4.7.0"), std::string::npos) << r.out;
  EXPECT_EQ(server_->stats().refused_session_limit, 2u);
  // A place frees up when a session ends.
  EXPECT_EQ(Code(a->Command("QUIT")), 221);
  EXPECT_TRUE(a->WaitClosed());
  EXPECT_TRUE(WaitFor([&] { return server_->stats().sessions_active == 1; }));
  CommandResult ok = Swaks({"--body", "x"});
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
}

// Issue 17, finding 9: no per-address session limit, no idle limit outside a transaction and
// no global memory budget (2,000 sessions x 50 MiB).
TEST_F(SmtpServerTest, ConnectionsFromOneAddressPastItsLimitGet421) {
  SmtpServerConfig cfg = BaseConfig();
  cfg.max_sessions_per_ip = 2;
  ASSERT_TRUE(StartServer(cfg));
  auto a = Greeted();
  auto b = Greeted();
  RawClient third(port_);
  EXPECT_EQ(third.Reply().substr(0, 9), "421 4.7.0");
  EXPECT_TRUE(third.WaitClosed());
  RawClient other(port_, "127.0.0.2");  // another client address is served
  ASSERT_TRUE(other.connected());
  EXPECT_EQ(Code(other.Reply()), 220);
  EXPECT_EQ(server_->stats().refused_session_limit, 1u);
  EXPECT_EQ(Code(a->Command("QUIT")), 221);
  EXPECT_TRUE(a->WaitClosed());
  EXPECT_TRUE(WaitFor([&] { return server_->stats().sessions_active == 2; }));
  RawClient fourth(port_);
  EXPECT_EQ(Code(fourth.Reply()), 220);
}

TEST_F(SmtpServerTest, SessionsOutsideATransactionEndAtTheirLimitWhateverTheyNoop) {
  SmtpServerConfig cfg = BaseConfig();
  cfg.idle_timeout = 10s;
  cfg.between_messages_timeout = 1s;
  ASSERT_TRUE(StartServer(cfg));
  auto c = Greeted();
  std::string reply;
  for (int i = 0; i < 100; ++i) {
    reply = c->Command("NOOP");  // every 100 ms: never idle, never sending mail
    if (Code(reply) != 250) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(reply.substr(0, 9), "421 4.4.2") << reply;
  EXPECT_TRUE(c->WaitClosed());
  // A session that sends mail is not cut short by it.
  CommandResult r = Swaks({"--body", "on time"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
}

TEST_F(SmtpServerTest, MessagesPastTheMemoryBudgetGet452AndTheBudgetComesBack) {
  SmtpServerConfig cfg = BaseConfig();
  cfg.max_buffered_bytes = 600 * 1024;
  ASSERT_TRUE(StartServer(cfg));
  auto c = Greeted();
  EXPECT_EQ(Code(c->Command("MAIL FROM:<a@example.org>")), 250);
  EXPECT_EQ(Code(c->Command("RCPT TO:<b@example.net>")), 250);
  EXPECT_EQ(Code(c->Command("DATA")), 354);
  const std::string line(998, 'x');
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(c->Send(line + "\r\n"));  // about 1 MB
  std::string reply = c->Command(".");
  EXPECT_EQ(reply.substr(0, 9), "452 4.3.1") << reply;
  EXPECT_EQ(server_->stats().refused_memory, 1u);
  EXPECT_EQ(sink_.submitted(), 0u);
  // The session goes on, and the budget was given back.
  EXPECT_EQ(Code(c->Command("MAIL FROM:<a@example.org>")), 250);
  EXPECT_EQ(Code(c->Command("RCPT TO:<b@example.net>")), 250);
  EXPECT_EQ(Code(c->Command("DATA")), 354);
  c->Send("Subject: small\r\n\r\nfits\r\n");
  EXPECT_EQ(Code(c->Command(".")), 250);
}

TEST_F(SmtpServerTest, ThousandIdleSessionsDoNotStopAMessage) {
  SmtpServerConfig cfg = BaseConfig();
  cfg.max_sessions = 1100;
  cfg.max_sessions_per_ip = 1100;
  ASSERT_TRUE(StartServer(cfg));
  std::vector<std::unique_ptr<RawClient>> idle;
  for (int i = 0; i < 1000; ++i) {
    idle.push_back(std::make_unique<RawClient>(port_));
    ASSERT_TRUE(idle.back()->connected()) << i;
  }
  for (auto& c : idle) ASSERT_EQ(Code(c->Reply()), 220);
  EXPECT_EQ(server_->stats().sessions_active, 1000u);
  CommandResult r = Swaks({"--body", "through the crowd"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(sink_.messages().size(), 1u);
  for (size_t i = 0; i < idle.size(); i += 100) EXPECT_EQ(Code(idle[i]->Command("NOOP")), 250);
  idle.clear();
  EXPECT_TRUE(WaitFor([&] { return server_->stats().sessions_active == 0; }));
}

// ---------------------------------------------------------------------------------------
// What the sink says is what the client hears.

TEST_F(SmtpServerTest, SinkTemporaryFailureIs451AndSwaksSeesIt) {
  ASSERT_TRUE(StartServer(BaseConfig()));
  sink_.set_mode(RecordingSink::Mode::kTempFail);
  CommandResult r = Swaks({"--body", "retry me"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("<** 451 4.3.0"), std::string::npos) << r.out;
  EXPECT_EQ(server_->stats().refused_temp_failure, 1u);
  EXPECT_EQ(server_->stats().messages_accepted, 0u);

  sink_.set_mode(RecordingSink::Mode::kPermFail);
  CommandResult p = Swaks({"--body", "refuse me"});
  EXPECT_NE(p.exit_code, 0);
  EXPECT_NE(p.out.find("<** 554 5.6.0"), std::string::npos) << p.out;
  EXPECT_TRUE(sink_.messages().empty());
}

TEST_F(SmtpServerTest, StopAnswersTheCommitInFlightAndClosesIdleSessions) {
  ASSERT_TRUE(StartServer(BaseConfig()));
  sink_.set_delay(1500ms);
  auto busy = Greeted();
  auto idle = Greeted();
  EXPECT_EQ(Code(busy->Command("MAIL FROM:<a@example.org>")), 250);
  EXPECT_EQ(Code(busy->Command("RCPT TO:<b@example.net>")), 250);
  EXPECT_EQ(Code(busy->Command("DATA")), 354);
  busy->Send("in flight\r\n.\r\n");
  ASSERT_TRUE(WaitFor([&] { return sink_.submitted() == 1; }));
  std::jthread stopper([&] { server_->Stop(); });  // joined also if an ASSERT returns
  EXPECT_EQ(idle->Reply().substr(0, 9), "421 4.3.2");
  EXPECT_EQ(busy->Reply(), AcceptedReply("r1", "in flight\r\n"));
  EXPECT_EQ(busy->Reply().substr(0, 9), "421 4.3.2");
  stopper.join();
  EXPECT_TRUE(busy->WaitClosed());
  EXPECT_TRUE(idle->WaitClosed());
  EXPECT_EQ(RawClient(port_).connected(), false);
}

TEST_F(SmtpServerTest, StartErrorsSayWhatIsWrong) {
  ASSERT_TRUE(StartServer(BaseConfig()));
  SmtpServerConfig same = BaseConfig();
  same.port = port_;
  SmtpServer second(same, sink_);
  common::Status st = second.Start();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("127.0.0.1:" + std::to_string(port_)), std::string::npos)
      << st.error().message();

  SmtpServerConfig bad_cidr = BaseConfig();
  bad_cidr.allow = {"300.0.0.0/8"};
  SmtpServer third(bad_cidr, sink_);
  st = third.Start();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("allow-list"), std::string::npos);

  SmtpServerConfig bad_tls = BaseConfig();
  bad_tls.tls_cert_file = "/nonexistent/cert.pem";
  bad_tls.tls_key_file = "/nonexistent/key.pem";
  SmtpServer fourth(bad_tls, sink_);
  st = fourth.Start();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("/nonexistent/cert.pem"), std::string::npos);
}

}  // namespace
}  // namespace smtp
