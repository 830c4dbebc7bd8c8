// SealListener: a PostgreSQL LISTEN session of its own on the channel the sealer's transaction
// NOTIFYs (kSealedChannel, payload: the block height), so a notaryd that does not seal learns
// of new blocks as they commit. Its thread waits for notifications and calls `on_block` with
// each height; after a lost connection it calls `on_error`, reconnects with backoff (0.5 to
// 10 s) and calls `on_block(-1)`, since notifications sent while it was not listening are
// gone. A connection that hangs without breaking is not detected here: waiters re-check on
// their own every few seconds (http/src/evidence_routes.cc). Nothing from libpqxx leaks.
//
// Thread-safety: the callbacks run on the listener's thread; the destructor stops and joins
// it (within half a second).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/result.h"

namespace storage {

inline constexpr char kSealedChannel[] = "notary_sealed";

class SealListener {
 public:
  // Connects and LISTENs before returning, so a block committed after Start() is reported.
  // kUnavailable when the database cannot be reached.
  static common::Result<std::unique_ptr<SealListener>> Start(
      const std::string& url, std::function<void(int64_t height)> on_block,
      std::function<void(const common::Error&)> on_error);
  ~SealListener();

  struct Impl;
  explicit SealListener(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace storage
