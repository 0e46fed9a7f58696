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
/// Parses ISO-8601 with a `Z` or `±hh:mm` offset (fraction optional); a value without an offset is
/// taken as UTC. Returns nullopt on anything else.
STEPLINE_API std::optional<DateTime> parse_iso8601(std::string_view text);

}  // namespace stepline
