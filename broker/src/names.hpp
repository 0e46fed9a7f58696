// Entity, policy, consumer-group and filter property names compare without regard to case, as
// Service Bus and Event Hubs compare them; and the little the broker's scanners of names,
// durations and filters share.
#pragma once

#include <cctype>
#include <cstddef>
#include <string>
#include <string_view>

#include <stepline/text.hpp>

namespace stepline::broker {

/// `s` in lower case (ASCII), the form names are compared in.
using text::lower;

/// Moves `at` past any white space in `text`.
inline void skip_spaces(std::string_view text, std::size_t& at) {
  if (at < text.size()) at = text.size() - text::trim_start(text.substr(at)).size();
}

}  // namespace stepline::broker
