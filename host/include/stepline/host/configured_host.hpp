// A Host made from a registration file, the way the `stepline` commands start one: the YAML
// loaded and checked, logging configured, the plug-in catalog scanned and loaded, every step's
// plug-in type found, the record store opened in the data folder, and — when the registration
// has service endpoints — an AMQP backend with the endpoint poster and notification service.
#pragma once

#include <filesystem>
#include <memory>

#include <stepline/host/catalog/plugin_catalog.hpp>
#include <stepline/host/host.hpp>

namespace stepline::host {

namespace amqp {
class Backend;
}
namespace endpoints {
class EndpointPoster;
}

class ConfiguredHost {
 public:
  /// Throws registration::RegistrationError for a bad registration (every problem with its
  /// file:line:col), std::runtime_error for a step whose plug-in type no loaded library exports
  /// (naming the step's file:line and the refused libraries) or a store that cannot be opened.
  /// With endpoints registered and no options.notification given, it starts an AMQP backend
  /// and serves notification() from it; an endpoint whose partition_key cannot be used throws
  /// std::invalid_argument naming it.
  explicit ConfiguredHost(const std::filesystem::path& registration_file, HostOptions options = {});
  ~ConfiguredHost();
  ConfiguredHost(const ConfiguredHost&) = delete;
  ConfiguredHost& operator=(const ConfiguredHost&) = delete;

  Host& host() noexcept { return *host_; }
  const catalog::PluginCatalog& catalog() const noexcept { return *catalog_; }
  /// The poster for asynchronous endpoint steps; null when this host made none.
  endpoints::EndpointPoster* endpoint_poster() noexcept { return poster_.get(); }
  /// The AMQP backend behind the poster; null when this host made none.
  amqp::Backend* backend() noexcept { return backend_.get(); }

 private:
  std::unique_ptr<catalog::PluginCatalog> catalog_;
  std::unique_ptr<pipeline::PluginFactory> factory_;
  // Declared before the host so that they outlive it: its steps post through them.
  std::unique_ptr<amqp::Backend> backend_;
  std::unique_ptr<endpoints::EndpointPoster> poster_;
  std::unique_ptr<NotificationService> notification_;
  std::unique_ptr<Host> host_;
};

}  // namespace stepline::host
