// One entry point for every execution-context format: pick a Format by its registration name,
// serialize or parse a whole context, and label the body with its content type.
//
// serialize() and parse() here cover the text formats, which the SDK library carries itself.
// The AMQP-typed `binary` format needs Qpid Proton, so it lives in the separate
// stepline_sdk_amqp library (stepline/format/binary.hpp), whose serialize_any_format() and
// parse_any_format() take every format; a plug-in that never posts binary keeps depending on
// the standard library and fmt only.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <stepline/api.hpp>
#include <stepline/execution_context.hpp>
#include <stepline/format/format_error.hpp>

namespace stepline::format {

enum class Format { dataverse_json, json, xml, binary, cloudevents };

/// How many levels a context document may nest in any format; every reader refuses a deeper one
/// with a FormatError naming the path, so hostile input cannot exhaust the stack (docs/FORMATS.md).
/// A context nests a few levels of its own and one more per parent context, and the host gives a
/// nested operation's context two parents per level (the main operation's and the caller's): the
/// deepest context it builds, at host.max_depth 100, nests about 210 levels.
inline constexpr std::size_t max_nesting = 256;

/// "dataverse-json", "json", "xml", "binary", "cloudevents": the names registrations use.
STEPLINE_API std::string_view to_string(Format format) noexcept;
/// The Format of a registration name (exact, lower case); nullopt for anything else.
STEPLINE_API std::optional<Format> try_parse_format_name(std::string_view name) noexcept;
/// Like try_parse_format_name(), but throws std::invalid_argument listing the valid names.
STEPLINE_API Format parse_format_name(std::string_view name);

/// The body's content type: application/json (json, dataverse-json), application/xml,
/// application/cloudevents+json, application/x-amqp-map (binary; see docs/FORMATS.md).
STEPLINE_API std::string_view content_type(Format format) noexcept;

/// The context in a text format. Throws std::invalid_argument for Format::binary, naming
/// serialize_any_format() in stepline_sdk_amqp.
STEPLINE_API std::string serialize(const ExecutionContext& context, Format format);
/// Reads a body written in `format`; throws FormatError naming the offending field's path, and
/// std::invalid_argument for Format::binary as serialize() does.
STEPLINE_API ExecutionContext parse(std::string_view body, Format format);

}  // namespace stepline::format
