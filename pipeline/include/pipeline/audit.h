// Audit: re-verifies the whole chain from genesis against the stored data, in one ordered
// pass over blocks and leaves (storage/audit_store.h) in bounded memory.
//
// Always (the default): every block's header against its columns, height, first leaf and
// tree size, previous-hash link, Ed25519 signature, block hash and checkpoint; every leaf's
// index (consecutive, inside its block), its receipt and stored bytes present, the bytes
// hashing to raw_sha256, the envelope against envelope_digest, the leaf record rebuilt from
// the receipt byte for byte, the leaf hash, and every batch root and tree root. This binds
// every stored byte to the signed chain.
// With `canonical`: also re-derives each message's canonical hash and parts_root from its
// stored bytes with the canonicaliser (GMime), i.e. re-checks the canonicaliser's work at
// ingest; it costs about 60 us of CPU per message.
//
// Per-leaf work runs on worker threads; everything that depends on order (indexes, roots,
// links) runs in chain order on the calling thread, so the first inconsistency in chain order
// is the one reported.
#pragma once

#include <ostream>

#include "storage/database.h"
#include "vault/key_wrapper.h"

namespace pipeline {

struct AuditOptions {
  bool canonical = false;  // also re-derive canonical hashes and parts_root
  bool progress = false;   // a progress line on `err`
  unsigned workers = 0;    // hashing threads; 0 = one per core
  // Stored message bytes per chunk of leaves handed to a worker (tests make it tiny, so that
  // a block is spread over many chunks and workers).
  size_t chunk_bytes = 2 << 20;
  // Opens the message bytes sealed at rest (migration 0012, docs/retention.md) so that they are
  // hashed like the rest; without one they are counted, not opened.
  vault::Wrapper* wrapper = nullptr;
};

// Returns the process exit code: 0 when everything holds, 1 at the first inconsistency
// (described on `err`), 2 when the database cannot be read. With glibc, raises the process's
// malloc trim threshold to 16 MB (audit.cc says why).
int RunAudit(storage::Database& db, const AuditOptions& options, std::ostream& out,
             std::ostream& err);

}  // namespace pipeline
