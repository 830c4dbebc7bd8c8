#include "pipeline/seal_notifier.h"

#include "common/metrics.h"

namespace pipeline {

void SealNotifier::Notify(Source source, int64_t height) {
  {
    common::MutexLock lock(mu_);
    switch (source) {
      case Source::kLocal:
        ++stats_.notified_local;
        break;
      case Source::kListen:
        ++stats_.notified_listen;
        break;
      case Source::kReconnect:
        ++stats_.notified_reconnect;
        break;
    }
    if (source != Source::kReconnect) {
      if (height <= highest_) return;
      highest_ = height;
    }
    ++stats_.generation;
  }
  cv_.notify_all();
  std::function<void()> listener;
  {
    common::MutexLock lock(mu_);
    listener = listener_;
  }
  if (listener) listener();
}

void SealNotifier::SetListener(std::function<void()> listener) {
  common::MutexLock lock(mu_);
  listener_ = std::move(listener);
}

uint64_t SealNotifier::generation() const {
  common::MutexLock lock(mu_);
  return stats_.generation;
}

SealNotifier::Ticket::~Ticket() {
  if (n_ == nullptr) return;
  common::MutexLock lock(n_->mu_);
  --n_->stats_.waiters;
}

bool SealNotifier::TryEnter(std::optional<Ticket>& ticket) {
  common::MutexLock lock(mu_);
  if (stats_.waiters >= max_waiters_) {
    ++stats_.refused;
    return false;
  }
  ++stats_.waiters;
  ticket.emplace(this);
  return true;
}

SealNotifier::Wake SealNotifier::WaitUntil(uint64_t seen,
                                           std::chrono::steady_clock::time_point until) {
  common::MutexLock lock(mu_);
  const bool changed =
      cv_.wait_until(lock, until, [&]() REQUIRES(mu_) { return stats_.generation != seen; });
  ++(changed ? stats_.woken_notified : stats_.woken_timeout);
  return changed ? Wake::kNotified : Wake::kTimeout;
}

SealNotifier::Stats SealNotifier::stats() const {
  common::MutexLock lock(mu_);
  Stats s = stats_;
  s.max_waiters = max_waiters_;
  return s;
}

void SealNotifier::AppendMetrics(std::string& out) const {
  const Stats s = stats();
  auto d = [](uint64_t v) { return static_cast<double>(v); };
  common::AppendLabelledMetric(out, "seal_notifications_total", "counter", "source",
                               {{"local", d(s.notified_local)},
                                {"listen", d(s.notified_listen)},
                                {"reconnect", d(s.notified_reconnect)}});
  common::AppendMetric(out, "evidence_waiters", "gauge", d(s.waiters));
  common::AppendMetric(out, "evidence_waiters_max", "gauge", d(s.max_waiters));
  common::AppendLabelledMetric(
      out, "evidence_wait_wakeups_total", "counter", "cause",
      {{"notified", d(s.woken_notified)}, {"timeout", d(s.woken_timeout)}});
  common::AppendMetric(out, "evidence_wait_refused_total", "counter", d(s.refused));
}

}  // namespace pipeline
