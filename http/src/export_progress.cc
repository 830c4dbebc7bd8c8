#include "http/export_progress.h"

#include <algorithm>

namespace http {

ExportProgress& ExportProgress::Instance() {
  static ExportProgress registry;
  return registry;
}

bool ExportProgress::ValidToken(const std::string& token) {
  return token.size() >= 16 && token.size() <= 64 &&
         std::all_of(token.begin(), token.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

void ExportProgress::DropStaleLocked(int64_t now_us) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    const bool stale =
        it->second.ended_at_us != 0 && now_us - it->second.ended_at_us > kKeepAfterEndUs;
    it = stale ? entries_.erase(it) : std::next(it);
  }
  // Still full: the ended ones go, oldest first. Those being built stay: each holds an HTTP
  // worker, so there are never many, but they are counted before an export takes its slot.
  while (entries_.size() >= kMaxEntries) {
    auto oldest = entries_.end();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->second.ended_at_us == 0) continue;
      if (oldest == entries_.end() || it->second.ended_at_us < oldest->second.ended_at_us) {
        oldest = it;
      }
    }
    if (oldest == entries_.end()) break;
    entries_.erase(oldest);
  }
}

ExportProgress::Begun ExportProgress::Begin(const std::string& tenant, const std::string& case_id,
                                            const std::string& token, int64_t now_us) {
  common::MutexLock lock(mu_);
  DropStaleLocked(now_us);
  if (entries_.count(token) != 0) return Begun::kInUse;
  if (entries_.size() >= kMaxEntries) return Begun::kFull;
  entries_[token] = Entry{tenant, case_id, Snapshot{}, 0};
  return Begun::kStarted;
}

void ExportProgress::Update(const std::string& token, int64_t done, int64_t total) {
  common::MutexLock lock(mu_);
  auto it = entries_.find(token);
  if (it == entries_.end()) return;
  it->second.snapshot.done = done;
  it->second.snapshot.total = total;
}

void ExportProgress::End(const std::string& token, bool ok, const std::string& error,
                         int64_t now_us) {
  common::MutexLock lock(mu_);
  auto it = entries_.find(token);
  if (it == entries_.end()) return;
  it->second.snapshot.state = ok ? State::kReady : State::kFailed;
  it->second.snapshot.error = error;
  it->second.ended_at_us = std::max<int64_t>(now_us, 1);
}

std::optional<ExportProgress::Snapshot> ExportProgress::Find(const std::string& tenant,
                                                             const std::string& case_id,
                                                             const std::string& token,
                                                             int64_t now_us) {
  common::MutexLock lock(mu_);
  DropStaleLocked(now_us);
  auto it = entries_.find(token);
  if (it == entries_.end() || it->second.tenant != tenant || it->second.case_id != case_id) {
    return std::nullopt;
  }
  return it->second.snapshot;
}

}  // namespace http
