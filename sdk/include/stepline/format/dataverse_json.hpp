// The `dataverse-json` format: the RemoteExecutionContext JSON that Dataverse posts to Azure
// (DataContractJsonSerializer conventions: PascalCase members in ordinal order, key/value arrays,
// "__type" hints, "\/Date(ms)\/" dates), so listeners written for Dataverse read Stepline's
// contexts unchanged. docs/FORMATS.md lists which value kinds this form cannot tell apart.
#pragma once

#include <string>
#include <string_view>

#include <stepline/api.hpp>
#include <stepline/execution_context.hpp>
#include <stepline/format/format_error.hpp>

namespace stepline::format::dataverse_json {

STEPLINE_API std::string write_context(const ExecutionContext& context);
/// Reads what write_context writes and what Dataverse posts; members it does not know are
/// ignored, as a DataContract reader does. Throws FormatError naming the path.
STEPLINE_API ExecutionContext read_context(std::string_view json);

/// One value as it appears in a parameter or attribute slot (with its "__type" when it has one).
STEPLINE_API std::string write_value(const Value& value);
STEPLINE_API Value read_value(std::string_view json);

}  // namespace stepline::format::dataverse_json
