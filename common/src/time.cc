#include "common/time.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace common {

std::string FormatRfc3339Micros(int64_t us) {
  using namespace std::chrono;
  const sys_time<microseconds> tp{microseconds{us}};
  const sys_days day = floor<days>(tp);
  const year_month_day ymd{day};
  const hh_mm_ss<microseconds> tod{tp - day};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%06lldZ",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<int>(tod.hours().count()),
                static_cast<int>(tod.minutes().count()), static_cast<int>(tod.seconds().count()),
                static_cast<long long>(tod.subseconds().count()));
  return buf;
}

namespace {

// Exactly `n` ASCII digits at `pos`.
std::optional<int> Digits(std::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) return std::nullopt;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

}  // namespace

std::optional<int64_t> ParseRfc3339Micros(std::string_view s) {
  using namespace std::chrono;
  const auto y = Digits(s, 0, 4), mo = Digits(s, 5, 2), d = Digits(s, 8, 2);
  if (s.size() < 10 || !y || !mo || !d || s[4] != '-' || s[7] != '-') return std::nullopt;
  int h = 0, mi = 0, sec = 0;
  if (s.size() > 10) {
    const auto hh = Digits(s, 11, 2), mm = Digits(s, 14, 2), ss = Digits(s, 17, 2);
    if (s[10] != 'T' || !hh || !mm || !ss || s[13] != ':' || s[16] != ':') return std::nullopt;
    h = *hh;
    mi = *mm;
    sec = *ss;
    std::string_view rest = s.substr(19);
    if (!rest.empty() && rest[0] == '.') {  // a fraction: accepted and dropped
      size_t n = 1;
      while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') ++n;
      if (n == 1) return std::nullopt;
      rest.remove_prefix(n);
    }
    if (!rest.empty() && rest != "Z" && rest != "+00:00") return std::nullopt;
  }
  // A real calendar day (2026-02-31 is none; timegm would have made it 2026-03-03).
  const year_month_day ymd{year{*y}, month{static_cast<unsigned>(*mo)},
                           day{static_cast<unsigned>(*d)}};
  if (*y < 1 || !ymd.ok() || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  const auto t = sys_days{ymd} + hours{h} + minutes{mi} + seconds{sec};
  return duration_cast<microseconds>(t.time_since_epoch()).count();
}

void PinLocalTimeZone() {
  if (std::getenv("TZ") == nullptr) setenv("TZ", ":/etc/localtime", 0);
}

}  // namespace common
