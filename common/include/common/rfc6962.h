// RFC 6962 / RFC 9162 §2.1.1 hashing primitives: the leaf and interior-node hashes and the
// root of a list of leaf hashes. Shared by mime (parts_root) and notary (the log).
//
// Thread-safety: pure functions.
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "common/bytes.h"

namespace common {

// SHA-256(0x00 || data): the 0x00 prefix separates leaves from interior nodes.
Hash HashLeaf(std::span<const uint8_t> data);
inline Hash HashLeaf(std::string_view data) { return HashLeaf(AsBytes(data)); }
// SHA-256(0x01 || left || right).
Hash HashChildren(const Hash& left, const Hash& right);
// MTH(D[n]) over already-hashed leaves; SHA-256("") for the empty list.
Hash MerkleRoot(std::span<const Hash> leaf_hashes);

}  // namespace common
