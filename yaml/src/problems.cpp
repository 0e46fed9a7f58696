#include <stepline/yaml/problems.hpp>

#include <algorithm>

#include <fmt/format.h>

#include "untrusted_text.hpp"

namespace stepline::yaml {

std::string Location::str() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

std::string Problem::str() const {
  return where.str() + (severity == Severity::error ? ": error: " : ": warning: ") + message;
}

namespace {

std::string one_line(std::string message) {
  const auto control = [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; };
  if (std::none_of(message.begin(), message.end(), control)) return message;
  std::string out;
  for (char c : message) {
    if (!control(c))
      out += c;
    else if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\t')
      out += "\\t";
    else
      out += fmt::format("\\x{:02X}", static_cast<unsigned char>(c));
  }
  return out;
}

}  // namespace

void Problems::error(Location where, std::string message) {
  list.push_back({std::move(where), one_line(std::move(message)), Severity::error});
}

void Problems::warning(Location where, std::string message) {
  list.push_back({std::move(where), one_line(std::move(message)), Severity::warning});
}

bool Problems::has_errors() const {
  return std::any_of(list.begin(), list.end(),
                     [](const Problem& p) { return p.severity == Severity::error; });
}

Location location_of(const std::string& file, const Node& node) {
  if (node.line == 0) return {file, 1, 1};
  return {file, static_cast<int>(node.line), static_cast<int>(node.column)};
}

Problem problem_of(const Error& error, const std::string& file, std::string_view text) {
  const std::string syntax = std::string("YAML syntax error: ") + error.what();
  if (error.line != 0)
    return {{file, static_cast<int>(error.line), static_cast<int>(error.column)}, syntax};
  // The reader stopped at a byte sequence it does not take. Every string read may end up in a
  // JSON body, which must be UTF-8: say where the first byte that is not UTF-8 is, as every
  // reader of untrusted text says it.
  if (std::size_t bad = input::invalid_utf8_at(text); bad != std::string_view::npos) {
    input::TextPosition at = input::position_of(text, bad);
    return {{file, static_cast<int>(at.line), static_cast<int>(at.column)},
            fmt::format("the file is not UTF-8 here (byte 0x{:02X}); save it as UTF-8",
                        static_cast<unsigned char>(text[bad]))};
  }
  input::TextPosition at = input::position_of(text, error.offset);
  return {{file, static_cast<int>(at.line), static_cast<int>(at.column)}, syntax};
}

}  // namespace stepline::yaml
