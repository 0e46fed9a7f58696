// Where a parser is inside a document. Each nesting level is a frame on the parser's stack that
// points at its parent, so the dotted text ("target.attributes.revenue") is only built when an
// error has to name it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <stepline/format/format_error.hpp>

namespace stepline::format::detail {

class Path {
 public:
  /// The document root.
  Path() = default;
  Path(const Path& parent, std::string_view key) : parent_(&parent), key_(key) {}
  Path(const Path& parent, std::size_t index) : parent_(&parent), index_(index), is_index_(true) {}

  std::string str() const;
  /// Throws FormatError at this path.
  [[noreturn]] void fail(const std::string& message) const;

 private:
  const Path* parent_ = nullptr;
  std::string_view key_;
  std::size_t index_ = 0;
  bool is_index_ = false;
};

}  // namespace stepline::format::detail
