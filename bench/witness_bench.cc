// notary-witness's add-checkpoint logic (issue 19): cosignatures per second of CPU.
//
// A log of `base` leaves grows by `step` leaves per checkpoint; every request carries a
// realistic consistency proof (about 20 hashes at a million leaves) and a checkpoint signed by
// the log. Measured: witness::Witness::AddCheckpoint on the request bodies (parse, verify the
// log's Ed25519 signature, verify the proof, persist the state, cosign), in one thread, with
// the state written durably (fsync of the file and the folder, on the disk under DIR) and
// without the fsyncs (the logic alone). Building the tree and signing the checkpoints is set-up,
// not measured. The parts are timed alone too. bench/witness_bench.sh prints these next to
// `openssl speed ed25519` measured in the same run.
//
// Usage: witness_bench DIR [checkpoints] [fsync_checkpoints] [base] [step]
//        (defaults 3000 300 1000000 333); DIR must not exist or be empty; it is removed.
#include <sys/resource.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/clock.h"
#include "common/rfc6962.h"
#include "log/checkpoint.h"
#include "log/cosignature.h"
#include "log/merkle.h"
#include "witness/request.h"
#include "witness/state_store.h"
#include "witness/witness.h"

namespace {

using common::Hash;

double CpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}
// User and system CPU seconds of the process so far.
std::pair<double, double> UserSys() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto s = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return {s(ru.ru_utime), s(ru.ru_stime)};
}
double WallSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

class FixedClock final : public common::Clock {
 public:
  int64_t NowMicros() const override { return 1'760'000'000'000'000; }
};

struct Workload {
  std::string origin = "bench.example/log";
  notary::Ed25519Signer log_key = std::move(notary::Ed25519Signer::Generate().value());
  std::string first;                // old 0 -> base
  std::vector<std::string> bodies;  // base + i*step -> base + (i+1)*step
  double proof_hashes = 0;          // mean proof length
};

Workload Build(uint64_t base, uint64_t step, uint64_t n) {
  Workload w;
  std::vector<Hash> leaves;
  const uint64_t total = base + step * n;
  leaves.reserve(total);
  for (uint64_t i = 0; i < total; ++i) {
    std::string data = "leaf ";
    common::AppendU64(data, i);
    leaves.push_back(common::HashLeaf(data));
  }
  const notary::MerkleTree tree(leaves);
  auto signed_at = [&](uint64_t size) {
    notary::Checkpoint cp{w.origin, size, tree.RootAt(size).value(), {}};
    return notary::SignCheckpoint(cp, w.origin, w.log_key).value();
  };
  w.first = witness::FormatAddCheckpointRequest({0, {}, signed_at(base)});
  uint64_t hashes = 0;
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t old_size = base + i * step, new_size = old_size + step;
    witness::AddCheckpointRequest r{old_size, tree.ConsistencyProof(old_size, new_size).value(),
                                    signed_at(new_size)};
    hashes += r.proof.size();
    w.bodies.push_back(witness::FormatAddCheckpointRequest(r));
  }
  w.proof_hashes = n ? static_cast<double>(hashes) / static_cast<double>(n) : 0;
  return w;
}

struct Run {
  double per_cpu_s = 0, per_wall_s = 0;
  double user_us = 0, sys_us = 0;  // per checkpoint
};

// Serves every body of `w` (one witness, a fresh data directory) and times it.
Run Serve(const Workload& w, const std::string& dir, bool sync, size_t count) {
  std::filesystem::remove_all(dir);
  witness::StateStoreOptions so;
  so.dir = dir;
  so.sync = sync;
  auto store = std::move(witness::StateStore::Open(so).value());
  auto key = notary::Ed25519Signer::Generate().value();
  FixedClock clock;
  auto log_vkey = notary::MakeNoteVerifierKey(w.origin, w.log_key.public_key()).value();
  auto wit = std::move(witness::Witness::Create({"bench.example/witness", {{w.origin, {log_vkey}}}},
                                                key, *store, clock)
                           .value());
  if (wit->AddCheckpoint(w.first).status != 200) std::abort();
  const auto [u0, s0] = UserSys();
  const double c0 = CpuSeconds(), t0 = WallSeconds();
  for (size_t i = 0; i < count; ++i) {
    const auto r = wit->AddCheckpoint(w.bodies[i]);
    if (r.status != 200) {
      std::fprintf(stderr, "request %zu: %d %s\n", i, r.status, r.reason.c_str());
      std::abort();
    }
  }
  const double cpu = CpuSeconds() - c0, wall = WallSeconds() - t0;
  const auto [u1, s1] = UserSys();
  std::filesystem::remove_all(dir);
  const auto c = static_cast<double>(count);
  return {c / cpu, c / wall, (u1 - u0) * 1e6 / c, (s1 - s0) * 1e6 / c};
}

