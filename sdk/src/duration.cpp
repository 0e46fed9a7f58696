#include <stepline/duration.hpp>

#include <array>
#include <charconv>
#include <cstdint>
#include <limits>
#include <utility>

#include <stepline/text.hpp>

namespace stepline {
namespace {

using Millis = std::chrono::milliseconds;

constexpr std::int64_t ms_per_second = 1'000, ms_per_minute = 60'000, ms_per_hour = 3'600'000,
                       ms_per_day = 86'400'000;

constexpr bool digit(char c) {
  return c >= '0' && c <= '9';
}

/// A decimal number: whole + fraction / scale.
struct Number {
  std::int64_t whole = 0;
  std::int64_t fraction = 0;
  std::int64_t scale = 1;
};

// Reads a number at the front of `text` and drops it from there; nullopt (text unchanged) when
// there is none or it overflows. Fraction digits past the ninth are below any unit's millisecond.
std::optional<Number> read_number(std::string_view& text, bool with_fraction) {
  Number n;
  const char* end = text.data() + text.size();
  auto [after, ec] = std::from_chars(text.data(), end, n.whole);
  if (ec != std::errc() || after == text.data() || !digit(text.front())) return std::nullopt;
  if (with_fraction && after + 1 < end && *after == '.' && digit(after[1])) {
    for (++after; after < end && digit(*after); ++after) {
      if (n.scale >= 1'000'000'000) continue;
      n.fraction = n.fraction * 10 + (*after - '0');
      n.scale *= 10;
    }
  }
  text.remove_prefix(static_cast<std::size_t>(after - text.data()));
  return n;
}

// total += n × unit, false on overflow.
bool add(std::int64_t& total, const Number& n, std::int64_t unit) {
  constexpr std::int64_t max = std::numeric_limits<std::int64_t>::max();
  if (n.whole > (max - total) / unit) return false;
  std::int64_t part = n.whole * unit + n.fraction * unit / n.scale;
  if (part > max - total) return false;
  total += part;
  return true;
}

std::optional<std::int64_t> unit_ms(std::string_view unit) {
  if (unit == "ms") return 1;
  if (unit == "s") return ms_per_second;
  if (unit == "m") return ms_per_minute;
  if (unit == "h") return ms_per_hour;
  if (unit == "d") return ms_per_day;
  return std::nullopt;
}

void skip_blanks(std::string_view& text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
}

// "1h 30m", "1.5h", "500ms".
std::optional<Millis> sum_of_units(std::string_view text) {
  std::int64_t total = 0;
  while (!text.empty()) {
    auto n = read_number(text, true);
    if (!n) return std::nullopt;
    skip_blanks(text);
    std::size_t letters = 0;
    while (letters < text.size() && text[letters] >= 'a' && text[letters] <= 'z') ++letters;
    auto unit = unit_ms(text.substr(0, letters));
    if (!unit || !add(total, *n, *unit)) return std::nullopt;
    text.remove_prefix(letters);
    skip_blanks(text);
  }
  return Millis(total);
}

// "P1DT2H", "PT1M30.5S": each part optional, in this order, at least one.
std::optional<Millis> iso_8601(std::string_view text) {
  text.remove_prefix(1);  // 'P'
  std::int64_t total = 0;
  bool any = false;
  auto part = [&](char designator, std::int64_t unit, bool with_fraction) {
    std::string_view rest = text;
    auto n = read_number(rest, with_fraction);
    if (!n || rest.empty() || rest.front() != designator) return true;  // not this part
    if (!add(total, *n, unit)) return false;
    text = rest.substr(1);
    any = true;
    return true;
  };
  if (!part('D', ms_per_day, false)) return std::nullopt;
  if (!text.empty() && text.front() == 'T') {
    text.remove_prefix(1);
    any = false;  // a T needs a time after it
    if (!part('H', ms_per_hour, false) || !part('M', ms_per_minute, false) ||
        !part('S', ms_per_second, true))
      return std::nullopt;
  }
  if (!any || !text.empty()) return std::nullopt;
  return Millis(total);
}

}  // namespace

std::optional<Millis> parse_duration(std::string_view written) {
  std::string_view trimmed = text::trim(written);
  if (trimmed.empty()) return std::nullopt;
  return trimmed.front() == 'P' ? iso_8601(trimmed) : sum_of_units(trimmed);
}

std::string format_duration(Millis duration) {
  long long ms = duration.count();
  if (ms == 0) return "0ms";
  std::string out;
  constexpr std::array<std::pair<long long, std::string_view>, 4> units = {
      {{ms_per_hour, "h"}, {ms_per_minute, "m"}, {ms_per_second, "s"}, {1, "ms"}}};
  for (auto [size, unit] : units) {
    if (ms >= size) {
      out += std::to_string(ms / size);
      out += unit;
      ms %= size;
    }
  }
  return out;
}

}  // namespace stepline
