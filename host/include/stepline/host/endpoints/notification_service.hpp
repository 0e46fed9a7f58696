// What a plug-in's services.notification() is in the host, and what the pipeline calls for a
// synchronous endpoint step: finds the endpoint by name in the registration in use, posts the
// context through the EndpointPoster and waits for the outcome, so that a failed post fails the
// step (and rolls back the operation) instead of being lost.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <stepline/registration/model.hpp>
#include <stepline/services.hpp>

#include <stepline/host/endpoints/endpoint_poster.hpp>

namespace stepline::host::endpoints {

class EndpointNotificationService final : public NotificationService {
 public:
  /// Where the endpoints come from: called on every post, so a reloaded registration is seen.
  using RegistrationSource = std::function<std::shared_ptr<const registration::Registration>()>;

  EndpointNotificationService(EndpointPoster& poster, RegistrationSource registration);
  /// With a fixed registration.
  EndpointNotificationService(EndpointPoster& poster,
                              std::shared_ptr<const registration::Registration> registration);

  /// Posts and waits. Returns the reply of a two-way endpoint, empty otherwise. Throws
  /// InvalidPluginExecution naming the endpoint and the record when the post fails: status
  /// `failed` from a synchronous step (the operation rolls back), `retry` for a transient
  /// failure in an asynchronous one (its system job runs again). An unknown endpoint name
  /// throws InvalidPluginExecution listing the registered names.
  std::string post(std::string_view endpoint_name, const ExecutionContext& context) override;

 private:
  EndpointPoster& poster_;
  RegistrationSource registration_;
};

}  // namespace stepline::host::endpoints
