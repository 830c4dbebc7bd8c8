// NotarydProcess: runs the real notaryd binary against a test database, on free loopback
// ports, and talks to it with real clients (curl, swaks, smtp-source). Killed on destruction.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "support/test_support.h"

namespace e2e {

inline std::string NotarydBinary() { return testsupport::BinaryDir() + "/notaryd/notaryd"; }
inline std::string NotaryctlBinary() { return testsupport::BinaryDir() + "/cli/notaryctl"; }

class NotarydProcess {
 public:
  NotarydProcess(const std::string& app_url, const std::string& owner_url,
                 const std::string& data_dir, std::vector<std::string> extra = {},
                 const std::string& node = "node-a")
      : smtp_port_(testsupport::FreePort()), http_port_(testsupport::FreePort()) {
    args_ = {NotarydBinary(),
             "--database-url",
             app_url,
             "--owner-database-url",
             owner_url,
             "--data-dir",
             data_dir,
             "--smtp-listen",
             "127.0.0.1:" + std::to_string(smtp_port_),
             "--http-listen",
             "127.0.0.1:" + std::to_string(http_port_),
             "--node-name",
             node,
             "--origin",
             "notary.test/log",
             "--batch-interval-ms",
             "200",
             "--log-level",
             "warn"};
    args_.insert(args_.end(), extra.begin(), extra.end());
    for (const auto& a : extra) tls_ = tls_ || a == "--tls-cert";
    Start();
  }
  ~NotarydProcess() { Kill(SIGKILL); }

  void Start() {
    log_ = testsupport::MakeTempDir("notaryd-log") + "/notaryd.log";
    pid_ = fork();
    if (pid_ == 0) {
      FILE* f = freopen(log_.c_str(), "w", stdout);
      (void)f;
      dup2(1, 2);
      std::vector<char*> argv;
      for (auto& a : args_) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    for (int i = 0; i < 200; ++i) {
      // Readiness only: with TLS on, the certificate is checked by the tests themselves.
      auto r = testsupport::RunCommand({"curl", "-sfk", Http("/healthz")}, "", 5);
      if (r.exit_code == 0) return;
      int status;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ready_ = false;
  }

  void Kill(int sig) {
    if (pid_ > 0) {
      kill(pid_, sig);
      int status;
      waitpid(pid_, &status, 0);
      pid_ = -1;
    }
  }
  // SIGTERM and wait: the graceful path.
  void Stop() { Kill(SIGTERM); }

  bool ready() const { return ready_ && pid_ > 0; }
  int smtp_port() const { return smtp_port_; }
  int http_port() const { return http_port_; }
  std::string Http(const std::string& path) const {
    return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(http_port_) +
           path;
  }
  std::string Log() const { return testsupport::ReadFile(log_); }

 private:
  int smtp_port_, http_port_;
  std::vector<std::string> args_;
  std::string log_;
  pid_t pid_ = -1;
  bool ready_ = true;
  bool tls_ = false;
};

// Makes an API key with notaryctl; returns the key (its last output line).
inline std::string MakeKey(const std::string& app_url, const std::string& tenant,
                           const std::string& scopes, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv = {
      NotaryctlBinary(), "--database-url", app_url,   "apikey", "create",
      "--tenant",        tenant,           "--scope", scopes};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto r = testsupport::RunCommand(argv);
  if (r.exit_code != 0) return "";
  std::string out = r.out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out.substr(out.rfind('\n') + 1);
}

}  // namespace e2e
