// chain_bench, step 5: notaryctl audit's pace over the whole chain, next to SHA-256 of the
// stored bytes measured in the same run.
#include "chain_bench_audit.h"

#include <chrono>
#include <cstdio>
#include <pqxx/pqxx>
#include <sstream>
#include <string>

#include "audit.h"
#include "common/sha256.h"

namespace {

using Clock = std::chrono::steady_clock;
double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

}  // namespace

int AuditFigures(storage::Database& db, const std::string& owner, int64_t n) {
  // Audit: the whole chain re-verified from the stored bytes.
  auto a0 = Clock::now();
  std::ostringstream out, err;
  int rc = server::RunAudit(db, false, out, err);
  double audit_s = Ms(Clock::now() - a0) / 1000;
  std::printf("%s", out.str().c_str());
  if (rc != 0) std::printf("audit failed: %s", err.str().c_str());
  // Reference: SHA-256 once over the same stored bytes.
  pqxx::connection c(owner);
  pqxx::work tx(c);
  int64_t bytes = tx.exec("SELECT sum(size) FROM message_blobs")[0][0].as<int64_t>();
  tx.commit();
  std::string block(1 << 20, 'y');
  auto h0 = Clock::now();
  for (int64_t done = 0; done < bytes; done += static_cast<int64_t>(block.size())) {
    block[0] = static_cast<char>(done);
    (void)common::Sha256Of(block);
  }
  double hash_s = Ms(Clock::now() - h0) / 1000;
  std::printf(
      "audit: %.1f s for %lld receipts (%lld bytes); SHA-256 of those bytes once: %.2f s; audit "
      "pace = %.2f x hashing\n",
      audit_s, static_cast<long long>(n), static_cast<long long>(bytes), hash_s, hash_s / audit_s);
  return rc;
}
