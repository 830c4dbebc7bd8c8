// Merkle log benchmark (in memory, no database): sealing a block of 100,000 leaves onto a
// 1,000,000-leaf tile log, and proof latency at 1,000,000 leaves, each next to the SHA-256 rate
// of 64-byte inputs measured in the same run (the bound for tree work).
//
// Usage: tlog_bench [base_leaves] [batch_leaves]   (defaults 1000000 100000)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/rfc6962.h"
#include "common/sha256.h"
#include "log/merkle.h"
#include "log/tlog.h"

namespace {

using Clock = std::chrono::steady_clock;
using common::Hash;

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::vector<Hash> Leaves(uint64_t first, uint64_t n) {
  std::vector<Hash> out;
  out.reserve(n);
  for (uint64_t i = first; i < first + n; ++i) {
    std::string data = "leaf ";
    common::AppendU64(data, i);
    out.push_back(common::HashLeaf(data));
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t base = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000000;
  const uint64_t batch = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 100000;

  // The reference: SHA-256 of 64-byte inputs (one interior node hashes 65 bytes).
  uint8_t block[64] = {};
  const int kHashes = 2000000;
  auto start = Clock::now();
  Hash sink{};
  for (int i = 0; i < kHashes; ++i) {
    block[0] = static_cast<uint8_t>(i);
    sink = common::Sha256Of(std::span<const uint8_t>(block, sizeof block));
    block[1] ^= sink[0];
  }
  const double sha_rate = kHashes / Seconds(start);
  std::printf("sha256_64B_rate            %.0f hashes/s (%.3f us each)\n", sha_rate,
              1e6 / sha_rate);

  notary::tlog::MemoryTileStore store;
  const std::vector<Hash> base_leaves = Leaves(0, base);
  start = Clock::now();
  common::Result<notary::tlog::AppendResult> built =
      notary::tlog::AppendTiles(0, base_leaves, store);
  if (!built.ok()) return 1;
  store.Put(built->tiles);
  const double build_s = Seconds(start);
  std::printf("build_%llu_leaves        %.3f s (%zu tiles)\n",
              static_cast<unsigned long long>(base), build_s, built->tiles.size());

  // Sealing one block: tiles and root for `batch` new leaves (leaf hashes given).
  const std::vector<Hash> new_leaves = Leaves(base, batch);
  start = Clock::now();
  common::Result<notary::tlog::AppendResult> sealed =
      notary::tlog::AppendTiles(base, new_leaves, store);
  const double seal_s = Seconds(start);
  if (!sealed.ok()) return 1;
  // Interior hashes needed: about one per leaf (255 per full tile of 256, plus the levels up).
  const double seal_floor_s = static_cast<double>(batch) / sha_rate;
  std::printf(
      "append_%llu_to_%llu     %.3f s (%zu tiles written; %.2fx the time of %llu "
      "hashes)\n",
      static_cast<unsigned long long>(batch), static_cast<unsigned long long>(base), seal_s,
      sealed->tiles.size(), seal_s / seal_floor_s, static_cast<unsigned long long>(batch));
  // batch_root of the block: an in-memory tree over its leaves.
  start = Clock::now();
  const notary::MerkleTree batch_tree(new_leaves);
  const double batch_root_s = Seconds(start);
  std::printf("batch_root_%llu          %.3f s\n", static_cast<unsigned long long>(batch),
              batch_root_s);

  // Proofs at `base` leaves, random indexes.
  std::mt19937_64 rng(42);
  const int kProofs = 2000;
  start = Clock::now();
  size_t total_hashes = 0;
  for (int i = 0; i < kProofs; ++i) {
    const uint64_t index = rng() % base;
    common::Result<std::vector<Hash>> proof = notary::tlog::InclusionProof(index, base, store);
    if (!proof.ok()) return 1;
    total_hashes += proof->size();
  }
  const double proof_us = Seconds(start) / kProofs * 1e6;
  std::printf(
      "inclusion_proof_at_%llu  %.1f us each (%zu hashes per proof; %.0f SHA-256 "
      "times)\n",
      static_cast<unsigned long long>(base), proof_us, total_hashes / kProofs,
      proof_us * sha_rate / 1e6);
  start = Clock::now();
  for (int i = 0; i < kProofs; ++i) {
    const uint64_t old_size = 1 + rng() % (base - 1);
    common::Result<std::vector<Hash>> proof = notary::tlog::ConsistencyProof(old_size, base, store);
    if (!proof.ok()) return 1;
  }
  const double consistency_us = Seconds(start) / kProofs * 1e6;
  std::printf("consistency_proof_to_%llu %.1f us each\n", static_cast<unsigned long long>(base),
              consistency_us);
  start = Clock::now();
  for (int i = 0; i < kProofs; ++i) {
    common::Result<Hash> root = notary::tlog::TreeRoot(base - (rng() % 1000), store);
    if (!root.ok()) return 1;
  }
  std::printf("tree_root_at_~%llu        %.1f us each\n", static_cast<unsigned long long>(base),
              Seconds(start) / kProofs * 1e6);
  return sink[0] == 0x42 && sealed->root == Hash{} ? 2 : 0;
}
