// Entity, policy, consumer-group and filter property names compare without regard to case, as
// Service Bus and Event Hubs compare them.
#pragma once

#include <algorithm>
#include <cctype>
#include <string>

namespace stepline::broker {

/// `s` in lower case (ASCII), the form names are compared in.
inline std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace stepline::broker
