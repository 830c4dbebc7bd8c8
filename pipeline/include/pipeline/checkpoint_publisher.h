// CheckpointPublisher: asks independent witnesses (C2SP tlog-witness) to cosign the log's
// checkpoint, and records a checkpoint as published once `quorum` of them did
// (docs/trust.md, docs/evidence-format.md "Cosigned checkpoints").
//
// Each round takes the newest block's checkpoint note (the log's own signature; the signer
// signs nothing else as a tree head) and submits it to every witness in parallel with the
// RFC 6962 consistency proof from the size that witness last cosigned (learnt from its 200
// or its 409 answer, so nothing about witnesses is kept across restarts). Every cosignature
// that comes back is verified with the witness's configured key before it counts; a witness
// that is down, slow, refusing or answering garbage counts as missing for that round and is
// never waited on longer than `timeout`. Rounds run every `interval` and right after a block
// is sealed (Nudge), on a thread of their own: ingest and sealing never wait for witnesses.
// A tree already published is submitted again each interval, so a witness that was down
// converges when it returns; it is stored once, at its first quorum (its earliest cosignature
// times are the ones that date its leaves).
//
// Thread-safety: thread-safe. Start/Stop from one thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/metrics.h"
#include "common/result.h"
#include "common/thread_annotations.h"
#include "log/cosignature.h"
#include "storage/chain_store.h"

namespace pipeline {

// What a witness answered to POST <url>/add-checkpoint.
struct WitnessReply {
  int status = 0;
  std::string content_type;
  std::string body;
};
// POSTs `body` to `url` and returns the answer whatever its status; kUnavailable when the
// witness cannot be reached or does not answer within `timeout`. The HTTP front end
// provides one (http/witness_transport.h): pipeline opens no sockets.
using WitnessTransport = std::function<common::Result<WitnessReply>(
    const std::string& url, std::string_view body, std::chrono::milliseconds timeout)>;

struct WitnessConfig {
  notary::CosignerKey key;  // the witness's cosigner vkey (type 0x04)
  std::string url;          // its submission prefix; the request goes to <url>/add-checkpoint
};

struct PublisherOptions {
  std::vector<WitnessConfig> witnesses;
  size_t quorum = 1;  // 1 <= quorum <= witnesses.size()
  std::chrono::milliseconds interval{10000};
  std::chrono::milliseconds timeout{5000};
};

// The add-checkpoint request body: "old N\n", one base64 hash per line, "\n", the note.
std::string AddCheckpointBody(uint64_t old_size, const std::vector<common::Hash>& proof,
                              std::string_view checkpoint_note);

class CheckpointPublisher {
 public:
  // kInvalidInput for no witness, a quorum of 0 or above the number of witnesses, or two
  // witnesses with the same key name.
  static common::Result<std::unique_ptr<CheckpointPublisher>> Create(storage::ChainStore& chain,
                                                                     PublisherOptions options,
                                                                     WitnessTransport transport,
                                                                     common::Metrics& metrics);
  ~CheckpointPublisher();

  struct Round {
    uint64_t tree_size = 0;
    size_t cosigned = 0;     // witnesses whose cosignature verified in this round
    bool published = false;  // the quorum cosigned the newest tree (stored the first time)
  };
  // One round, now, on the caller's thread. nullopt when the log has no block yet.
  common::Result<std::optional<Round>> RunOnce() EXCLUDES(mu_);

  void Start() EXCLUDES(mu_);  // the background rounds
  void Stop() EXCLUDES(mu_);
  void Nudge() EXCLUDES(mu_);  // a block was sealed: run a round soon

  // For /readyz: whether the last round reached the quorum (true before the first round).
  bool quorum_reached() const EXCLUDES(mu_);
  std::string last_problem() const EXCLUDES(mu_);  // why the quorum was missed ("" if not)
  size_t quorum() const { return options_.quorum; }

 private:
  struct Witness;
  CheckpointPublisher(storage::ChainStore& chain, PublisherOptions options,
                      WitnessTransport transport, common::Metrics& metrics);
  // Asks one witness; returns its verified signature line(s).
  common::Result<std::string> Ask(Witness& w, const std::string& note, uint64_t size);
  void Loop() EXCLUDES(mu_);
  void RenderMetrics(std::string& out) const EXCLUDES(mu_);

  storage::ChainStore& chain_;
  const PublisherOptions options_;
  const WitnessTransport transport_;
  std::vector<std::unique_ptr<Witness>> witnesses_;

  mutable common::Mutex mu_;
  std::condition_variable_any cv_;
  bool stop_ GUARDED_BY(mu_) = false;
  bool nudged_ GUARDED_BY(mu_) = false;
  bool quorum_reached_ GUARDED_BY(mu_) = true;
  std::string last_problem_ GUARDED_BY(mu_);
  uint64_t rounds_ GUARDED_BY(mu_) = 0;
  uint64_t published_ GUARDED_BY(mu_) = 0;
  int64_t published_size_ GUARDED_BY(mu_) = -1;
  double publish_seconds_sum_ GUARDED_BY(mu_) = 0;  // rounds that stored a new tree
  double publish_seconds_max_ GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace pipeline
