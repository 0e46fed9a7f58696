#include <stepline/host/log.hpp>

#include <stdexcept>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace stepline::host::log {
namespace {

std::shared_ptr<spdlog::logger> make_logger() {
  auto logger = spdlog::stderr_color_mt("stepline");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  return logger;
}

spdlog::logger& logger() {
  static std::shared_ptr<spdlog::logger> instance = make_logger();
  return *instance;
}

std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) out += fmt::format("\\u{:04x}", static_cast<int>(c));
        else out += c;
    }
  }
  return out;
}

bool json_format = false;

}  // namespace

void configure(std::string_view level, std::string_view format) {
  auto lvl = spdlog::level::from_str(std::string(level));
  if (lvl == spdlog::level::off && level != "off")
    throw std::invalid_argument("log level '" + std::string(level) +
                                "' is not one of trace, debug, info, warn, error, off");
  if (format != "text" && format != "json")
    throw std::invalid_argument("log format '" + std::string(format) + "' is not one of text, json");
  logger().set_level(lvl);
  json_format = format == "json";
  if (json_format)
    logger().set_pattern("{\"time\":\"%Y-%m-%dT%H:%M:%S.%eZ\",\"level\":\"%l\",%v}", spdlog::pattern_time_type::utc);
}

void write(Level level, std::string_view message) {
  auto lvl = static_cast<spdlog::level::level_enum>(
      static_cast<int>(level) == 5 ? 6 : static_cast<int>(level));
  if (!logger().should_log(lvl)) return;
  // The text is formatted already: spdlog's plain-text overload writes it as it is, where a "{}"
  // format would compile fmt's whole formatting engine into this library a second time.
  if (json_format) {
    const std::string field = "\"message\":\"" + json_escape(message) + "\"";
    logger().log(lvl, std::string_view(field));
  } else {
    logger().log(lvl, message);
  }
}

}  // namespace stepline::host::log
