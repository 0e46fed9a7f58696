// Small ASCII text functions that every part of Stepline needs in the same form: lower-casing,
// trimming, case-insensitive comparison and percent-encoding. ASCII only, as the names, keys,
// hex digits and URIs they serve are; bytes above 0x7F pass through unchanged.
#pragma once

#include <string>
#include <string_view>

#include <stepline/api.hpp>

namespace stepline::text {

/// `text` with A-Z made a-z.
STEPLINE_API std::string lower(std::string_view text);
/// `text` without leading and trailing spaces, tabs, carriage returns, line and form feeds.
STEPLINE_API std::string_view trim(std::string_view text) noexcept;
/// Equal when A-Z and a-z are taken as the same.
STEPLINE_API bool iequals(std::string_view a, std::string_view b) noexcept;
/// Every byte of `text` except letters, digits and the characters in `unreserved` as %XX
/// (upper-case hex). The default keeps RFC 3986's unreserved set; "-_.!~*'()" keeps what
/// JavaScript's encodeURIComponent keeps.
STEPLINE_API std::string percent_encode(std::string_view text,
                                        std::string_view unreserved = "-._~");

}  // namespace stepline::text
