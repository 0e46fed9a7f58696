#include "stepline/host/endpoints/notification_service.hpp"

#include <chrono>
#include <utility>

#include <stepline/errors.hpp>
#include <stepline/host/amqp/outcome.hpp>

#include "stepline/host/endpoints/endpoint_message.hpp"

namespace stepline::host::endpoints {
namespace {

// The backend completes every post by the endpoint's timeout; this margin only guards against
// a backend that stopped answering altogether.
constexpr auto wait_margin = std::chrono::seconds(30);

}  // namespace

EndpointNotificationService::EndpointNotificationService(EndpointPoster& poster,
                                                         RegistrationSource registration)
    : poster_(poster), registration_(std::move(registration)) {}

EndpointNotificationService::EndpointNotificationService(
    EndpointPoster& poster, std::shared_ptr<const registration::Registration> registration)
    : poster_(poster), registration_([r = std::move(registration)] { return r; }) {}

std::string EndpointNotificationService::post(std::string_view endpoint_name,
                                              const ExecutionContext& context) {
  std::shared_ptr<const registration::Registration> registration = registration_();
  const registration::ServiceEndpoint* endpoint =
      registration ? registration->find_endpoint(endpoint_name) : nullptr;
  if (!endpoint) {
    std::string names;
    if (registration)
      for (const auto& e : registration->endpoints) names += (names.empty() ? "" : ", ") + e.name;
    throw InvalidPluginExecution(
        "cannot post " + describe(context) + ": no service endpoint named '" +
        std::string(endpoint_name) + "' is registered (" +
        (names.empty() ? std::string("the registration has no endpoints")
                       : "registered: " + names) +
        "); register it under endpoints: or fix the name in the step's configuration");
  }

  std::future<amqp::Outcome> pending = poster_.post(*endpoint, context);
  amqp::Outcome outcome;
  if (pending.wait_for(endpoint->timeout + wait_margin) == std::future_status::ready) {
    outcome = pending.get();
  } else {
    outcome = amqp::Outcome::failure(amqp::local_condition::timeout,
                                     "the AMQP backend gave no outcome in time");
  }
  if (outcome.ok()) return outcome.reply;

  const bool retry = context.mode == Mode::asynchronous &&
                     (outcome.retryable() || outcome.status == amqp::OutcomeStatus::shutdown);
  throw InvalidPluginExecution("posting " + describe(context) + " to " + describe(*endpoint) +
                                   " failed (" + std::string(amqp::to_string(outcome.status)) +
                                   ", " + outcome.condition + "): " + outcome.description,
                               retry ? OperationStatus::retry : OperationStatus::failed);
}

}  // namespace stepline::host::endpoints
