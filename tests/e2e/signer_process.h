// SignerProcess: runs the real notary-signer binary on a Unix socket in a test folder (its
// state, socket and log live there), waits for its readiness line, and can be killed and
// started again on the same state. SoftHsmToken: a private SoftHSM2 token directory and
// configuration, so nothing outside the build tree is touched.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace e2e {

inline std::string SignerBinary() { return testsupport::BinaryDir() + "/signer/notary-signer"; }

constexpr char kSoftHsmModule[] = "/usr/lib/softhsm/libsofthsm2.so";

// A fresh SoftHSM2 token labelled `label` (user PIN 5678) in its own token directory.
class SoftHsmToken {
 public:
  explicit SoftHsmToken(const std::string& label) : label_(label) {
    dir_ = testsupport::MakeTempDir("softhsm");
    testsupport::RunCommand({"mkdir", "-p", dir_ + "/tokens"});
    conf_ = dir_ + "/softhsm2.conf";
    testsupport::WriteFile(conf_, "directories.tokendir = " + dir_ +
                                      "/tokens\nobjectstore.backend = file\nlog.level = ERROR\n");
    pin_file_ = dir_ + "/pin";
    testsupport::WriteFile(pin_file_, std::string(pin()) + "\n");
    std::filesystem::permissions(
        pin_file_, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    init_ =
        testsupport::RunCommand({"env", "SOFTHSM2_CONF=" + conf_, "softhsm2-util", "--init-token",
                                 "--free", "--label", label_, "--so-pin", "1234", "--pin", pin()});
  }

  bool ok() const { return init_.exit_code == 0; }
  const std::string& init_output() const { return init_.out; }
  const std::string& label() const { return label_; }
  const std::string& conf() const { return conf_; }
  const std::string& pin_file() const { return pin_file_; }
  static const char* pin() { return "5678"; }
  // "VAR=value" for `env`, in front of a command that loads the module.
  std::string Env() const { return "SOFTHSM2_CONF=" + conf_; }
  // The flags notary-signer takes for this token.
  std::vector<std::string> SignerFlags(const std::string& key_label) const {
    return {"--pkcs11-module",   kSoftHsmModule, "--pkcs11-token", label_,
            "--pkcs11-pin-file", pin_file_,      "--key-label",    key_label};
  }

 private:
  std::string label_, dir_, conf_, pin_file_;
  testsupport::CommandResult init_;
};

class SignerProcess {
 public:
  // `dir` holds the state (dir/state), the socket (dir/signer.sock) and the log
  // (dir/signer.log, appended to across restarts). `env` ("VAR=value") goes through `env`.
  SignerProcess(const std::string& dir, std::vector<std::string> extra = {},
                std::vector<std::string> env = {}, const std::string& origin = "notary.test/log")
      : dir_(dir) {
    testsupport::RunCommand({"mkdir", "-p", dir_});
    if (!env.empty()) {
      args_ = {"env"};
      args_.insert(args_.end(), env.begin(), env.end());
    }
    base_ = args_;
    base_.insert(base_.end(), {SignerBinary(), "--state-dir", dir_ + "/state", "--origin", origin});
    base_.insert(base_.end(), extra.begin(), extra.end());
    args_ = base_;
    args_.insert(args_.end(), {"--socket", socket()});
  }

  // Starts it and waits (at most 60 s) for "event=signer_ready"; true when it came. spdlog
  // writes to stdout: that is the watched stream.
  bool Start() {
    proc_.reset();
    proc_ = std::make_unique<testsupport::ChildProcess>(
        args_, log(), testsupport::ChildProcess::Watched::kStdout);
    return proc_->WaitForLine("event=signer_ready", std::chrono::seconds(60)).has_value() &&
           proc_->Alive();
  }
  // `notary-signer ... --list-keys` on the same state and key source.
  testsupport::CommandResult ListKeys() const {
    std::vector<std::string> argv = base_;
    argv.push_back("--list-keys");
    return testsupport::RunCommand(argv);
  }
  // The first line of this run's log containing `needle` (see ChildProcess::WaitForLine).
  std::optional<std::string> WaitForLine(const std::string& needle,
                                         std::chrono::milliseconds timeout) {
    return proc_ ? proc_->WaitForLine(needle, timeout) : std::nullopt;
  }
  // `sig` to the signer only, not reaped (SIGSTOP, SIGCONT).
  void Signal(int sig) {
    if (proc_) proc_->Signal(sig);
  }
  void Kill(int sig) {
    if (proc_) proc_->Kill(sig);
  }
  void Stop() {
    if (proc_) proc_->Stop(std::chrono::seconds(30));
  }
  bool Alive() { return proc_ && proc_->Alive(); }

  std::string socket() const { return dir_ + "/signer.sock"; }
  int pid() const { return proc_ ? static_cast<int>(proc_->pid()) : -1; }
  std::string address() const { return "unix:" + socket(); }
  std::string log() const { return dir_ + "/signer.log"; }
  std::string Log() const {
    try {
      return testsupport::ReadFile(log());
    } catch (const std::exception&) {
      return "";
    }
  }

 private:
  std::string dir_;
  std::vector<std::string> base_, args_;
  std::unique_ptr<testsupport::ChildProcess> proc_;
};

}  // namespace e2e
