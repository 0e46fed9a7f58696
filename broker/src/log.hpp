// Broker logging. spdlog is expensive to compile, so only log.cpp includes it; every other unit
// formats its line with fmt and hands it here.
#pragma once

#include <string_view>

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

}  // namespace stepline::broker::log
