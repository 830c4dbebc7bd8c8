// SMTP command-line parsing (RFC 5321 §4.1, RFC 1870 SIZE, RFC 6152 8BITMIME, RFC 6531
// SMTPUTF8, RFC 3030 BDAT): pure functions from a received line to values, no I/O. The
// session decides what to answer; these only say what was sent and whether it parses.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace smtp {

// RFC 5321 §4.5.3.1.4: a command line is at most 512 octets including CRLF.
inline constexpr size_t kSmtpMaxCommandLine = 512;
// RFC 5321 §4.5.3.1.6: a text line is at most 1000 octets including CRLF.
inline constexpr size_t kSmtpMaxTextLine = 998;
// RFC 5321 §4.5.3.1.3: a path (including the angle brackets) is at most 256 octets.
inline constexpr size_t kSmtpMaxPath = 256;

struct SmtpCommand {
  std::string verb;       // upper-cased, e.g. "MAIL"
  std::string_view args;  // the rest of the line after one space, trailing blanks removed
};

// `line` excludes the line ending. The returned args view points into `line`.
SmtpCommand ParseSmtpCommand(std::string_view line);

struct MailFromArgs {
  std::string address;  // without angle brackets; "" for the null reverse-path <>
  std::optional<uint64_t> size;
  std::string body;  // "7BIT", "8BITMIME" or "" when not given
  bool smtputf8 = false;
};

struct RcptToArgs {
  std::string address;
};

// Why a MAIL or RCPT argument was refused; each maps to one reply in the session.
enum class SmtpArgError {
  kNone,
  kSyntax,             // 501 5.5.2 / 5.1.7 / 5.1.3: not "FROM:<path>" or a malformed path
  kUnknownParameter,   // 555 5.5.4: a parameter we do not implement
  kBadParameterValue,  // 501 5.5.4: e.g. SIZE=abc, BODY=BINARYMIME
  kNonAsciiAddress,    // 553 5.6.7: UTF-8 in an address without SMTPUTF8 (RFC 6531 §3.6.1)
};

// `args` is what follows "MAIL " (e.g. "FROM:<a@b> SIZE=10"). A space after the colon is
// tolerated, as many clients send one.
SmtpArgError ParseMailFrom(std::string_view args, MailFromArgs& out);
// `smtputf8` says whether this transaction's MAIL carried SMTPUTF8.
SmtpArgError ParseRcptTo(std::string_view args, bool smtputf8, RcptToArgs& out);

struct BdatArgs {
  uint64_t size = 0;
  bool last = false;
};
// "BDAT <size> [LAST]" (RFC 3030 §2); nullopt on anything else.
std::optional<BdatArgs> ParseBdat(std::string_view args);

// Text that may be echoed in a reply: CR, LF and other controls become spaces.
std::string ReplySafe(std::string_view s, size_t max = 200);

}  // namespace smtp
