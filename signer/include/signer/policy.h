// What notary-signer agrees to sign, and the state that makes it refuse to go back.
//
// A block header must decode, obey the chain's rules (BlockHeader::Validate), name the
// signer's key, and extend the last block the signer signed: height + 1, linked by that
// block's hash, first leaf at its tree size, sealed no earlier than it and not further from
// the signer's own clock than `max_clock_skew_us` (nobody can have a block backdated or
// dated ahead through the signer). The same header again (a retry after a lost answer, or
// the sealer rebuilding the block after a crash between signing and its commit) is signed
// again whatever its age; any other header at a height already signed is refused: a fork.
// A checkpoint must parse, carry no extension lines, name an origin the signer serves, and
// never shrink: the same size again must have the same root. A signer of one log signs only
// the checkpoint of the last block it signed (its tree size and root): the log key never
// signs a tree head that no signed block commits to.
//
// The first block or checkpoint after the state is created is taken as it comes (trust on
// first use), and logged by the caller. Every Record* writes the state durably (a new file,
// fsync, rename, fsync of the directory) before it returns, so the signer answers only
// once a restart would still refuse going back.
//
// Thread-safety: not thread-safe; the signer serves one request at a time.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/clock.h"
#include "common/result.h"
#include "log/block.h"
#include "log/checkpoint.h"

namespace signer {

struct PolicyOptions {
  std::string state_path;            // the state file; created on first use
  std::string key_id;                // notary::KeyId of the block-signing key
  std::vector<std::string> origins;  // checkpoint origins served
  int64_t max_clock_skew_us = 300'000'000;
  const common::Clock* clock = &common::Clock::System();
};

// The last block the signer signed.
struct SignedBlock {
  uint64_t height = 0;
  common::Hash block_hash{};
  std::string header;  // encoded: a retry is the same header, and notaryd can rebuild it
  uint64_t tree_size = 0;
  common::Hash tree_root{};
  int64_t sealed_at_us = 0;
  bool operator==(const SignedBlock&) const = default;
};

// The largest checkpoint signed for an origin.
struct SignedCheckpoint {
  uint64_t size = 0;
  common::Hash root{};
  bool operator==(const SignedCheckpoint&) const = default;
};

class Policy {
 public:
  // Reads the state file if it exists. kInvalidInput for a state file that does not parse;
  // kUnavailable when it cannot be read.
  static common::Result<Policy> Open(PolicyOptions options);

  // kInvalidInput (malformed), kPermissionDenied (not what this signer signs) or
  // kConflict (a fork, a step back, a gap): each with the reason, for the log and the
  // refusal. `retry` is set when this is exactly the last header signed.
  common::Result<notary::BlockHeader> CheckBlock(std::string_view encoded, bool& retry) const;
  // Records a block signed; durable when it returns OK. A signer of one origin records that
  // log's checkpoint of the block's size and root in the same write.
  common::Status RecordBlock(std::string_view encoded, const notary::BlockHeader& header,
                             const common::Hash& block_hash);

  common::Result<notary::Checkpoint> CheckCheckpoint(std::string_view text) const;
  common::Status RecordCheckpoint(const notary::Checkpoint& checkpoint);

  // Writes the state as it is (a new signer's empty state, so that a later start can tell a
  // signer that never signed from one whose state was lost).
  common::Status Persist() const { return Save(); }

  const std::optional<SignedBlock>& last_block() const { return last_block_; }
  // After a key rotation: headers must name the new key from now on.
  void set_key_id(std::string key_id) { options_.key_id = std::move(key_id); }
  const std::string& key_id() const { return options_.key_id; }
  const std::map<std::string, SignedCheckpoint>& checkpoints() const { return checkpoints_; }

 private:
  explicit Policy(PolicyOptions options) : options_(std::move(options)) {}
  common::Status Save() const;

  PolicyOptions options_;
  std::optional<SignedBlock> last_block_;
  std::map<std::string, SignedCheckpoint> checkpoints_;  // by origin
};

}  // namespace signer
