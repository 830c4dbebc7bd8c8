#include "support/test_support.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace testsupport {

std::string SourceDir() { return NOTARY_SOURCE_DIR; }
std::string BinaryDir() { return NOTARY_BINARY_DIR; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot write " + path);
  out << data;
}

std::string MakeTempDir(const std::string& prefix) {
  std::filesystem::path base = std::filesystem::path(BinaryDir()) / "tmp";
  std::filesystem::create_directories(base);
  std::string tmpl = (base / (prefix + "-XXXXXX")).string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& stdin_data,
                         int timeout_s) {
  int in_pipe[2], out_pipe[2];
  // Close-on-exec, so a daemon the command starts (pg_ctl start) cannot hold our pipe open.
  if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  // Built before fork: between fork and exec the child of a threaded process may only make
  // async-signal-safe calls. A malloc there can wait forever on a lock another thread held
  // at fork time (seen under ASan: the child never reached curl, and the pipe stayed open).
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    dup2(out_pipe[1], 2);
    close(in_pipe[1]);
    close(out_pipe[0]);
    setpgid(0, 0);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  signal(SIGPIPE, SIG_IGN);
  size_t written = 0;
  if (stdin_data.empty()) {
    close(in_pipe[1]);
    in_pipe[1] = -1;
  } else {
    fcntl(in_pipe[1], F_SETFL, O_NONBLOCK);
  }
  CommandResult result;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  bool out_open = true;
  while (out_open) {
    pollfd fds[2];
    int n = 0;
    fds[n++] = {out_pipe[0], POLLIN, 0};
    if (in_pipe[1] >= 0) fds[n++] = {in_pipe[1], POLLOUT, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) {
      kill(-pid, SIGKILL);
      result.out += "\n[RunCommand: timed out]";
      break;
    }
    if (poll(fds, static_cast<nfds_t>(n), static_cast<int>(left)) < 0) continue;
    if (fds[0].revents & (POLLIN | POLLHUP)) {
      char buf[65536];
      ssize_t r = read(out_pipe[0], buf, sizeof buf);
      if (r <= 0)
        out_open = false;
      else
        result.out.append(buf, static_cast<size_t>(r));
    }
    if (n > 1 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t w = write(in_pipe[1], stdin_data.data() + written, stdin_data.size() - written);
      if (w > 0) written += static_cast<size_t>(w);
      if (w < 0 || written == stdin_data.size()) {
        close(in_pipe[1]);
        in_pipe[1] = -1;
      }
    }
  }
  if (in_pipe[1] >= 0) close(in_pipe[1]);
  close(out_pipe[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

bool WaitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
               std::chrono::milliseconds interval) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return condition();
    std::this_thread::sleep_for(interval);
  }
  return true;
}

