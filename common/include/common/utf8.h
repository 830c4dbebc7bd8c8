// UTF-8 hygiene for text that leaves the process (database text columns, JSON, logs).
#pragma once

#include <string>
#include <string_view>

namespace common {

// Valid UTF-8 with every invalid sequence replaced by U+FFFD and NUL bytes removed.
std::string SanitizeUtf8(std::string_view in);

// Untrusted text made one token of a key=value log line: printable ASCII other than space,
// backslash, '"' and '=' kept, every other byte as \xNN; cut to `max` input bytes with "..."
// appended. The only escaping for logs: logs never carry a peer's bytes raw.
std::string LogSafe(std::string_view in, size_t max = 64);

}  // namespace common
