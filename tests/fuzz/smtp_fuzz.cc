// libFuzzer target for the SMTP listener's parsers (smtp/command.h, smtp/data.h):
// any command line and any DATA/BDAT byte stream must parse without crash, hang or undefined
// behaviour, and the DATA decoder must give the same message however the bytes are split.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/utf8.h"
#include "smtp/command.h"
#include "smtp/data.h"

namespace {

std::string Decode(std::string_view in, size_t chunk, bool* done) {
  smtp::SmtpDataDecoder d(smtp::SmtpDataDecoder::Mode::kDotStuffed, 1 << 20);
  size_t pos = 0;
  while (pos < in.size() && !d.done()) {
    const size_t n = std::min(chunk, in.size() - pos);
    const size_t used = d.Feed(in.substr(pos, n));
    if (used > n) std::abort();
    pos += used;
    if (used < n && !d.done()) std::abort();  // it stops early only at the end marker
  }
  *done = d.done();
  return d.TakeMessage();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  // Command lines: the first line of the input.
  const std::string_view line = in.substr(0, std::min(in.find('\n'), size_t{4096}));
  smtp::SmtpCommand cmd = smtp::ParseSmtpCommand(line);
  smtp::MailFromArgs mail;
  (void)smtp::ParseMailFrom(cmd.args, mail);
  smtp::RcptToArgs rcpt;
  (void)smtp::ParseRcptTo(cmd.args, true, rcpt);
  (void)smtp::ParseRcptTo(cmd.args, false, rcpt);
  (void)smtp::ParseBdat(cmd.args);
  (void)common::LogSafe(line);
  (void)smtp::ReplySafe(line);

  // Message data, fed whole and in pieces of 1 and 7 bytes: one result.
  bool done_whole = false, done_1 = false, done_7 = false;
  const std::string whole = Decode(in, in.size() + 1, &done_whole);
  if (Decode(in, 1, &done_1) != whole || done_1 != done_whole) std::abort();
  if (Decode(in, 7, &done_7) != whole || done_7 != done_whole) std::abort();
  return 0;
}
