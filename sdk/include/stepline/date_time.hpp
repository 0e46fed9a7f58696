// Date-times are UTC instants with millisecond precision, the resolution Dataverse keeps.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <stepline/api.hpp>

namespace stepline {

using DateTime = std::chrono::sys_time<std::chrono::milliseconds>;

/// The current time, truncated to milliseconds.
STEPLINE_API DateTime now_utc();
/// ISO-8601 UTC text: 2024-08-02T07:00:39.000Z.
STEPLINE_API std::string to_iso8601(DateTime t);

/// to_iso8601's text in place, without allocating (24 characters for the years 0 to 9999).
struct Iso8601Text {
  char chars[40];
  std::size_t size = 0;
  std::string_view view() const noexcept { return {chars, size}; }
  operator std::string_view() const noexcept { return view(); }
};
STEPLINE_API Iso8601Text iso8601_text(DateTime t) noexcept;
/// Parses ISO-8601 with a `Z` or `±hh:mm` offset (fraction optional); a value without an offset is
/// taken as UTC. Returns nullopt on anything else.
STEPLINE_API std::optional<DateTime> parse_iso8601(std::string_view text);

}  // namespace stepline
