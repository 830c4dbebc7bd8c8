// vault_bench: what encryption at rest (docs/retention.md) costs per message, next to a
// reference measured in the same run: sealing a message's bytes with AES-256-GCM against
// SHA-256 of the same bytes (which ingest computes anyway); wrapping a group's data keys for
// the tenant (one X25519 per group), per group and per key; and unwrapping them with the
// private key, as the key holder (notary-signer) does per request, one by one and as a page
// of search results.
//
// Usage: vault_bench [min_seconds_per_case]   (default 1.0)
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "common/sha256.h"
#include "vault/aead.h"
#include "vault/key_wrapper.h"

namespace {

using Clock = std::chrono::steady_clock;

// Runs `fn` for at least `min_s` seconds; microseconds per call.
double MicrosPerCall(double min_s, const std::function<void()>& fn) {
  size_t calls = 0;
  const auto t0 = Clock::now();
  double elapsed = 0;
  do {
    for (int i = 0; i < 16; ++i) fn();
    calls += 16;
    elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  } while (elapsed < min_s);
  return elapsed * 1e6 / static_cast<double>(calls);
}

}  // namespace

int main(int argc, char** argv) {
  const double min_s = argc > 1 ? std::atof(argv[1]) : 1.0;
  const vault::Key key = *vault::NewKey();
  std::printf("%-10s %14s %16s %8s\n", "bytes", "SHA-256 us", "AES-256-GCM us", "ratio");
  for (size_t size : {size_t{10} << 10, size_t{100} << 10, size_t{1} << 20}) {
    const std::string data(size, 'x');
    volatile size_t sink = 0;
    const double sha = MicrosPerCall(min_s, [&] { sink = sink + common::Sha256Of(data)[0]; });
    const double gcm =
        MicrosPerCall(min_s, [&] { sink = sink + vault::Seal(key, data, "aad")->size(); });
    std::printf("%-10zu %14.1f %16.1f %8.2f\n", size, sha, gcm, gcm / sha);
  }

  const std::string dir = "/tmp/vault_bench_keks_" + std::to_string(::getpid());
  std::system(("mkdir -p " + dir).c_str());
  auto holder = vault::FileKeyHolder::Open(dir);
  if (!holder.ok()) {
    std::fprintf(stderr, "vault_bench: %s\n", holder.error().ToString().c_str());
    return 1;
  }
  const vault::TenantKey tenant = *(*holder)->PublicKeyFor("bench");
  std::printf("\n%-16s %16s %18s %18s\n", "keys per group", "wrap us/group", "wrap us/key",
              "unwrap us/key");
  for (size_t n : {size_t{1}, size_t{16}, size_t{64}, size_t{256}}) {
    std::vector<vault::Key> keys(n, key);
    std::vector<std::string> wrapped = *vault::WrapKeys("bench", tenant, keys);
    volatile size_t sink = 0;
    const double wrap =
        MicrosPerCall(min_s, [&] { sink = sink + vault::WrapKeys("bench", tenant, keys)->size(); });
    const double unwrap = MicrosPerCall(
        min_s, [&] { sink = sink + (*holder)->Unwrap("bench", tenant.kek_id, wrapped)->size(); });
    std::printf("%-16zu %16.1f %18.2f %18.2f\n", n, wrap, wrap / static_cast<double>(n),
                unwrap / static_cast<double>(n));
  }
  // A page of search results (50 receipts) opened in one call, as GET /v1/messages does:
  // each key wrapped in a group of its own (messages that arrived apart) against all 50 wrapped
  // together (neighbours in time).
  {
    std::vector<std::string> apart, together;
    std::vector<vault::Key> fifty(50, key);
    together = *vault::WrapKeys("bench", tenant, fifty);
    for (int i = 0; i < 50; ++i) {
      apart.push_back((*vault::WrapKeys("bench", tenant, std::vector<vault::Key>{key}))[0]);
    }
    volatile size_t sink = 0;
    const double a = MicrosPerCall(
        min_s, [&] { sink = sink + (*holder)->Unwrap("bench", tenant.kek_id, apart)->size(); });
    const double t = MicrosPerCall(
        min_s, [&] { sink = sink + (*holder)->Unwrap("bench", tenant.kek_id, together)->size(); });
    std::printf(
        "\na page of 50: unwrap %.0f us when each came in a group of its own, %.0f us "
        "when they came together\n",
        a, t);
  }
  std::system(("rm -rf " + dir).c_str());
  return 0;
}
