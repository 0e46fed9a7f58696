// Checks on text that may be hostile, shared by every reader of untrusted bytes (the JSON and XML
// formats, the binary format's strings, the registration's YAML, the host's JSON documents):
// whether it is well-formed UTF-8, and where a byte is, for error messages.
//
// Header-only and not installed: a target that reads untrusted text links stepline_input.
#pragma once

#include <stepline/text.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace stepline::input {

/// How many segments the path in an error message shows at most: a path into hostile input can
/// be as deep as the nesting allowed, and its start says where the trouble is.
inline constexpr std::size_t shown_path_levels = 12;

/// The offset of the first byte of `text` that is not well-formed UTF-8 (overlong forms,
/// surrogates and code points above U+10FFFF included), or npos. Checks eight ASCII bytes at a
/// time: RapidJSON's own check cost a quarter of a context's parse.
inline std::size_t invalid_utf8_at(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  std::size_t n = text.size(), i = 0;
  while (i < n) {
    if (i + 8 <= n) {
      std::uint64_t word;
      std::memcpy(&word, s + i, 8);
      if ((word & 0x8080808080808080ull) == 0) {
        i += 8;
        continue;
      }
    }
    unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t length = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (length == 0 || c > 0xF4 || i + length > n) return i;
    unsigned char c1 = s[i + 1];
    if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F) || (c == 0xF0 && c1 < 0x90) ||
        (c == 0xF4 && c1 > 0x8F))
      return i;
    for (std::size_t k = 1; k < length; ++k)
      if ((s[i + k] & 0xC0) != 0x80) return i;
    i += length;
  }
  return std::string_view::npos;
}

using text::printable;  // control characters as \u00XX, for error messages

struct TextPosition {
  std::size_t line = 1;
  std::size_t column = 1;
};

/// Where byte `offset` of `text` is: line and column from 1, the column counted in characters
/// (a UTF-8 sequence counts once), as editors show it.
inline TextPosition position_of(std::string_view text, std::size_t offset) {
  TextPosition at;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++at.line;
      at.column = 1;
    } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      ++at.column;
    }
  }
  return at;
}

/// "line 3, column 5": where byte `offset` of `text` is, for syntax errors.
inline std::string line_and_column(std::string_view text, std::size_t offset) {
  TextPosition at = position_of(text, offset);
  return "line " + std::to_string(at.line) + ", column " + std::to_string(at.column);
}

}  // namespace stepline::input
