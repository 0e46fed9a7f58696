#include "stepline/host/endpoints/contract_router.hpp"

#include "stepline/host/endpoints/endpoint_message.hpp"

namespace stepline::host::endpoints {

ContractRouter::ContractRouter(EndpointPoster* amqp, EndpointPoster* webhook)
    : amqp_(amqp), webhook_(webhook) {}

std::future<amqp::Outcome> ContractRouter::post(const registration::ServiceEndpoint& endpoint,
                                                const ExecutionContext& context,
                                                const PostOptions& options) {
  const bool http = endpoint.contract == registration::Contract::webhook;
  if (EndpointPoster* poster = http ? webhook_ : amqp_)
    return poster->post(endpoint, context, options);
  std::promise<amqp::Outcome> refused;
  refused.set_value(amqp::Outcome::failure(
      amqp::local_condition::configuration,
      describe(endpoint) + ": this host started no " + (http ? "HTTP client" : "AMQP backend") +
          " (the registration it was started with had no such endpoint); restart it"));
  return refused.get_future();
}

}  // namespace stepline::host::endpoints
