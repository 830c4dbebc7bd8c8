// notaryd: the e-mail evidence notary daemon. Flags: `notaryd --help`.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <string>

#include "common/time.h"
#include "config.h"
#include "daemon.h"

namespace {
// "host:port" ("[v6]:port") with the port actually bound.
std::string ListenText(const std::string& configured, uint16_t port) {
  auto hp = notaryd::ParseHostPort(configured);
  std::string host = hp.ok() ? hp->first : configured;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return host + ":" + std::to_string(port);
}
}  // namespace

int main(int argc, char** argv) {
  common::PinLocalTimeZone();  // before any thread
  notaryd::Config config = notaryd::ParseConfigOrExit(argc, argv);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %l %v", spdlog::pattern_time_type::utc);
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  std::signal(SIGPIPE, SIG_IGN);

  // Block the stop signals in every thread; the main thread waits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto daemon = notaryd::Daemon::Start(config);
  if (!daemon.ok()) {
    spdlog::error("event=start_failed error=\"{}\"", daemon.error().ToString());
    return 1;
  }
  // The readiness line: written once both listeners accept, whatever --log-level says, so a
  // supervisor or a test started with port 0 learns the bound ports by reading one line.
  std::fprintf(stderr, "event=listening smtp=%s http=%s\n",
               ListenText(config.smtp_listen, (*daemon)->smtp_port()).c_str(),
               ListenText(config.http_listen, (*daemon)->http_port()).c_str());
  std::fflush(stderr);
  int sig = 0;
  sigwait(&stop_signals, &sig);
  spdlog::info("event=stopping signal={}", sig);
  (*daemon)->Stop();
  return 0;
}
