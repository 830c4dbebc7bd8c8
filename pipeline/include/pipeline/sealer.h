// Sealer: seals waiting receipts into blocks. Every --batch-interval-ms, or as soon as
// --batch-max leaves wait, the one process holding the database's sealer lock takes the
// waiting receipts in arrival order, gives them consecutive leaf indexes, appends their
// leaf hashes to the global RFC 6962 tree (stored as tlog tiles), signs a block header and
// a C2SP checkpoint with the Ed25519 key, obtains a time-stamp token from the built-in TSA,
// and commits all of it in one transaction. Other processes wait for the lock and take
// over within two intervals when the holder dies.
// A second thread fetches tokens from external TSAs, retrying with backoff; they never
// hold up sealing.
// Every committed block is announced on notifier(): by this sealer after its commit, and, for
// blocks any node seals, through a LISTEN session on the seal transaction's NOTIFY (a node
// with seal = false learns of blocks that way too).
//
// Thread-safety: owns its threads; public methods are thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/metrics.h"
#include "common/result.h"
#include "common/thread_annotations.h"
#include "log/chain_signer.h"
#include "log/ed25519.h"
#include "pipeline/seal_notifier.h"
#include "pipeline/tsa_service.h"
#include "storage/admin_store.h"
#include "storage/chain_store.h"
#include "storage/seal_listener.h"

namespace pipeline {

struct SealerOptions {
  std::string database_url;  // for the sealer lock's own session
  std::string data_dir;
  std::string signing_key_file;  // empty: data_dir/signing_key.pem, generated when absent
  // notary-signer (notaryd --signer), owned by the caller; null: the key file above.
  notary::ChainSigner* signer = nullptr;
  std::string origin;
  std::string node;
  uint32_t batch_interval_ms = 1000;
  uint32_t batch_max = 4096;
  std::vector<std::string> tsa_urls;
  bool builtin_tsa = true;   // false: only the external authorities stamp blocks
  size_t tsa_quorum = 1;     // tokens a block needs before its bundles are handed out
  bool seal = true;          // false: serve only, never seal
  uint32_t max_waiters = 4;  // requests waiting on notifier() at once (SealNotifier)
  const common::Clock* clock = &common::Clock::System();  // the blocks' sealed_at
};

class Sealer {
 public:
  static common::Result<std::unique_ptr<Sealer>> Create(SealerOptions options,
                                                        storage::ChainStore& chain,
                                                        storage::AdminStore& admin, TsaService& tsa,
                                                        common::Metrics& metrics);
  ~Sealer();
  void Stop() EXCLUDES(mu_);

  // Seals one block now if this process holds the lock and leaves wait (tests, shutdown).
  common::Result<std::optional<storage::BlockRow>> SealOnce() EXCLUDES(mu_);
  // Wakes the sealing loop early (e.g. when many messages arrived).
  void Poke();

  const std::string& origin() const { return options_.origin; }
  storage::ChainStore& chain() { return chain_; }
  TsaService& tsa() { return tsa_; }
  const std::vector<std::string>& tsa_urls() const { return options_.tsa_urls; }
  bool builtin_tsa() const { return options_.builtin_tsa; }
  size_t tsa_quorum() const { return options_.tsa_quorum; }
  // Wakes waiters when any node commits a block.
  SealNotifier& notifier() { return notifier_; }

 private:
  Sealer(SealerOptions options, storage::ChainStore& chain, storage::AdminStore& admin,
         TsaService& tsa, common::Metrics& metrics, std::unique_ptr<notary::ChainSigner> own);
  void SealLoop(std::stop_token stop) EXCLUDES(mu_);
  void TokenLoop(std::stop_token stop);
  // Registers the signer's current key in the database the first time it is seen.
  common::Status RegisterKey(const notary::Ed25519PublicKey& key) REQUIRES(mu_);
  // After the signer refused a block as a conflict: if it signed a block at the next height
  // that never committed (a crash between its answer and our commit), the next seal rebuilds
  // exactly that block.
  void PlanReplay(int64_t head_height) REQUIRES(mu_);

  const SealerOptions options_;
  storage::ChainStore& chain_;
  storage::AdminStore& admin_;
  TsaService& tsa_;
  common::Metrics& metrics_;
  common::Mutex mu_;
  std::unique_ptr<notary::ChainSigner> own_signer_;  // the key file, when no notary-signer
  notary::ChainSigner* const signer_;                // own_signer_ or options_.signer
  std::optional<notary::Ed25519PublicKey> registered_ GUARDED_BY(mu_);
  // A key new to the database: the others are retired once a block it signed commits.
  std::optional<std::string> retire_others_for_ GUARDED_BY(mu_);
  std::string last_refusal_ GUARDED_BY(mu_);  // the signer's last reason, logged once
  struct Replay {
    int64_t height = 0;
    int64_t leaf_count = 0;
    int64_t sealed_at_us = 0;
    common::Hash batch_root{};  // what the signed header commits the batch to
  };
  std::optional<Replay> replay_ GUARDED_BY(mu_);
  std::unique_ptr<storage::SealerLock> lock_ GUARDED_BY(mu_);
  std::condition_variable_any cv_;
  SealNotifier notifier_;
  std::unique_ptr<storage::SealListener> listener_;  // set by Create, before any thread starts
  std::atomic<bool> poked_{false};
  std::atomic<bool> token_wake_{false};
  std::jthread seal_thread_, token_thread_;
};

// Loads the Ed25519 signing key from `file` (or data_dir/signing_key.pem, created with mode
// 0600 when absent) and registers its public half in the database.
common::Result<notary::Ed25519Signer> LoadOrCreateSigningKey(const std::string& data_dir,
                                                             const std::string& file,
                                                             storage::AdminStore& admin);

}  // namespace pipeline
