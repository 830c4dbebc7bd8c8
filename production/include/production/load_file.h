// The text files of a case production (docs/cases.md, "The production"): a Concordance /
// Relativity metadata load file (loadfile.dat), a CSV index (index.csv) and an mboxrd mailbox
// (messages.mbox), each written a line (a message) at a time and read back by notary-verify.
//
// loadfile.dat: UTF-8 with a byte-order mark, lines ending CRLF, one line per message after a
// header line; every field quoted by þ (U+00FE) and fields separated by the byte 0x14 (DC4,
// shown as ¶ in code page 437: the "¶ / þ" of the review platforms' defaults). A line break
// inside a field is written as ® (U+00AE); a þ inside a field cannot be quoted, so it is
// written as a plain "?" (and said so in docs/cases.md).
//
// index.csv: RFC 4180, UTF-8 with a byte-order mark, CRLF; a field that a spreadsheet would
// run as a formula (starting with =, +, -, @, tab or CR) gets a leading apostrophe, the
// usual defence against formula injection; the hashes and ids are never so changed.
//
// messages.mbox: mboxrd (RFC 4155 and the "mboxrd" quoting): each message starts with a
// "From " line, every line of the message that matches ^>*From␠ gains one ">", and one LF
// follows each message. The message's own bytes (CRLF kept) are otherwise as stored, so that
// unquoting gives them back exactly.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace production {

inline constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

// One line of loadfile.dat, CRLF included.
std::string DatLine(const std::vector<std::string>& fields);
// Every line after the byte-order mark, split into fields. kInvalidInput for a line that is
// not þ-quoted fields separated by 0x14.
common::Result<std::vector<std::vector<std::string>>> ParseDat(std::string_view text);

// One line of index.csv, CRLF included. `free_text[i]`: field i is free text that gets the
// apostrophe defence.
std::string CsvLine(const std::vector<std::string>& fields, const std::vector<bool>& free_text);
// Every record after the byte-order mark. kInvalidInput for malformed quoting.
common::Result<std::vector<std::vector<std::string>>> ParseCsv(std::string_view text);

// Appends one message to an mboxrd mailbox: "From <sender> <asctime of received_at_us>\n",
// the quoted message, "\n". An empty sender is written MAILER-DAEMON.
void AppendMboxrd(std::string& out, const std::string& sender, int64_t received_at_us,
                  std::string_view message);
// The messages of an mboxrd mailbox, unquoted, byte for byte as they were appended.
// kInvalidInput when it does not start with a "From " line.
common::Result<std::vector<std::string>> SplitMboxrd(std::string_view mbox);

// SplitMboxrd a chunk at a time, for a mailbox too large to hold: memory is one message and
// one line. Each complete message is handed to `on_message` as soon as the next "From " line
// (or Finish) ends it. kInvalidInput as SplitMboxrd, or when a message or a line exceeds
// `max_message_bytes`.
class MboxrdReader {
 public:
  using OnMessage = std::function<void(std::string message)>;
  MboxrdReader(size_t max_message_bytes, OnMessage on_message);
  common::Status Feed(std::string_view bytes);
  common::Status Finish();

 private:
  common::Status Line(std::string_view line);
  common::Status EndMessage();

  size_t max_;
  OnMessage on_message_;
  std::string partial_;  // a line not yet ended by LF
  std::optional<std::string> current_;
  bool any_line_ = false;
};

}  // namespace production
