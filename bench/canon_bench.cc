// canon_bench: canonicalisation throughput (mime::Canonicalize) next to plain SHA-256 of the
// same bytes, measured in the same run. Target (issue 5): canonicalisation costs no more
// than 5x raw SHA-256 on attachment-heavy mail.
//
// Usage: canon_bench [min_seconds_per_case]   (default 1.0)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/sha256.h"
#include "mime/canonical.h"

namespace {

using Clock = std::chrono::steady_clock;

std::string PseudoRandom(size_t n, uint32_t seed) {
  std::string out(n, '\0');
  uint32_t x = seed;
  for (char& c : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x & 0xff);
  }
  return out;
}

std::string Base64Lines(const std::string& data) {
  const std::string b64 = common::Base64Encode(data);
  std::string out;
  out.reserve(b64.size() + b64.size() / 38 + 2);
  for (size_t i = 0; i < b64.size(); i += 76) {
    out.append(b64, i, 76);
    out += "\r\n";
  }
  return out;
}

const char kHeaders[] =
    "Received: from mx.example.com by mail.example.org; Tue, 01 Jul 2025 10:00:03 +0200\r\n"
    "From: Alice Example <alice@example.com>\r\nTo: Bob Example <bob@example.org>\r\n"
    "Subject: =?utf-8?q?Quarterly_report_=E2=80=93_final?=\r\n"
    "Date: Tue, 01 Jul 2025 10:00:00 +0200\r\nMessage-ID: <bench@example.com>\r\n"
    "MIME-Version: 1.0\r\n";

std::string TextMessage(size_t body_bytes) {
  std::string msg = std::string(kHeaders) + "Content-Type: text/plain; charset=utf-8\r\n\r\n";
  const std::string line = "The quick brown fox jumps over the lazy dog, again and again. \r\n";
  while (msg.size() < body_bytes) msg += line;
  return msg;
}

std::string AttachmentMessage(const std::vector<size_t>& sizes) {
  std::string msg = std::string(kHeaders) +
                    "Content-Type: multipart/mixed; boundary=\"bench\"\r\n\r\n"
                    "--bench\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                    "Please find the files attached.\r\n";
  for (size_t i = 0; i < sizes.size(); ++i) {
    msg +=
        "--bench\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; "
        "filename=\"file" +
        std::to_string(i) +
        ".pdf\"\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n";
    msg += Base64Lines(PseudoRandom(sizes[i], static_cast<uint32_t>(i + 1)));
  }
  return msg + "--bench--\r\n";
}

// Seconds per call, repeating until `min_seconds` have passed (at least 3 calls).
double TimePerCall(const std::function<void()>& fn, double min_seconds) {
  fn();  // warm-up
  int calls = 0;
  const auto start = Clock::now();
  std::chrono::duration<double> elapsed{};
  do {
    fn();
    ++calls;
    elapsed = Clock::now() - start;
  } while (elapsed.count() < min_seconds || calls < 3);
  return elapsed.count() / calls;
}

void Run(const char* name, const std::string& msg, uint32_t version, double min_seconds) {
  volatile uint8_t sink = 0;
  const double sha = TimePerCall([&] { sink = sink ^ common::Sha256Of(msg)[0]; }, min_seconds);
  size_t parts = 0;
  const double canon = TimePerCall(
      [&] {
        const mime::Canonical c = mime::Canonicalize(msg, version);
        parts = c.parts.size();
        sink = sink ^ c.canonical_sha256[0];
      },
      min_seconds);
  const double mb = static_cast<double>(msg.size()) / 1e6;
  std::printf(
      "v%u %-28s %10.3f MB %5zu parts  sha256 %8.1f MB/s  canonicalize %8.1f MB/s  ratio %5.2fx\n",
      version, name, mb, parts, mb / sha, mb / canon, canon / sha);
}

}  // namespace

int main(int argc, char** argv) {
  const double min_seconds = argc > 1 ? std::atof(argv[1]) : 1.0;
  std::printf("canon_bench: mime::Canonicalize vs SHA-256 of the same bytes\n");
  const std::string text = TextMessage(10 * 1024);
  const std::string three = AttachmentMessage({250000, 250000, 250000});
  const std::string big = AttachmentMessage({15 * 1000 * 1000});
  for (uint32_t version = 1; version <= mime::kLatestCanonVersion; ++version) {
    Run("10 KB text message", text, version, min_seconds);
    Run("1 MB, three attachments", three, version, min_seconds);
    Run("20 MB attachment", big, version, min_seconds);
  }
  return 0;
}
