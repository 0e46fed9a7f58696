// The one place the host names the codec for Stepline's `json` format (records' attribute
// documents, system-job contexts, requests and responses): the SDK's.
#pragma once

#include <stepline/format/format_error.hpp>
#include <stepline/format/json.hpp>

namespace stepline::host {
namespace codec = stepline::format::json;
using FormatError = stepline::format::FormatError;
}  // namespace stepline::host
