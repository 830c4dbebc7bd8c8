#include "witness/http_server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "common/printable.h"

namespace witness {

struct HttpServer::Impl {
  httplib::Server server;
};

namespace {

// cpp-httplib's ThreadPool (0.11) queues accepted connections without a bound. This one has
// a fixed number of workers and at most `max_pending` connections waiting for one; beyond
// that, enqueue (the accept loop) waits, so further clients wait in the kernel's backlog.
class BoundedTaskQueue final : public httplib::TaskQueue {
 public:
  BoundedTaskQueue(size_t threads, size_t max_pending) : max_pending_(max_pending) {
    for (size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { Work(); });
  }
  ~BoundedTaskQueue() override { shutdown(); }

  void enqueue(std::function<void()> fn) override {
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [&] { return jobs_.size() < max_pending_ || shutdown_; });
    jobs_.push_back(std::move(fn));
    not_empty_.notify_one();
  }
  void shutdown() override {
    {
      std::lock_guard lock(mu_);
      shutdown_ = true;
    }
    not_empty_.notify_all();
    not_full_.notify_all();
    workers_.clear();  // joins; the workers finish what is queued first
  }

 private:
  void Work() {
    while (true) {
      std::function<void()> fn;
      {
        std::unique_lock lock(mu_);
        not_empty_.wait(lock, [&] { return !jobs_.empty() || shutdown_; });
        if (jobs_.empty()) return;  // shut down and drained
        fn = std::move(jobs_.front());
        jobs_.pop_front();
        not_full_.notify_one();
      }
      fn();
    }
  }

  const size_t max_pending_;
  std::mutex mu_;
  std::condition_variable not_empty_, not_full_;
  std::deque<std::function<void()>> jobs_;  // guarded by mu_
  bool shutdown_ = false;                   // guarded by mu_
  std::vector<std::jthread> workers_;       // last: started after the rest
};

// For the request log: an origin is the client's text; keep it printable and short.
std::string LogSafe(const std::string& s) {
  std::string t = common::TerminalSafe(s);
  if (t.size() > 200) t = t.substr(0, 200) + "...";
  return t;
}

}  // namespace

HttpServer::HttpServer(Witness& witness, HttpServerOptions options)
    : impl_(std::make_unique<Impl>()), options_(std::move(options)) {
  httplib::Server& s = impl_->server;
  const auto threads = static_cast<size_t>(options_.threads);
  const size_t pending = options_.max_pending_connections;
  s.new_task_queue = [threads, pending] { return new BoundedTaskQueue(threads, pending); };
  s.set_payload_max_length(options_.max_body_bytes);
  s.set_read_timeout(options_.read_timeout_s, 0);
  s.set_write_timeout(options_.write_timeout_s, 0);
  s.set_keep_alive_timeout(options_.keep_alive_timeout_s);
  s.set_keep_alive_max_count(options_.keep_alive_max_requests);
  s.Post("/add-checkpoint", [&witness](const httplib::Request& req, httplib::Response& res) {
    AddCheckpointResponse r = witness.AddCheckpoint(req.body);
    res.status = r.status;
    res.set_content(r.body, r.content_type.c_str());
    spdlog::info(
        "event=add_checkpoint status={} origin=\"{}\" old={} size={} stored={} peer={} "
        "reason=\"{}\"",
        r.status, LogSafe(r.origin), r.old_size, r.size, r.stored_size, req.remote_addr, r.reason);
  });
  const auto not_allowed = [](const httplib::Request&, httplib::Response& res) {
    res.status = 405;
    res.set_header("Allow", "POST");
    res.set_content("only POST\n", "text/plain; charset=utf-8");
  };
  s.Get("/add-checkpoint", not_allowed);
  s.Put("/add-checkpoint", not_allowed);
  s.Patch("/add-checkpoint", not_allowed);
  s.Delete("/add-checkpoint", not_allowed);
  s.Options("/add-checkpoint", not_allowed);
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    res.status = 500;
    res.set_content("internal error\n", "text/plain; charset=utf-8");
  });
}

HttpServer::~HttpServer() { Stop(); }

common::Status HttpServer::Bind() {
  const int port =
      options_.port == 0
          ? impl_->server.bind_to_any_port(options_.host)
          : (impl_->server.bind_to_port(options_.host, options_.port) ? options_.port : -1);
  if (port <= 0) {
    return common::Error::Unavailable("cannot listen on " + options_.host + ":" +
                                      std::to_string(options_.port));
  }
  port_ = port;
  return common::Ok();
}

common::Status HttpServer::Serve() {
  if (!impl_->server.listen_after_bind()) {
    return common::Error::Unavailable("the listener stopped with an error");
  }
  return common::Ok();
}

void HttpServer::Stop() {
  if (impl_) impl_->server.stop();
}

common::Result<std::pair<std::string, int>> ParseListenAddress(std::string_view s) {
  const size_t colon = s.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return common::Error::InvalidInput("--listen wants HOST:PORT");
  }
  std::string host(s.substr(0, colon));
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return common::Error::InvalidInput("bad IPv6 host");
    host = host.substr(1, host.size() - 2);
  }
  const std::string_view port_text = s.substr(colon + 1);
  int port = -1;
  const auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || p != port_text.data() + port_text.size() || port < 0 || port > 65535) {
    return common::Error::InvalidInput("--listen: bad port");
  }
  return std::make_pair(host, port);
}

}  // namespace witness
