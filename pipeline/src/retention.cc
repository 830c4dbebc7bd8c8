#include "pipeline/retention.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "log/action_record.h"
#include "pipeline/erasure.h"
#include "pipeline/holds.h"

namespace pipeline {

common::Result<storage::RetentionPolicy> SetRetention(storage::RetentionStore& store,
                                                      const std::string& tenant,
                                                      std::optional<int> days,
                                                      const std::string& actor, int64_t now_us) {
  if (days && (*days < 1 || *days > kMaxRetentionDays)) {
    return common::Error::InvalidInput(
        "days must be 1 to 36600, or null to keep mail until "
        "erased by hand");
  }
  nlohmann::json details = {{"days", days ? nlohmann::json(*days) : nlohmann::json()}};
  ASSIGN_OR_RETURN(auto action, MakeAction(notary::ActionRecord::kRetention, tenant, tenant, actor,
                                           now_us, details.dump()));
  return store.Set(tenant, days, action);
}

RetentionSweeper::RetentionSweeper(Options options, storage::RetentionStore& retention,
                                   storage::ErasureStore& erasures)
    : options_(options), retention_(retention), erasures_(erasures) {}

RetentionSweeper::~RetentionSweeper() { Stop(); }

void RetentionSweeper::Start() {
  thread_ = std::jthread([this](std::stop_token stop) { Loop(stop); });
}

void RetentionSweeper::Stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  wake_.notify_all();
  thread_.join();
}

SweepStats RetentionSweeper::totals() const {
  std::lock_guard lock(mu_);
  return totals_;
}

void RetentionSweeper::Loop(std::stop_token stop) {
  while (!stop.stop_requested()) {
    SweepStats s = SweepOnce(options_.clock->NowMicros());
    if (s.examined > 0) {
      spdlog::info("event=retention_sweep examined={} erased={} held={} failed={}", s.examined,
                   s.erased, s.held, s.failed);
    }
    std::unique_lock lock(mu_);
    wake_.wait_for(lock, stop, options_.interval, [] { return false; });
  }
}

SweepStats RetentionSweeper::SweepOnce(int64_t now_us) {
  const std::stop_token stop = thread_.get_stop_token();
  SweepStats s;
  auto periods = retention_.Periods();
  if (!periods.ok()) {
    spdlog::warn("event=retention_sweep_failed error={}", periods.error().ToString());
    ++s.failed;
    return s;
  }
  for (const storage::RetentionPolicy& p : *periods) {
    const int64_t cutoff = now_us - int64_t{*p.days} * 86400 * 1000000;
    const std::string reason = "retention period of " + std::to_string(*p.days) + " days ended";
    auto& cursor = cursor_[p.tenant];
    // Page after page while pages erase something; a page that erases nothing (all held)
    // ends the tenant's sweep, and the next sweep goes on after it. A short page ends the pass
    // over the tenant: the next sweep starts again from its oldest (the held ones, and what
    // arrived meanwhile, are looked at again).
    while (true) {
      auto expired = retention_.Expired(p.tenant, cutoff, cursor, options_.batch);
      if (!expired.ok()) {
        spdlog::warn("event=retention_sweep_failed tenant={} error={}", p.tenant,
                     expired.error().ToString());
        ++s.failed;
        break;
      }
      uint64_t erased = 0;
      for (const storage::ExpiredMessage& m : *expired) {
        // A long sweep must not hold up notaryd's shutdown: Stop() ends it between erasures
        // (the cursor is not advanced past what was not looked at).
        if (stop.stop_requested()) {
          s.erased += erased;
          return Finish(s);
        }
        ++s.examined;
        auto e = EraseMessage(erasures_, p.tenant, m.receipt_id, "retention", reason, now_us);
        if (e.ok()) {
          ++erased;
        } else if (e.error().code() == common::ErrorCode::kConflict) {
          ++s.held;
        } else {
          ++s.failed;
          spdlog::warn("event=retention_erase_failed receipt={} error={}", m.receipt_id,
                       e.error().ToString());
        }
      }
      s.erased += erased;
      if (expired->size() < static_cast<size_t>(options_.batch)) {
        cursor.reset();
        break;
      }
      cursor = expired->back();
      if (erased == 0) break;
    }
  }
  return Finish(s);
}

SweepStats RetentionSweeper::Finish(const SweepStats& s) {
  std::lock_guard lock(mu_);
  totals_.examined += s.examined;
  totals_.erased += s.erased;
  totals_.held += s.held;
  totals_.failed += s.failed;
  return s;
}

}  // namespace pipeline