std::string Psql(const std::string& url, const std::string& sql) {
  CommandResult r =
      RunCommand({"psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", url, "-c", sql});
  if (r.exit_code != 0) throw std::runtime_error("psql failed: " + sql + ": " + r.out);
  std::string out = std::move(r.out);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

ChildProcess::ChildProcess(std::vector<std::string> argv, std::string log_path, Watched watched) {
  int err_pipe[2];
  if (pipe2(err_pipe, O_CLOEXEC) != 0 || pipe2(wake_fd_, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  log_fd_ = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd_ < 0) throw std::runtime_error("cannot open " + log_path);
  std::vector<char*> args;  // before fork: see RunCommand
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    setpgid(0, 0);
    const bool err = watched == Watched::kStderr;
    dup2(err ? log_fd_ : err_pipe[1], 1);
    dup2(err ? err_pipe[1] : log_fd_, 2);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(err_pipe[1]);
  err_fd_ = err_pipe[0];
  reader_ = std::jthread([this](std::stop_token st) { Pump(st); });
}

ChildProcess::~ChildProcess() {
  Kill(SIGKILL);
  reader_.request_stop();
  char b = 0;
  if (write(wake_fd_[1], &b, 1) < 0) {
  }
  if (reader_.joinable()) reader_.join();
  for (int fd : {err_fd_, wake_fd_[0], wake_fd_[1], log_fd_}) {
    if (fd >= 0) close(fd);
  }
}

void ChildProcess::Pump(std::stop_token stop) {
  std::string partial;
  char buf[4096];
  while (!stop.stop_requested()) {
    pollfd fds[2] = {{err_fd_, POLLIN, 0}, {wake_fd_[0], POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) continue;
    if (fds[1].revents != 0) break;
    ssize_t n = read(err_fd_, buf, sizeof buf);
    if (n <= 0) break;
    if (write(log_fd_, buf, static_cast<size_t>(n)) < 0) {
    }
    partial.append(buf, static_cast<size_t>(n));
    std::vector<std::string> complete;
    for (size_t nl; (nl = partial.find('\n')) != std::string::npos; partial.erase(0, nl + 1)) {
      complete.push_back(partial.substr(0, nl));
    }
    if (!complete.empty()) {
      std::lock_guard lock(mu_);
      for (auto& l : complete) lines_.push_back(std::move(l));
      cv_.notify_all();
    }
  }
  std::lock_guard lock(mu_);
  if (!partial.empty()) lines_.push_back(partial);
  eof_ = true;
  cv_.notify_all();
}

std::optional<std::string> ChildProcess::WaitForLine(const std::string& needle,
                                                     std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  size_t seen = 0;
  std::optional<std::string> found;
  auto look = [&] {
    for (; seen < lines_.size(); ++seen) {
      if (lines_[seen].find(needle) != std::string::npos) {
        found = lines_[seen];
        return true;
      }
    }
    return eof_;
  };
  cv_.wait_for(lock, timeout, look);
  return found;
}

void ChildProcess::Reap() {
  int status = 0;
  waitpid(pid_, &status, 0);
  reaped_ = true;
}

bool ChildProcess::Alive() {
  if (reaped_) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    reaped_ = true;
    return false;
  }
  return true;
}

void ChildProcess::Signal(int sig) {
  if (!reaped_) kill(pid_, sig);
}

void ChildProcess::Kill(int sig) {
  if (reaped_ || pid_ <= 0) return;
  kill(-pid_, sig);
  kill(pid_, sig);
  Reap();
}

void ChildProcess::Stop(std::chrono::milliseconds grace) {
  if (reaped_ || pid_ <= 0) return;
  kill(pid_, SIGTERM);
  bool closed;
  {
    std::unique_lock lock(mu_);
    closed = cv_.wait_for(lock, grace, [this] { return eof_; });
  }
  if (!closed) {
    kill(-pid_, SIGKILL);
    kill(pid_, SIGKILL);
  }
  Reap();
}

std::optional<ListeningPorts> ParseListeningLine(const std::string& line) {
  auto port_of = [&](const std::string& key) {
    size_t at = line.find(" " + key + "=");
    if (at == std::string::npos) return 0;
    size_t end = line.find(' ', at + 1);
    std::string value =
        line.substr(at + key.size() + 2,
                    end == std::string::npos ? std::string::npos : end - at - key.size() - 2);
    size_t colon = value.rfind(':');
    if (colon == std::string::npos) return 0;
    return std::atoi(value.c_str() + colon + 1);
  };
  if (line.find("event=listening") == std::string::npos) return std::nullopt;
  ListeningPorts p{port_of("smtp"), port_of("http")};
  if (p.smtp <= 0 || p.http <= 0) return std::nullopt;
  return p;
}

namespace {
std::string PgPort() {
  const char* dir = std::getenv("NOTARY_PG_DIR");
  std::string pgdir = dir ? dir : BinaryDir() + "/pgtest";
  std::ifstream in(pgdir + "/port");
  std::string port;
  if (!(in >> port)) {
    throw std::runtime_error("no private PostgreSQL at " + pgdir +
                             " (run the tests through ctest: the pg fixture starts it)");
  }
  return port;
}
}  // namespace

TestDatabase::TestDatabase() {
  base_ = "postgresql://%s@127.0.0.1:" + PgPort() + "/";
  std::random_device rd;
  std::ostringstream n;
  n << "t_" << std::hex << rd() << rd();
  name_ = n.str();
  Psql(SuperUrl().substr(0, SuperUrl().rfind('/')) + "/postgres",
       "CREATE DATABASE " + name_ + " OWNER notary_owner");
}

TestDatabase::~TestDatabase() {
  try {
    Psql(SuperUrl().substr(0, SuperUrl().rfind('/')) + "/postgres",
         "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what();
  }
}

namespace {
std::string WithUser(const std::string& base, const std::string& user, const std::string& db) {
  std::string out = base;
  out.replace(out.find("%s"), 2, user);
  return out + db;
}
}  // namespace

std::string TestDatabase::SuperUrl() const { return WithUser(base_, "postgres", name_); }
std::string TestDatabase::OwnerUrl() const { return WithUser(base_, "notary_owner", name_); }
std::string TestDatabase::AppUrl() const { return WithUser(base_, "notary_app", name_); }

std::string DnsTestDir() { return BinaryDir() + "/dnstest"; }

std::map<std::string, std::string> DnsTestEnv() {
  std::map<std::string, std::string> env;
  std::ifstream in(DnsTestDir() + "/env");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("export ", 0) != 0) continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string value = line.substr(eq + 1);
    if (value.size() >= 2 && (value.front() == '\'' || value.front() == '"')) {
      value = value.substr(1, value.size() - 2);
    }
    env[line.substr(7, eq - 7)] = value;
  }
  return env;
}

void AppendSenderChecksOffUnlessAsked(std::vector<std::string>& args,
                                      const std::vector<std::string>& flags) {
  for (const std::string& f : flags) {
    if (f == "--sender-checks" || f == "--dns-resolver") return;
  }
  args.insert(args.end(), {"--sender-checks", "false"});
}

SilentUdpPort::SilentUdpPort() {
  fd_ = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd_ < 0) return;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port_ = ntohs(addr.sin_port);
  }
}

SilentUdpPort::~SilentUdpPort() {
  if (fd_ >= 0) close(fd_);
}

}  // namespace testsupport
