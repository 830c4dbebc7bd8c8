// Exchange / Microsoft 365 envelope journal reports arriving at notaryd: the parser is
// mime/journal_report.h; this unwraps a report into the original and its envelope.
// Thread-safety: may be called from many threads at once.
#pragma once

#include <optional>
#include <string>

#include "mime/journal_report.h"
#include "pipeline/message_sink.h"

namespace pipeline {

// When `raw` is a well-formed journal report: replaces `raw` with the original's bytes,
// the envelope's sender and recipients with the report's, sets the provenance's source to
// "journal" and returns the report's bytes. Otherwise changes nothing, returns nullopt.
std::optional<std::string> UnwrapJournalReport(Arrival& arrival, std::string& raw);

}  // namespace pipeline
