// The EndpointPoster the host hands to the pipeline and the async service: each post goes to the
// poster of its endpoint's contract, webhooks over HTTP and every other contract over AMQP, so
// that neither transport is started for a registration that does not use it.
#pragma once

#include <stepline/host/endpoints/endpoint_poster.hpp>

namespace stepline::host::endpoints {

class ContractRouter final : public EndpointPoster {
 public:
  /// Either poster may be null when no endpoint needs it; both must outlive the router.
  ContractRouter(EndpointPoster* amqp, EndpointPoster* webhook);

  /// A post for a transport this host did not start completes at once with a permanent
  /// configuration failure naming the endpoint.
  std::future<amqp::Outcome> post(const registration::ServiceEndpoint& endpoint,
                                  const ExecutionContext& context,
                                  const PostOptions& options = {}) override;
  /// post() with a callback when the endpoint's poster has it.
  bool post_then(const registration::ServiceEndpoint& endpoint, const ExecutionContext& context,
                 const PostOptions& options, Completion done) override;

 private:
  EndpointPoster* amqp_;
  EndpointPoster* webhook_;
};

}  // namespace stepline::host::endpoints
