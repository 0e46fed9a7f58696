// The process log of stepline and stepline-broker: lines on standard error, as text or as JSON
// lines, from a level up. A line below the level is not even formatted: the functions check
// enabled() before fmt runs, so no argument's formatter is called; an argument that costs
// something to compute (a string built for the line) is passed as log::lazy(...), which computes
// it only for a line that is written. spdlog is expensive to compile, so only log.cpp includes
// it; callers format with fmt and log.cpp hands spdlog the finished text.
#pragma once

#include <cstdint>
#include <string_view>
#include <type_traits>
#include <utility>

#include <fmt/format.h>

namespace stepline::azure::log {

enum class Level { trace, debug, info, warn, error, off };

/// Sets the level by name (trace|debug|info|warn|error|off) and the format (text|json); throws
/// std::invalid_argument naming a bad value. Until then the level is info, the format text.
void configure(std::string_view level, std::string_view format = "text");
/// Whether a line at `level` is written.
bool enabled(Level level) noexcept;
/// Writes a finished line at `level` (nothing when the level is off).
void write(Level level, std::string_view message);

/// A log argument computed by `make()` when, and only when, its line is formatted.
template <class F>
struct Lazy {
  F make;
};
/// log::debug("job {} done", log::lazy([&] { return id.str(); })): id.str() runs only when
/// debug lines are written.
template <class F>
Lazy<F> lazy(F make) {
  return {std::move(make)};
}

template <class... A>
void trace(fmt::format_string<A...> f, A&&... a) {
  if (enabled(Level::trace)) write(Level::trace, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void debug(fmt::format_string<A...> f, A&&... a) {
  if (enabled(Level::debug)) write(Level::debug, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void info(fmt::format_string<A...> f, A&&... a) {
  if (enabled(Level::info)) write(Level::info, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void warn(fmt::format_string<A...> f, A&&... a) {
  if (enabled(Level::warn)) write(Level::warn, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void error(fmt::format_string<A...> f, A&&... a) {
  if (enabled(Level::error)) write(Level::error, fmt::format(f, std::forward<A>(a)...));
}

/// A condition that may recur many times a second (a refused connection, a failing disk) is
/// logged once per interval: due() is true at most once per `interval_ms` and says how many
/// occurrences since the last line it let through.
class Throttle {
 public:
  explicit Throttle(int64_t interval_ms) : interval_ms_(interval_ms) {}
  /// Counts one occurrence at `now_ms`; true when it should be logged.
  bool due(int64_t now_ms) {
    ++count_;
    if (logged_ms_ && now_ms - logged_ms_ < interval_ms_) return false;
    logged_ms_ = now_ms;
    return true;
  }
  /// Occurrences counted since the line before the one being written (including this one).
  uint64_t take_count() { return std::exchange(count_, 0); }

 private:
  int64_t interval_ms_;
  int64_t logged_ms_ = 0;
  uint64_t count_ = 0;
};

}  // namespace stepline::azure::log

/// A lazy argument formats as what its function returns, with that type's format spec.
template <class F, class Char>
struct fmt::formatter<stepline::azure::log::Lazy<F>, Char>
    : fmt::formatter<std::decay_t<std::invoke_result_t<const F&>>, Char> {
  template <class FormatContext>
  auto format(const stepline::azure::log::Lazy<F>& value, FormatContext& ctx) const {
    return fmt::formatter<std::decay_t<std::invoke_result_t<const F&>>, Char>::format(
        value.make(), ctx);
  }
};
