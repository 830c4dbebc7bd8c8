// Exchange / Microsoft 365 envelope journal reports.
//
// A journal report is a message carrying the header X-MS-Journal-Report whose multipart body
// holds a text part (the report: "Sender:", "Subject:", "Message-Id:", then one line per
// envelope recipient, "To:|Cc:|Bcc:|Recipient: <addr>[, Expanded:|Forwarded: <source>]")
// and the journaled original as an unaltered message/rfc822 attachment. notaryd notarises the
// original with the envelope the report states; notary-verify checks a bundle's report
// against the sealed envelope. Both read it with this one parser.
//
// Pure: bytes in, values out; no I/O. Thread-safety: may be called from many threads at once.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace mime {

struct JournalRecipient {
  std::string kind;            // "To", "Cc", "Bcc" or "Recipient"
  std::string address;         // the journaled recipient (what the MTA delivered to)
  std::string redirection;     // "", "Expanded" or "Forwarded"
  std::string source_address;  // the group or original address before redirection
};

struct JournalReport {
  std::string sender;        // the envelope sender of the original
  std::string on_behalf_of;  // present when someone sent on behalf of the sender
  std::string subject;
  std::string message_id;  // without angle brackets
  std::vector<JournalRecipient> recipients;
  std::string original;  // the journaled message's exact bytes
  // Distinct recipient addresses in report order: the envelope recipients.
  std::vector<std::string> EnvelopeRecipients() const;
};

// nullopt: `raw` is no journal report (no X-MS-Journal-Report header). An error: it claims
// to be one but lacks the report text or the message/rfc822 original, or its report text
// names no sender or no recipient.
common::Result<std::optional<JournalReport>> ParseJournalReport(std::string_view raw);

}  // namespace mime
