// What is wrong in a YAML file, and where: readers collect every problem instead of stopping at
// the first, each pointing at the node that causes it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <stepline/yaml/stream.hpp>

namespace stepline::yaml {

/// file:line:column of a YAML node (1-based).
struct Location {
  std::string file;
  int line = 0;
  int column = 0;

  /// "file:line:col"
  std::string str() const;

  bool operator==(const Location&) const = default;
};

enum class Severity { error, warning };

/// One thing wrong (or doubtful) in a file. Messages name the field and say what to do.
struct Problem {
  Location where;
  std::string message;
  Severity severity = Severity::error;

  /// "file:line:col: error: message" (or "warning:"), the form compilers use.
  std::string str() const;
};

/// Where problems are collected while files are read. A message is kept on one line, as readers
/// of `file:line:col: message` lines expect: a control character in it (a quoted value may hold
/// line breaks) is shown escaped, as \n, \r, \t or \xHH.
class Problems {
 public:
  void error(Location where, std::string message);
  void warning(Location where, std::string message);
  bool has_errors() const;

  std::vector<Problem> list;
};

Location location_of(const std::string& file, const Node& node);

/// The problem `error`, met while reading `text` of `file`, is: a syntax error at its line and
/// column, or, for one of the text's encoding, where the first byte that is not UTF-8 is.
Problem problem_of(const Error& error, const std::string& file, std::string_view text);

}  // namespace stepline::yaml
