// A tenant's new key pair made current, its data keys moved to that pair, and an earlier pair
// destroyed once nothing is wrapped for it (docs/retention.md, "Rotation"). notaryctl runs
// them with the key holder that has the tenant's pairs (notary-signer's admin socket, or
// notaryd's keks.d); the last two as the schema owner.
//
// Thread-safety: the functions may run beside notaryd; two re-wraps of one tenant at once
// are safe (each row is re-wrapped once: the update checks the wrapping it replaces).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "storage/key_rotation_store.h"
#include "vault/key_wrapper.h"

namespace pipeline {

struct RewrapReport {
  std::string current;  // the kek_id every re-wrapped row now names
  // Rows re-wrapped, per table, in storage::kWrappedTables order.
  std::vector<std::pair<std::string, int64_t>> rewrapped;
  // Every pair still named by a row afterwards (the current one, and any a node stored under
  // while this ran), with its count.
  std::vector<std::pair<std::string, int64_t>> in_use;
};

// Each of the three is recorded in the log once done, as an action record of the tenant
// (docs/evidence-format.md: `key-rotate`, `key-rewrap`, `key-destroy`, subject the pair's
// kek_id) naming `actor`, so that when the mail was last readable under which pair is itself
// evidence. The record follows the change: a failure to store it is returned after the change
// was made, and says so.

// Makes a new key pair current for the tenant (the holder's Rotate) and records it.
common::Result<vault::TenantKey> RotateTenantKey(storage::KeyRotationStore& store,
                                                 vault::KeyHolder& holder,
                                                 const std::string& tenant,
                                                 const std::string& actor);

// Re-wraps every data key of the tenant wrapped for a pair other than the current one: each
// batch is unwrapped by the holder and wrapped anew for the current pair's public half. The
// ciphertext is not touched. kNotFound: the holder lacks a pair a row names (the message is
// left as it was; the error names the pair). Recorded when it re-wrapped anything, with the
// count per table.
common::Result<RewrapReport> RewrapTenant(storage::KeyRotationStore& store,
                                          vault::KeyHolder& holder, const std::string& tenant,
                                          const std::string& actor);

// Destroys an earlier pair of the tenant: lists it as retired (no row wrapped for it is stored
// from then on), checks that no stored row is wrapped for it, then has the holder delete it,
// and records that. kConflict: it is the current pair, or rows are still wrapped for it
// (RewrapTenant first; it stays retired). What was wrapped for it elsewhere (backups, copies
// of the database) can no longer be opened by anyone.
common::Status DestroyTenantKey(storage::KeyRotationStore& store, vault::KeyHolder& holder,
                                const std::string& tenant, const std::string& kek_id,
                                const std::string& actor);

}  // namespace pipeline
