// The RapidJSON-level pieces of the `json` format, shared by the formats that embed it
// (cloudevents carries the json context as its data). Private to the SDK: RapidJSON types never
// appear in public headers.
#pragma once

#include <cstring>
#include <string_view>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <stepline/entity.hpp>
#include <stepline/execution_context.hpp>

#include "path.hpp"

namespace stepline::format::detail {

/// RapidJSON's writer, and a string written whole when it needs no escape (names, ids, dates and
/// most text), rather than character by character through the escape table.
class JsonWriter : public rapidjson::Writer<rapidjson::StringBuffer> {
 public:
  using Writer::Writer;

  /// The string as String() (or Key(), where an object expects a key) writes it.
  bool Text(std::string_view s) {
    const auto n = static_cast<rapidjson::SizeType>(s.size());
    for (unsigned char c : s)
      if (c < 0x20 || c == '"' || c == '\\') return String(s.data(), n);
    Prefix(rapidjson::kStringType);
    char* out = os_->Push(s.size() + 2);
    out[0] = '"';
    if (!s.empty()) std::memcpy(out + 1, s.data(), s.size());
    out[s.size() + 1] = '"';
    return EndValue(true);
  }
};

/// Parses `text` into `document`; a syntax error throws FormatError naming line and column.
void parse_json(std::string_view text, rapidjson::Document& document);

/// Short description of a JSON node's type for error messages ("a string", "an array").
const char* describe(const rapidjson::Value& node);

void write_json_value(JsonWriter& w, const Value& value);
void write_json_entity(JsonWriter& w, const Entity& entity, bool with_type);
void write_json_parameters(JsonWriter& w, const ParameterCollection& parameters);
void write_json_context(JsonWriter& w, const ExecutionContext& context);

Value read_json_value(const rapidjson::Value& node, const Path& path);
Entity read_json_entity(const rapidjson::Value& node, const Path& path);
ParameterCollection read_json_parameters(const rapidjson::Value& node, const Path& path);
ExecutionContext read_json_context(const rapidjson::Value& node, const Path& path);

}  // namespace stepline::format::detail
