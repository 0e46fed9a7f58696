// Reading JSON that may be hostile: the one way the SDK's formats and the host read every JSON
// document (requests, execution contexts, isolation frames, the plug-in scan cache). The text
// must be valid UTF-8 and nest at most a given depth: RapidJSON's parser recurses once per level,
// and so do the readers that walk what it built and the writers that copy it, so the depth
// bounds their stack whatever the input. Every error is a FormatError that says where: the JSON
// path of a value nested too deep, the line and column of a syntax error or of a byte that is
// not UTF-8.
//
// Header-only and not installed (RapidJSON never appears in public headers): a target that reads
// JSON links stepline_input.
#pragma once

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <stepline/format/format_error.hpp>

#include "untrusted_text.hpp"

namespace stepline::input {

/// The JSON path ("target.attributes.deep[0][0]") of the value that starts at byte `offset` of
/// `text`, which must be valid JSON up to there. For error messages only: it reads the text
/// again. A path longer than shown_path_levels segments keeps those and ends with "…"; a key
/// longer than 64 bytes keeps its first 64.
inline std::string json_path_at(std::string_view text, std::size_t offset) {
  struct Level {
    bool array;
    std::size_t index;
    std::string_view key;
  };
  std::vector<Level> levels;
  bool key_next = false;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    switch (text[i]) {
      case '"': {
        std::size_t end = i + 1;
        while (end < text.size() && text[end] != '"') end += text[end] == '\\' ? 2 : 1;
        if (key_next && !levels.empty() && !levels.back().array)
          levels.back().key = text.substr(i + 1, end - i - 1);
        key_next = false;
        i = end;
        break;
      }
      case '{':
        levels.push_back({false, 0, {}});
        key_next = true;
        break;
      case '[':
        levels.push_back({true, 0, {}});
        break;
      case '}':
      case ']':
        if (!levels.empty()) levels.pop_back();
        break;
      case ',':
        if (levels.empty()) break;
        if (levels.back().array)
          ++levels.back().index;
        else
          key_next = true;
        break;
    }
  }
  constexpr std::size_t shown_key_bytes = 64;
  std::string path;
  for (std::size_t l = 0; l < levels.size() && l < shown_path_levels; ++l) {
    if (levels[l].array) {
      path += '[' + std::to_string(levels[l].index) + ']';
      continue;
    }
    std::string_view key = levels[l].key;
    bool cut = key.size() > shown_key_bytes;
    if (cut) {
      key = key.substr(0, shown_key_bytes);
      // Never end in the middle of a character.
      while (!key.empty() && (static_cast<unsigned char>(key.back()) & 0xC0) == 0x80)
        key.remove_suffix(1);
      if (!key.empty() && static_cast<unsigned char>(key.back()) >= 0xC0) key.remove_suffix(1);
    }
    if (!path.empty()) path += '.';
    path += printable(key);
    if (cut) path += "…";
  }
  if (levels.size() > shown_path_levels) path += "…";
  return path;
}

/// Passes a parse's events on to `Handler` (a RapidJSON handler: a Document, a builder) and stops
/// the parse where it would nest deeper than `max_depth` levels, or where a string decodes to
/// text that is not UTF-8: the text itself is checked first, but RapidJSON 1.1 decodes the
/// escape of a lone low surrogate ("\udc00") to the three bytes of a code point that is not a
/// character.
template <class Handler>
class JsonChecks {
 public:
  JsonChecks(Handler& handler, std::size_t max_depth) : h_(handler), max_depth_(max_depth) {}

  bool Null() { return h_.Null(); }
  bool Bool(bool b) { return h_.Bool(b); }
  bool Int(int i) { return h_.Int(i); }
  bool Uint(unsigned i) { return h_.Uint(i); }
  bool Int64(std::int64_t i) { return h_.Int64(i); }
  bool Uint64(std::uint64_t i) { return h_.Uint64(i); }
  bool Double(double x) { return h_.Double(x); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool copy) {
    return h_.RawNumber(s, n, copy);
  }
  bool String(const char* s, rapidjson::SizeType n, bool copy) {
    return is_text(s, n) && h_.String(s, n, copy);
  }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) {
    return is_text(s, n) && h_.Key(s, n, copy);
  }
  bool StartObject() { return enter() && h_.StartObject(); }
  bool EndObject(rapidjson::SizeType n) {
    --depth_;
    return h_.EndObject(n);
  }
  bool StartArray() { return enter() && h_.StartArray(); }
  bool EndArray(rapidjson::SizeType n) {
    --depth_;
    return h_.EndArray(n);
  }

  /// Whether the parse stopped because the nesting went too deep, or at a string that is not
  /// text.
  bool too_deep() const { return too_deep_; }
  bool not_text() const { return not_text_; }

 private:
  bool enter() {
    too_deep_ = ++depth_ > max_depth_;
    return !too_deep_;
  }

  // Surrogates encode as ED A0..BF xx, so only a string holding 0xED needs the full check.
  bool is_text(const char* s, rapidjson::SizeType n) {
    if (!std::memchr(s, 0xED, n)) return true;
    not_text_ = invalid_utf8_at(std::string_view(s, n)) != std::string_view::npos;
    return !not_text_;
  }

  Handler& h_;
  std::size_t max_depth_;
  std::size_t depth_ = 0;
  bool too_deep_ = false;
  bool not_text_ = false;
};

