#include "http/envelope.h"

#include "common/ascii.h"
#include "smtp/command.h"

namespace http {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

const char* ArgErrorText(smtp::SmtpArgError e) {
  switch (e) {
    case smtp::SmtpArgError::kNone:
      return "ok";
    case smtp::SmtpArgError::kSyntax:
      return "not an RFC 5321 path";
    case smtp::SmtpArgError::kUnknownParameter:
      return "an unknown parameter";
    case smtp::SmtpArgError::kBadParameterValue:
      return "a bad parameter value";
    case smtp::SmtpArgError::kNonAsciiAddress:
      return "UTF-8 in an address without SMTPUTF8";
  }
  return "malformed";
}

// "<path>" for a value written with or without its angle brackets.
std::string Bracketed(std::string_view v) {
  if (!v.empty() && v.front() == '<') return std::string(v);
  return "<" + std::string(v) + ">";
}

// The end of one path in a comma-separated list starting at `s`: the first comma outside a
// quoted string (and, for "<...>", after the closing bracket).
size_t PathEnd(std::string_view s) {
  bool quoted = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (quoted) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      return i;
    }
  }
  return s.size();
}

}  // namespace

common::Result<std::string> ParseEnvelopeFromHeader(std::string_view value) {
  value = Trim(value);
  if (value.empty()) return std::string();
  // SMTPUTF8 is implied: an HTTP client may state a UTF-8 path without negotiating it.
  smtp::MailFromArgs args;
  smtp::SmtpArgError e = smtp::ParseMailFrom("FROM:" + Bracketed(value) + " SMTPUTF8", args);
  if (e != smtp::SmtpArgError::kNone) {
    return common::Error::InvalidInput(std::string("X-Envelope-From: ") + ArgErrorText(e));
  }
  return args.address;
}

common::Status AppendEnvelopeToHeader(std::string_view value, size_t max_recipients,
                                      std::vector<std::string>& out) {
  while (true) {
    value = Trim(value);
    if (value.empty()) return common::Ok();
    const size_t end = PathEnd(value);
    std::string_view one = Trim(value.substr(0, end));
    value = end < value.size() ? value.substr(end + 1) : std::string_view();
    if (one.empty()) continue;
    if (out.size() >= max_recipients) {
      return common::Error::InvalidInput("more than " + std::to_string(max_recipients) +
                                         " recipients");
    }
    smtp::RcptToArgs rcpt;
    smtp::SmtpArgError e = smtp::ParseRcptTo("TO:" + Bracketed(one), /*smtputf8=*/true, rcpt);
    if (e != smtp::SmtpArgError::kNone) {
      return common::Error::InvalidInput(std::string("X-Envelope-To: ") + ArgErrorText(e));
    }
    out.push_back(std::move(rcpt.address));
  }
}

common::Result<EnvelopeBody> ParseEnvelopeBody(std::string_view body, size_t max_recipients) {
  EnvelopeBody out;
  size_t pos = 0;
  bool have_mail = false;
  for (size_t line_no = 1;; ++line_no) {
    // Look no further than one command line for its end: the rest may be a large message.
    const size_t len = body.substr(pos, smtp::kSmtpMaxCommandLine).find("\r\n");
    const std::string where = "envelope line " + std::to_string(line_no);
    if (len == std::string_view::npos) {
      return common::Error::InvalidInput(where + ": no CRLF within 512 octets");
    }
    std::string_view line = body.substr(pos, len);
    pos += len + 2;
    smtp::SmtpCommand cmd = smtp::ParseSmtpCommand(line);
    if (!have_mail) {
      smtp::MailFromArgs mail;
      if (cmd.verb != "MAIL") return common::Error::InvalidInput(where + ": expected MAIL FROM");
      smtp::SmtpArgError e = smtp::ParseMailFrom(cmd.args, mail);
      if (e != smtp::SmtpArgError::kNone) {
        return common::Error::InvalidInput(where + ": MAIL FROM has " + ArgErrorText(e));
      }
      out.envelope.mail_from = std::move(mail.address);
      out.envelope.smtputf8 = mail.smtputf8;
      out.envelope.body_type = mail.body;
      have_mail = true;
      continue;
    }
    if (cmd.verb == "RCPT") {
      if (out.envelope.rcpt_to.size() >= max_recipients) {
        return common::Error::InvalidInput("more than " + std::to_string(max_recipients) +
                                           " recipients");
      }
      smtp::RcptToArgs rcpt;
      smtp::SmtpArgError e = smtp::ParseRcptTo(cmd.args, out.envelope.smtputf8, rcpt);
      if (e != smtp::SmtpArgError::kNone) {
        return common::Error::InvalidInput(where + ": RCPT TO has " + ArgErrorText(e));
      }
      out.envelope.rcpt_to.push_back(std::move(rcpt.address));
      continue;
    }
    if (cmd.verb == "DATA" && cmd.args.empty()) {
      if (out.envelope.rcpt_to.empty()) {
        return common::Error::InvalidInput(where + ": DATA before any RCPT TO");
      }
      out.message_offset = pos;
      return out;
    }
    return common::Error::InvalidInput(where + ": expected RCPT TO or DATA");
  }
}

}  // namespace http
