// W3C Trace Context (traceparent) for operations that come in over HTTP: a caller's trace is
// continued with a span of this host's own, a request without one starts a trace, and the
// operation carries the result to every post it makes.
#pragma once

#include <string>
#include <string_view>

namespace stepline::host::http {

/// True for a traceparent the W3C format allows: "00-<32 hex>-<16 hex>-<2 hex>" (lower case, ids
/// not all zero; a later version may add fields after a dash).
bool valid_trace_parent(std::string_view text);

/// The traceparent of an operation that came in with `incoming` (the request's header, maybe
/// empty or malformed): the same trace id and flags with a new span id, or a new sampled trace.
std::string operation_trace_parent(std::string_view incoming);

}  // namespace stepline::host::http
