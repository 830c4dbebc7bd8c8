// tsa_bench: RFC 3161 replies per second of notary::TsaResponder::Respond (no HTTP), with 1
// and 2 threads, for ECDSA P-256 and RSA-2048 TSA keys, next to the raw signing rate of the
// same key type from `openssl speed` measured in the same run (right before each figure).
//
// Two comparisons, because `openssl speed` divides by CPU user time unless given -elapsed:
// replies per CPU-second of the responding threads against `openssl speed` (sign/s per
// CPU-second, robust to other load on the machine), and wall-clock replies/s against
// `openssl speed -elapsed` (-multi 2 for two threads).
//
// Usage: tsa_bench [seconds per measurement, default 3]
// Needs the `openssl` command on PATH (for the RSA certificate and `openssl speed`).
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/sha256.h"
#include "tsa/client.h"
#include "tsa/token.h"
#include "tsa_authority/local_ca.h"
#include "tsa_authority/responder.h"

namespace {

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteAll(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

// Runs a shell command and returns its standard output ("" on failure).
std::string Capture(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  if (pclose(p) != 0) return {};
  return out;
}

// The sign/s column of the first `openssl speed` result line containing `marker`.
double SignsPerSecond(const std::string& speed_output, const std::string& marker) {
  std::istringstream lines(speed_output);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.find(marker) == std::string::npos) continue;
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string s; words >> s;) w.push_back(s);
    if (w.size() >= 2) return std::atof(w[w.size() - 2].c_str());  // sign/s, verify/s
  }
  return 0;
}

