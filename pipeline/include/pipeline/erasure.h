// Erasing a message (docs/retention.md, "Erasure"): the request's checks and the erasure
// record (an action record of kind "erasure", log/action_record.h) every front end uses: the
// HTTP API, notaryctl erase and the retention sweeper.
//
// Thread-safety: pure functions over a thread-safe store.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"
#include "storage/erasure_store.h"

namespace pipeline {

inline constexpr size_t kMaxErasureReasonBytes = 2000;

// kInvalidInput for a reason that is empty, too long, not UTF-8 or has control characters;
// otherwise as storage::ErasureStore::Erase. The record binds {"reason", "receipt"} (JSON,
// sorted keys) by digest.
common::Result<storage::Erasure> EraseMessage(storage::ErasureStore& store,
                                              const std::string& tenant,
                                              const std::string& receipt_id,
                                              const std::string& actor, const std::string& reason,
                                              int64_t now_us);

}  // namespace pipeline
