// libFuzzer target for what notary-verify reads from a stranger when given a case's
// production: the zip itself (production::VerifyProduction: the listing, the rows, case.json,
// custody.json, the mailbox and every bundle inside), and the text formats on their own
// (index.csv, loadfile.dat, and messages.mbox read a few bytes at a time, as it is from the
// zip). No input may crash, hang, leak or read out of bounds.
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "production/load_file.h"
#include "production/verify.h"

namespace {

// notary-verify reads a production from a file (libzip seeks in it): the input is written to
// one temporary file, reused for every run.
const std::string& ScratchPath() {
  static const std::string path = [] {
    const char* dir = std::getenv("TMPDIR");
    std::string p = std::string(dir != nullptr ? dir : "/tmp") + "/production_fuzz.XXXXXX";
    const int fd = mkstemp(p.data());
    if (fd < 0) std::abort();
    close(fd);
    return p;
  }();
  return path;
}

void WriteScratch(std::string_view data) {
  const int fd = open(ScratchPath().c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) std::abort();
  while (!data.empty()) {
    const ssize_t n = write(fd, data.data(), data.size());
    if (n <= 0) std::abort();
    data.remove_prefix(static_cast<size_t>(n));
  }
  close(fd);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)production::ParseCsv(in);
  (void)production::ParseDat(in);
  size_t messages = 0;
  production::MboxrdReader reader(4096, [&](std::string) { ++messages; });
  common::Status fed = common::Ok();
  for (size_t i = 0; i < in.size() && fed.ok(); i += 7) fed = reader.Feed(in.substr(i, 7));
  if (fed.ok()) (void)reader.Finish();

  WriteScratch(in);
  if (production::IsProduction(ScratchPath())) {
    auto report = production::VerifyProduction(ScratchPath(), notary::VerifyOptions{}, 1);
    if (report.ok()) {
      // A report names every row it was given, and is valid only without a problem.
      if (report->valid && (report->failed != 0 || !report->problems.empty())) std::abort();
      (void)production::ProductionReportJson(*report);
    }
  }
  return 0;
}
