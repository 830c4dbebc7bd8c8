// The indexer: copies newly stored receipts into the search index (storage/receipt_index.h,
// migration 0015) after they commit, so that the ingest that answers the sender maintains no
// search index. It works through the queue in batches while there are full ones, then waits
// `interval`. Several nodes' indexers share the queue.
//
// A search does not wait for it: it catches up on its own tenant first (http CatchUpIndex).
// The indexer keeps that catch-up short.
//
// Thread-safety: one thread of its own; RunOnce must not run concurrently with it (tests call
// it on an indexer that was never started).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "common/metrics.h"
#include "storage/receipt_index.h"

namespace pipeline {

class Indexer {
 public:
  struct Options {
    std::chrono::milliseconds interval{200};
    int batch = 2000;
  };

  Indexer(Options options, storage::ReceiptIndex& index, common::Metrics& metrics);
  ~Indexer();

  void Start();
  void Stop();
  // Indexes batches until one is short. Returns how many receipts it indexed; false on a
  // database error (logged; the next round retries).
  bool RunOnce(uint64_t& indexed);

 private:
  void Loop(std::stop_token stop);

  const Options options_;
  storage::ReceiptIndex& index_;
  common::Metrics& metrics_;
  std::mutex mu_;
  std::condition_variable_any wake_;
  std::jthread thread_;
};

}  // namespace pipeline
