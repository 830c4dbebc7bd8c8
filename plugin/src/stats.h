// Stats: notary-milter's counters, rendered as Prometheus text for the status endpoint.
//
// Thread-safety: counters are atomics; Render may run while they change.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace milter {

struct Stats {
  std::atomic<uint64_t> messages_total{0};          // messages that reached end of data
  std::atomic<uint64_t> notarised_total{0};         // fail-closed: confirmed before accepting
  std::atomic<uint64_t> tempfail_total{0};          // answered 4xx (notary or spool failure)
  std::atomic<uint64_t> spooled_total{0};           // fail-open: written to the spool
  std::atomic<uint64_t> spool_full_total{0};        // fail-open: refused because the spool is full
  std::atomic<uint64_t> forwarded_total{0};         // spooled copies notaryd confirmed
  std::atomic<uint64_t> forward_failures_total{0};  // forwarding attempts that failed
  std::atomic<uint64_t> quarantined_total{0};       // spooled copies notaryd refused for good
  std::atomic<uint64_t> spool_commits_total{0};     // spool fdatasyncs (group commits)
  std::atomic<uint64_t> spool_records{0};           // gauge: records waiting
  std::atomic<uint64_t> spool_bytes{0};             // gauge: bytes waiting

  std::string Render(const std::string& mode) const;
};

}  // namespace milter
