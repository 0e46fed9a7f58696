#include "stepline/host/endpoints/amqp_endpoint_poster.hpp"

#include <chrono>
#include <memory>
#include <stdexcept>
#include <utility>

#include <stepline/azure/conditions.hpp>

#include "stepline/host/endpoints/endpoint_message.hpp"

namespace stepline::host::endpoints {
amqp::Target target_of(const registration::ServiceEndpoint& endpoint) {
  using registration::AuthMechanism;
  return {.name = endpoint.name,
          .connection = endpoint.connection,
          .entity = endpoint.path,
          .auth = endpoint.auth == AuthMechanism::plain ? amqp::Auth::plain : amqp::Auth::cbs,
          .awaits_reply = endpoint.contract == registration::Contract::twoway,
          .reply_to = endpoint.reply_to,
          .timeout = endpoint.timeout};
}

AmqpEndpointPoster::AmqpEndpointPoster(amqp::Backend& backend, metrics::Observer* observer,
                                       claim_check::BlobStore* claims)
    : backend_(backend), observer_(observer), claims_(claims) {}

std::shared_ptr<const amqp::Target> AmqpEndpointPoster::target_for(
    const registration::ServiceEndpoint& endpoint) {
  std::lock_guard lock(mutex_);
  auto it = targets_.find(endpoint.name);
  if (it != targets_.end() && it->second.endpoint == endpoint) return it->second.target;
  auto target = std::make_shared<const amqp::Target>(target_of(endpoint));
  targets_.insert_or_assign(endpoint.name, Built{endpoint, target});
  return target;
}

std::future<amqp::Outcome> AmqpEndpointPoster::post(const registration::ServiceEndpoint& endpoint,
                                                    const ExecutionContext& context,
                                                    const PostOptions& options) {
  auto promise = std::make_shared<std::promise<amqp::Outcome>>();
  auto future = promise->get_future();
  post_then(endpoint, context, options,
            [promise](const amqp::Outcome& outcome) { promise->set_value(outcome); });
  return future;
}

bool AmqpEndpointPoster::post_then(const registration::ServiceEndpoint& endpoint,
                                   const ExecutionContext& context, const PostOptions& options,
                                   Completion done) {
  const auto started = std::chrono::steady_clock::now();
  auto finished = [this, &endpoint, started, &done](amqp::Outcome outcome) {
    if (observer_)
      observer_->post_finished(endpoint.name, outcome, std::chrono::steady_clock::now() - started);
    done(outcome);
    return true;
  };
  std::shared_ptr<const amqp::Target> target;
  EncodedEndpointMessage composed;
  try {
    target = target_for(endpoint);
    composed = encode_message(endpoint, context, options);
  } catch (const MessageTooLarge& e) {
    return finished(amqp::Outcome::failure(azure::condition::message_size_exceeded, e.what()));
  } catch (const std::invalid_argument& e) {
    return finished(amqp::Outcome::failure(amqp::local_condition::configuration, e.what()));
  } catch (const std::exception& e) {
    // A value the format cannot write: no retry makes it writable.
    return finished(amqp::Outcome::failure(amqp::local_condition::configuration,
                                           describe(endpoint) + ": cannot write the context of " +
                                               describe(context) + " in " + endpoint.format + ": " +
                                               e.what()));
  }
  // The blob of a two-way post that the reply confirms, to delete then.
  std::optional<std::pair<registration::ClaimCheck, format::ClaimCheck>> confirmed;
  if (!composed.oversized_body.empty()) {
    if (!claims_ || !endpoint.claim_check)
      return finished(amqp::Outcome::failure(amqp::local_condition::configuration,
                                             describe(endpoint) + " has no claim_check block"));
    auto upload = claims_->put(*endpoint.claim_check, claim_check::blob_name(endpoint, context),
                               composed.oversized_body, format::format_named(endpoint.format),
                               endpoint.timeout);
    if (!upload.reference)
      return finished(amqp::Outcome::failure(amqp::local_condition::claim_check,
                                             describe(endpoint) + ": " + upload.error));
    format::ClaimCheck reference = std::move(*upload.reference);
    const bool deletes =
        endpoint.claim_check->deletion == registration::ClaimCheckDeletion::after_confirm;
    // A queue's listener confirms by completing the message, and deletes the blob itself; a
    // two-way reply confirms to the host.
    reference.delete_after_read = deletes && endpoint.contract == registration::Contract::queue;
    try {
      composed = claim_check_message(endpoint, context, reference, options);
    } catch (const std::exception& e) {
      return finished(amqp::Outcome::failure(amqp::local_condition::configuration,
                                             describe(endpoint) + ": " + e.what()));
    }
    if (deletes && endpoint.contract == registration::Contract::twoway)
      confirmed.emplace(*endpoint.claim_check, std::move(reference));
  }
  if (!observer_ && !confirmed) {
    backend_.post(*target, std::move(composed.message), std::move(done));
    return true;
  }
  // The outcome is seen on the AMQP thread as it arrives.
  backend_.post(*target, std::move(composed.message),
                [observer = observer_, name = endpoint.name, started, done = std::move(done),
                 claims = claims_, confirmed = std::move(confirmed)](const amqp::Outcome& outcome) {
                  if (observer)
                    observer->post_finished(name, outcome,
                                            std::chrono::steady_clock::now() - started);
                  if (outcome.ok() && confirmed)
                    claims->remove(confirmed->first, confirmed->second);
                  done(outcome);
                });
  return true;
}

}  // namespace stepline::host::endpoints
