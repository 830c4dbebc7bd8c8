// NAME
//   notary-milter - forward every message with its true envelope to the e-mail notary
// SUMMARY
//   notary-milter --listen inet:127.0.0.1:8891 --notary-url http://notary:8080
//                 --api-key-file /etc/notary-milter/key --mode fail-closed|fail-open
// DESCRIPTION
//   A Sendmail/Postfix milter on libmilter. See plugin/README.md and
//   docs/mail-server-setup.md.
#include <httplib.h>
#include <libmilter/mfapi.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <memory>
#include <thread>

#include "forwarder.h"
#include "milter.h"
#include "notary_client.h"
#include "spool.h"
#include "stats.h"

namespace {

common::Result<std::string> ReadApiKey(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return common::Error::InvalidInput("cannot read --api-key-file " + path);
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return common::Error::InvalidInput("--api-key-file " + path +
                                       " is accessible by group or others; chmod 600 it");
  }
  std::ifstream in(path);
  std::string key;
  std::getline(in, key);
  while (!key.empty() && (key.back() == '\r' || key.back() == ' ')) key.pop_back();
  if (key.empty()) return common::Error::InvalidInput("--api-key-file " + path + " is empty");
  return key;
}

// The status endpoint: GET /status (JSON-free text summary) and GET /metrics.
class StatusServer {
 public:
  StatusServer(const std::string& listen, const milter::Stats& stats, std::string mode)
      : stats_(stats), mode_(std::move(mode)) {
    server_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(stats_.Render(mode_), "text/plain; version=0.0.4");
    });
    server_.Get("/status", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(stats_.Render(mode_), "text/plain");
    });
    size_t colon = listen.rfind(':');
    host_ = listen.substr(0, colon);
    port_ = colon == std::string::npos ? 0 : std::stoi(listen.substr(colon + 1));
  }
  bool Start() {
    if (!server_.bind_to_port(host_.c_str(), port_)) return false;
    thread_ = std::jthread([this] { server_.listen_after_bind(); });
    return true;
  }
  ~StatusServer() { server_.stop(); }

 private:
  const milter::Stats& stats_;
  const std::string mode_;
  std::string host_;
  int port_ = 0;
  httplib::Server server_;
  std::jthread thread_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"notary-milter: forwards every message with its true envelope to notaryd"};
  std::string listen = "inet:127.0.0.1:8891";
  std::string notary_url, api_key_file, mode_name = "fail-closed", spool_dir, status_listen;
  std::string log_level = "info";
  int timeout_ms = 10000;
  int notary_connections = 4;
  uint64_t spool_max_bytes = 1ull << 30;
  bool add_header = false;
  std::string forwarder_priority = "idle";
  int forward_quiet_ms = 250, forward_max_delay_ms = 30000;
  app.add_option("--listen", listen,
                 "milter socket: inet:HOST:PORT, inet6:[HOST]:PORT, unix:PATH (or libmilter's "
                 "inet:PORT@HOST)")
      ->capture_default_str();
  app.add_option("--notary-url", notary_url, "notaryd's HTTP base URL, e.g. http://127.0.0.1:8080")
      ->required();
  app.add_option("--api-key-file", api_key_file,
                 "file holding an ingest-scope API key (mode 0600 or stricter)")
      ->required();
  app.add_option("--mode", mode_name,
                 "fail-closed: accept only after notaryd confirmed, else 4xx; fail-open: accept, "
                 "spool durably, forward later")
      ->check(CLI::IsMember({"fail-open", "fail-closed"}))
      ->capture_default_str();
  app.add_option("--spool-dir", spool_dir, "fail-open spool directory (required for fail-open)");
  app.add_option("--spool-max-bytes", spool_max_bytes,
                 "fail-open: when the spool holds this much, answer 4xx (tempfail)")
      ->capture_default_str();
  app.add_option("--forwarder-priority", forwarder_priority,
                 "fail-open: CPU priority of forwarding; idle (SCHED_IDLE: only when the host "
                 "has a CPU to spare, so mail flow wins) or normal")
      ->check(CLI::IsMember({"idle", "normal"}))
      ->capture_default_str();
  app.add_option("--forward-quiet-ms", forward_quiet_ms,
                 "fail-open: start forwarding once no message has arrived for this long (0: "
                 "forward at once), so that a burst of mail is not slowed down by notarising")
      ->check(CLI::Range(0, 600000))
      ->capture_default_str();
  app.add_option("--forward-max-delay-ms", forward_max_delay_ms,
                 "fail-open: forward a waiting message after this long even while mail keeps "
                 "arriving")
      ->check(CLI::Range(0, 86400000))
      ->capture_default_str();
  app.add_option("--timeout-ms", timeout_ms, "timeout of one request to notaryd")
      ->check(CLI::Range(100, 600000))
      ->capture_default_str();
  app.add_option("--notary-connections", notary_connections,
                 "fail-closed: kept-alive connections to notaryd shared by all SMTP sessions "
                 "(keep it below notaryd's --http-threads: each holds one of its workers)")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_flag("--add-header", add_header,
               "fail-closed: add X-Notary-Receipt: id=<id>; sha256=<canonical sha256>");
  app.add_option("--status-listen", status_listen,
                 "HOST:PORT of a status endpoint (GET /status, GET /metrics)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %l notary-milter %v", spdlog::pattern_time_type::utc);
  spdlog::set_level(spdlog::level::from_str(log_level));

  const milter::Mode mode =
      mode_name == "fail-open" ? milter::Mode::kFailOpen : milter::Mode::kFailClosed;
  if (mode == milter::Mode::kFailOpen && spool_dir.empty()) {
    spdlog::error("event=config_error reason=\"--mode fail-open needs --spool-dir\"");
    return 2;
  }
  if (add_header && mode == milter::Mode::kFailOpen) {
    spdlog::warn("event=config_warning reason=\"--add-header has no effect in fail-open mode\"");
  }
  auto key = ReadApiKey(api_key_file);
  if (!key.ok()) {
    spdlog::error("event=config_error reason=\"{}\"", key.error().message());
    return 2;
  }
  auto spec = milter::MilterSocketSpec(listen);
  if (!spec.ok()) {
    spdlog::error("event=config_error reason=\"{}\"", spec.error().message());
    return 2;
  }

  // libmilter waits for SIGINT/SIGTERM/SIGHUP in its own thread with sigwait; every thread
  // started here must block them, or one of ours would take the signal and die.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  milter::Stats stats;
  milter::NotaryClient client(notary_url, *key, std::chrono::milliseconds(timeout_ms),
                              notary_connections);
  std::unique_ptr<milter::Spool> spool;
  std::unique_ptr<milter::Forwarder> forwarder;
  if (mode == milter::Mode::kFailOpen) {
    auto opened = milter::Spool::Open(spool_dir, spool_max_bytes);
    if (!opened.ok()) {
      spdlog::error("event=config_error reason=\"{}\"", opened.error().message());
      return 2;
    }
    spool = std::move(*opened);
    spdlog::info("event=spool_opened dir={} records={} bytes={}", spool_dir, spool->records(),
                 spool->bytes());
    forwarder = std::make_unique<milter::Forwarder>(
        *spool, client, stats,
        forwarder_priority == "idle" ? milter::ForwarderPriority::kIdle
                                     : milter::ForwarderPriority::kNormal,
        milter::ForwarderPacing{std::chrono::milliseconds(forward_quiet_ms),
                                std::chrono::milliseconds(forward_max_delay_ms)});
  }
  std::unique_ptr<StatusServer> status;
  if (!status_listen.empty()) {
    status = std::make_unique<StatusServer>(status_listen, stats, mode_name);
    if (!status->Start()) {
      spdlog::error("event=config_error reason=\"cannot listen on --status-listen\"");
      return 2;
    }
  }

  milter::MilterContext ctx;
  ctx.mode = mode;
  ctx.add_header = add_header;
  ctx.client = &client;
  ctx.spool = spool.get();
  ctx.forwarder = forwarder.get();
  ctx.stats = &stats;
  smfiDesc desc = milter::MakeFilterDescription(&ctx);
  if (smfi_register(desc) != MI_SUCCESS) {
    spdlog::error("event=config_error reason=\"smfi_register failed\"");
    return 1;
  }
  if (smfi_setconn(spec->data()) != MI_SUCCESS || smfi_opensocket(1) != MI_SUCCESS) {
    spdlog::error("event=config_error reason=\"cannot listen on {}\"", listen);
    return 1;
  }
  // Postfix's milter_content_timeout and friends bound a stuck conversation; our own request
  // timeout is --timeout-ms. libmilter's timeout covers an MTA that stops talking.
  smfi_settimeout(std::max(30, timeout_ms / 1000 + 10));
  spdlog::info(
      "event=started mode={} listen={} add_header={} forwarder_priority={} forward_quiet_ms={} "
      "forward_max_delay_ms={}",
      mode_name, *spec, add_header, forwarder_priority, forward_quiet_ms, forward_max_delay_ms);
  int rc = smfi_main();
  spdlog::info("event=stopping rc={}", rc);
  // Reverse of startup: status endpoint, forwarder (a copy in flight stays spooled).
  status.reset();
  forwarder.reset();
  return rc == MI_SUCCESS ? 0 : 1;
}
