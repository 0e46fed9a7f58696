// Where a parser is inside a document (header-only: the AMQP format library uses it too). Each
// nesting level is a frame on the parser's stack that points at its parent, so the dotted text
// ("target.attributes.revenue") is only built when an error has to name it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <stepline/format/format_error.hpp>

namespace stepline::format::detail {

/// How deep a document may nest. Readers recurse once per level, so this bounds their stack use
/// on hostile input; real contexts nest a few dozen levels at most.
constexpr std::size_t max_nesting = 200;

class Path {
 public:
  /// The document root.
  Path() = default;
  Path(const Path& parent, std::string_view key)
      : parent_(&parent), key_(key), depth_(parent.depth_ + 1) {
    check_depth();
  }
  Path(const Path& parent, std::size_t index)
      : parent_(&parent), index_(index), is_index_(true), depth_(parent.depth_ + 1) {
    check_depth();
  }

  std::string str() const {
    if (!parent_) return {};
    std::string out = parent_->str();
    if (is_index_) {
      out += '[';
      out += std::to_string(index_);
      out += ']';
    } else {
      if (!out.empty()) out += '.';
      out += key_;
    }
    return out;
  }

  /// Throws FormatError at this path.
  [[noreturn]] void fail(const std::string& message) const { throw FormatError(str(), message); }

 private:
  void check_depth() const {
    if (depth_ > max_nesting)
      fail("nested more than " + std::to_string(max_nesting) + " levels deep");
  }

  const Path* parent_ = nullptr;
  std::string_view key_;
  std::size_t index_ = 0;
  bool is_index_ = false;
  std::size_t depth_ = 0;
};

}  // namespace stepline::format::detail
