#include <stepline/host/configured_host.hpp>

#include <stepline/host/amqp/backend.hpp>
#include <stepline/host/endpoints/amqp_endpoint_poster.hpp>
#include <stepline/host/endpoints/endpoint_message.hpp>
#include <stepline/host/endpoints/notification_service.hpp>
#include <stepline/host/isolation/isolated_plugin.hpp>
#include <stepline/host/log.hpp>
#include <stepline/registration/load.hpp>

namespace stepline::host {

ConfiguredHost::ConfiguredHost(const std::filesystem::path& registration_file,
                               HostOptions options) {
  registration::Registration r = registration::load(registration_file);
  log::configure(r.host.log_level, r.host.log_format);
  for (const auto& warning : r.warnings) log::warn("{}", warning.str());

  catalog_ = std::make_unique<catalog::PluginCatalog>(catalog::CatalogSettings::from(r));
  auto missing = registration::check_plugin_types(r, catalog_->type_names());
  if (!missing.empty()) {
    std::string message;
    for (const auto& problem : missing) message += problem.str() + "\n";
    for (const auto& library : catalog_->libraries())
      if (library.status == catalog::LibraryStatus::refused)
        message += "note: refused " + library.reason + "\n";
    message.pop_back();
    throw std::runtime_error(message);
  }
  factory_ = std::make_unique<isolation::CatalogPlugins>(*catalog_);
  if (!r.endpoints.empty() && !options.notification) {
    for (const auto& endpoint : r.endpoints)
      if (auto problem = endpoints::partition_key_problem(endpoint); !problem.empty())
        throw std::invalid_argument(problem);
    amqp::BackendOptions backend;
    backend.ca_file = r.host.tls_ca_file.string();
    backend_ = std::make_unique<amqp::Backend>(std::move(backend));
    poster_ = std::make_unique<endpoints::AmqpEndpointPoster>(*backend_, options.observer);
    notification_ = std::make_unique<endpoints::EndpointNotificationService>(
        *poster_, [this] { return host_->pipeline().registration(); });
    options.notification = notification_.get();
  }
  host_ = std::make_unique<Host>(std::move(r), *factory_, options);
}

ConfiguredHost::~ConfiguredHost() = default;

}  // namespace stepline::host
