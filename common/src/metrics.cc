#include "common/metrics.h"

#include <cmath>
#include <cstdio>
#include <ctime>

namespace common {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1) {}

void Histogram::Observe(double seconds) {
  size_t i = 0;
  while (i < bounds_.size() && seconds > bounds_[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<uint64_t>(std::llround(seconds * 1e6)),
                        std::memory_order_relaxed);
  total_.fetch_add(1, std::memory_order_relaxed);
}

void Histogram::Render(const std::string& name, std::string& out) const {
  out += "# TYPE " + name + " histogram\n";
  uint64_t cumulative = 0;
  char buf[64];
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    std::snprintf(buf, sizeof buf, "%g", bounds_[i]);
    out += name + "_bucket{le=\"" + buf + "\"} " + std::to_string(cumulative) + "\n";
  }
  cumulative += counts_[bounds_.size()].load(std::memory_order_relaxed);
  out += name + "_bucket{le=\"+Inf\"} " + std::to_string(cumulative) + "\n";
  std::snprintf(buf, sizeof buf, "%.6f", static_cast<double>(sum_micros_.load()) / 1e6);
  out += name + "_sum " + buf + "\n";
  out += name + "_count " + std::to_string(total_.load()) + "\n";
}

Metrics::Metrics()
    : commit_latency({0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}) {}

void Metrics::AddCollector(std::function<void(std::string&)> collector) {
  MutexLock lock(mu_);
  collectors_.push_back(std::move(collector));
}

void AppendMetric(std::string& out, const std::string& name, const char* type, double value,
                  const std::string& labels) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", value);
  out += "# TYPE " + name + " " + type + "\n" + name + labels + " " + buf + "\n";
}

void AppendLabelledMetric(std::string& out, const std::string& name, const char* type,
                          const std::string& label,
                          std::initializer_list<std::pair<const char*, double>> values) {
  out += "# TYPE " + name + " " + type + "\n";
  for (const auto& [value_of_label, value] : values) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", value);
    out += name + "{" + label + "=\"" + value_of_label + "\"} " + buf + "\n";
  }
}

std::string Metrics::Render() const {
  std::string out;
  AppendMetric(out, "http_ingest_messages_accepted_total", "counter",
               static_cast<double>(http_ingest_accepted.load()));
  AppendMetric(out, "ingest_bytes_total", "counter", static_cast<double>(ingest_bytes.load()));
  AppendMetric(out, "ingest_temporary_failures_total", "counter",
               static_cast<double>(ingest_temp_failures.load()));
  AppendMetric(out, "blocks_sealed_total", "counter", static_cast<double>(blocks_sealed.load()));
  AppendMetric(out, "leaves_sealed_total", "counter", static_cast<double>(leaves_sealed.load()));
  AppendMetric(out, "receipts_indexed_total", "counter",
               static_cast<double>(receipts_indexed.load()));
  AppendMetric(out, "tsa_failures_total", "counter", static_cast<double>(tsa_failures.load()));
  AppendMetric(out, "tsa_replies_total", "counter", static_cast<double>(tsa_replies.load()));
  AppendMetric(out, "http_requests_total", "counter", static_cast<double>(http_requests.load()));
  if (signer_up.load() >= 0) {
    AppendMetric(out, "signer_up", "gauge", static_cast<double>(signer_up.load()));
    AppendMetric(out, "signer_unavailable_total", "counter",
                 static_cast<double>(signer_failures.load()));
    AppendMetric(out, "signer_refusals_total", "counter",
                 static_cast<double>(signer_refusals.load()));
    AppendMetric(out, "signer_refusing", "gauge", static_cast<double>(signer_refusing.load()));
  }
  if (tree_size.load() >= 0) {
    AppendMetric(out, "tree_size", "gauge", static_cast<double>(tree_size.load()));
  }
  if (last_seal_unix.load() > 0) {
    AppendMetric(out, "checkpoint_age_seconds", "gauge",
                 static_cast<double>(std::time(nullptr) - last_seal_unix.load()));
  }
  commit_latency.Render("ingest_commit_latency_seconds", out);
  MutexLock lock(mu_);
  for (const auto& c : collectors_) c(out);
  return out;
}

}  // namespace common
