#include "storage/seal_listener.h"

#include <charconv>
#include <condition_variable>
#include <mutex>
#include <pqxx/pqxx>
#include <stop_token>
#include <thread>

#include "transaction.h"

namespace storage {
namespace {

class Receiver : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& c, const std::function<void(int64_t)>& on_block)
      : pqxx::notification_receiver(c, kSealedChannel), on_block_(on_block) {}
  void operator()(const std::string& payload, int /*backend_pid*/) override {
    // The payload is the height the sealer wrote; anything else still means "a block".
    int64_t height = -1;
    const char* end = payload.data() + payload.size();
    if (std::from_chars(payload.data(), end, height).ptr != end) height = -1;
    on_block_(height);
  }

 private:
  const std::function<void(int64_t)>& on_block_;
};

}  // namespace

struct SealListener::Impl {
  std::string url;
  std::function<void(int64_t)> on_block;
  std::function<void(const common::Error&)> on_error;
  // The receiver goes before the connection it is registered with.
  std::unique_ptr<pqxx::connection> conn;
  std::unique_ptr<Receiver> receiver;
  std::jthread thread;

  void Connect() {
    receiver.reset();
    conn = std::make_unique<pqxx::connection>(url);
    receiver = std::make_unique<Receiver>(*conn, on_block);  // issues LISTEN
  }

  void Run(std::stop_token stop) {
    std::mutex mu;
    std::condition_variable_any cv;
    int backoff_ms = 500;
    while (!stop.stop_requested()) {
      try {
        if (!conn) {
          Connect();
          backoff_ms = 500;
          on_block(-1);  // what was sent while we were away is lost: wake everyone once
        }
        // Returns after a notification or half a second: the stop check's granularity.
        conn->await_notification(0, 500000);
      } catch (const std::exception& e) {
        receiver.reset();
        conn.reset();
        on_error(MapDbException(e));
        std::unique_lock lk(mu);
        cv.wait_for(lk, stop, std::chrono::milliseconds(backoff_ms), [] { return false; });
        backoff_ms = std::min(backoff_ms * 2, 10000);
      }
    }
  }
};

SealListener::SealListener(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SealListener::~SealListener() {
  if (impl_->thread.joinable()) {
    impl_->thread.request_stop();
    impl_->thread.join();
  }
}

common::Result<std::unique_ptr<SealListener>> SealListener::Start(
    const std::string& url, std::function<void(int64_t)> on_block,
    std::function<void(const common::Error&)> on_error) {
  auto impl = std::make_unique<Impl>();
  impl->url = url;
  impl->on_block = std::move(on_block);
  impl->on_error = std::move(on_error);
  try {
    impl->Connect();
  } catch (const std::exception& e) {
    return MapDbException(e);
  }
  Impl* raw = impl.get();
  auto listener = std::make_unique<SealListener>(std::move(impl));
  raw->thread = std::jthread([raw](std::stop_token st) { raw->Run(st); });
  return listener;
}

}  // namespace storage
