// The witness's add-checkpoint logic (c2sp.org/tlog-witness), apart from HTTP: a request
// body in, a status, content type and body out. What it checks, in order:
//
//   400  the body is malformed (request.h), or the note or checkpoint in it is
//   404  the checkpoint's origin is not a configured log
//   403  no signature by a key trusted for the origin verifies, or one by such a key fails
//   400  old size > checkpoint size
//   409  old size != the size last cosigned for the origin (0 if none); body "<size>\n",
//        Content-Type text/x.tlog.size. A rollback (a smaller checkpoint) ends here.
//   409  old size == checkpoint size but the root differs from the one cosigned (a fork)
//   422  the consistency proof from the cosigned (size, root) does not verify
//   500  the new state could not be written (nothing is cosigned)
//   200  the state is written durably, then one cosignature line is returned
//
// Checking against the stored size and storing the new one happen under the origin's mutex,
// so concurrent requests for one origin never roll its state back; different origins run in
// parallel. Refused checkpoints that the log signed (a fork, a bad proof) go to the store's
// evidence folder.
//
// Thread-safety: AddCheckpoint may be called from several threads.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "log/checkpoint.h"
#include "log/cosignature.h"
#include "log/ed25519.h"
#include "witness/state_store.h"

namespace witness {

struct LogConfig {
  std::string origin;
  std::vector<notary::NoteVerifierKey> keys;  // any of them may sign the log's checkpoints
};

struct WitnessOptions {
  std::string name;  // the witness's key name (a valid signed-note key name)
  std::vector<LogConfig> logs;
};

struct AddCheckpointResponse {
  int status = 500;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  // For the request log: what the request was about, and why it was refused.
  std::string origin;  // empty when the body did not get that far
  uint64_t old_size = 0;
  uint64_t size = 0;
  uint64_t stored_size = 0;
  std::string reason;
};

// "ORIGIN=VKEY" (the command line's --log): the origin is everything before the first '='.
common::Result<std::pair<std::string, notary::NoteVerifierKey>> ParseLogFlag(std::string_view s);
// Groups parsed --log values by origin, in order of first appearance.
std::vector<LogConfig> GroupLogs(
    const std::vector<std::pair<std::string, notary::NoteVerifierKey>>& flags);

class Witness {
 public:
  // `key`, `store` and `clock` must outlive the witness. kInvalidInput for an invalid name,
  // no logs, an origin twice, or a log without keys.
  static common::Result<std::unique_ptr<Witness>> Create(WitnessOptions options,
                                                         const notary::Ed25519Key& key,
                                                         StateStore& store,
                                                         const common::Clock& clock);

  AddCheckpointResponse AddCheckpoint(std::string_view body);

  // The state of a configured origin (nullopt when never cosigned or unknown).
  std::optional<OriginState> State(const std::string& origin) const;
  // The cosigner verifier key (type 0x04), what --print-vkey prints.
  const notary::CosignerKey& cosigner_key() const { return cosigner_key_; }

 private:
  struct Log {
    std::vector<notary::NoteVerifierKey> keys;
    mutable std::mutex mu;             // serialises the origin's check and store
    std::optional<OriginState> state;  // guarded by mu
  };
  Witness(std::string name, const notary::Ed25519Key& key, StateStore& store,
          const common::Clock& clock, notary::CosignerKey cosigner_key)
      : name_(std::move(name)),
        key_(key),
        store_(store),
        clock_(clock),
        cosigner_key_(std::move(cosigner_key)) {}

  std::string name_;
  const notary::Ed25519Key& key_;
  StateStore& store_;
  const common::Clock& clock_;
  notary::CosignerKey cosigner_key_;
  std::map<std::string, std::unique_ptr<Log>, std::less<>> logs_;  // fixed after Create
};

}  // namespace witness
