// hostile_bench: wall time of the parsers that take input from strangers on hostile shapes of
// growing size, next to SHA-256 of the same bytes measured in the same run. Work that grows
// faster than the input shows as a rising "x sha256" column; every row should stay flat as n
// grows (O(n log n) at worst, docs/security.md).
//
// Usage: hostile_bench [max_n]   (default 150000: the To: header of issue 17's finding 6)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "common/sha256.h"
#include "mime/canonical.h"
#include "mime/journal_report.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(const std::function<void()>& fn) {
  const auto start = Clock::now();
  fn();
  return std::chrono::duration<double>(Clock::now() - start).count();
}

const char kHead[] =
    "From: a@example.com\r\nSubject: s\r\nDate: Tue, 01 Jul 2025 10:00:00 +0200\r\n"
    "Message-ID: <x@example.com>\r\n";

std::string ManyAddresses(size_t n) {
  std::string to = "To: ";
  for (size_t i = 0; i < n; ++i) {
    if (i) to += ",\r\n ";
    to += "User " + std::to_string(i) + " <user" + std::to_string(i) + "@example" +
          std::to_string(i % 97) + ".com>";
  }
  return std::string(kHead) + to + "\r\n\r\nhello\r\n";
}

std::string ManyHeaders(size_t n) {
  std::string msg = kHead;
  for (size_t i = 0; i < n; ++i) msg += "Cc: c" + std::to_string(i) + "@example.org\r\n";
  return msg + "\r\nhello\r\n";
}

std::string ManyParts(size_t n) {
  std::string msg = std::string(kHead) + "Content-Type: multipart/mixed; boundary=b\r\n\r\n";
  for (size_t i = 0; i < n; ++i) {
    msg += "--b\r\nContent-Type: application/octet-stream; name=f" + std::to_string(i) +
           "\r\n\r\nx\r\n";
  }
  return msg + "--b--\r\n";
}

std::string LongEncodedSubject(size_t n) {
  std::string msg = std::string(kHead) + "Subject:";
  for (size_t i = 0; i < n; ++i) msg += " =?utf-8?q?w=C3=B6rd?=";
  return msg + "\r\n\r\nhello\r\n";
}

std::string DeepNesting(size_t depth) {
  std::string msg = kHead;
  for (size_t i = 0; i < depth; ++i) {
    msg += "Content-Type: multipart/mixed; boundary=\"b" + std::to_string(i) + "\"\r\n\r\n--b" +
           std::to_string(i) + "\r\n";
  }
  msg += "Content-Type: text/plain\r\n\r\nleaf\r\n";
  for (size_t i = depth; i-- > 0;) msg += "--b" + std::to_string(i) + "--\r\n";
  return msg;
}

std::string JournalReport(size_t n, bool commas) {
  std::string report = "Sender: a@example.com\r\nSubject: s\r\nMessage-Id: <x@example.com>\r\n";
  if (commas) {
    report += "To: r@example.org";
    for (size_t i = 0; i < n; ++i) report += ", x";
    report += "\r\n";
  } else {
    for (size_t i = 0; i < n; ++i) {
      report += "To: r" + std::to_string(i % (n / 2 + 1)) + "@example.org\r\n";
    }
  }
  return "From: journal@example.com\r\nX-MS-Journal-Report:\r\nMIME-Version: 1.0\r\n"
         "Content-Type: multipart/mixed; boundary=j\r\n\r\n--j\r\n"
         "Content-Type: text/plain\r\n\r\n" +
         report + "--j\r\nContent-Type: message/rfc822\r\n\r\n" + std::string(kHead) +
         "\r\nhello\r\n--j--\r\n";
}

void Row(const char* name, size_t n, const std::string& input, const std::function<void()>& fn) {
  const double sha = Seconds([&] {
                       for (int i = 0; i < 20; ++i) (void)common::Sha256Of(input);
                     }) /
                     20;
  const double t = Seconds(fn);
  std::printf("%-26s n=%-8zu %10zu bytes %9.3f ms  %8.0f x sha256  %7.3f us per item\n", name, n,
              input.size(), t * 1e3, t / sha, t * 1e6 / static_cast<double>(n));
}

}  // namespace

int main(int argc, char** argv) {
  const size_t max_n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 150000;
  std::vector<size_t> sizes;
  for (size_t n = 1000; n < max_n; n *= 4) sizes.push_back(n);
  sizes.push_back(max_n);

  for (uint32_t v : {1u, 2u}) {
    const std::string tag = "v" + std::to_string(v) + " ";
    for (size_t n : sizes) {
      const std::string m = ManyAddresses(n);
      Row((tag + "To addresses").c_str(), n, m, [&] { (void)mime::Canonicalize(m, v); });
    }
    for (size_t n : sizes) {
      const std::string m = ManyHeaders(n);
      Row((tag + "Cc headers").c_str(), n, m, [&] { (void)mime::Canonicalize(m, v); });
    }
    for (size_t n : sizes) {
      const std::string m = LongEncodedSubject(n);
      Row((tag + "encoded words").c_str(), n, m, [&] { (void)mime::Canonicalize(m, v); });
    }
    for (size_t n : sizes) {
      if (n > 20000) break;  // past mime::kMaxParts version 2 stops listing parts
      const std::string m = ManyParts(n);
      Row((tag + "parts").c_str(), n, m, [&] { (void)mime::Canonicalize(m, v); });
    }
    for (size_t n : sizes) {
      if (v == 1 && n > 4000) break;  // GMime caps nesting itself; version 1 is not ours
      const std::string m = DeepNesting(n);
      Row((tag + "nested multiparts").c_str(), n, m, [&] { (void)mime::Canonicalize(m, v); });
    }
  }
  for (size_t n : sizes) {
    const std::string m = JournalReport(n, false);
    Row("journal: recipient lines", n, m, [&] {
      auto r = mime::ParseJournalReport(m);
      if (r.ok() && r->has_value()) (void)(*r)->EnvelopeRecipients();
    });
  }
  for (size_t n : sizes) {
    const std::string m = JournalReport(n, true);
    Row("journal: commas in a line", n, m, [&] { (void)mime::ParseJournalReport(m); });
  }
  return 0;
}
