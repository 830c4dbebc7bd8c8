// libFuzzer target for the Exchange journal-report parser (mime/journal_report.h): notaryd
// reads reports from trusted journaling sources, notary-verify from bundles. Any bytes give a
// result; a parsed report's original is a substring of the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "mime/journal_report.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto r = mime::ParseJournalReport(in);
  if (r.ok() && r->has_value()) {
    const mime::JournalReport& report = **r;
    if (report.sender.empty() || report.recipients.empty()) std::abort();
    if (report.EnvelopeRecipients().size() > report.recipients.size()) std::abort();
  }
  return 0;
}