/// Passes a parse's events on to `Handler`, turning the text of each number (the parse runs with
/// kParseNumbersAsStringsFlag) into the Int64, Uint64 or Double event RapidJSON would give, but
/// converted with std::from_chars: correctly rounded, where RapidJSON 1.1's normal precision is
/// off in the last digits (123456789.12345678901) and its full precision reads a number whose
/// digits are all zeros wrongly (0e57 as 1.01e31: undefined behaviour in its DiyFp). A number
/// too large for a double is refused, one too small reads as zero, as RapidJSON does.
template <class Handler>
class JsonNumbers {
 public:
  explicit JsonNumbers(Handler& handler) : h_(handler) {}

  bool Null() { return h_.Null(); }
  bool Bool(bool b) { return h_.Bool(b); }
  bool Int(int i) { return h_.Int(i); }
  bool Uint(unsigned i) { return h_.Uint(i); }
  bool Int64(std::int64_t i) { return h_.Int64(i); }
  bool Uint64(std::uint64_t i) { return h_.Uint64(i); }
  bool Double(double x) { return h_.Double(x); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
    const std::string_view text(s, n);
    const char* end = s + n;
    if (text.find_first_of(".eE") == std::string_view::npos) {
      std::int64_t i = 0;
      if (auto r = std::from_chars(s, end, i); r.ec == std::errc() && r.ptr == end)
        return h_.Int64(i);
      std::uint64_t u = 0;
      if (auto r = std::from_chars(s, end, u); r.ec == std::errc() && r.ptr == end)
        return h_.Uint64(u);
    }
    double x = 0;
    auto r = std::from_chars(s, end, x);
    if (r.ec == std::errc::result_out_of_range) {
      if (decimal_magnitude(text) > 0)
        throw format::FormatError("",
                                  "invalid JSON: the number " + std::string(text.substr(0, 40)) +
                                      (text.size() > 40 ? "…" : "") + " is too big for a double");
      x = text.front() == '-' ? -0.0 : 0.0;
    }
    return h_.Double(x);
  }
  bool String(const char* s, rapidjson::SizeType n, bool copy) { return h_.String(s, n, copy); }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) { return h_.Key(s, n, copy); }
  bool StartObject() { return h_.StartObject(); }
  bool EndObject(rapidjson::SizeType n) { return h_.EndObject(n); }
  bool StartArray() { return h_.StartArray(); }
  bool EndArray(rapidjson::SizeType n) { return h_.EndArray(n); }

 private:
  /// Roughly the power of ten of a number out of a double's range: above zero it is too big,
  /// below too small (the digits before the point, less the zeros after it, plus the exponent).
  static long long decimal_magnitude(std::string_view text) {
    long long magnitude = 0;
    std::size_t i = text.front() == '-' ? 1 : 0;
    bool leading = true, after_point = false;
    for (; i < text.size() && text[i] != 'e' && text[i] != 'E'; ++i) {
      if (text[i] == '.') {
        after_point = true;
      } else if (leading && text[i] == '0') {
        if (after_point) --magnitude;
      } else {
        leading = false;
        if (!after_point) ++magnitude;
      }
    }
    if (i + 1 < text.size()) {
      long long exponent = 0;
      const char* from = text.data() + i + 1 + (text[i + 1] == '+' ? 1 : 0);
      auto r = std::from_chars(from, text.data() + text.size(), exponent);
      // Far beyond any double either way, and small enough to add to the digits' count.
      constexpr long long far = 1LL << 40;
      if (r.ec == std::errc::result_out_of_range) exponent = text[i + 1] == '-' ? -far : far;
      magnitude += std::clamp(exponent, -far, far);
    }
    return magnitude;
  }

  Handler& h_;
};

/// Parses `text` into `handler` with RapidJSON's reader and `flags`. Throws FormatError for a
/// byte that is not UTF-8 (before any event reaches the handler), an escape that is no character,
/// a syntax error, or a value nested more than `max_depth` levels deep (named by its path; the
/// root is level 1).
template <unsigned flags, class Handler>
void read_json_events(std::string_view text, Handler& handler, std::size_t max_depth) {
  if (std::size_t bad = invalid_utf8_at(text); bad != std::string_view::npos)
    throw format::FormatError("", "invalid UTF-8 at " + line_and_column(text, bad));
  JsonChecks<Handler> checked(handler, max_depth);
  rapidjson::Reader reader;
  rapidjson::MemoryStream stream(text.data(), text.size());
  if (reader.Parse<flags>(stream, checked)) return;
  if (checked.not_text())
    // The reader stopped just after the closing quote of the string.
    throw format::FormatError("", "invalid JSON at " +
                                      line_and_column(text, reader.GetErrorOffset()) +
                                      ": a \\u escape of a lone surrogate, which is no character");
  if (checked.too_deep())
    // The reader stopped just after the opening bracket of the value that went too deep.
    throw format::FormatError(json_path_at(text, reader.GetErrorOffset() - 1),
                              "nested more than " + std::to_string(max_depth) + " levels deep");
  throw format::FormatError("", "invalid JSON at " +
                                    line_and_column(text, reader.GetErrorOffset()) + ": " +
                                    rapidjson::GetParseError_En(reader.GetParseErrorCode()));
}

/// Parses `text` into `document`, as read_json_events() does, each number converted exactly
/// (JsonNumbers).
inline void read_json_document(std::string_view text, rapidjson::Document& document,
                               std::size_t max_depth) {
  auto generate = [&](rapidjson::Document& target) {
    JsonNumbers<rapidjson::Document> numbers(target);
    read_json_events<rapidjson::kParseNumbersAsStringsFlag>(text, numbers, max_depth);
    return true;
  };
  document.Populate(generate);
}

}  // namespace stepline::input
