// A transparency log for the witness's tests: leaves, a Merkle tree, a log key, and the
// add-checkpoint bodies a real log would send (or a forged one would).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/rfc6962.h"
#include "log/checkpoint.h"
#include "log/ed25519.h"
#include "log/merkle.h"
#include "witness/request.h"

namespace witness_test {

class TestLog {
 public:
  // Logs of one origin and one `history` have the same leaves (with their own keys).
  explicit TestLog(std::string origin, uint64_t leaves = 0, std::string history = "")
      : origin_(std::move(origin)),
        history_(std::move(history)),
        key_(std::move(notary::Ed25519Signer::Generate().value())) {
    Grow(leaves);
  }

  void Grow(uint64_t n) {
    for (uint64_t i = 0; i < n; ++i) {
      leaves_.push_back(
          common::HashLeaf(origin_ + history_ + " leaf " + std::to_string(leaves_.size())));
    }
  }
  uint64_t size() const { return leaves_.size(); }
  const std::string& origin() const { return origin_; }
  const notary::Ed25519Signer& key() const { return key_; }
  notary::NoteVerifierKey vkey() const {
    return notary::MakeNoteVerifierKey(origin_, key_.public_key()).value();
  }
  common::Hash RootAt(uint64_t n) const {
    return notary::MerkleTree(std::span(leaves_.data(), n)).Root();
  }
  std::vector<common::Hash> Proof(uint64_t old_size, uint64_t new_size) const {
    return notary::MerkleTree(std::span(leaves_.data(), new_size))
        .ConsistencyProof(old_size)
        .value();
  }
  // The signed checkpoint of the first `n` leaves (or of `root` instead of theirs).
  std::string Checkpoint(uint64_t n) const { return CheckpointWithRoot(n, RootAt(n)); }
  std::string CheckpointWithRoot(uint64_t n, const common::Hash& root) const {
    notary::Checkpoint cp{origin_, n, root, {}};
    return notary::SignCheckpoint(cp, origin_, key_).value();
  }
  // A well-formed request from `old_size` to `new_size`, proof included.
  std::string Body(uint64_t old_size, uint64_t new_size) const {
    witness::AddCheckpointRequest r;
    r.old_size = old_size;
    if (old_size > 0) r.proof = Proof(old_size, new_size);
    r.checkpoint = Checkpoint(new_size);
    return witness::FormatAddCheckpointRequest(r);
  }

 private:
  std::string origin_;
  std::string history_;
  notary::Ed25519Signer key_;
  std::vector<common::Hash> leaves_;
};

}  // namespace witness_test
