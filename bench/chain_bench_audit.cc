// chain_bench, step 5: notaryctl audit's pace over the whole chain, in both modes, next to
// three references measured in the same run:
//   - SHA-256 once over the same number of bytes, in memory (the wording; no I/O);
//   - the database floor, in this process: every stored message read once from PostgreSQL
//     with a server-side cursor (as the audit reads) and hashed with SHA-256;
//   - the database floor with tools not written here:
//     psql "COPY (SELECT data FROM message_blobs) TO STDOUT (FORMAT binary)" | sha256sum.
#include "chain_bench_audit.h"

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <pqxx/pqxx>
#include <sstream>
#include <string>
#include <thread>

#include "common/sha256.h"
#include "pipeline/audit.h"

namespace {

using Clock = std::chrono::steady_clock;
double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// PostgreSQL's CPU: the reaped children of the postmaster (the audit's backends end with its
// connections), when bench/chain_bench.sh passes the postmaster's pid; -1 otherwise.
double PostgresCpuSeconds() {
  const char* pid = std::getenv("NOTARY_BENCH_POSTMASTER_PID");
  if (pid == nullptr) return -1;
  std::FILE* f = std::fopen(("/proc/" + std::string(pid) + "/stat").c_str(), "r");
  if (f == nullptr) return -1;
  char buf[1024] = {0};
  const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  // Fields after the command name (which ends at the last ')'): cutime and cstime are the
  // 16th and 17th of the line, the 14th and 15th after it.
  std::string line(buf, n);
  std::istringstream in(line.substr(line.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 17 && in >> field; ++i) {
    if (i >= 16) ticks += std::atof(field.c_str());
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct Timed {
  int rc = 0;
  double wall = 0, cpu = 0, pg_cpu = -1;
  std::string out, err;
};

Timed TimeAudit(storage::Database& db, bool canonical, vault::Wrapper* wrapper = nullptr) {
  pipeline::AuditOptions o;
  o.canonical = canonical;
  o.wrapper = wrapper;
  std::ostringstream out, err;
  Timed t;
  const double c0 = CpuSeconds(), p0 = PostgresCpuSeconds();
  const auto t0 = Clock::now();
  t.rc = pipeline::RunAudit(db, o, out, err);
  t.wall = Seconds(Clock::now() - t0);
  t.cpu = CpuSeconds() - c0;
  // Backends are reaped a moment after their connections close.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  if (p0 >= 0) t.pg_cpu = PostgresCpuSeconds() - p0;
  t.out = out.str();
  t.err = err.str();
  return t;
}

// bytea's hex text ("\\x0a1b...") to bytes, as fast as the audit's own reader decodes it.
void Unhex(const char* s, size_t n, std::string& out) {
  auto v = [](char ch) { return ch <= '9' ? ch - '0' : (ch | 0x20) - 'a' + 10; };
  out.resize(n < 2 ? 0 : (n - 2) / 2);
  for (size_t i = 2, o = 0; i + 1 < n; i += 2, ++o) {
    out[o] = static_cast<char>((v(s[i]) << 4) | v(s[i + 1]));
  }
}

// Every stored message read once through a cursor and hashed: what any audit must at least do.
double ReadAndHash(const std::string& owner, int64_t& bytes_out) {
  pqxx::connection c(owner);
  pqxx::work tx(c);
  const auto t0 = Clock::now();
  tx.exec("DECLARE blobs NO SCROLL CURSOR FOR SELECT data FROM message_blobs");
  int64_t bytes = 0;
  std::string raw;
  while (true) {
    pqxx::result r = tx.exec("FETCH 2048 FROM blobs");
    for (const auto& row : r) {
      Unhex(row[0].c_str(), row[0].size(), raw);
      (void)common::Sha256Of(raw);
      bytes += static_cast<int64_t>(raw.size());
    }
    if (r.size() < 2048) break;
  }
  const double s = Seconds(Clock::now() - t0);
  tx.commit();
  bytes_out = bytes;
  return s;
}

std::string LoadAverage() {
  std::FILE* f = std::fopen("/proc/loadavg", "r");
  char buf[64] = {0};
  if (f) {
    if (!std::fgets(buf, sizeof buf, f)) buf[0] = 0;
    std::fclose(f);
  }
  std::string s(buf);
  return s.substr(0, s.find(' ', s.find(' ', s.find(' ') + 1) + 1));
}

}  // namespace

int AuditFigures(storage::Database& db, const std::string& owner, int64_t n,
                 vault::Wrapper& wrapper) {
  pqxx::connection c(owner);
  pqxx::work tx(c);
  const int64_t bytes = tx.exec("SELECT sum(size) FROM message_blobs")[0][0].as<int64_t>();
  tx.commit();
  std::printf("audit: load average before: %s\n", LoadAverage().c_str());

  // Each reference and the default audit run twice, the better figure kept: other work on a
  // shared machine only ever adds time.
  // Reference 1: SHA-256 once over the same number of bytes, in memory.
  double mem_s = 1e9;
  std::string block(1 << 20, 'y');
  for (int rep = 0; rep < 2; ++rep) {
    const auto h0 = Clock::now();
    for (int64_t done = 0; done < bytes; done += static_cast<int64_t>(block.size())) {
      block[0] = static_cast<char>(done);
      (void)common::Sha256Of(block);
    }
    mem_s = std::min(mem_s, Seconds(Clock::now() - h0));
  }

  // Reference 2: read every stored message once from PostgreSQL and hash it (this process).
  int64_t read_bytes = 0;
  double read_s = 1e9;
  for (int rep = 0; rep < 2; ++rep) read_s = std::min(read_s, ReadAndHash(owner, read_bytes));

  // Reference 3: the same with tools not written here (binary COPY, one SHA-256 of it all).
  const std::string cmd = "psql -X -q '" + owner +
                          "' -c 'COPY (SELECT data FROM message_blobs) TO STDOUT (FORMAT binary)'"
                          " | sha256sum > /dev/null";
  double psql_s = 1e9;
  int prc = 0;
  for (int rep = 0; rep < 2 && prc == 0; ++rep) {
    const auto p0 = Clock::now();
    prc = std::system(cmd.c_str());
    psql_s = std::min(psql_s, Seconds(Clock::now() - p0));
  }

  // The audit, default mode (twice), then with the canonicaliser re-run (once: it is long).
  Timed a = TimeAudit(db, false);
  std::printf("%s", a.out.c_str());
  if (a.rc != 0) std::printf("audit failed: %s", a.err.c_str());
  Timed a2 = TimeAudit(db, false);
  std::printf(
      "audit (default) runs: %.2f s, %.2f s (CPU: audit %.2f s, %.2f s; PostgreSQL %.2f s, "
      "%.2f s)\n",
      a.wall, a2.wall, a.cpu, a2.cpu, a.pg_cpu, a2.pg_cpu);
  if (a2.rc == 0 && a2.wall < a.wall) a = a2;
  Timed k = TimeAudit(db, true);
  std::printf("%s", k.out.c_str());
  if (k.rc != 0) std::printf("audit --canonical failed: %s", k.err.c_str());
  // With the key holder (--data-dir): every sealed envelope opened and checked against its
  // digest, and every sealed blob opened (once).
  Timed w = TimeAudit(db, false, &wrapper);
  std::printf("%s", w.out.c_str());
  if (w.rc != 0) std::printf("audit with the key holder failed: %s", w.err.c_str());

  const double floor_s = prc == 0 ? std::min(read_s, psql_s) : read_s;
  std::printf(
      "audit references for %lld receipts, %lld stored bytes (best of 2 each):\n"
      "  SHA-256 of that many bytes in memory:                 %6.2f s\n"
      "  read every stored message once + SHA-256 (cursor):   %6.2f s (%lld bytes)\n"
      "  psql COPY binary | sha256sum:                         %6.2f s%s\n"
      "audit (default):     %6.2f s wall, %6.2f s CPU in this process; pace = %.2f x in-memory "
      "hashing, %.2f x the database floor (%.2f s)\n"
      "audit --canonical:   %6.2f s wall, %6.2f s CPU in this process; pace = %.3f x in-memory "
      "hashing, %.2f x the database floor\n"
      "audit with keys:     %6.2f s wall, %6.2f s CPU in this process; pace = %.2f x the "
      "database floor (sealed envelopes and bytes opened)\n"
      "PostgreSQL CPU during the audit (-1: not measured): default %.2f s, --canonical %.2f s\n"
      "audit: load average after: %s\n",
      static_cast<long long>(n), static_cast<long long>(bytes), mem_s, read_s,
      static_cast<long long>(read_bytes), psql_s, prc == 0 ? "" : " (psql failed)", a.wall, a.cpu,
      mem_s / a.wall, floor_s / a.wall, floor_s, k.wall, k.cpu, mem_s / k.wall, floor_s / k.wall,
      w.wall, w.cpu, floor_s / w.wall, a.pg_cpu, k.pg_cpu, LoadAverage().c_str());
  return a.rc != 0 ? a.rc : k.rc != 0 ? k.rc : w.rc;
}
