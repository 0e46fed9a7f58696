// Builds a RapidJSON document the way every JSON format reader wants it: valid UTF-8 only,
// nesting at most max_nesting deep (the handler stops RapidJSON's recursive parser there, and the
// readers recurse once per level too), and a syntax error reported with its line and column.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include "context_fields.hpp"

namespace stepline::format::detail {

/// With `keep_number_text`, every number is stored as a string starting with this byte and
/// followed by the number's exact text. No decoded JSON string can hold the byte (the text is
/// checked to be UTF-8, and escapes decode to UTF-8), so numbers and strings stay apart.
constexpr char number_mark = '\xff';

template <bool keep_number_text>
class DocumentBuilder {
 public:
  explicit DocumentBuilder(rapidjson::Document& d) : d_(d) {}

  bool Null() { return d_.Null(); }
  bool Bool(bool b) { return d_.Bool(b); }
  bool Int(int i) { return d_.Int(i); }
  bool Uint(unsigned i) { return d_.Uint(i); }
  bool Int64(std::int64_t i) { return d_.Int64(i); }
  bool Uint64(std::uint64_t i) { return d_.Uint64(i); }
  bool Double(double x) { return d_.Double(x); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool copy) {
    if constexpr (!keep_number_text) return d_.RawNumber(s, n, copy);
    buffer_.assign(1, number_mark);
    buffer_.append(s, n);
    return d_.String(buffer_.data(), static_cast<rapidjson::SizeType>(buffer_.size()), true);
  }
  bool String(const char* s, rapidjson::SizeType n, bool copy) { return d_.String(s, n, copy); }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) { return d_.Key(s, n, copy); }
  bool StartObject() { return enter() && d_.StartObject(); }
  bool EndObject(rapidjson::SizeType n) { return leave() && d_.EndObject(n); }
  bool StartArray() { return enter() && d_.StartArray(); }
  bool EndArray(rapidjson::SizeType n) { return leave() && d_.EndArray(n); }

  bool too_deep() const { return too_deep_; }

 private:
  bool enter() {
    too_deep_ = ++depth_ > max_nesting;
    return !too_deep_;
  }
  bool leave() {
    --depth_;
    return true;
  }

  rapidjson::Document& d_;
  std::string buffer_;
  std::size_t depth_ = 0;
  bool too_deep_ = false;
};

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

/// Parses `text` into `d`; throws FormatError on invalid UTF-8, a syntax error or too deep a
/// nesting.
template <bool keep_number_text>
void build_document(std::string_view text, rapidjson::Document& d) {
  if (std::size_t bad = invalid_utf8_at(text); bad != std::string_view::npos)
    throw FormatError("", "invalid UTF-8 at " + line_and_column(text, bad));
  constexpr unsigned flags =
      keep_number_text ? rapidjson::kParseNumbersAsStringsFlag : rapidjson::kParseFullPrecisionFlag;
  rapidjson::Reader reader;
  bool too_deep = false;
  auto generate = [&](rapidjson::Document& target) {
    DocumentBuilder<keep_number_text> builder(target);
    rapidjson::MemoryStream stream(text.data(), text.size());
    bool ok = static_cast<bool>(reader.Parse<flags>(stream, builder));
    too_deep = builder.too_deep();
    return ok;
  };
  d.Populate(generate);
  if (!reader.HasParseError()) return;
  std::string where = line_and_column(text, reader.GetErrorOffset());
  if (too_deep)
    throw FormatError(
        "", "JSON nested more than " + std::to_string(max_nesting) + " levels deep at " + where);
  throw FormatError("", "invalid JSON at " + where + ": " +
                            rapidjson::GetParseError_En(reader.GetParseErrorCode()));
}

}  // namespace stepline::format::detail
