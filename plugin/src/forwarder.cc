#include "forwarder.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace milter {

std::string IdempotencyKeyFor(const std::string& spool_id) {
  std::string stem = spool_id;
  if (stem.size() > 4 && stem.compare(stem.size() - 4, 4, ".msg") == 0)
    stem.resize(stem.size() - 4);
  return "notary-milter-" + stem;
}

Forwarder::Forwarder(Spool& spool, const NotaryClient& client, Stats& stats)
    : spool_(spool), client_(client), stats_(stats) {
  thread_ = std::jthread([this](std::stop_token st) { Run(st); });
}

Forwarder::~Forwarder() {
  thread_.request_stop();
  cv_.notify_all();
}

void Forwarder::Wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

bool Forwarder::Sleep(std::stop_token& stop, std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, stop, d, [this] { return woken_; });
  woken_ = false;
  return stop.stop_requested();
}

void Forwarder::Run(std::stop_token stop) {
  using std::chrono::milliseconds;
  milliseconds backoff{200};
  while (!stop.stop_requested()) {
    std::vector<std::string> ids = spool_.List();
    stats_.spool_files = ids.size();
    stats_.spool_bytes = spool_.bytes();
    bool failed = false;
    for (const std::string& id : ids) {
      if (stop.stop_requested()) return;
      auto data = spool_.Read(id);
      if (!data.ok()) continue;  // vanished: nothing to send
      auto record = DecodeSpoolRecord(*data);
      if (!record.ok()) {
        spdlog::error("event=spool_file_unreadable id={} action=quarantined", id);
        (void)spool_.Quarantine(id);
        stats_.quarantined_total.fetch_add(1);
        continue;
      }
      auto receipt = client_.Submit(*record, IdempotencyKeyFor(id));
      if (!receipt.ok() && receipt.error().code() == common::ErrorCode::kInvalidInput) {
        spdlog::error("event=spool_forward_refused id={} reason=\"{}\" action=quarantined", id,
                      receipt.error().message());
        (void)spool_.Quarantine(id);
        stats_.quarantined_total.fetch_add(1);
        continue;
      }
      if (!receipt.ok()) {
        stats_.forward_failures_total.fetch_add(1);
        spdlog::warn("event=spool_forward_failed id={} reason=\"{}\" retry_ms={}", id,
                     receipt.error().message(), backoff.count());
        failed = true;
        break;
      }
      if (auto st = spool_.Remove(id); !st.ok()) {
        spdlog::error("event=spool_remove_failed id={} reason=\"{}\"", id, st.error().message());
        failed = true;
        break;
      }
      stats_.forwarded_total.fetch_add(1);
      backoff = milliseconds{200};
      spdlog::info("event=spool_forwarded id={} receipt={}{}", id, receipt->id,
                   receipt->duplicate ? " duplicate=true" : "");
    }
    stats_.spool_files = spool_.List().size();
    stats_.spool_bytes = spool_.bytes();
    if (failed) {
      // Only a timer ends a backoff: new mail must not hammer a notary that is down.
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, stop, backoff, [] { return false; });
      woken_ = false;
      if (stop.stop_requested()) return;
      backoff = std::min(backoff * 2, milliseconds{30000});
    } else if (Sleep(stop, milliseconds{1000})) {
      return;
    }
  }
}

}  // namespace milter
