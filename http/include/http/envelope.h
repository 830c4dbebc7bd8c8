// The SMTP envelope of a message submitted over HTTP (POST /v1/messages), in either of its
// two forms (docs/mail-server-setup.md, "HTTP ingest"):
//   - headers: X-Envelope-From once, X-Envelope-To any number of times, each holding one or
//     more paths separated by commas (a comma inside a quoted local part belongs to it);
//   - the envelope body (Content-Type: application/vnd.email-notary.envelope): the SMTP
//     commands "MAIL FROM:<...>", "RCPT TO:<...>" (one per recipient) and "DATA", each
//     ending in CRLF, then the message bytes to the end of the body. It has no size limit on
//     the recipient list but the configured one, and is what notary-milter sends.
// Both accept exactly the paths the SMTP listener accepts (smtp/command.h): quoted local
// parts with spaces and commas, address literals, source routes (dropped), UTF-8.
//
// Pure and bounded: no I/O, linear in the input. Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace http {

inline constexpr std::string_view kEnvelopeBodyType = "application/vnd.email-notary.envelope";

struct HttpEnvelope {
  std::string mail_from;             // without angle brackets; "" for the null path
  std::vector<std::string> rcpt_to;  // without angle brackets, in order
  bool smtputf8 = false;             // the body form's MAIL carried SMTPUTF8
  std::string body_type;             // "7BIT", "8BITMIME" or "" (the body form's BODY=)
};

// An X-Envelope-From value: "<path>", a bare path, or "" / "<>" for the null reverse-path.
common::Result<std::string> ParseEnvelopeFromHeader(std::string_view value);

// Appends the paths of one X-Envelope-To value to `out`; kInvalidInput naming the problem,
// or when `out` would hold more than `max_recipients`.
common::Status AppendEnvelopeToHeader(std::string_view value, size_t max_recipients,
                                      std::vector<std::string>& out);

struct EnvelopeBody {
  HttpEnvelope envelope;
  size_t message_offset = 0;  // where the message bytes start in the body
};

// The envelope body form. At least one RCPT; each command line at most 512 octets with its
// CRLF (RFC 5321 §4.5.3.1.4); at most `max_recipients` recipients.
common::Result<EnvelopeBody> ParseEnvelopeBody(std::string_view body, size_t max_recipients);

}  // namespace http
