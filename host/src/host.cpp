#include <stepline/host/host.hpp>

#include <stepline/host/intake/request.hpp>
#include <stepline/host/store/store.hpp>

namespace stepline::host {
namespace {

store::Location store_of(const registration::Registration& r, const HostOptions& options) {
  if (!options.database.empty()) return store::Location::sqlite(options.database);
  return store::Location::of(r.host);
}

}  // namespace

Host::Host(registration::Registration registration, pipeline::PluginFactory& factory,
           HostOptions options)
    // The caller owns this factory and keeps it for the host's life.
    : Host(std::move(registration),
           std::shared_ptr<pipeline::PluginFactory>(std::shared_ptr<void>(), &factory),
           std::move(options)) {}

Host::Host(registration::Registration registration,
           std::shared_ptr<pipeline::PluginFactory> factory, HostOptions options)
    : store_(store::open_records(store_of(registration, options),
                                 options.durability.value_or(registration.host.durability))),
      pipeline_(std::make_unique<pipeline::Pipeline>(std::move(registration), std::move(factory),
                                                     *store_, options.notification,
                                                     options.observer)) {}

Host::~Host() = default;

pipeline::OperationResponse Host::execute(const pipeline::OperationRequest& request) {
  return pipeline_->execute(request);
}

pipeline::OperationResponse Host::execute(std::string_view request_json) {
  pipeline::OperationRequest request;
  try {
    request = intake::parse_request(request_json);
  } catch (const intake::RequestError& e) {
    pipeline::OperationResponse response;
    response.outcome = pipeline::Outcome::invalid_request;
    response.error_message = e.what();
    response.error_code = pipeline::error_code::invalid_argument;
    return response;
  }
  return pipeline_->execute(request);
}

}  // namespace stepline::host
