// The `xml` format: the DataContract XML form of a RemoteExecutionContext (root element
// `RemoteExecutionContext` in http://schemas.microsoft.com/xrm/2011/Contracts, members in ordinal
// order, parameter collections as KeyValuePairOfstringanyType items, `i:type` on every value).
// Unlike dataverse-json it carries every value kind exactly.
#pragma once

#include <string>
#include <string_view>

#include <stepline/api.hpp>
#include <stepline/execution_context.hpp>
#include <stepline/format/format_error.hpp>

namespace stepline::format::xml {

STEPLINE_API std::string write_context(const ExecutionContext& context);
/// Elements are matched by local name, so any prefixes the sender chose work; unknown members
/// are skipped. Throws FormatError naming the element path.
STEPLINE_API ExecutionContext read_context(std::string_view xml);

}  // namespace stepline::format::xml
