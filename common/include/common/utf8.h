// UTF-8 hygiene for text that leaves the process (database text columns, JSON, logs).
#pragma once

#include <string>
#include <string_view>

namespace common {

// Valid UTF-8 with every invalid sequence replaced by U+FFFD and NUL bytes removed.
std::string SanitizeUtf8(std::string_view in);

// For logs: printable ASCII only (others as \xNN), cut to `max` bytes with "..." appended.
std::string LogSafe(std::string_view in, size_t max = 64);

}  // namespace common
