#include "pipeline/checkpoint_publisher.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <future>
#include <set>

#include "common/bytes.h"
#include "common/utf8.h"
#include "log/checkpoint.h"
#include "log/tlog.h"

namespace pipeline {
namespace {

using common::Error;

// A 409's body: the witness's size in decimal and a newline (text/x.tlog.size).
std::optional<uint64_t> ParseWitnessSize(const WitnessReply& r) {
  if (r.content_type.rfind("text/x.tlog.size", 0) != 0) return std::nullopt;
  std::string_view b = r.body;
  if (b.empty() || b.back() != '\n' || b.size() > 21) return std::nullopt;
  b.remove_suffix(1);
  if (b.empty() || (b.size() > 1 && b[0] == '0')) return std::nullopt;
  uint64_t v = 0;
  for (char c : b) {
    if (c < '0' || c > '9') return std::nullopt;
    if (v > (UINT64_MAX - static_cast<uint64_t>(c - '0')) / 10) return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

// What a witness said, for a log line: status and at most 120 printable bytes of its body.
std::string Describe(const WitnessReply& r) {
  return "HTTP " + std::to_string(r.status) + " " + common::LogSafe(r.body, 120);
}

// A Prometheus label value: key names may hold '"' and '\\', which must be escaped.
std::string LabelValue(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

std::string AddCheckpointBody(uint64_t old_size, const std::vector<common::Hash>& proof,
                              std::string_view checkpoint_note) {
  std::string body = "old " + std::to_string(old_size) + "\n";
  for (const common::Hash& h : proof) body += common::Base64Encode(h) + "\n";
  body += "\n";
  body += checkpoint_note;
  return body;
}

struct CheckpointPublisher::Witness {
  WitnessConfig config;
  // The size this witness last cosigned, as it told us; nullopt until it answered once.
  std::atomic<int64_t> known_size{-1};
  std::atomic<uint64_t> cosigned{0}, failures{0}, refusals{0};
  std::atomic<int> up{-1};  // -1 not asked yet, 0 last answer missing, 1 cosigned
  std::atomic<int64_t> last_latency_us{0};
  std::atomic<uint64_t> latency_sum_us{0}, asked{0};
};

common::Result<std::unique_ptr<CheckpointPublisher>> CheckpointPublisher::Create(
    storage::ChainStore& chain, PublisherOptions options, WitnessTransport transport,
    common::Metrics& metrics) {
  if (options.witnesses.empty()) return Error::InvalidInput("no witness configured");
  if (options.quorum == 0 || options.quorum > options.witnesses.size()) {
    return Error::InvalidInput("the witness quorum must be between 1 and the number of witnesses");
  }
  std::set<std::string> names;
  for (const auto& w : options.witnesses) {
    if (!names.insert(w.key.name).second) {
      return Error::InvalidInput("two witnesses are named " + w.key.name);
    }
  }
  if (options.interval.count() <= 0 || options.timeout.count() <= 0) {
    return Error::InvalidInput("the checkpoint interval and witness timeout must be positive");
  }
  return std::unique_ptr<CheckpointPublisher>(
      new CheckpointPublisher(chain, std::move(options), std::move(transport), metrics));
}

CheckpointPublisher::CheckpointPublisher(storage::ChainStore& chain, PublisherOptions options,
                                         WitnessTransport transport, common::Metrics& metrics)
    : chain_(chain), options_(std::move(options)), transport_(std::move(transport)) {
  for (const auto& c : options_.witnesses) {
    auto w = std::make_unique<Witness>();
    w->config = c;
    witnesses_.push_back(std::move(w));
  }
  metrics.AddCollector([this](std::string& out) { RenderMetrics(out); });
}

CheckpointPublisher::~CheckpointPublisher() { Stop(); }

common::Result<std::string> CheckpointPublisher::Ask(Witness& w, const std::string& note,
                                                     uint64_t size) {
  const std::string url = w.config.url + "/add-checkpoint";
  // At most two requests: the first may teach us the witness's size (409).
  for (int attempt = 0; attempt < 2; ++attempt) {
    const int64_t known = w.known_size.load();
    const uint64_t old = known < 0 ? 0 : static_cast<uint64_t>(known);
    if (old > size) {
      return Error::Conflict("the witness has cosigned a larger tree (" + std::to_string(old) +
                             ") than the log's newest (" + std::to_string(size) + ")");
    }
    std::vector<common::Hash> proof;
    if (old != 0 && old != size) {
      ASSIGN_OR_RETURN(proof, notary::tlog::ConsistencyProof(old, size, chain_.Tiles()));
    }
    ASSIGN_OR_RETURN(WitnessReply reply,
                     transport_(url, AddCheckpointBody(old, proof, note), options_.timeout));
    if (reply.status == 200) {
      // Only a line by this witness's key counts, and only if it verifies over this note; one
      // per witness, so that a witness cannot bloat the published note (C2SP notes carry at
      // most 100 signatures).
      auto lines = notary::NoteSignatureLines(note + reply.body);
      if (!lines.ok()) {
        return Error::VerifyFailed("the witness's answer is not signature lines: " +
                                   Describe(reply));
      }
      const size_t own = notary::NoteSignatureLines(note)->size();
      std::string mine;
      for (size_t i = own; i < lines->size(); ++i) {
        const std::string one = note + (*lines)[i];
        if (notary::VerifyCosignature(one, w.config.key).ok()) {
          mine = (*lines)[i];
          break;
        }
      }
      if (mine.empty()) {
        return Error::VerifyFailed("no valid cosignature by " + w.config.key.name +
                                   " in the answer");
      }
      w.known_size.store(static_cast<int64_t>(size));
      return mine;
    }
    if (reply.status == 409) {
      std::optional<uint64_t> theirs = ParseWitnessSize(reply);
      if (theirs && *theirs > size) {
        // It cosigned a tree of this log larger than the log has: someone showed it another
        // view of the log (a fork), or this log lost leaves (a rollback). Either is evidence.
        w.refusals.fetch_add(1);
        return Error::Conflict("the witness has cosigned a tree of " + std::to_string(*theirs) +
                               " leaves of this log, larger than the log's newest (" +
                               std::to_string(size) + "): a fork or a rollback");
      }
      if (theirs && *theirs != old && attempt == 0) {
        w.known_size.store(static_cast<int64_t>(*theirs));
        continue;  // again, with a proof from the size it holds
      }
      w.refusals.fetch_add(1);
      return Error::Conflict(
          "the witness refused the checkpoint as inconsistent with what it "
          "cosigned before: " +
          Describe(reply));
    }
    w.refusals.fetch_add(1);
    return Error::Unavailable("the witness refused: " + Describe(reply));
  }
  return Error::Unavailable("the witness kept changing its size");
}

common::Result<std::optional<CheckpointPublisher::Round>> CheckpointPublisher::RunOnce() {
  const auto started = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(std::optional<storage::BlockRow> head, chain_.Latest());
  if (!head) return std::optional<Round>();
  const std::string note = head->checkpoint;
  const auto size = static_cast<uint64_t>(head->tree_size);

  // Every witness at once, each on its own thread; none waits longer than the timeout
  // (the transport enforces it), so a round takes about the slowest answer.
  std::vector<std::future<common::Result<std::string>>> asks;
  asks.reserve(witnesses_.size());
  for (auto& w : witnesses_) {
    asks.push_back(std::async(std::launch::async, [this, &w, &note, size] {
      const auto t0 = std::chrono::steady_clock::now();
      auto r = Ask(*w, note, size);
      const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::steady_clock::now() - t0)
                          .count();
      w->last_latency_us.store(us);
      w->latency_sum_us.fetch_add(static_cast<uint64_t>(us));
      w->asked.fetch_add(1);
      return r;
    }));
  }
  std::string cosigned = note;
  size_t count = 0;
  std::string problems;
  for (size_t i = 0; i < asks.size(); ++i) {
    Witness& w = *witnesses_[i];
    common::Result<std::string> r = asks[i].get();
    if (r.ok()) {
      cosigned += *r;
      ++count;
      w.cosigned.fetch_add(1);
      w.up.store(1);
    } else {
      w.failures.fetch_add(1);
      w.up.store(0);
      if (!problems.empty()) problems += "; ";
      problems += w.config.key.name + ": " + r.error().message();
      spdlog::warn("event=witness_failed witness=\"{}\" tree_size={} error=\"{}\"",
                   common::LogSafe(w.config.key.name, 128), size,
                   common::LogSafe(r.error().ToString(), 300));
    }
  }
  Round round{size, count, false};
  bool already = false;
  {
    common::MutexLock lock(mu_);
    already = published_size_ == head->tree_size;
  }
  if (count >= options_.quorum && !already) {
    // A tree is stored once, at its first quorum: the earliest cosignature times are the ones
    // that date its leaves. Later rounds on the same tree keep the witnesses current without
    // growing the table every interval.
    RETURN_IF_ERROR(
        chain_.AddCosignedCheckpoint(head->tree_size, cosigned, static_cast<int>(count)));
  }
  round.published = count >= options_.quorum;
  {
    common::MutexLock lock(mu_);
    ++rounds_;
    quorum_reached_ = round.published;
    last_problem_ = round.published
                        ? ""
                        : std::to_string(count) + " of " + std::to_string(options_.quorum) +
                              " required cosignatures (" + problems + ")";
    if (round.published && !already) {
      ++published_;
      published_size_ = head->tree_size;
      // What publishing adds after a block committed: reading it, the witnesses' answers,
      // storing the cosigned note.
      const double s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      publish_seconds_sum_ += s;
      publish_seconds_max_ = std::max(publish_seconds_max_, s);
    }
  }
  if (round.published && !already) {
    spdlog::info("event=checkpoint_published tree_size={} cosigners={}", size, count);
  } else {
    spdlog::warn("event=checkpoint_quorum_missed tree_size={} cosigners={} quorum={}", size, count,
                 options_.quorum);
  }
  return std::optional<Round>(round);
}

void CheckpointPublisher::Start() {
  common::MutexLock lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void CheckpointPublisher::Stop() {
  {
    common::MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void CheckpointPublisher::Nudge() {
  {
    common::MutexLock lock(mu_);
    nudged_ = true;
  }
  cv_.notify_all();
}

void CheckpointPublisher::Loop() {
  for (;;) {
    {
      common::MutexLock lock(mu_);
      if (stop_) return;
    }
    auto r = RunOnce();
    if (!r.ok()) {
      spdlog::warn("event=checkpoint_round_failed error=\"{}\"",
                   common::LogSafe(r.error().ToString(), 300));
    }
    common::MutexLock lock(mu_);
    cv_.wait_for(lock, options_.interval, [&]() REQUIRES(mu_) { return stop_ || nudged_; });
    nudged_ = false;
  }
}

bool CheckpointPublisher::quorum_reached() const {
  common::MutexLock lock(mu_);
  return quorum_reached_;
}

std::string CheckpointPublisher::last_problem() const {
  common::MutexLock lock(mu_);
  return last_problem_;
}

void CheckpointPublisher::RenderMetrics(std::string& out) const {
  uint64_t rounds, published;
  int64_t size;
  bool reached;
  double sum, max;
  {
    common::MutexLock lock(mu_);
    rounds = rounds_;
    published = published_;
    size = published_size_;
    reached = quorum_reached_;
    sum = publish_seconds_sum_;
    max = publish_seconds_max_;
  }
  common::AppendMetric(out, "checkpoint_publish_seconds_sum", "counter", sum);
  common::AppendMetric(out, "checkpoint_publish_seconds_count", "counter",
                       static_cast<double>(published));
  common::AppendMetric(out, "checkpoint_publish_seconds_max", "gauge", max);
  common::AppendMetric(out, "witness_rounds_total", "counter", static_cast<double>(rounds));
  common::AppendMetric(out, "checkpoints_published_total", "counter",
                       static_cast<double>(published));
  common::AppendMetric(out, "published_tree_size", "gauge", static_cast<double>(size));
  common::AppendMetric(out, "witness_quorum", "gauge", static_cast<double>(options_.quorum));
  common::AppendMetric(out, "witness_quorum_reached", "gauge", reached ? 1 : 0);
  // Label values are the witness key names from notaryd's own configuration.
  for (const char* family : {"witness_up", "witness_cosignatures_total", "witness_failures_total",
                             "witness_refusals_total", "witness_last_latency_seconds",
                             "witness_latency_seconds_sum", "witness_latency_seconds_count"}) {
    const std::string_view f(family);
    const char* type =
        f.ends_with("_total") || f.ends_with("_sum") || f.ends_with("_count") ? "counter" : "gauge";
    out += "# TYPE ";
    out += family;
    out += " ";
    out += type;
    out += "\n";
    for (const auto& w : witnesses_) {
      double v = 0;
      if (f == "witness_up") v = w->up.load();
      if (f == "witness_cosignatures_total") v = static_cast<double>(w->cosigned.load());
      if (f == "witness_failures_total") v = static_cast<double>(w->failures.load());
      if (f == "witness_refusals_total") v = static_cast<double>(w->refusals.load());
      if (f == "witness_last_latency_seconds")
        v = static_cast<double>(w->last_latency_us.load()) / 1e6;
      if (f == "witness_latency_seconds_sum")
        v = static_cast<double>(w->latency_sum_us.load()) / 1e6;
      if (f == "witness_latency_seconds_count") v = static_cast<double>(w->asked.load());
      char value[32];
      std::snprintf(value, sizeof value, "%.17g", v);
      out += std::string(family) + "{witness=\"" + LabelValue(w->config.key.name) + "\"} " + value +
             "\n";
    }
  }
}

}  // namespace pipeline
