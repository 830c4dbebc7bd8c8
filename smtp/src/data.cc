#include "smtp/data.h"

#include <algorithm>
#include <cstring>

namespace smtp {

SmtpDataDecoder::SmtpDataDecoder(Mode mode, uint64_t max_bytes, MemoryBudget* budget)
    : mode_(mode), max_bytes_(max_bytes), budget_(budget) {}

SmtpDataDecoder::~SmtpDataDecoder() { ReleaseBudget(); }

void SmtpDataDecoder::ReleaseBudget() {
  if (budget_ != nullptr && reserved_ > 0) budget_->Release(reserved_);
  reserved_ = 0;
}

void SmtpDataDecoder::Append(std::string_view bytes) {
  total_ += bytes.size();
  line_len_ += bytes.size();
  if (oversize_ || over_budget_) return;
  if (total_ > max_bytes_) {
    oversize_ = true;
    std::string().swap(message_);  // free it now; nothing of this message is stored
    ReleaseBudget();
    return;
  }
  if (budget_ != nullptr && message_.size() + bytes.size() > reserved_) {
    // Reserve ahead in steps, so that the shared counter is touched once per step.
    const uint64_t step = std::max<uint64_t>(kBudgetStep, bytes.size());
    if (!budget_->TryReserve(step)) {
      over_budget_ = true;
      std::string().swap(message_);
      ReleaseBudget();
      return;
    }
    reserved_ += step;
  }
  message_.append(bytes);
}

std::string SmtpDataDecoder::TakeMessage() {
  // From here the sink's own queue limit accounts for the bytes.
  ReleaseBudget();
  return std::move(message_);
}

void SmtpDataDecoder::EndLine() {
  // line_len_ counts the CR of the CRLF that ends the line.
  if (line_len_ > kMaxLineWithCr) long_line_ = true;
  line_len_ = 0;
}

size_t SmtpDataDecoder::Feed(std::string_view in) {
  size_t i = 0;
  while (i < in.size() && !done_) {
    const char c = in[i];
    switch (state_) {
      case State::kLineStart:
        if (c == '.' && mode_ == Mode::kDotStuffed) {
          state_ = State::kDotAtStart;  // the dot is not data unless the line is "." alone
          ++i;
          continue;
        }
        state_ = State::kInLine;
        continue;  // handle c as an ordinary byte
      case State::kDotAtStart:
        if (c == '\r') {
          state_ = State::kDotCr;
          ++i;
          continue;
        }
        // RFC 5321 §4.5.2: a leading dot followed by more text is removed.
        state_ = State::kInLine;
        continue;
      case State::kDotCr:
        if (c == '\n') {
          done_ = true;
          ++i;
          continue;
        }
        // ".\r" followed by something else: the dot goes, the CR is data.
        Append("\r");
        state_ = State::kCr;
        continue;
      case State::kCr:
        if (c == '\n') {
          Append("\n");
          --line_len_;  // the LF is not part of the line length
          EndLine();
          state_ = State::kLineStart;
          ++i;
          continue;
        }
        state_ = State::kInLine;
        continue;
      case State::kInLine: {
        // Bulk-copy up to the next CR.
        const char* start = in.data() + i;
        const void* cr = std::memchr(start, '\r', in.size() - i);
        const size_t n =
            cr ? static_cast<size_t>(static_cast<const char*>(cr) - start) + 1 : in.size() - i;
        Append(in.substr(i, n));
        i += n;
        if (cr) state_ = State::kCr;
        continue;
      }
    }
  }
  return i;
}

}  // namespace smtp
