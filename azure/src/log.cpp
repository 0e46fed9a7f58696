#include "stepline/azure/log.hpp"

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <stepline/text.hpp>

namespace stepline::azure::log {
namespace {

// Kept beside spdlog's own level so that enabled() is one load, not a call into spdlog.
std::atomic<Level> threshold{Level::info};
std::atomic<bool> json_lines{false};

spdlog::logger& logger() {
  static std::shared_ptr<spdlog::logger> instance = [] {
    auto l = spdlog::stderr_color_mt("stepline");
    l->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
    l->set_level(spdlog::level::trace);  // threshold decides
    return l;
  }();
  return *instance;
}

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::trace:
      return spdlog::level::trace;
    case Level::debug:
      return spdlog::level::debug;
    case Level::info:
      return spdlog::level::info;
    case Level::warn:
      return spdlog::level::warn;
    case Level::error:
      return spdlog::level::err;
    case Level::off:
      break;
  }
  return spdlog::level::off;
}

std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20)
          out += fmt::format("\\u{:04x}", static_cast<int>(c));
        else
          out += c;
    }
  }
  return out;
}

}  // namespace

void configure(std::string_view level, std::string_view format) {
  static constexpr std::pair<std::string_view, Level> names[] = {
      {"trace", Level::trace}, {"debug", Level::debug}, {"info", Level::info},
      {"warn", Level::warn},   {"error", Level::error}, {"off", Level::off}};
  const auto* named = std::find_if(std::begin(names), std::end(names),
                                   [&](const auto& n) { return n.first == level; });
  if (named == std::end(names))
    throw std::invalid_argument("log level '" + std::string(level) +
                                "' is not one of trace, debug, info, warn, error, off");
  if (format != "text" && format != "json")
    throw std::invalid_argument("log format '" + std::string(format) +
                                "' is not one of text, json");
  threshold = named->second;
  json_lines = format == "json";
  if (json_lines)
    logger().set_pattern("{\"time\":\"%Y-%m-%dT%H:%M:%S.%eZ\",\"level\":\"%l\",%v}",
                         spdlog::pattern_time_type::utc);
}

bool enabled(Level level) noexcept {
  return level != Level::off && level >= threshold.load(std::memory_order_relaxed);
}

void write(Level level, std::string_view message) {
  if (!enabled(level)) return;
  // The text is formatted already: spdlog's plain-text overload writes it as it is, where a "{}"
  // format would compile fmt's whole formatting engine into this library a second time.
  if (json_lines) {
    const std::string field = "\"message\":\"" + json_escape(message) + "\"";
    logger().log(to_spdlog(level), std::string_view(field));
  } else if (text::has_control(message)) {
    // A message can quote what a peer, a plug-in or a request sent: its control characters are
    // shown as \u00XX, so that none starts a forged line or drives the terminal reading the log.
    logger().log(to_spdlog(level), std::string_view(text::printable(message)));
  } else {
    logger().log(to_spdlog(level), message);
  }
}

}  // namespace stepline::azure::log
