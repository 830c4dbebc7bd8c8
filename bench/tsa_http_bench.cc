// tsa_http_bench: RFC 3161 replies per second over HTTP from POST /v1/tsa, with concurrent
// keep-alive clients. Run by bench/tsa_http_bench.sh, which starts notaryd with ECDSA P-256
// and RSA-2048 TSA keys and prints the raw signing rate of `openssl speed` beside it.
//   tsa_http_bench URL THREADS SECONDS [floor]
// With `floor`, the same bodies go out as application/octet-stream and the server's 400 is
// counted instead: the cost of the HTTP exchange alone, without a token.
// Prints: replies/s, failures, CPU seconds this client used (user+sys), elapsed seconds. The
// client runs on the same cores as the server, so its CPU share is part of the figure.
#include <httplib.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "common/sha256.h"
#include "tsa/client.h"

int main(int argc, char** argv) {
  if (argc != 4 && !(argc == 5 && std::string(argv[4]) == "floor")) {
    std::fprintf(stderr, "usage: tsa_http_bench URL THREADS SECONDS [floor]\n");
    return 2;
  }
  const bool floor = argc == 5;
  const char* content_type = floor ? "application/octet-stream" : "application/timestamp-query";
  const int expected_status = floor ? 400 : 200;
  const size_t min_size = floor ? 1 : 100;
  const std::string url = argv[1];
  const int threads = std::atoi(argv[2]);
  const double seconds = std::atof(argv[3]);
  const common::Hash digest = common::Sha256Of(std::string_view("tsa http bench"));
  std::atomic<bool> stop{false};
  std::atomic<long> ok{0}, failed{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      httplib::Client cli(url);
      cli.set_keep_alive(true);
      cli.set_tcp_nodelay(true);
      while (!stop.load()) {
        auto q = notary::CreateQuery(notary::TsaHashAlg::kSha256, digest, notary::RandomTsaNonce(),
                                     true);
        if (!q.ok()) return;
        auto r = cli.Post("/v1/tsa", *q, content_type);
        if (r && r->status == expected_status && r->body.size() >= min_size) {
          ok.fetch_add(1);
        } else {
          failed.fetch_add(1);
        }
      }
    });
  }
  auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : pool) t.join();
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                     static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  std::printf("%.0f %ld %.3f %.3f\n", static_cast<double>(ok.load()) / elapsed, failed.load(), cpu,
              elapsed);
  return failed.load() == 0 ? 0 : 1;
}
