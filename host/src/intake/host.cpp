#include <stepline/host/host.hpp>

#include <stepline/host/request.hpp>

namespace stepline::host {
namespace {

std::filesystem::path database_of(const registration::Registration& r, const HostOptions& options) {
  if (!options.database.empty()) return options.database;
  auto folder = r.host.data_folder.empty() ? std::filesystem::path("data") : r.host.data_folder;
  return folder / "stepline.db";
}

}  // namespace

Host::Host(registration::Registration registration, PluginFactory& factory, HostOptions options)
    : store_(std::make_unique<RecordStore>(
          database_of(registration, options),
          options.durability.value_or(registration.host.durability))),
      pipeline_(std::make_unique<Pipeline>(std::move(registration), factory, *store_,
                                           options.notification, options.observer)) {}

Host::~Host() = default;

OperationResponse Host::execute(const OperationRequest& request) {
  return pipeline_->execute(request);
}

OperationResponse Host::execute(std::string_view request_json) {
  OperationRequest request;
  try {
    request = parse_request(request_json);
  } catch (const RequestError& e) {
    OperationResponse response;
    response.outcome = Outcome::invalid_request;
    response.error_message = e.what();
    response.error_code = error_code::invalid_argument;
    return response;
  }
  return pipeline_->execute(request);
}

}  // namespace stepline::host
