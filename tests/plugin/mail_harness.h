// Test harness for notary-milter: long-running child processes (notaryd, notary-milter,
// smtp-sink) and a private Postfix instance, all on loopback ports, each stopped by its
// destructor, also when a test fails half-way.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace plugintest {

// The one deadline-bounded condition wait (tests/support/test_support.h).
using testsupport::WaitUntil;

// A TCP port on 127.0.0.1 accepts connections.
bool PortOpen(int port);

struct HttpResult {
  int status = 0;
  std::string body;
};
HttpResult HttpGet(const std::string& url, const std::string& api_key);
HttpResult HttpPost(const std::string& url, const std::string& api_key, const std::string& body,
                    const std::vector<std::pair<std::string, std::string>>& headers = {});

// notaryd on a fresh test database with an ingest+read+relay key (what notary-milter uses).
// The first Start() listens on port 0 and reads the bound ports from notaryd's readiness
// line; a later Start() (a restart) listens on the same ports, since clients hold url().
class Notary {
 public:
  explicit Notary(const std::string& dir);
  ~Notary();
  // `flags`: more notaryd flags (e.g. --smtp-journal-from).
  void Start(const std::vector<std::string>& flags = {});
  void Stop();
  // A new API key of tenant "default" with `scopes` (comma-separated).
  std::string CreateKey(const std::string& scopes);
  // Before the first Start(): a free port that Start() will then bind (for "notaryd is down").
  std::string url() const;
  int smtp_port() const { return smtp_port_; }
  const std::string& api_key() const { return api_key_; }
  const std::string& key_file() const { return key_file_; }
  testsupport::TestDatabase& db() { return db_; }
  // GET /v1/messages?<query> -> items (JSON text of each).
  std::vector<std::string> Search(const std::string& query);

 private:
  std::string dir_;
  testsupport::TestDatabase db_;
  mutable int http_port_ = 0;  // 0 until the first Start() or url()
  int smtp_port_ = 0;          // 0 until the first Start()
  std::string api_key_, key_file_;
  std::unique_ptr<testsupport::ChildProcess> proc_;
};

// smtp-sink writing one file per delivered message into <dir>. On a FreePort() port: smtp-sink
// cannot report the port it bound.
class Sink {
 public:
  explicit Sink(const std::string& dir);
  ~Sink();
  int port() const { return port_; }
  // The delivered messages, smtp-sink's own dump headers removed, LF line ends.
  std::vector<std::string> Messages() const;

 private:
  std::string dir_;
  int port_;
  std::unique_ptr<testsupport::ChildProcess> proc_;
};

// notary-milter with the given extra flags, on loopback TCP or on a Unix socket in `dir`. On
// FreePort() ports: notary-milter does not report the ports it bound (plugin/, not changed here).
class Milter {
 public:
  enum class Socket { kInet, kUnix };
  Milter(const std::string& dir, const Notary& notary, std::vector<std::string> flags,
         Socket socket = Socket::kInet);
  ~Milter();
  void Start();
  void Kill9();
  int port() const { return port_; }
  // Postfix's name for the milter's socket: inet:127.0.0.1:PORT or unix:PATH.
  std::string postfix_spec() const;
  int status_port() const { return status_port_; }
  pid_t pid() const;
  std::string Log() const;
  std::string Metrics() const;

 private:
  std::string dir_;
  std::vector<std::string> argv_;
  int port_, status_port_;
  std::string unix_path_;  // empty for TCP
  std::unique_ptr<testsupport::ChildProcess> proc_;
};

// A private Postfix (smtpd on a FreePort() port: Postfix cannot report a bound port): its own
// config, queue and data directories, smtpd on a loopback port, every message relayed to
// `sink_port`, smtpd_milters = `milter_spec` (Milter::postfix_spec). `main_cf` and `master_cf`
// are appended to the generated files (later main.cf lines win), e.g. a snippet of the setup
// guide.
class Postfix {
 public:
  Postfix(const std::string& dir, const std::string& milter_spec, int sink_port,
          const std::string& main_cf = "", const std::string& master_cf = "");
  // `postfix reload`: the daemons re-read main.cf, master.cf and their maps.
  void Reload();
  const std::string& conf_dir() const { return conf_dir_; }
  ~Postfix();
  int smtp_port() const { return smtp_port_; }
  std::string Log() const;

 private:
  std::string dir_;
  std::string conf_dir_;
  int smtp_port_;
  bool started_ = false;
};

// The path of a binary in the build tree, e.g. "notaryd/notaryd".
std::string Binary(const std::string& rel);

// swaks against `port`; returns its exit code and transcript.
testsupport::CommandResult Swaks(int port, const std::vector<std::string>& args);

}  // namespace plugintest
