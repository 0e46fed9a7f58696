#include "stepline/host/endpoints/amqp_endpoint_poster.hpp"

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
  return a.connection_string == b.connection_string && a.path == b.path &&
         a.contract == b.contract && a.auth == b.auth && a.reply_to == b.reply_to &&
         a.timeout == b.timeout && a.where.file == b.where.file && a.where.line == b.where.line;
}

}  // namespace

AmqpEndpointPoster::AmqpEndpointPoster(amqp::Backend& backend) : backend_(backend) {}

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
  std::shared_ptr<const amqp::Target> target;
  EndpointMessage composed;
  try {
    target = target_for(endpoint);
    composed = compose_message(endpoint, context, options);
  } catch (const MessageTooLarge& e) {
    return ready(amqp::Outcome::failure(azure::condition::message_size_exceeded, e.what()));
  } catch (const std::invalid_argument& e) {
    return ready(amqp::Outcome::failure(amqp::local_condition::configuration, e.what()));
  } catch (const std::exception& e) {
    // A value the format cannot write: no retry makes it writable.
    return ready(amqp::Outcome::failure(
        amqp::local_condition::configuration,
        describe(endpoint) + ": cannot write the context of " + describe(context) + " in " +
            std::string(registration::to_string(endpoint.format)) + ": " + e.what()));
  }
  return backend_.post(*target, std::move(composed.message));
}

}  // namespace stepline::host::endpoints
