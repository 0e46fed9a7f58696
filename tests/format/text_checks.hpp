// Checks on serialized text that the format tests share.
#pragma once

#include <string>

namespace stepline::test {

/// True when `part` occurs in `text`.
inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace stepline::test
