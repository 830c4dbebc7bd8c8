// NotarydProcess: runs the real notaryd binary against a test database, listening on loopback
// port 0 (the ports it bound are read from its readiness line), and talks to it with real
// clients (curl, swaks, smtp-source). Killed on destruction.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace e2e {

inline std::string NotarydBinary() { return testsupport::BinaryDir() + "/notaryd/notaryd"; }
inline std::string NotaryctlBinary() { return testsupport::BinaryDir() + "/cli/notaryctl"; }

class NotarydProcess {
 public:
  NotarydProcess(const std::string& app_url, const std::string& owner_url,
                 const std::string& data_dir, std::vector<std::string> extra = {},
                 const std::string& node = "node-a") {
    args_ = {NotarydBinary(),
             "--database-url",
             app_url,
             "--owner-database-url",
             owner_url,
             "--data-dir",
             data_dir,
             "--smtp-listen",
             "127.0.0.1:0",
             "--http-listen",
             "127.0.0.1:0",
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
    testsupport::AppendSenderChecksOffUnlessAsked(args_, extra);
    Start();
  }

  // Starts notaryd on ports 0 and waits (at most 60 s) for its readiness line, which names the
  // ports it bound; ready() tells whether it came.
  void Start() {
    log_ = testsupport::MakeTempDir("notaryd-log") + "/notaryd.log";
    proc_ = std::make_unique<testsupport::ChildProcess>(args_, log_);
    auto line = proc_->WaitForLine("event=listening ", std::chrono::seconds(60));
    auto ports = line ? testsupport::ParseListeningLine(*line) : std::nullopt;
    ready_ = ports.has_value();
    if (ports) {
      smtp_port_ = ports->smtp;
      http_port_ = ports->http;
    }
  }

  void Kill(int sig) {
    if (proc_) proc_->Kill(sig);
  }
  // SIGTERM and wait: the graceful path.
  void Stop() {
    if (proc_) proc_->Stop(std::chrono::seconds(60));
  }

  bool ready() { return ready_ && proc_ && proc_->Alive(); }
  int smtp_port() const { return smtp_port_; }
  int http_port() const { return http_port_; }
  std::string Http(const std::string& path) const {
    return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(http_port_) +
           path;
  }
  std::string Log() const { return testsupport::ReadFile(log_); }

 private:
  int smtp_port_ = 0, http_port_ = 0;
  std::vector<std::string> args_;
  std::string log_;
  std::unique_ptr<testsupport::ChildProcess> proc_;
  bool ready_ = false;
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
