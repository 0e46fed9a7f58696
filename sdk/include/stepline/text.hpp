// Small ASCII text functions that every part of Stepline needs in the same form: lower-casing,
// trimming, case-insensitive comparison, percent-encoding and -decoding, and control characters
// made visible. ASCII only, as the names, keys, hex digits and URIs they serve are; bytes above
// 0x7F pass through unchanged.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <stepline/api.hpp>

namespace stepline::text {

/// `text` with A-Z made a-z.
STEPLINE_API std::string lower(std::string_view text);
/// `text` without leading and trailing spaces, tabs, carriage returns, line and form feeds.
STEPLINE_API std::string_view trim(std::string_view text) noexcept;
/// `text` without leading white space (the same characters as trim()).
STEPLINE_API std::string_view trim_start(std::string_view text) noexcept;
/// Equal when A-Z and a-z are taken as the same.
STEPLINE_API bool iequals(std::string_view a, std::string_view b) noexcept;
/// Every byte of `text` except letters, digits and the characters in `unreserved` as %XX
/// (upper-case hex). The default keeps RFC 3986's unreserved set; "-_.!~*'()" keeps what
/// JavaScript's encodeURIComponent keeps.
STEPLINE_API std::string percent_encode(std::string_view text,
                                        std::string_view unreserved = "-._~");
/// `text` with every %XX made the byte it names (either case of hex) and, with `plus_is_space`
/// (an HTML form's query), every '+' a space. A '%' without two hex digits after it stays as it
/// is; bad_percent_escape() finds one for a reader that refuses it.
STEPLINE_API std::string percent_decode(std::string_view text, bool plus_is_space = false);
/// The offset of the first '%' in `text` that two hex digits do not follow, or npos.
STEPLINE_API std::size_t bad_percent_escape(std::string_view text) noexcept;
/// `text` with each control character (below U+0020, DEL, and the C1 controls U+0080 to U+009F)
/// written as \u00XX, as JSON writes it: for names, keys and quoted text that an error message,
/// a log line or a terminal shows, where a NUL would end what() and a newline or an escape
/// sequence break the line or drive the terminal.
STEPLINE_API std::string printable(std::string_view text);
/// True when `text` holds a control character, as printable() counts them.
STEPLINE_API bool has_control(std::string_view text) noexcept;

}  // namespace stepline::text
