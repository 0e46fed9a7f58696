// The EndpointPoster of the host: composes the message for a service endpoint
// (endpoint_message.hpp) and posts it through the AMQP backend. Every contract Stepline supports
// goes over AMQP: Service Bus queues and topics, Event Hubs, and two-way request/reply.
#pragma once

#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <stepline/host/amqp/backend.hpp>
#include <stepline/host/amqp/target.hpp>
#include <stepline/host/claim_check/blob_store.hpp>
#include <stepline/host/endpoints/endpoint_poster.hpp>
#include <stepline/host/metrics/observer.hpp>

namespace stepline::host::endpoints {

/// Where the AMQP backend posts for `endpoint`: its parsed connection, entity, login and, for a
/// two-way endpoint, the reply it waits for.
amqp::Target target_of(const registration::ServiceEndpoint& endpoint);

class AmqpEndpointPoster final : public EndpointPoster {
 public:
  /// Posts through `backend`; tells `observer` (when given) of every post's outcome and how
  /// long it took; uploads the bodies of claim-check endpoints through `claims` (none may be
  /// registered without it). All must outlive the poster.
  explicit AmqpEndpointPoster(amqp::Backend& backend, metrics::Observer* observer = nullptr,
                              claim_check::BlobStore* claims = nullptr);

  /// A context the size policy refuses, or an endpoint whose connection or partition_key
  /// cannot be used, completes at once with a permanent failure naming the endpoint and the
  /// record; nothing is sent then. A claim-checked body is uploaded on the calling thread first;
  /// a failed upload completes at once with a transient failure.
  std::future<amqp::Outcome> post(const registration::ServiceEndpoint& endpoint,
                                  const ExecutionContext& context,
                                  const PostOptions& options = {}) override;
  /// The same, completing through `done`; always true.
  bool post_then(const registration::ServiceEndpoint& endpoint, const ExecutionContext& context,
                 const PostOptions& options, Completion done) override;

 private:
  std::shared_ptr<const amqp::Target> target_for(const registration::ServiceEndpoint& endpoint);

  amqp::Backend& backend_;
  metrics::Observer* observer_;
  claim_check::BlobStore* claims_;
  std::mutex mutex_;
  struct Built {
    registration::ServiceEndpoint endpoint;
    std::shared_ptr<const amqp::Target> target;
  };
  /// Targets by endpoint name, built again when a reload changes the endpoint.
  std::map<std::string, Built, std::less<>> targets_;
};

}  // namespace stepline::host::endpoints
