// ChainSigner: who signs the chain's blocks and checkpoints for the sealer. The key may sit in
// this process (KeySigner, over any notary::Ed25519Key) or in notary-signer behind a Unix
// socket (signer::Client), which checks every request before it signs; the sealer does not
// care which.
//
// Thread-safety: implementations say; the sealer calls one signer from one thread at a time.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "log/block.h"
#include "log/checkpoint.h"
#include "log/ed25519.h"

namespace notary {

class ChainSigner {
 public:
  virtual ~ChainSigner() = default;

  // The key that signs the next block (its KeyId goes into the header). kUnavailable when
  // the signer cannot be reached.
  virtual common::Result<Ed25519PublicKey> CurrentKey() = 0;
  // The block signature over `header` (SignBlock in block.h). kUnavailable: unreachable;
  // kConflict/kPermissionDenied/kInvalidInput: refused, with the signer's reason.
  virtual common::Result<Ed25519Signature> SignBlock(const BlockHeader& header) = 0;
  // The signed note of `checkpoint`, signed as key `name` (SignCheckpoint in checkpoint.h).
  virtual common::Result<std::string> SignCheckpoint(const Checkpoint& checkpoint,
                                                     std::string_view name) = 0;
  // The last block header this signer signed, encoded, when it keeps one: after a crash
  // between signing and the database's commit, the sealer rebuilds exactly that block
  // instead of asking for a second block at the same height (which a signer refuses as a fork).
  virtual common::Result<std::optional<std::string>> LastSignedHeader() {
    return std::optional<std::string>();
  }
};

// Signs in this process with `key`, which must outlive it. Thread-safe when the key is.
class KeySigner final : public ChainSigner {
 public:
  explicit KeySigner(const Ed25519Key& key) : key_(key) {}
  common::Result<Ed25519PublicKey> CurrentKey() override { return key_.public_key(); }
  common::Result<Ed25519Signature> SignBlock(const BlockHeader& header) override {
    return notary::SignBlock(header, key_);
  }
  common::Result<std::string> SignCheckpoint(const Checkpoint& checkpoint,
                                             std::string_view name) override {
    return notary::SignCheckpoint(checkpoint, name, key_);
  }

 private:
  const Ed25519Key& key_;
};

}  // namespace notary
