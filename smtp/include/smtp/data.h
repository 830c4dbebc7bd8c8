// SmtpDataDecoder: turns the bytes a client sends after DATA's 354 (or in BDAT chunks) into
// the message as received: dot-unstuffing (RFC 5321 §4.5.2) for DATA, the end marker
// CRLF "." CRLF, a size bound and a line-length check. No I/O: the session feeds what it
// read and asks whether the message is complete.
//
// Line endings are kept exactly as sent. Only CRLF ends a line: a bare LF or bare CR is an
// ordinary data byte, so "\n.\n" does not end the message (no SMTP smuggling) and a dot
// after a bare LF is not unstuffed.
//
// Thread-safety: one object per transaction, not shared.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "smtp/memory_budget.h"

namespace smtp {

class SmtpDataDecoder {
 public:
  enum class Mode {
    kDotStuffed,  // DATA: dot-unstuff, stop at CRLF.CRLF
    kChunked,     // BDAT: bytes are taken as they are; the session counts chunk sizes
  };

  // `max_bytes`: once the message would exceed it, further bytes are counted and dropped.
  // `budget` (may be null): the bytes held are reserved from it as they arrive; once a
  // reservation fails, the message is dropped the same way (over_budget()).
  SmtpDataDecoder(Mode mode, uint64_t max_bytes, MemoryBudget* budget = nullptr);
  ~SmtpDataDecoder();
  SmtpDataDecoder(const SmtpDataDecoder&) = delete;
  SmtpDataDecoder& operator=(const SmtpDataDecoder&) = delete;

  // Consumes bytes from the front of `in`; returns how many. In kDotStuffed mode it stops
  // right after the end marker, leaving the next command unread.
  size_t Feed(std::string_view in);

  bool done() const { return done_; }  // the end marker was seen (kDotStuffed)
  bool oversize() const { return oversize_; }
  bool over_budget() const { return over_budget_; }
  // A line longer than kSmtpMaxTextLine octets (CRLF excluded) was seen.
  bool long_line() const { return long_line_ || line_len_ > kMaxLineWithCr; }
  uint64_t total_bytes() const { return total_; }  // message bytes, dropped ones included
  // The message; empty once oversize() or over_budget() became true. Releases the budget.
  std::string TakeMessage();

 private:
  static constexpr uint64_t kMaxLineWithCr = 999;  // kSmtpMaxTextLine plus the CR
  static constexpr uint64_t kBudgetStep = 256 * 1024;
  enum class State { kLineStart, kDotAtStart, kDotCr, kInLine, kCr };
  void Append(std::string_view bytes);
  void EndLine();
  void ReleaseBudget();

  Mode mode_;
  uint64_t max_bytes_;
  State state_ = State::kLineStart;
  uint64_t line_len_ = 0;  // octets of the current line so far, its CR included
  uint64_t total_ = 0;
  bool done_ = false;
  bool oversize_ = false;
  bool long_line_ = false;
  bool over_budget_ = false;
  MemoryBudget* budget_;
  uint64_t reserved_ = 0;  // bytes reserved from budget_
  std::string message_;
};

}  // namespace smtp
