// Times as text: the one place the notary turns microseconds since the epoch into RFC 3339
// and back. Pure functions on std::chrono's proleptic Gregorian calendar (no time zone
// database, no locale, no global state).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace common {

// "YYYY-MM-DDThh:mm:ss.ffffffZ": UTC, always six fraction digits. The form every API field,
// evidence.json and the verifier's reports use. Years outside 0..9999 print with more or
// fewer digits (no value the notary stores comes near them).
std::string FormatRfc3339Micros(int64_t us);

// "YYYY-MM-DD" (midnight UTC) or "YYYY-MM-DDThh:mm:ss" with an optional fraction (dropped)
// and an optional "Z" or "+00:00": microseconds since the epoch. nullopt for anything else,
// for other zones, and for days that do not exist (2026-02-31) or years before 1.
std::optional<int64_t> ParseRfc3339Micros(std::string_view text);

// Sets TZ to ":/etc/localtime" when it is unset: the same zone, but glibc then stops calling
// stat on /etc/localtime at every mktime and localtime, which libzip makes for each entry it
// reads or writes (a zip's times are local DOS times): 4 % of a production's export
// (docs/benchmarks.md). Call it at the top of main, before any thread starts (setenv).
void PinLocalTimeZone();

}  // namespace common
