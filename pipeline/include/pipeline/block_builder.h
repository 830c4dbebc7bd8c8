// Building one block of the chain (docs/evidence-format.md, "Blocks" and "Checkpoints"): a
// pure function of the chain's head, the batch's leaf hashes, the tree's tiles, the signer
// and the time. The sealer calls it inside its database transaction and commits what it
// returns; tests and benchmarks call it without a database.
//
// Thread-safety: a function; `tiles` is only read; the signer is used from the caller's thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "common/result.h"
#include "log/chain_signer.h"
#include "log/tlog.h"
#include "storage/chain_store.h"

namespace pipeline {

struct BlockInputs {
  const std::optional<storage::BlockRow>& head;  // nullopt: this is block 0
  std::span<const common::Hash> leaf_hashes;     // the batch, in queue order; not empty
  notary::tlog::TileReader& tiles;               // the tree as of `head`
  notary::ChainSigner& signer;                   // in this process or notary-signer
  const std::string& origin;                     // the checkpoint's origin line
  int64_t now_us = 0;                            // µs since the epoch, from the caller's clock
  // The signer's current key when the caller has just asked for it (the sealer does, to
  // register it); null: BuildBlock asks the signer.
  const notary::Ed25519PublicKey* key = nullptr;
};

// The block (header, signature, hash, checkpoint) and the tiles it writes. Its time is
// `now_us`, or one microsecond after the head's when the clock says otherwise: time never
// runs backwards along the chain. Errors: kInvalidInput (an empty batch), and whatever
// appending to the tiles or the signer reports (kUnavailable: the signer is unreachable).
common::Result<storage::NewBlock> BuildBlock(const BlockInputs& in);

}  // namespace pipeline
