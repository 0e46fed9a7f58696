// Builds a RapidJSON document the way every JSON format reader wants it: read as every untrusted
// JSON is (untrusted_json.hpp: valid UTF-8 only, a syntax error reported with its line and
// column, numbers converted exactly), nesting at most max_nesting deep, or with the exact text
// of each number kept when asked.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "path.hpp"
#include "untrusted_json.hpp"

namespace stepline::format::detail {

/// With `keep_number_text`, every number is stored as a string starting with this byte and
/// followed by the number's exact text. No decoded JSON string can hold the byte (the text is
/// checked to be UTF-8, and escapes decode to UTF-8), so numbers and strings stay apart.
constexpr char number_mark = '\xff';

/// Builds a document whose numbers are strings: number_mark, then the number's text.
class NumberTextBuilder {
 public:
  explicit NumberTextBuilder(rapidjson::Document& d) : d_(d) {}

  bool Null() { return d_.Null(); }
  bool Bool(bool b) { return d_.Bool(b); }
  bool Int(int i) { return d_.Int(i); }
  bool Uint(unsigned i) { return d_.Uint(i); }
  bool Int64(std::int64_t i) { return d_.Int64(i); }
  bool Uint64(std::uint64_t i) { return d_.Uint64(i); }
  bool Double(double x) { return d_.Double(x); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
    buffer_.assign(1, number_mark);
    buffer_.append(s, n);
    return d_.String(buffer_.data(), static_cast<rapidjson::SizeType>(buffer_.size()), true);
  }
  bool String(const char* s, rapidjson::SizeType n, bool copy) { return d_.String(s, n, copy); }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) { return d_.Key(s, n, copy); }
  bool StartObject() { return d_.StartObject(); }
  bool EndObject(rapidjson::SizeType n) { return d_.EndObject(n); }
  bool StartArray() { return d_.StartArray(); }
  bool EndArray(rapidjson::SizeType n) { return d_.EndArray(n); }

 private:
  rapidjson::Document& d_;
  std::string buffer_;
};

/// Parses `text` into `d`; throws FormatError on invalid UTF-8, a syntax error or a context
/// nested more than max_nesting levels deep. Numbers are converted exactly
/// (input::JsonNumbers), or kept as text with `keep_number_text`.
template <bool keep_number_text>
void build_document(std::string_view text, rapidjson::Document& d) {
  if constexpr (keep_number_text) {
    auto generate = [&](rapidjson::Document& target) {
      NumberTextBuilder builder(target);
      input::read_json_events<rapidjson::kParseNumbersAsStringsFlag>(text, builder, max_nesting);
      return true;
    };
    d.Populate(generate);
  } else {
    input::read_json_document(text, d, max_nesting);
  }
}

}  // namespace stepline::format::detail
