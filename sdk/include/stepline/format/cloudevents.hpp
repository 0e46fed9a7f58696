// The `cloudevents` format: a CloudEvents 1.0 event in structured JSON mode whose data is the
// `json` form of the context, for consumers that route on event type and source.
#pragma once

#include <string>
#include <string_view>

#include <stepline/api.hpp>
#include <stepline/execution_context.hpp>
#include <stepline/format/format_error.hpp>

namespace stepline::format::cloudevents {

/// The event: specversion "1.0", id = operation id, type = event_type(), source = event_source(),
/// subject = primary entity id, time = operation created-on, data = the json context.
STEPLINE_API std::string write_context(const ExecutionContext& context);
/// Checks the envelope and returns the context in `data`; errors name the path ("data.stage").
STEPLINE_API ExecutionContext read_context(std::string_view json);

/// "stepline.<message>.<entity>" in lower case, e.g. "stepline.update.account".
STEPLINE_API std::string event_type(const ExecutionContext& context);
/// "/organizations/<organization name>" (the organization id when the name is empty),
/// percent-encoded where a URI needs it.
STEPLINE_API std::string event_source(const ExecutionContext& context);

}  // namespace stepline::format::cloudevents
