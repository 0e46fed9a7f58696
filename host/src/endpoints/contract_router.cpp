#include "stepline/host/endpoints/contract_router.hpp"

#include "stepline/host/endpoints/endpoint_message.hpp"

namespace stepline::host::endpoints {

ContractRouter::ContractRouter(EndpointPoster* amqp, EndpointPoster* webhook)
    : amqp_(amqp), webhook_(webhook) {}

namespace {

amqp::Outcome no_transport(const registration::ServiceEndpoint& endpoint, bool http) {
  return amqp::Outcome::failure(
      amqp::local_condition::configuration,
      describe(endpoint) + ": this host started no " + (http ? "HTTP client" : "AMQP backend") +
          " (the registration it was started with had no such endpoint); restart it");
}

}  // namespace

std::future<amqp::Outcome> ContractRouter::post(const registration::ServiceEndpoint& endpoint,
                                                const ExecutionContext& context,
                                                const PostOptions& options) {
  const bool http = endpoint.contract == registration::Contract::webhook;
  if (EndpointPoster* poster = http ? webhook_ : amqp_)
    return poster->post(endpoint, context, options);
  return ready(no_transport(endpoint, http));
}

bool ContractRouter::post_then(const registration::ServiceEndpoint& endpoint,
                               const ExecutionContext& context, const PostOptions& options,
                               Completion done) {
  const bool http = endpoint.contract == registration::Contract::webhook;
  if (EndpointPoster* poster = http ? webhook_ : amqp_)
    return poster->post_then(endpoint, context, options, std::move(done));
  done(no_transport(endpoint, http));
  return true;
}

}  // namespace stepline::host::endpoints
