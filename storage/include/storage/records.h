// Plain rows exchanged with the storage layer. No libpqxx types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "receipt/receipt.h"

namespace storage {

// What ingest commits for one received copy: the receipt and its exact bytes. Every text
// field of the receipt must be valid UTF-8 (ingest makes it so): the columns hold what the
// leaf record binds, byte for byte.
struct NewReceipt {
  notary::Receipt receipt;
  std::string raw;  // the exact bytes; receipt.size is taken from them
  std::optional<std::string> idempotency_key;
};

struct InsertedReceipt {
  std::string id;  // the new id, or the existing one for a repeated idempotency key
  bool duplicate = false;
  int64_t received_at_us = 0;
  // A repeated idempotency key whose earlier receipt has other bytes or another envelope:
  // nothing was stored, and the caller must not hand out the earlier id.
  bool conflict = false;
};

struct BlockRow {
  int64_t height = 0;
  common::Hash prev_hash{}, batch_root{}, tree_root{}, block_hash{};
  int64_t first_leaf = 0, leaf_count = 0, tree_size = 0, sealed_at_us = 0;
  std::string key_id;
  std::string header, signature;  // encoded header and Ed25519 signature bytes
  std::string checkpoint;
};

struct TokenRow {
  int64_t block_height = 0;
  std::string tsa;
  int64_t gen_time_us = 0;
  std::string token;  // DER TimeStampToken
};

// A checkpoint note with the cosignatures of at least the witness quorum (issue 19).
struct CosignedCheckpointRow {
  int64_t tree_size = 0;
  std::string checkpoint;  // the log's signed note, cosignature lines appended
  int cosigners = 0;
  int64_t created_at_us = 0;
};

struct KeyRow {
  std::string key_id, algorithm, public_pem, fingerprint;
  std::string public_key;  // raw bytes
  int64_t valid_from_us = 0;
  std::optional<int64_t> valid_until_us;
};

}  // namespace storage
