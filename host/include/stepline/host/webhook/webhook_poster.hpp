// The EndpointPoster of `contract: webhook` endpoints: composes the POST (webhook_request.hpp),
// uploads a claim-checked body first when the endpoint says so, sends it through the host's HTTP
// client and turns the response into an outcome: a 2xx is accepted, 408, 429, 5xx and network
// trouble are transient (with the receiver's Retry-After), other statuses permanent.
#pragma once

#include <future>

#include <stepline/host/claim_check/blob_store.hpp>
#include <stepline/host/endpoints/endpoint_poster.hpp>
#include <stepline/host/http_client/client.hpp>
#include <stepline/host/metrics/observer.hpp>

namespace stepline::host::webhook {

class WebhookPoster final : public endpoints::EndpointPoster {
 public:
  /// Posts through `client`; tells `observer` (when given) of every post's outcome and how long
  /// it took; uploads the bodies of claim-check endpoints through `claims` (none may be
  /// registered without it). All must outlive the poster.
  explicit WebhookPoster(http_client::Client& client, metrics::Observer* observer = nullptr,
                         claim_check::BlobStore* claims = nullptr);

  /// Completes with accepted (the reply is the response body) or a classified failure; a
  /// context the size policy refuses, or a claim-checked body that cannot be uploaded, completes
  /// at once. The upload of a claim-checked body runs on the calling thread.
  std::future<amqp::Outcome> post(const registration::ServiceEndpoint& endpoint,
                                  const ExecutionContext& context,
                                  const endpoints::PostOptions& options = {}) override;

 private:
  http_client::Client& client_;
  metrics::Observer* observer_;
  claim_check::BlobStore* claims_;
};

}  // namespace stepline::host::webhook
