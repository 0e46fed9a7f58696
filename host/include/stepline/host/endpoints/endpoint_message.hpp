// The AMQP message that carries an execution context to a service endpoint: the body in the
// endpoint's format, the claim properties its user_claim allows, ids and subject, the Event Hubs
// partition key or Service Bus session, and the endpoint's size policy applied. Separate from the
// poster so that the exact shape can be checked without a broker (docs/ENDPOINTS.md).
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

#include <proton/message.hpp>

#include <stepline/execution_context.hpp>
#include <stepline/format/claim_check.hpp>
#include <stepline/format/format.hpp>
#include <stepline/host/amqp/backend.hpp>
#include <stepline/host/endpoints/endpoint_poster.hpp>
#include <stepline/registration/model.hpp>

namespace stepline::host::endpoints {

/// Service Bus (queue, topic, two-way) limit when the endpoint sets none: 256 KiB.
inline constexpr std::size_t service_bus_max_message_size = 256 * 1024;
/// Event Hubs limit when the endpoint sets none: 1 MiB.
inline constexpr std::size_t event_hubs_max_message_size = 1024 * 1024;

/// The endpoint's max_message_size, else the contract's default.
std::size_t max_message_size(const registration::ServiceEndpoint& endpoint);

/// The size policy refused a context: permanent, retrying cannot help. what() names the
/// endpoint, its file:line, the record and both sizes, and says what to change.
class MessageTooLarge : public std::runtime_error {
 public:
  MessageTooLarge(const std::string& message, std::size_t size, std::size_t limit)
      : std::runtime_error(message), size_(size), limit_(limit) {}
  std::size_t size() const noexcept { return size_; }
  std::size_t limit() const noexcept { return limit_; }

 private:
  std::size_t size_, limit_;
};

/// The message for a context in its AMQP encoding, as the poster sends it.
struct EncodedEndpointMessage {
  amqp::EncodedMessage message;
  bool truncated = false;  ///< ParentContext, InputParameters and images were dropped
  /// size_policy claim-check and over the limit: the body to upload (the message still holds
  /// it); claim_check_message() then gives the message to send instead.
  std::string oversized_body;

  std::size_t size() const { return message.bytes.size(); }
};

/// Encodes the message for `context` (docs/ENDPOINTS.md lists every section it sets); a context
/// over the limit of a claim-check endpoint leaves EncodedEndpointMessage::oversized_body set.
/// Throws MessageTooLarge when the size policy refuses it and std::invalid_argument when the
/// endpoint's partition_key template names an unknown placeholder.
EncodedEndpointMessage encode_message(const registration::ServiceEndpoint& endpoint,
                                      const ExecutionContext& context,
                                      const PostOptions& options = {});

/// The message of encode_message() with the claim check of the uploaded body in place of the
/// body (a JSON data section of type application/vnd.stepline.claim-check+json) and the
/// stepline.claim_check property (the blob's URL); every other property stays.
EncodedEndpointMessage claim_check_message(const registration::ServiceEndpoint& endpoint,
                                           const ExecutionContext& context,
                                           const format::ClaimCheck& reference,
                                           const PostOptions& options = {});

/// encode_message()'s message decoded, for those who read it rather than send it.
struct EndpointMessage {
  proton::message message;
  std::size_t size = 0;    ///< encoded size in bytes
  bool truncated = false;  ///< ParentContext, InputParameters and images were dropped
  std::string oversized_body;
};

/// encode_message(), decoded; throws as it does.
EndpointMessage compose_message(const registration::ServiceEndpoint& endpoint,
                                const ExecutionContext& context, const PostOptions& options = {});

/// The Event Hubs partition key of a hub-level post: options.ordering_key, else the endpoint's
/// partition_key with its placeholders filled in ({primary_entity_id}, {primary_entity_name},
/// {message_name}, {correlation_id}, {user_id}, {initiating_user_id}, {organization_id},
/// {business_unit_id}), else the primary entity id; empty when there is no record (the hub
/// then spreads events). Throws std::invalid_argument for an unknown placeholder.
std::string partition_key(const registration::ServiceEndpoint& endpoint,
                          const ExecutionContext& context, const PostOptions& options = {});

/// What is wrong with the endpoint's partition_key template (an unknown or unclosed
/// placeholder), naming the endpoint and its file:line; empty when it is usable.
std::string partition_key_problem(const registration::ServiceEndpoint& endpoint);

/// True when the endpoint posts to one fixed event hub partition ("hub/Partitions/<id>").
bool posts_to_partition(const registration::ServiceEndpoint& endpoint);

/// "endpoint 'name' (file:line)", the way every endpoint error starts.
std::string describe(const registration::ServiceEndpoint& endpoint);
/// "Update of account <id>": the operation and record a post was about, for errors.
std::string describe(const ExecutionContext& context);

}  // namespace stepline::host::endpoints
