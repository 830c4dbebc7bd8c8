// The witness's data directory: its lock, its key and (state_store.h) its state.
//
//   DIR/lock                  flock()ed by the one notary-witness using DIR
//   DIR/witness-key.pem       the Ed25519 private key, PKCS#8 PEM, mode 0600
//   DIR/state/<sha256 hex>    one file per log (state_store.h)
//   DIR/evidence/             refused checkpoints that the log signed (state_store.h)
//
// Thread-safety: call from main() before serving.
#pragma once

#include <string>

#include "common/result.h"
#include "log/ed25519.h"

namespace witness {

inline constexpr const char* kKeyFileName = "witness-key.pem";

// Creates DIR (mode 0700) when missing.
common::Status MakeDataDir(const std::string& dir);

// Creates DIR (mode 0700) when missing and takes an exclusive, non-blocking flock on DIR/lock,
// held until the process exits (the descriptor is never closed; it is returned). kConflict
// when another process holds it: two witnesses on one state could each cosign a different
// checkpoint of the same size.
common::Result<int> LockDataDir(const std::string& dir);

// DIR/witness-key.pem, generated (and written durably, mode 0600) on first use; safe beside
// another process doing the same (the first key created wins). REQUIRES: DIR exists. kInvalidInput
// when the file is not an Ed25519 key; kPermissionDenied when others may read it.
common::Result<notary::Ed25519Signer> LoadOrCreateKey(const std::string& dir);

}  // namespace witness
