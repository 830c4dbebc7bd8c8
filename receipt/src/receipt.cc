#include "receipt/receipt.h"

#include <algorithm>

namespace notary {

LeafRecord LeafRecordOf(const Receipt& receipt) {
  LeafRecord rec;
  rec.format_version = receipt.leaf_version;
  rec.receipt_id = receipt.id;
  rec.received_at_us = receipt.received_at_us;
  rec.raw_sha256 = receipt.raw_sha256;
  rec.canonical_sha256 = receipt.canonical_sha256;
  rec.canonical_version = receipt.canon_version;
  rec.parts_root = receipt.parts_root;
  rec.envelope_digest = receipt.envelope_digest;
  rec.tenant = receipt.tenant;
  // Version 1 records carry no provenance (Encode refuses one that has it).
  if (receipt.leaf_version >= 2) rec.provenance = receipt.provenance;
  std::copy(receipt.salt.begin(), receipt.salt.end(), rec.salt.begin());
  return rec;
}

}  // namespace notary
