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
// `env.mail_from`/`env.rcpt_to` with the report's sender and recipients, sets env.source
// to "journal" and returns the report's bytes. Otherwise changes nothing, returns nullopt.
std::optional<std::string> UnwrapJournalReport(Envelope& env, std::string& raw);

}  // namespace pipeline
