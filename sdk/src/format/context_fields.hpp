// Checks every format's reader shares: the numbered context fields and where a syntax error is.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <stepline/execution_context.hpp>

#include "path.hpp"

namespace stepline::format::detail {

inline Stage stage_from(int n, const Path& at) {
  if (n != 10 && n != 20 && n != 30 && n != 40)
    at.fail(std::to_string(n) +
            " is not a stage; use 10 (pre-validation), 20 (pre-operation), 30 (main operation) or "
            "40 (post-operation)");
  return static_cast<Stage>(n);
}

inline Mode mode_from(int n, const Path& at) {
  if (n != 0 && n != 1)
    at.fail(std::to_string(n) + " is not a mode; use 0 (synchronous) or 1 (asynchronous)");
  return static_cast<Mode>(n);
}

inline IsolationMode isolation_mode_from(int n, const Path& at) {
  if (n != 1 && n != 2)
    at.fail(std::to_string(n) + " is not an isolation mode; use 1 (none) or 2 (sandbox)");
  return static_cast<IsolationMode>(n);
}

/// "line 3, column 5": where byte `offset` of `text` is, for syntax errors.
inline std::string line_and_column(std::string_view text, std::size_t offset) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

}  // namespace stepline::format::detail
