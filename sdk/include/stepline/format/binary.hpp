// The `binary` format: the context as an AMQP 1.0 map (string keys, AMQP-typed values: uuid,
// timestamp, long, …), the body any AMQP client decodes with its own codec. Part of the
// stepline_sdk_amqp library (link Stepline::sdk_amqp), which also dispatches every format.
#pragma once

#include <string>
#include <string_view>

#include <proton/value.hpp>

#include <stepline/api.hpp>
#include <stepline/execution_context.hpp>
#include <stepline/format/format.hpp>

namespace stepline::format {

namespace binary {

/// The map to send as an AmqpValue body (message::body()); docs/FORMATS.md has the mapping.
STEPLINE_API proton::value to_amqp_value(const ExecutionContext& context);
/// Throws FormatError naming the path of the offending map entry.
STEPLINE_API ExecutionContext from_amqp_value(const proton::value& body);

/// The AMQP encoding of to_amqp_value(), for a Data section or storage.
STEPLINE_API std::string write_context(const ExecutionContext& context);
STEPLINE_API ExecutionContext read_context(std::string_view bytes);

}  // namespace binary

/// format::serialize(), plus Format::binary.
STEPLINE_API std::string serialize_any_format(const ExecutionContext& context, Format format);
/// format::parse(), plus Format::binary.
STEPLINE_API ExecutionContext parse_any_format(std::string_view body, Format format);

}  // namespace stepline::format
