// SpoolRecord: one message as the MTA will deliver it, with the envelope the MTA saw, and
// its encoding in a spool file: "notary-spool 1\n", then "key value\n" lines (values
// percent-encoded), a blank line, then the message bytes unchanged.
//
// Pure: no I/O. Thread-safety: plain values.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace milter {

struct SpoolRecord {
  std::string mail_from;             // without angle brackets; "" for the null sender
  std::vector<std::string> rcpt_to;  // every accepted RCPT TO, in order
  std::string client_addr, client_port, client_name, helo;
  std::string tls_version, tls_cipher, auth_user, queue_id;
  std::string message;  // header lines and body, CRLF line ends
};

std::string EncodeSpoolRecord(const SpoolRecord& r);
// The encoding up to the message (magic, envelope lines, blank line), `r.message` unused: a
// record is this followed by the message bytes.
std::string EncodeSpoolEnvelope(const SpoolRecord& r);
common::Result<SpoolRecord> DecodeSpoolRecord(std::string_view data);

}  // namespace milter
