// Where a parser is inside a document (header-only: the AMQP format library uses it too). Each
// nesting level is a frame on the parser's stack that points at its parent, so the dotted text
// ("target.attributes.revenue") is only built when an error has to name it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <stepline/format/format.hpp>
#include <stepline/format/format_error.hpp>

#include "untrusted_text.hpp"

namespace stepline::format::detail {

/// How deep a document may nest (format.hpp). Readers recurse once per level, so this bounds their
/// stack use on hostile input.
using format::max_nesting;

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

  /// The dotted path; a deeper one than input::shown_path_levels shows that many segments and
  /// "…", as the JSON reader's paths do.
  std::string str() const {
    std::vector<const Path*> chain;
    for (const Path* p = this; p->parent_; p = p->parent_) chain.push_back(p);
    std::string out;
    for (std::size_t shown = 0; shown < chain.size() && shown < input::shown_path_levels; ++shown) {
      const Path& p = *chain[chain.size() - 1 - shown];
      if (p.is_index_) {
        out += '[';
        out += std::to_string(p.index_);
        out += ']';
      } else {
        if (!out.empty()) out += '.';
        out += input::printable(p.key_);
      }
    }
    if (chain.size() > input::shown_path_levels) out += "…";
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
