#include "pipeline/indexer.h"

#include <spdlog/spdlog.h>

namespace pipeline {

Indexer::Indexer(Options options, storage::ReceiptIndex& index, common::Metrics& metrics)
    : options_(options), index_(index), metrics_(metrics) {}

Indexer::~Indexer() { Stop(); }

void Indexer::Start() {
  thread_ = std::jthread([this](std::stop_token stop) { Loop(stop); });
}

void Indexer::Stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  wake_.notify_all();
  thread_.join();
}

bool Indexer::RunOnce(uint64_t& indexed) {
  indexed = 0;
  const std::stop_token stop = thread_.get_stop_token();
  while (!stop.stop_requested()) {
    auto n = index_.IndexBatch(options_.batch);
    if (!n.ok()) {
      spdlog::warn("event=index_failed error={}", n.error().ToString());
      return false;
    }
    indexed += static_cast<uint64_t>(*n);
    metrics_.receipts_indexed.fetch_add(static_cast<uint64_t>(*n));
    if (*n < options_.batch) break;
  }
  return true;
}

void Indexer::Loop(std::stop_token stop) {
  while (!stop.stop_requested()) {
    uint64_t indexed = 0;
    RunOnce(indexed);
    std::unique_lock lock(mu_);
    wake_.wait_for(lock, stop, options_.interval, [] { return false; });
  }
}

}  // namespace pipeline
