#include "forwarder.h"

#include <pthread.h>
#include <sched.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "spool_record.h"

namespace milter {

std::string IdempotencyKeyFor(const std::string& spool_id) {
  std::string stem = spool_id;
  if (stem.size() > 4 && stem.compare(stem.size() - 4, 4, ".msg") == 0)
    stem.resize(stem.size() - 4);
  return "notary-milter-" + stem;
}

Forwarder::Forwarder(Spool& spool, const NotaryClient& client, Stats& stats,
                     ForwarderPriority priority, ForwarderPacing pacing)
    : spool_(spool), client_(client), stats_(stats), priority_(priority), pacing_(pacing) {
  thread_ = std::jthread([this](std::stop_token st) { Run(st); });
}

Forwarder::~Forwarder() {
  thread_.request_stop();
  cv_.notify_all();
}

void Forwarder::Wake() {
  last_spooled_ns_.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
  bool idle;
  {
    common::MutexLock lock(mu_);
    woken_ = true;
    idle = idle_;
  }
  // Only a forwarder waiting for work needs waking: during a backoff or while pacing holds
  // the backlog, a notification per message would only cost a context switch each.
  if (idle) cv_.notify_all();
}

bool Forwarder::Sleep(std::stop_token& stop, std::chrono::milliseconds d) {
  common::MutexLock lock(mu_);
  idle_ = true;
  cv_.wait_for(lock, stop, d, [this]() REQUIRES(mu_) { return woken_; });
  idle_ = false;
  woken_ = false;
  return stop.stop_requested();
}

bool Forwarder::Backoff(std::stop_token& stop, std::chrono::milliseconds d) {
  // Only a timer ends a backoff: new mail must not hammer a notary that is down.
  common::MutexLock lock(mu_);
  cv_.wait_for(lock, stop, d, [] { return false; });
  woken_ = false;
  return stop.stop_requested();
}

std::optional<Forwarder::Clock::time_point> Forwarder::HeldUntil(Clock::time_point now) const {
  if (pacing_.quiet.count() <= 0 || released_ || !backlog_since_) return std::nullopt;
  const Clock::time_point last{Clock::duration(last_spooled_ns_.load(std::memory_order_relaxed))};
  const Clock::time_point quiet_end = last + pacing_.quiet;
  const Clock::time_point deadline = *backlog_since_ + pacing_.max_delay;
  if (now >= quiet_end || now >= deadline) return std::nullopt;
  return std::min(quiet_end, deadline);
}

void Forwarder::ApplyPriority() {
  if (priority_ != ForwarderPriority::kIdle) return;
  sched_param param{};
  param.sched_priority = 0;
  if (int rc = pthread_setschedparam(pthread_self(), SCHED_IDLE, &param); rc != 0) {
    spdlog::warn("event=forwarder_priority_failed reason=\"{}\"", std::strerror(rc));
  }
}

void Forwarder::UpdateGauges() {
  stats_.spool_records = spool_.records();
  stats_.spool_bytes = spool_.bytes();
  stats_.spool_commits_total = spool_.commits();
}

void Forwarder::Run(std::stop_token stop) {
  using std::chrono::milliseconds;
  pthread_setname_np(pthread_self(), "notary-forward");
  ApplyPriority();
  std::unique_ptr<NotaryClient::Session> session = client_.NewSession();
  milliseconds backoff{200};
  while (!stop.stop_requested()) {
    UpdateGauges();
    auto next = spool_.Next();
    if (!next.ok()) {
      if (next.error().code() == common::ErrorCode::kInvalidInput) {
        spdlog::error("event=spool_segment_set_aside reason=\"{}\"", next.error().message());
        stats_.quarantined_total.fetch_add(1);
        continue;
      }
      spdlog::error("event=spool_read_failed reason=\"{}\" retry_ms={}", next.error().message(),
                    backoff.count());
      if (Backoff(stop, backoff)) return;
      backoff = std::min(backoff * 2, milliseconds{30000});
      continue;
    }
    if (!next->has_value()) {
      backlog_since_.reset();
      released_ = false;
      if (auto st = spool_.SaveCursor(); !st.ok()) {
        spdlog::warn("event=spool_cursor_save_failed reason=\"{}\"", st.error().message());
      }
      UpdateGauges();
      if (Sleep(stop, milliseconds{1000})) return;
      continue;
    }
    // Pacing: hold the backlog while mail keeps arriving (see forwarder.h).
    const Clock::time_point now = Clock::now();
    if (!backlog_since_) backlog_since_ = now;
    if (auto until = HeldUntil(now)) {
      const auto wait = std::chrono::ceil<milliseconds>(*until - now);
      if (Backoff(stop, std::max(wait, milliseconds{1}))) return;
      continue;
    }
    released_ = true;
    const Spool::Entry& e = **next;
    auto record = DecodeSpoolRecord(e.data);
    auto receipt = record.ok() ? client_.Submit(*record, IdempotencyKeyFor(e.id), session.get())
                               : common::Result<NotaryReceipt>(common::Error::InvalidInput(
                                     "unreadable spool record: " + record.error().message()));
    if (!receipt.ok() && receipt.error().code() == common::ErrorCode::kInvalidInput) {
      spdlog::error("event=spool_forward_refused id={} reason=\"{}\" action=quarantined", e.id,
                    receipt.error().message());
      if (auto st = spool_.Quarantine(e); !st.ok()) {
        spdlog::error("event=spool_quarantine_failed id={} reason=\"{}\"", e.id,
                      st.error().message());
        if (Backoff(stop, backoff)) return;
        continue;
      }
      stats_.quarantined_total.fetch_add(1);
      continue;
    }
    if (!receipt.ok()) {
      stats_.forward_failures_total.fetch_add(1);
      spdlog::warn("event=spool_forward_failed id={} reason=\"{}\" retry_ms={}", e.id,
                   receipt.error().message(), backoff.count());
      if (Backoff(stop, backoff)) return;
      backoff = std::min(backoff * 2, milliseconds{30000});
      continue;
    }
    spool_.Done(e);
    stats_.forwarded_total.fetch_add(1);
    backoff = milliseconds{200};
    spdlog::info("event=spool_forwarded id={} receipt={}{}", e.id, receipt->id,
                 receipt->duplicate ? " duplicate=true" : "");
  }
}

}  // namespace milter
