#include <stepline/date_time.hpp>

#include <algorithm>
#include <cstdio>

namespace stepline {

DateTime now_utc() {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

Iso8601Text iso8601_text(DateTime t) noexcept {
  using namespace std::chrono;
  auto day = floor<days>(t);
  year_month_day ymd{day};
  hh_mm_ss<milliseconds> hms{t - day};
  const int year = static_cast<int>(ymd.year());
  if (year < 0 || year > 9999) {
    Iso8601Text out;
    const int n = std::snprintf(
        out.chars, sizeof out.chars, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", year,
        static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
        static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
        static_cast<int>(hms.seconds().count()), static_cast<int>(hms.subseconds().count()));
    out.size = n > 0 ? std::min(static_cast<std::size_t>(n), sizeof out.chars - 1) : 0;
    return out;
  }
  // Every job, result and record carries a few of these: written digit by digit rather than
  // through snprintf, which costs ten times as much.
  Iso8601Text out;
  out.size = 24;
  char* p = out.chars;
  auto put = [&p](unsigned value, int width) {
    for (int i = width - 1; i >= 0; --i, value /= 10) p[i] = static_cast<char>('0' + value % 10);
    p += width;
  };
  put(static_cast<unsigned>(year), 4);
  *p++ = '-';
  put(static_cast<unsigned>(ymd.month()), 2);
  *p++ = '-';
  put(static_cast<unsigned>(ymd.day()), 2);
  *p++ = 'T';
  put(static_cast<unsigned>(hms.hours().count()), 2);
  *p++ = ':';
  put(static_cast<unsigned>(hms.minutes().count()), 2);
  *p++ = ':';
  put(static_cast<unsigned>(hms.seconds().count()), 2);
  *p++ = '.';
  put(static_cast<unsigned>(hms.subseconds().count()), 3);
  *p = 'Z';
  return out;
}

std::string to_iso8601(DateTime t) { return std::string(iso8601_text(t).view()); }

std::optional<DateTime> parse_iso8601(std::string_view s) {
  using namespace std::chrono;
  auto digits = [&](std::size_t pos, std::size_t n, int& out) {
    if (pos + n > s.size()) return false;
    out = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      out = out * 10 + (s[i] - '0');
    }
    return true;
  };
  int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0;
  if (!digits(0, 4, y) || s.size() < 10 || s[4] != '-' || !digits(5, 2, mo) || s[7] != '-' ||
      !digits(8, 2, d))
    return std::nullopt;
  std::size_t pos = 10;
  if (pos < s.size() && (s[pos] == 'T' || s[pos] == ' ')) {
    if (!digits(pos + 1, 2, h) || s.size() < pos + 9 || s[pos + 3] != ':' ||
        !digits(pos + 4, 2, mi) || s[pos + 6] != ':' || !digits(pos + 7, 2, sec))
      return std::nullopt;
    pos += 9;
    if (pos < s.size() && s[pos] == '.') {
      ++pos;
      int scale = 100;
      std::size_t start = pos;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        ms += (s[pos] - '0') * scale;
        scale /= 10;
        ++pos;
      }
      if (pos == start) return std::nullopt;
    }
  }
  int offset_minutes = 0;
  if (pos < s.size()) {
    if (s[pos] == 'Z' && pos + 1 == s.size()) {
      ++pos;
    } else if ((s[pos] == '+' || s[pos] == '-') && s.size() == pos + 6 && s[pos + 3] == ':') {
      int oh, om;
      if (!digits(pos + 1, 2, oh) || !digits(pos + 4, 2, om)) return std::nullopt;
      offset_minutes = (s[pos] == '-' ? -1 : 1) * (oh * 60 + om);
      pos += 6;
    } else {
      return std::nullopt;
    }
  }
  year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  return DateTime{sys_days{ymd}} + hours{h} + minutes{mi} + seconds{sec} + milliseconds{ms} -
         minutes{offset_minutes};
}

}  // namespace stepline
