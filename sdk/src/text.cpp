#include <stepline/text.hpp>

#include <algorithm>

namespace stepline::text {
namespace {

constexpr char lower_ascii(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

constexpr bool blank(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Whether text[at] is '%' with two hex digits after it.
constexpr bool escape_at(std::string_view text, std::size_t at) noexcept {
  return text[at] == '%' && at + 2 < text.size() && hex_value(text[at + 1]) >= 0 &&
         hex_value(text[at + 2]) >= 0;
}

constexpr bool letter_or_digit(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

}  // namespace

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = lower_ascii(c);
  return out;
}

std::string_view trim(std::string_view text) noexcept {
  text = trim_start(text);
  while (!text.empty() && blank(text.back())) text.remove_suffix(1);
  return text;
}

std::string_view trim_start(std::string_view text) noexcept {
  while (!text.empty() && blank(text.front())) text.remove_prefix(1);
  return text;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](char x, char y) { return lower_ascii(x) == lower_ascii(y); });
}

std::string percent_encode(std::string_view text, std::string_view unreserved) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (letter_or_digit(c) || unreserved.find(c) != std::string_view::npos) {
      out += c;
    } else {
      auto byte = static_cast<unsigned char>(c);
      out += '%';
      out += hex[byte >> 4];
      out += hex[byte & 0xF];
    }
  }
  return out;
}

std::string percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (escape_at(text, i)) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += plus_is_space && text[i] == '+' ? ' ' : text[i];
    }
  }
  return out;
}

std::size_t bad_percent_escape(std::string_view text) noexcept {
  for (std::size_t i = text.find('%'); i != std::string_view::npos; i = text.find('%', i + 1))
    if (!escape_at(text, i)) return i;
  return std::string_view::npos;
}

namespace {

/// The length of the control character at `text[i]`: 1 for one below U+0020 or DEL, 2 for a C1
/// control (U+0080 to U+009F, the UTF-8 bytes C2 80 to C2 9F, which some terminals obey as they
/// do ESC [), else 0.
std::size_t control_at(std::string_view text, std::size_t i) noexcept {
  const auto b = static_cast<unsigned char>(text[i]);
  if (b < 0x20 || b == 0x7F) return 1;
  if (b == 0xC2 && i + 1 < text.size()) {
    const auto next = static_cast<unsigned char>(text[i + 1]);
    if (next >= 0x80 && next <= 0x9F) return 2;
  }
  return 0;
}

}  // namespace

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = control_at(text, i);
    if (length == 0) {
      out += text[i++];
      continue;
    }
    // The code point: the byte itself, or the C1 control's second byte (C2 XX is U+00XX).
    const auto code = static_cast<unsigned char>(text[i + length - 1]);
    constexpr char hex[] = "0123456789abcdef";
    out += "\\u00";
    out += hex[code >> 4];
    out += hex[code & 15];
    i += length;
  }
  return out;
}

bool has_control(std::string_view text) noexcept {
  for (std::size_t i = 0; i < text.size(); ++i)
    if (control_at(text, i) != 0) return true;
  return false;
}

}  // namespace stepline::text
