// Entity, policy, consumer-group and filter property names compare without regard to case, as
// Service Bus and Event Hubs compare them; and the little the broker's scanners of names,
// durations and filters share.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <string>
#include <string_view>

namespace stepline::broker {

/// `s` in lower case (ASCII), the form names are compared in.
inline std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

/// Moves `at` past any white space in `text`.
inline void skip_spaces(std::string_view text, std::size_t& at) {
  while (at < text.size() && std::isspace(static_cast<unsigned char>(text[at]))) ++at;
}

}  // namespace stepline::broker
