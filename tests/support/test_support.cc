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
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    dup2(out_pipe[1], 2);
    close(in_pipe[1]);
    close(out_pipe[0]);
    setpgid(0, 0);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
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

std::string Psql(const std::string& url, const std::string& sql) {
  CommandResult r = RunCommand({"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", sql});
  if (r.exit_code != 0) throw std::runtime_error("psql failed: " + r.out);
  return r.out;
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

}  // namespace testsupport
