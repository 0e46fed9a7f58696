// The HTTP POST that carries an execution context to a webhook, and what its response means:
// the body in the endpoint's format (Dataverse's RemoteExecutionContext JSON by default),
// Dataverse's x-ms-dynamics-* headers, a W3C traceparent, Standard Webhooks' webhook-id and
// webhook-timestamp (and webhook-signature when the endpoint has a signing secret), the auth
// headers or query, and the endpoint's size policy applied. Separate from the poster so that the
// exact request can be checked without a receiver (docs/ENDPOINTS.md lists every header).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include <stepline/execution_context.hpp>
#include <stepline/format/claim_check.hpp>
#include <stepline/host/amqp/outcome.hpp>
#include <stepline/host/endpoints/endpoint_poster.hpp>
#include <stepline/host/http_client/client.hpp>
#include <stepline/registration/model.hpp>

namespace stepline::host::webhook {

/// Header names Stepline writes on every webhook post.
namespace header {
inline constexpr std::string_view organization = "x-ms-dynamics-organization";
inline constexpr std::string_view entity_name = "x-ms-dynamics-entity-name";
inline constexpr std::string_view request_name = "x-ms-dynamics-request-name";
inline constexpr std::string_view correlation_id = "x-ms-correlation-request-id";
/// "true" on a body cut to fit (ParentContext, InputParameters and images removed).
inline constexpr std::string_view size_exceeded = "x-ms-dynamics-msg-size-exceeded";
inline constexpr std::string_view traceparent = "traceparent";
/// Standard Webhooks: the message id (the system job id for async steps: stable across
/// retries), the send time in Unix seconds, and "v1,<base64 HMAC-SHA256>".
inline constexpr std::string_view id = "webhook-id";
inline constexpr std::string_view timestamp = "webhook-timestamp";
inline constexpr std::string_view signature = "webhook-signature";
/// The blob URL of a claim-checked body.
inline constexpr std::string_view claim_check = "x-stepline-claim-check";
}  // namespace header

struct WebhookRequest {
  http_client::Request request;  ///< holds the auth secrets: never logged
  bool truncated = false;        ///< the size policy removed ParentContext, inputs and images
  /// size_policy claim-check and over the limit: the body to upload; compose again with the
  /// reference to get the request to send.
  std::string oversized_body;
};

/// Builds the POST for `context`, or, with `reference`, the POST of that claim check in its
/// place. Throws endpoints::MessageTooLarge when the size policy refuses the context.
WebhookRequest compose_request(
    const registration::ServiceEndpoint& endpoint, const ExecutionContext& context,
    const endpoints::PostOptions& options = {}, const format::ClaimCheck* reference = nullptr,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

/// "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>", Standard Webhooks' signature, with the
/// key's bytes (Webhook::signing_key).
std::string sign(std::string_view key, std::string_view id, std::string_view timestamp,
                 std::string_view body);

/// What a response (or its absence) means for the post: accepted (the reply is the response
/// body) for 2xx; transient for 408, 429, 5xx and network trouble, with the Retry-After; 401 and
/// 403 permanent as unauthorized; other statuses permanent. The description names the endpoint,
/// the URL without its query and the response's own message.
amqp::Outcome outcome_of(const registration::ServiceEndpoint& endpoint,
                         const http_client::Response& response);
/// The same, with outcome_context(endpoint) kept from when the post was made.
amqp::Outcome outcome_of(const std::string& where, const http_client::Response& response);
/// "endpoint 'name' (file:line): POST <url without its query>", how outcomes start.
std::string outcome_context(const registration::ServiceEndpoint& endpoint);

/// The message a receiver gave with a refusal: "message" (or error.message, error, title and
/// detail) of a JSON body, else the text's first line; at most 500 characters, one line.
std::string response_message(const http_client::Response& response);

}  // namespace stepline::host::webhook
