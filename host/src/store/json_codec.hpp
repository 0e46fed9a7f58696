// The one place the host turns values, entities and contexts into Stepline's `json` format text
// and back (docs: JSON-VALUES). The SDK's codec (stepline/format/json.hpp) will own this; until it
// is available these functions carry the same names and signatures, so switching is a matter of
// pointing the alias below at stepline::format::json.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include <stepline/entity.hpp>
#include <stepline/execution_context.hpp>

namespace stepline::host::interim_json {

/// A parse error; what() starts with the JSON path of the offending field.
class FormatError : public std::runtime_error {
 public:
  FormatError(std::string path, const std::string& problem)
      : std::runtime_error(path.empty() ? problem : path + ": " + problem),
        path_(std::move(path)) {}
  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

std::string write_value(const Value& value);
Value read_value(std::string_view json);
std::string write_entity(const Entity& entity);
Entity read_entity(std::string_view json);
std::string write_parameters(const ParameterCollection& parameters);
ParameterCollection read_parameters(std::string_view json_object);
std::string write_context(const ExecutionContext& context);

}  // namespace stepline::host::interim_json

namespace stepline::host {
namespace codec = interim_json;
using FormatError = interim_json::FormatError;
}  // namespace stepline::host
