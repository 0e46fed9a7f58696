#include "stepline/host/endpoints/amqp_endpoint_poster.hpp"

#include <chrono>
#include <memory>
#include <stdexcept>
#include <utility>

#include <stepline/azure/conditions.hpp>

#include "stepline/host/endpoints/endpoint_message.hpp"

namespace stepline::host::endpoints {
namespace {

std::future<amqp::Outcome> ready(amqp::Outcome outcome) {
  std::promise<amqp::Outcome> promise;
  promise.set_value(std::move(outcome));
  return promise.get_future();
}

// The fields Target::from_endpoint reads; a reload that changes none of them keeps the target.
bool same_addressing(const registration::ServiceEndpoint& a,
                     const registration::ServiceEndpoint& b) {
  return a.connection == b.connection && a.path == b.path && a.contract == b.contract &&
         a.auth == b.auth && a.reply_to == b.reply_to && a.timeout == b.timeout &&
         a.where.file == b.where.file && a.where.line == b.where.line;
}

}  // namespace

AmqpEndpointPoster::AmqpEndpointPoster(amqp::Backend& backend, metrics::Observer* observer)
    : backend_(backend), observer_(observer) {}

std::shared_ptr<const amqp::Target> AmqpEndpointPoster::target_for(
    const registration::ServiceEndpoint& endpoint) {
  std::lock_guard lock(mutex_);
  auto it = targets_.find(endpoint.name);
  if (it != targets_.end() && same_addressing(it->second.first, endpoint)) return it->second.second;
  auto target = std::make_shared<amqp::Target>(amqp::Target::from_endpoint(endpoint));
  // The message carries the partition key the poster chose; the backend must not add the
  // endpoint's template text when the poster chose none.
  target->partition_key.clear();
  targets_.insert_or_assign(endpoint.name, std::make_pair(endpoint, target));
  return target;
}

std::future<amqp::Outcome> AmqpEndpointPoster::post(const registration::ServiceEndpoint& endpoint,
                                                    const ExecutionContext& context,
                                                    const PostOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  auto finished = [this, &endpoint, started](amqp::Outcome outcome) {
    if (observer_)
      observer_->post_finished(endpoint.name, outcome, std::chrono::steady_clock::now() - started);
    return ready(std::move(outcome));
  };
  std::shared_ptr<const amqp::Target> target;
  EndpointMessage composed;
  try {
    target = target_for(endpoint);
    composed = compose_message(endpoint, context, options);
  } catch (const MessageTooLarge& e) {
    return finished(amqp::Outcome::failure(azure::condition::message_size_exceeded, e.what()));
  } catch (const std::invalid_argument& e) {
    return finished(amqp::Outcome::failure(amqp::local_condition::configuration, e.what()));
  } catch (const std::exception& e) {
    // A value the format cannot write: no retry makes it writable.
    return finished(amqp::Outcome::failure(
        amqp::local_condition::configuration,
        describe(endpoint) + ": cannot write the context of " + describe(context) + " in " +
            std::string(registration::to_string(endpoint.format)) + ": " + e.what()));
  }
  if (!observer_) return backend_.post(*target, std::move(composed.message));
  // The outcome is seen on the AMQP thread as it arrives.
  auto promise = std::make_shared<std::promise<amqp::Outcome>>();
  auto future = promise->get_future();
  backend_.post(
      *target, std::move(composed.message),
      [observer = observer_, name = endpoint.name, started, promise](const amqp::Outcome& outcome) {
        observer->post_finished(name, outcome, std::chrono::steady_clock::now() - started);
        promise->set_value(outcome);
      });
  return future;
}

}  // namespace stepline::host::endpoints
