// Durations as people write them in configuration files and on command lines: a sum of numbers
// with units ("500ms", "30s", "1h30m", "1.5h", "7d"), or ISO 8601 ("PT1M30S", "P1DT2H"), the form
// Azure's entity settings use. One reader for the registration, the `stepline` commands and
// stepline-broker's configuration.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <stepline/api.hpp>

namespace stepline {

/// Numbers (a decimal fraction allowed) each followed by ms, s, m, h or d, summed, spaces
/// allowed around and between them; or ISO 8601 days, hours, minutes and seconds (a fraction on
/// the seconds only). nullopt for anything else: a bare number (the unit is never guessed), a
/// negative or an overflowing duration. Below a millisecond is dropped.
STEPLINE_API std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

/// The shortest text parse_duration() reads back as `duration` in hours, minutes, seconds and
/// milliseconds ("90s" is "1m30s", "1h30m", "0ms").
STEPLINE_API std::string format_duration(std::chrono::milliseconds duration);

}  // namespace stepline
