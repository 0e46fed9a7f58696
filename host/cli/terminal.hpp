// Text for a person's terminal. What the commands print comes partly from elsewhere: a plug-in's
// message and trace lines (which often quote the records they were given), an endpoint's or a
// webhook's error, a request file's values. Their control characters are shown as \u00XX, so that
// an escape sequence cannot restyle, retitle or clear the terminal, or hide what follows, and a
// line break cannot pass for another line of output; tabs stay.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>

#include <stepline/text.hpp>

namespace stepline::cli {

inline std::string for_terminal(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t start = 0; start < text.size();) {
    const auto tab = std::min(text.find('\t', start), text.size());
    out += text::printable(text.substr(start, tab - start));
    if (tab < text.size()) out += '\t';
    start = tab + 1;
  }
  return out;
}

}  // namespace stepline::cli