// Operations per CPU-second of `fn` over `n` calls.
template <class Fn>
double PerCpuSecond(size_t n, Fn fn) {
  const double c0 = CpuSeconds();
  for (size_t i = 0; i < n; ++i) fn(i);
  return static_cast<double>(n) / (CpuSeconds() - c0);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: witness_bench DIR [checkpoints] [fsync_checkpoints] [base] [step]\n");
    return 2;
  }
  const std::string dir = argv[1];
  const size_t n = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 3000;
  const size_t n_sync = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 300;
  const uint64_t base = argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 1'000'000;
  const uint64_t step = argc > 5 ? std::strtoull(argv[5], nullptr, 10) : 333;
  if (n == 0 || n_sync > n) return 2;

  const Workload w = Build(base, step, n);
  std::printf(
      "workload: log of %llu leaves + %llu per checkpoint, %zu checkpoints, "
      "%.1f proof hashes each, body %zu bytes\n",
      static_cast<unsigned long long>(base), static_cast<unsigned long long>(step), n,
      w.proof_hashes, w.bodies[0].size());

  const Run logic = Serve(w, dir, /*sync=*/false, n);
  const Run durable = Serve(w, dir, /*sync=*/true, n_sync);
  std::printf(
      "add-checkpoint, logic alone (no fsync): %7.0f /CPU-s %7.0f /s wall; user %4.0f µs + "
      "system %4.0f µs each\n",
      logic.per_cpu_s, logic.per_wall_s, logic.user_us, logic.sys_us);
  std::printf(
      "add-checkpoint, fsync'd state on disk:  %7.0f /CPU-s %7.0f /s wall; user %4.0f µs + "
      "system %4.0f µs each (%zu)\n",
      durable.per_cpu_s, durable.per_wall_s, durable.user_us, durable.sys_us, n_sync);

  // The parts, alone.
  std::vector<witness::AddCheckpointRequest> reqs;
  std::vector<notary::Note> notes;
  std::vector<notary::Checkpoint> cps;
  for (const auto& b : w.bodies) {
    reqs.push_back(witness::ParseAddCheckpointRequest(b).value());
    notes.push_back(notary::ParseNote(reqs.back().checkpoint).value());
    cps.push_back(notary::ParseCheckpoint(notes.back().text).value());
  }
  const auto log_pub = w.log_key.public_key();
  const double parse = PerCpuSecond(n, [&](size_t i) {
    auto r = witness::ParseAddCheckpointRequest(w.bodies[i]);
    auto note = notary::ParseNote(r->checkpoint);
    if (!notary::ParseCheckpoint(note->text).ok()) std::abort();
  });
  const double verify = PerCpuSecond(n, [&](size_t i) {
    if (!notary::Ed25519Verify(log_pub, common::AsBytes(notes[i].text),
                               common::AsBytes(notes[i].signatures[0].signature))
             .ok()) {
      std::abort();
    }
  });
  const double proof = PerCpuSecond(n, [&](size_t i) {
    const common::Hash old_root = i == 0 ? cps[0].root : cps[i - 1].root;
    if (i > 0 && !notary::VerifyConsistency(reqs[i].old_size, cps[i].size, old_root, cps[i].root,
                                            reqs[i].proof)
                      .ok()) {
      std::abort();
    }
  });
  auto wkey = notary::Ed25519Signer::Generate().value();
  const double cosign = PerCpuSecond(n, [&](size_t i) {
    if (!notary::Cosign(notes[i].text, "bench.example/witness", wkey, 1'760'000'000).ok()) {
      std::abort();
    }
  });
  // Writing the state file alone: without the fsyncs, and with them (file and folder).
  auto save = [&](bool sync, size_t count) {
    std::filesystem::remove_all(dir);
    witness::StateStoreOptions so;
    so.dir = dir;
    so.sync = sync;
    auto store = std::move(witness::StateStore::Open(so).value());
    const double per = PerCpuSecond(count, [&](size_t i) {
      witness::OriginState st{w.origin, cps[i].size, cps[i].root, reqs[i].checkpoint};
      if (!store->Save(st).ok()) std::abort();
    });
    std::filesystem::remove_all(dir);
    return per;
  };
  const double save_nosync = save(false, n);
  const double save_sync = save(true, n_sync);
  std::printf(
      "parts: parse %.0f /CPU-s, log signature %.0f /CPU-s, proof %.0f /CPU-s, "
      "cosign %.0f /CPU-s, state write %.0f /CPU-s (fsync'd %.0f /CPU-s)\n",
      parse, verify, proof, cosign, save_nosync, save_sync);
  std::printf("RESULT logic_cpu=%.0f durable_cpu=%.0f durable_wall=%.0f verify=%.0f cosign=%.0f\n",
              logic.per_cpu_s, durable.per_cpu_s, durable.per_wall_s, verify, cosign);
  return 0;
}
