// Host logging. spdlog is expensive to compile, so only log.cpp includes it; everything else
// formats its line (fmt) and hands it here.
#pragma once

#include <string>
#include <string_view>

#include <fmt/format.h>

namespace stepline::host::log {

enum class Level { trace, debug, info, warn, error, off };

/// Configures the process-wide logger: level name (trace|debug|info|warn|error|off) and format
/// (text|json). Throws std::invalid_argument naming a bad value.
void configure(std::string_view level, std::string_view format);

void write(Level level, std::string_view message);

template <class... A>
void trace(fmt::format_string<A...> f, A&&... a) { write(Level::trace, fmt::format(f, std::forward<A>(a)...)); }
template <class... A>
void debug(fmt::format_string<A...> f, A&&... a) { write(Level::debug, fmt::format(f, std::forward<A>(a)...)); }
template <class... A>
void info(fmt::format_string<A...> f, A&&... a) { write(Level::info, fmt::format(f, std::forward<A>(a)...)); }
template <class... A>
void warn(fmt::format_string<A...> f, A&&... a) { write(Level::warn, fmt::format(f, std::forward<A>(a)...)); }
template <class... A>
void error(fmt::format_string<A...> f, A&&... a) { write(Level::error, fmt::format(f, std::forward<A>(a)...)); }

}  // namespace stepline::host::log
