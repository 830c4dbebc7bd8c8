// notaryd: the e-mail evidence notary daemon. Flags: `notaryd --help`.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>

#include "config.h"
#include "daemon.h"

int main(int argc, char** argv) {
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
  int sig = 0;
  sigwait(&stop_signals, &sig);
  spdlog::info("event=stopping signal={}", sig);
  (*daemon)->Stop();
  return 0;
}
