// Metrics: counters, gauges and histograms rendered in the Prometheus text format at
// GET /metrics. Lock-free increments on the hot path.
//
// Thread-safety: thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/thread_annotations.h"

namespace common {

class Histogram {
 public:
  // Upper bounds in seconds.
  explicit Histogram(std::vector<double> bounds);
  void Observe(double seconds);
  void Render(const std::string& name, std::string& out) const;

 private:
  std::vector<double> bounds_;
  std::vector<std::atomic<uint64_t>> counts_;  // one per bound, plus +Inf
  std::atomic<uint64_t> sum_micros_{0};
  std::atomic<uint64_t> total_{0};
};

class Metrics {
 public:
  Metrics();

  std::atomic<uint64_t> http_ingest_accepted{0};
  std::atomic<uint64_t> ingest_bytes{0};
  std::atomic<uint64_t> ingest_temp_failures{0};
  std::atomic<uint64_t> blocks_sealed{0};
  std::atomic<uint64_t> leaves_sealed{0};
  std::atomic<uint64_t> receipts_indexed{0};  // copied into the search index
  std::atomic<uint64_t> tsa_failures{0};
  std::atomic<uint64_t> tsa_replies{0};
  std::atomic<uint64_t> http_requests{0};
  std::atomic<int64_t> tree_size{-1};
  std::atomic<int64_t> last_seal_unix{0};
  // notary-signer (notaryd --signer): -1 none configured, 0 unreachable at the last seal, 1 up.
  std::atomic<int> signer_up{-1};
  std::atomic<uint64_t> signer_failures{0};  // seals paused because the signer was down
  std::atomic<uint64_t> signer_refusals{0};  // requests the signer refused
  std::atomic<int> signer_refusing{0};       // 1: the last seal attempt was refused
  Histogram commit_latency;

  // Gauges and counters owned elsewhere, read at render time (e.g. SMTP stats, pending).
  void AddCollector(std::function<void(std::string&)> collector) EXCLUDES(mu_);
  std::string Render() const EXCLUDES(mu_);

 private:
  mutable Mutex mu_;
  std::vector<std::function<void(std::string&)>> collectors_ GUARDED_BY(mu_);
};

// The one Prometheus text-format renderer (exposition format 0.0.4): every /metrics line of
// notaryd and notary-milter comes from these two.
// Appends "# TYPE name type\nname{labels} value\n".
void AppendMetric(std::string& out, const std::string& name, const char* type, double value,
                  const std::string& labels = "");
// One family with one label: "# TYPE name type" once, then name{label="v"} value per entry.
// Label values are ours (fixed reasons, modes), never a peer's text.
void AppendLabelledMetric(std::string& out, const std::string& name, const char* type,
                          const std::string& label,
                          std::initializer_list<std::pair<const char*, double>> values);

}  // namespace common
