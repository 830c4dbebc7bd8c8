#include "common/rfc6962.h"

#include "common/sha256.h"

namespace common {

Hash HashLeaf(std::span<const uint8_t> data) {
  Sha256 h;
  const uint8_t prefix = 0x00;
  h.Update(std::span<const uint8_t>(&prefix, 1));
  h.Update(data);
  return h.Finish();
}

Hash HashChildren(const Hash& left, const Hash& right) {
  uint8_t buf[1 + 64];
  buf[0] = 0x01;
  std::copy(left.begin(), left.end(), buf + 1);
  std::copy(right.begin(), right.end(), buf + 33);
  return Sha256Of(std::span<const uint8_t>(buf, sizeof buf));
}

Hash MerkleRoot(std::span<const Hash> leaves) {
  if (leaves.empty()) return Sha256Of(std::string_view());
  if (leaves.size() == 1) return leaves[0];
  // RFC 9162 §2.1.1: split at the largest power of two strictly below n.
  size_t k = 1;
  while (k * 2 < leaves.size()) k *= 2;
  return HashChildren(MerkleRoot(leaves.subspan(0, k)), MerkleRoot(leaves.subspan(k)));
}

}  // namespace common
