// The leaf record of a receipt, built from its stored fields. One builder for ingest (which
// stores each receipt with its record), the sealer (for receipts stored without one) and the
// audit.
#pragma once

#include <algorithm>

#include "log/leaf_record.h"
#include "storage/chain_store.h"

namespace storage {

inline notary::LeafRecord LeafRecordOf(const PendingLeaf& p) {
  notary::LeafRecord rec;
  rec.receipt_id = p.receipt_id;
  rec.received_at_us = p.received_at_us;
  rec.raw_sha256 = p.raw_sha256;
  rec.canonical_sha256 = p.canonical_sha256;
  rec.canonical_version = p.canon_version;
  rec.parts_root = p.parts_root;
  rec.envelope_digest = p.envelope_digest;
  rec.tenant = p.tenant;
  rec.format_version = p.leaf_version;
  if (p.leaf_version >= 2) rec.provenance = p.provenance;
  std::copy(p.salt.begin(), p.salt.end(), rec.salt.begin());
  return rec;
}

}  // namespace storage
