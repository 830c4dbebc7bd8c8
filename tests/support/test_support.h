// Helpers shared by the tests: paths, temporary folders, subprocesses and a fresh
// PostgreSQL database per test on the private test cluster (the `pg` CTest fixture).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace testsupport {

std::string SourceDir();  // the repository
std::string BinaryDir();  // the build tree
std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& data);
// A new empty folder under the build tree's tmp/, removed by the caller or left for review.
std::string MakeTempDir(const std::string& prefix);

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout and stderr, interleaved
};
// Runs `argv` (no shell) with optional stdin; waits at most `timeout_s` seconds.
CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& stdin_data = "",
                         int timeout_s = 120);
// A loopback TCP port that was free a moment ago. Racy: only for third-party servers that
// cannot listen on port 0 and report the port they bound (Postfix, smtp-sink, the milter).
int FreePort();

// Waits until `condition()` is true, calling it every `interval`, for at most `timeout`;
// returns the last value. For conditions no event announces (a row in a database, a file
// another process writes); a deadline, not a sleep, bounds it.
bool WaitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
               std::chrono::milliseconds interval = std::chrono::milliseconds(50));

// psql as `url`'s user: runs `sql` with ON_ERROR_STOP; its unaligned tuples-only output (-At)
// without the trailing newline. Throws with psql's output when it fails.
std::string Psql(const std::string& url, const std::string& sql);

// A child process (execvp, its own process group, stdin from /dev/null). One of its streams
// (`watched`) goes through a pipe that a reader thread appends to `log_path`, keeping its
// lines, so that a test can wait for a line the child writes (WaitForLine) instead of
// sleeping or probing; the other is appended to `log_path` directly. Stopped and reaped by the
// destructor.
class ChildProcess {
 public:
  enum class Watched { kStderr, kStdout };
  ChildProcess(std::vector<std::string> argv, std::string log_path,
               Watched watched = Watched::kStderr);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // The first line of the watched stream containing `needle`; nullopt when the child closed its
  // stderr (it exited) before writing one, or after `timeout`.
  std::optional<std::string> WaitForLine(const std::string& needle,
                                         std::chrono::milliseconds timeout);
  // Not yet exited (reaps it when it has).
  bool Alive();
  void Signal(int sig);
  // SIGTERM; SIGKILL to the whole group if it has not exited (closed the watched stream) after
  // `grace`; reaps. Idempotent.
  void Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));
  // `sig` now, then reaps.
  void Kill(int sig);
  pid_t pid() const { return pid_; }

 private:
  void Pump(std::stop_token stop);
  void Reap();

  pid_t pid_ = -1;
  bool reaped_ = false;
  int err_fd_ = -1;            // read end of the watched stream
  int wake_fd_[2] = {-1, -1};  // wakes the reader at destruction
  int log_fd_ = -1;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;  // guarded by mu_
  bool eof_ = false;                // guarded by mu_
  std::jthread reader_;             // last: starts after the rest
};

// The ports of notaryd's readiness line
// "event=listening smtp=HOST:PORT http=HOST:PORT" (notaryd/notaryd_main.cc).
struct ListeningPorts {
  int smtp = 0;
  int http = 0;
};
std::optional<ListeningPorts> ParseListeningLine(const std::string& line);

// A fresh, empty database on the private cluster. The constructor creates it; the destructor
// drops it. Skips nothing: when the cluster is missing the test fails with a clear message.
// The exports scripts/dnstest wrote for this build tree's `dns` fixture (<build>/dnstest/env):
// NOTARY_DNSTEST_RESOLVER, NOTARY_DNSTEST_TRUST_ANCHOR, NOTARY_DNSTEST_KEY_ACME_RSA, ...
std::map<std::string, std::string> DnsTestEnv();

// A UDP socket on 127.0.0.1 that takes queries and never answers: a DNS resolver that is down
// or cut off. Closed by the destructor; port() is 0 when it could not be opened.
class SilentUdpPort {
 public:
  SilentUdpPort();
  ~SilentUdpPort();
  SilentUdpPort(const SilentUdpPort&) = delete;
  SilentUdpPort& operator=(const SilentUdpPort&) = delete;
  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// notaryd checks every message's sender by default, asking the system's resolver and sealing a
// second leaf per message. Appends "--sender-checks false" to `args` unless `flags` names
// --sender-checks or --dns-resolver: tests about the checks say so, the others run without.
void AppendSenderChecksOffUnlessAsked(std::vector<std::string>& args,
                                      const std::vector<std::string>& flags);
std::string DnsTestDir();

class TestDatabase {
 public:
  TestDatabase();
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& name() const { return name_; }
  std::string SuperUrl() const;  // postgres superuser
  std::string OwnerUrl() const;  // notary_owner (runs migrations)
  std::string AppUrl() const;    // notary_app (what notaryd uses)

 private:
  std::string base_;  // postgresql://USER@127.0.0.1:PORT/
  std::string name_;
};

}  // namespace testsupport
