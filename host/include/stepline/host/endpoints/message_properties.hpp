// The application properties a posted context carries, so that listeners and topic filters can
// route on them without reading the body: the claim names Dataverse puts on brokered messages
// (URIs, which need quoting in SQL filters and cannot travel as HTTP header names) and short
// token-safe twins with the same values for consumers that bridge messages to HTTP.
#pragma once

#include <string_view>

namespace stepline::host::endpoints {

/// Dataverse's claim properties.
namespace claim {
inline constexpr std::string_view organization =
    "http://schemas.microsoft.com/xrm/2011/Claims/Organization";
inline constexpr std::string_view user = "http://schemas.microsoft.com/xrm/2011/Claims/User";
inline constexpr std::string_view initiating_user =
    "http://schemas.microsoft.com/xrm/2011/Claims/InitiatingUser";
inline constexpr std::string_view entity_logical_name =
    "http://schemas.microsoft.com/xrm/2011/Claims/EntityLogicalName";
inline constexpr std::string_view request_name =
    "http://schemas.microsoft.com/xrm/2011/Claims/RequestName";
inline constexpr std::string_view initiating_user_agent =
    "http://schemas.microsoft.com/xrm/2011/Claims/InitiatingUserAgent";
}  // namespace claim

/// The same values under names that are valid HTTP header and SQL identifier tokens.
namespace twin {
inline constexpr std::string_view organization = "stepline.organization";
inline constexpr std::string_view user = "stepline.user";
inline constexpr std::string_view initiating_user = "stepline.initiating_user";
inline constexpr std::string_view entity = "stepline.entity";
inline constexpr std::string_view message = "stepline.message";
inline constexpr std::string_view initiating_user_agent = "stepline.initiating_user_agent";
}  // namespace twin

/// The operation's W3C trace context, when it has one (an operation that came in over HTTP).
namespace trace {
inline constexpr std::string_view diagnostic_id = "Diagnostic-Id";
inline constexpr std::string_view traceparent = "traceparent";
}  // namespace trace

/// Present (true) only on a context whose ParentContext, InputParameters and images were
/// removed to fit the endpoint's size limit; the listener re-reads the record instead.
inline constexpr std::string_view message_max_size_exceeded = "MessageMaxSizeExceeded";

}  // namespace stepline::host::endpoints
