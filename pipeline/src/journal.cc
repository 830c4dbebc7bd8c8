#include "pipeline/journal.h"

#include <spdlog/spdlog.h>

#include "common/sha256.h"

namespace pipeline {

std::optional<std::string> UnwrapJournalReport(Arrival& arrival, std::string& raw) {
  auto parsed = mime::ParseJournalReport(raw);
  if (!parsed.ok()) {
    spdlog::warn("event=journal_report_malformed reason=\"{}\" sha256={} bytes={}",
                 parsed.error().message(), common::ToHex(common::Sha256Of(raw)), raw.size());
    return std::nullopt;
  }
  if (!parsed->has_value()) return std::nullopt;
  mime::JournalReport& report = **parsed;
  arrival.envelope.mail_from = report.sender;
  arrival.envelope.recipients = report.EnvelopeRecipients();
  arrival.provenance.source = "journal";
  std::string report_bytes = std::move(raw);
  raw = std::move(report.original);
  return report_bytes;
}

}  // namespace pipeline
