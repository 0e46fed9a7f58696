// Stepline's own JSON form of values, entities, parameter collections and whole execution
// contexts: plain JSON where the JSON type says what a value is, `{"@type": …}` objects where it
// does not (see docs/FORMATS.md). Text in, text out, so callers need no JSON library.
#pragma once

#include <string>
#include <string_view>

#include <stepline/api.hpp>
#include <stepline/entity.hpp>
#include <stepline/execution_context.hpp>
#include <stepline/format/format_error.hpp>

namespace stepline::format::json {

/// One value: `42`, `"text"`, `{"@type":"money","value":"250000.00"}`.
STEPLINE_API std::string write_value(const Value& value);
/// Throws FormatError naming the path of the offending member.
STEPLINE_API Value read_value(std::string_view json);

/// An entity where an entity is expected (a request's target, an image): no "@type".
STEPLINE_API std::string write_entity(const Entity& entity);
/// Accepts the entity with or without `"@type":"entity"`.
STEPLINE_API Entity read_entity(std::string_view json);

/// A JSON object of name → value.
STEPLINE_API std::string write_parameters(const ParameterCollection& parameters);
STEPLINE_API ParameterCollection read_parameters(std::string_view json_object);

/// A whole context, camelCase keys, as docs/schema/execution-context.schema.json describes.
STEPLINE_API std::string write_context(const ExecutionContext& context);
STEPLINE_API ExecutionContext read_context(std::string_view json);

}  // namespace stepline::format::json
