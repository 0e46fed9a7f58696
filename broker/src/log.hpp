// Broker logging. spdlog is expensive to compile, so only log.cpp includes it; every other unit
// formats its line with fmt and hands it here.
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace stepline::broker::log {

enum class Level { trace, debug, info, warn, error, off };

/// Sets the level by name (trace|debug|info|warn|error|off); throws std::invalid_argument
/// otherwise.
void set_level(std::string_view level);
bool enabled(Level level);
void write(Level level, std::string_view message);

template <class... A>
void debug(fmt::format_string<A...> f, A&&... a) {
  if (enabled(Level::debug)) write(Level::debug, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void info(fmt::format_string<A...> f, A&&... a) {
  write(Level::info, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void warn(fmt::format_string<A...> f, A&&... a) {
  write(Level::warn, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void error(fmt::format_string<A...> f, A&&... a) {
  write(Level::error, fmt::format(f, std::forward<A>(a)...));
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

}  // namespace stepline::broker::log
