// The `binary` format, and contexts as AMQP message bodies in any format. The `binary` format is
// the context as an AMQP 1.0 map (string keys, AMQP-typed values: uuid, timestamp, long, …), the
// body any AMQP client decodes with its own codec. Part of the stepline_sdk_amqp library (link
// Stepline::sdk_amqp), which registers the format when it is loaded; the functions below keep
// the library loaded wherever they are called, so a program that uses one of them always knows
// `binary`.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <proton/message.hpp>
#include <proton/value.hpp>

#include <stepline/api.hpp>
#include <stepline/execution_context.hpp>
#include <stepline/format/claim_check.hpp>
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

/// The registered `binary` format.
STEPLINE_API const Format& format();

}  // namespace binary

/// format::serialize(), with `binary` registered.
STEPLINE_API std::string serialize_any_format(const ExecutionContext& context,
                                              std::string_view format);
/// format::parse(), with `binary` registered. A claim check (stepline/format/claim_check.hpp)
/// throws FormatError naming its blob.
STEPLINE_API ExecutionContext parse_any_format(std::string_view body, std::string_view format);
/// The same, and a claim check is fetched from `source` (which checks its size and SHA-256) and
/// read in the format it names, so a listener reads large contexts as it reads small ones.
STEPLINE_API ExecutionContext parse_any_format(std::string_view body, std::string_view format,
                                               ClaimCheckSource& source);

/// Makes `context`, written in `format`, the body of `message`: the binary map as an amqp-value
/// section, any other format's bytes as one data section (what the Azure SDK receivers expect of
/// a JSON or XML body). The content type (format.content_type) is the caller's to set. Returns
/// the body's size in bytes, or 0 when it is only known once the message is encoded (binary).
STEPLINE_API std::size_t write_body(proton::message& message, const ExecutionContext& context,
                                    const Format& format);
/// The context in `message`'s body, written in `format`: a map section (binary), a data section
/// or a string. Throws FormatError as the format's reader does.
STEPLINE_API ExecutionContext read_body(const proton::message& message, const Format& format);

}  // namespace stepline::format
