#include "stepline/host/webhook/webhook_poster.hpp"

#include <stepline/azure/conditions.hpp>
#include <stepline/host/endpoints/endpoint_message.hpp>
#include <stepline/host/webhook/webhook_request.hpp>

namespace stepline::host::webhook {
WebhookPoster::WebhookPoster(http_client::Client& client, metrics::Observer* observer,
                             claim_check::BlobStore* claims)
    : client_(client), observer_(observer), claims_(claims) {}

std::future<amqp::Outcome> WebhookPoster::post(const registration::ServiceEndpoint& endpoint,
                                               const ExecutionContext& context,
                                               const endpoints::PostOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  auto finished = [this, &endpoint, started](amqp::Outcome outcome) {
    if (observer_)
      observer_->post_finished(endpoint.name, outcome, std::chrono::steady_clock::now() - started);
    return endpoints::ready(std::move(outcome));
  };
  WebhookRequest request;
  try {
    request = compose_request(endpoint, context, options);
  } catch (const endpoints::MessageTooLarge& e) {
    return finished(amqp::Outcome::failure(azure::condition::message_size_exceeded, e.what()));
  } catch (const std::invalid_argument& e) {
    return finished(amqp::Outcome::failure(amqp::local_condition::configuration, e.what()));
  } catch (const std::exception& e) {
    return finished(amqp::Outcome::failure(
        amqp::local_condition::configuration,
        endpoints::describe(endpoint) + ": cannot write the context of " +
            endpoints::describe(context) + " in " +
            endpoint.format + ": " + e.what()));
  }

  std::optional<format::ClaimCheck> reference;
  if (!request.oversized_body.empty()) {
    if (!claims_ || !endpoint.claim_check)
      return finished(
          amqp::Outcome::failure(amqp::local_condition::configuration,
                                 endpoints::describe(endpoint) + " has no claim_check block"));
    auto upload = claims_->put(*endpoint.claim_check, claim_check::blob_name(endpoint, context),
                               request.oversized_body, format::format_named(endpoint.format),
                               endpoint.timeout);
    if (!upload.reference)
      return finished(amqp::Outcome::failure(amqp::local_condition::claim_check,
                                             endpoints::describe(endpoint) + ": " + upload.error));
    reference = std::move(upload.reference);
    request = compose_request(endpoint, context, options, &*reference);
  }

  auto promise = std::make_shared<std::promise<amqp::Outcome>>();
  auto future = promise->get_future();
  // The registration may be reloaded while the post is out: keep what the outcome needs.
  std::optional<registration::ClaimCheck> deletion;
  if (reference &&
      endpoint.claim_check->deletion == registration::ClaimCheckDeletion::after_confirm)
    deletion = *endpoint.claim_check;
  client_.send(
      std::move(request.request), [promise, where = outcome_context(endpoint), claims = claims_,
                                   deletion = std::move(deletion), reference, observer = observer_,
                                   name = endpoint.name, started](http_client::Response response) {
        amqp::Outcome outcome = outcome_of(where, response);
        if (observer)
          observer->post_finished(name, outcome, std::chrono::steady_clock::now() - started);
        // The receiver's 2xx is its confirmation: the blob has served its purpose.
        if (outcome.ok() && deletion) claims->remove(*deletion, *reference);
        promise->set_value(std::move(outcome));
      });
  return future;
}

}  // namespace stepline::host::webhook