struct Rate {
  double per_second = 0;      // wall clock
  double per_cpu_second = 0;  // CPU time of the calling threads
  long failures = 0;
};

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Calls Respond(query) from `threads` threads for `seconds`.
Rate Measure(const notary::TsaResponder& responder, const std::string& query, int threads,
             double seconds, size_t min_reply_size = 100) {
  std::atomic<bool> stop{false};
  std::atomic<long> done{0}, failed{0};
  std::atomic<long> cpu_ns{0};
  std::vector<std::thread> pool;
  const auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      long n = 0, bad = 0;
      const double cpu0 = ThreadCpuSeconds();
      while (!stop.load(std::memory_order_relaxed)) {
        auto reply = responder.Respond(query);
        if (reply.ok() && reply->size() >= min_reply_size) {
          ++n;
        } else {
          ++bad;
        }
      }
      done += n;
      failed += bad;
      cpu_ns += static_cast<long>((ThreadCpuSeconds() - cpu0) * 1e9);
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& th : pool) th.join();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu = static_cast<double>(cpu_ns.load()) / 1e9;
  return {static_cast<double>(done.load()) / elapsed,
          cpu > 0 ? static_cast<double>(done.load()) / cpu : 0, failed.load()};
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 3.0;
  if (seconds <= 0) {
    std::fprintf(stderr, "usage: tsa_bench [seconds]\n");
    return 2;
  }
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("tsa_bench." + std::to_string(getpid()))).string();
  std::filesystem::create_directories(dir);

  auto local = notary::GenerateLocalTsa("Bench", NowUs());
  if (!local.ok()) {
    std::fprintf(stderr, "GenerateLocalTsa: %s\n", local.error().ToString().c_str());
    return 1;
  }
  WriteAll(dir + "/ca.pem", local->ca_cert_pem);
  WriteAll(dir + "/ca.key", local->ca_key_pem);
  WriteAll(dir + "/ext.cnf",
           "[e]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
           "extendedKeyUsage=critical,timeStamping\n");
  const std::string make_rsa =
      "openssl req -new -newkey rsa:2048 -nodes -keyout " + dir + "/rsa.key -out " + dir +
      "/rsa.csr -subj /CN=RSA-TSA 2>/dev/null && openssl x509 -req -in " + dir + "/rsa.csr -CA " +
      dir + "/ca.pem -CAkey " + dir + "/ca.key -set_serial 7 -days 30 " + "-extfile " + dir +
      "/ext.cnf -extensions e -out " + dir + "/rsa.pem 2>/dev/null && echo ok";
  if (Capture(make_rsa).find("ok") == std::string::npos) {
    std::fprintf(stderr, "cannot make the RSA TSA certificate with openssl\n");
    return 1;
  }

  auto ec =
      notary::TsaResponder::Create(local->tsa_key_pem, local->tsa_cert_pem, local->ca_cert_pem);
  auto rsa = notary::TsaResponder::Create(ReadAll(dir + "/rsa.key"), ReadAll(dir + "/rsa.pem"),
                                          local->ca_cert_pem);
  std::filesystem::remove_all(dir);
  if (!ec.ok() || !rsa.ok()) {
    std::fprintf(stderr, "TsaResponder::Create failed\n");
    return 1;
  }

  // What a mail server's notary asks for: SHA-256 imprint, nonce, certReq.
  const common::Hash digest = common::Sha256Of("block hash");
  auto query =
      notary::CreateQuery(notary::TsaHashAlg::kSha256, digest, 0x1234567890abcdefULL, true);
  if (!query.ok()) return 1;
  // Sanity: the replies verify.
  for (const notary::TsaResponder* r : {&*ec, &*rsa}) {
    auto reply = r->Respond(*query);
    if (!reply.ok() || !notary::VerifyReply(*reply, *query, local->ca_cert_pem, "").ok()) {
      std::fprintf(stderr, "a reply did not verify\n");
      return 1;
    }
  }

  // The raw references are measured right before each measurement, on the same machine
  // state: per CPU-second (openssl's default divisor), and wall clock with -elapsed, one
  // process for one thread and `-multi 2` (two processes, rates summed) for two threads.
  const std::string secs = std::to_string(std::max(1, static_cast<int>(seconds + 0.5)));
  std::printf("cores: %u; %g s per measurement; query: SHA-256, nonce, certReq\n",
              std::thread::hardware_concurrency(), seconds);
  std::printf("%-10s %3s | %9s %14s %6s | %9s %14s %6s\n", "", "", "replies", "openssl sign", "",
              "replies", "openssl sign", "");
  std::printf("%-10s %3s | %9s %14s %6s | %9s %14s %6s\n", "key", "thr", "per CPU-s", "per CPU-s",
              "ratio", "/s wall", "/s -elapsed", "ratio");
  struct Case {
    const char* name;
    const notary::TsaResponder* responder;
    const char* speed_alg;
    const char* speed_marker;
  };
  auto speed = [&](const Case& c, const std::string& flags) {
    const std::string command =
        "openssl speed " + flags + " -seconds " + secs + " " + c.speed_alg + " 2>/dev/null";
    const double sign = SignsPerSecond(Capture(command), c.speed_marker);
    if (sign <= 0) std::fprintf(stderr, "could not parse the output of: %s\n", command.c_str());
    return sign;
  };
  for (const Case& c : {Case{"ECDSA-P256", &*ec, "ecdsap256", "ecdsa (nistp256)"},
                        Case{"RSA-2048", &*rsa, "rsa2048", "rsa 2048 bits"}}) {
    for (int threads : {1, 2}) {
      const double cpu_ref = speed(c, "");
      const double wall_ref =
          speed(c, threads > 1 ? "-elapsed -multi " + std::to_string(threads) : "-elapsed");
      if (cpu_ref <= 0 || wall_ref <= 0) return 1;
      Rate rate = Measure(*c.responder, *query, threads, seconds);
      std::printf("%-10s %3d | %9.0f %14.0f %5.0f%% | %9.0f %14.0f %5.0f%%%s\n", c.name, threads,
                  rate.per_cpu_second, cpu_ref, 100.0 * rate.per_cpu_second / cpu_ref,
                  rate.per_second, wall_ref, 100.0 * rate.per_second / wall_ref,
                  rate.failures ? "  (failures!)" : "");
      std::fflush(stdout);
    }
  }
  // A rejection of an unparseable body: OpenSSL's responder with a per-call TS_RESP_CTX,
  // no signature.
  Rate unsigned_rate = Measure(*ec, "not a query", 1, seconds / 3, 1);
  std::printf("unsigned rejections per CPU-second (TS_RESP_create_response), 1 thread: %.0f\n",
              unsigned_rate.per_cpu_second);
  return 0;
}
