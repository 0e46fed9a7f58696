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

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
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
    path += key;
    if (cut) path += "…";
  }
  if (levels.size() > shown_path_levels) path += "…";
  return path;
}

/// Passes a parse's events on to `Handler` (a RapidJSON handler: a Document, a builder) and stops
/// the parse where it would nest deeper than `max_depth` levels.
template <class Handler>
class JsonDepthLimit {
 public:
  JsonDepthLimit(Handler& handler, std::size_t max_depth) : h_(handler), max_depth_(max_depth) {}

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
  bool String(const char* s, rapidjson::SizeType n, bool copy) { return h_.String(s, n, copy); }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) { return h_.Key(s, n, copy); }
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

  /// Whether the parse stopped because the nesting went too deep.
  bool too_deep() const { return too_deep_; }

 private:
  bool enter() {
    too_deep_ = ++depth_ > max_depth_;
    return !too_deep_;
  }

  Handler& h_;
  std::size_t max_depth_;
  std::size_t depth_ = 0;
  bool too_deep_ = false;
};

/// Parses `text` into `handler` with RapidJSON's reader and `flags`. Throws FormatError for a
/// byte that is not UTF-8 (before any event reaches the handler), a syntax error, or a value
/// nested more than `max_depth` levels deep (named by its path; the root is level 1).
template <unsigned flags, class Handler>
void read_json_events(std::string_view text, Handler& handler, std::size_t max_depth) {
  if (std::size_t bad = invalid_utf8_at(text); bad != std::string_view::npos)
    throw format::FormatError("", "invalid UTF-8 at " + line_and_column(text, bad));
  JsonDepthLimit<Handler> limited(handler, max_depth);
  rapidjson::Reader reader;
  rapidjson::MemoryStream stream(text.data(), text.size());
  if (reader.Parse<flags>(stream, limited)) return;
  if (limited.too_deep())
    // The reader stopped just after the opening bracket of the value that went too deep.
    throw format::FormatError(json_path_at(text, reader.GetErrorOffset() - 1),
                              "nested more than " + std::to_string(max_depth) + " levels deep");
  throw format::FormatError("", "invalid JSON at " +
                                    line_and_column(text, reader.GetErrorOffset()) + ": " +
                                    rapidjson::GetParseError_En(reader.GetParseErrorCode()));
}

/// Parses `text` into `document`, as read_json_events() does.
template <unsigned flags = rapidjson::kParseDefaultFlags>
void read_json_document(std::string_view text, rapidjson::Document& document,
                        std::size_t max_depth) {
  auto generate = [&](rapidjson::Document& target) {
    read_json_events<flags>(text, target, max_depth);
    return true;
  };
  document.Populate(generate);
}

}  // namespace stepline::input
