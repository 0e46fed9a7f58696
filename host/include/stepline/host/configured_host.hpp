// A Host made from a registration file, the way the `stepline` commands start one: the YAML
// loaded and checked, logging configured, the plug-in catalog scanned and loaded, every step's
// plug-in type found, the record store opened in the data folder, and — when the registration
// has service endpoints — an AMQP backend for queues, topics, event hubs and two-way endpoints,
// an HTTP client for webhooks and claim checks, the endpoint poster over both and the
// notification service. A reloadable one (`stepline serve`) reads the file again on reload():
// the new registration is checked in full before it replaces the running one, which stays when
// anything is wrong.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <stepline/host/catalog/plugin_catalog.hpp>
#include <stepline/host/host.hpp>
#include <stepline/registration/model.hpp>

namespace stepline::host {

namespace amqp {
class Backend;
}
namespace http_client {
class Client;
}
namespace claim_check {
class BlobStore;
}
namespace endpoints {
class EndpointPoster;
}

/// One registration in use: its number (1 at start, one more per successful reload) and a
/// SHA-256 over its YAML files and the libraries its catalog loaded.
struct Generation {
  std::uint64_t number = 0;
  std::string sha256;
};

/// What a reload did. On failure nothing changed: `errors` say why, as file:line:col lines.
struct ReloadResult {
  bool ok = false;
  Generation generation;            ///< the one in use afterwards
  std::vector<std::string> errors;  ///< "file:line:col: error: …", or a refused library's reason
  std::vector<std::string> warnings;  ///< doubtful settings, settings that wait for a restart
  /// The new catalog's libraries that were not loaded the same way before (new, changed or
  /// refused), for the plug-in load metric.
  std::vector<catalog::CatalogLibrary> changed_libraries;
  /// The YAML files and plug-in folder the reload read (to watch them, also after a failure).
  std::vector<std::filesystem::path> files;
  std::filesystem::path plugin_folder;
};

class ConfiguredHost {
 public:
  struct Options {
    /// Serve posts from an AMQP backend even when the registration has no endpoints yet, so a
    /// reload may add some.
    bool reloadable = false;
  };

  /// Throws registration::RegistrationError for a bad registration (every problem with its
  /// file:line:col), std::runtime_error for a step whose plug-in type no loaded library exports
  /// (naming the step's file:line and the refused libraries) or a store that cannot be opened.
  /// With endpoints registered and no options.notification given, it starts what they need
  /// (an AMQP backend, an HTTP client) and serves notification() from them; an endpoint whose
  /// partition_key cannot be used throws std::invalid_argument naming it.
  explicit ConfiguredHost(const std::filesystem::path& registration_file, HostOptions options = {});
  ConfiguredHost(const std::filesystem::path& registration_file, HostOptions options,
                 Options reload);
  ~ConfiguredHost();
  ConfiguredHost(const ConfiguredHost&) = delete;
  ConfiguredHost& operator=(const ConfiguredHost&) = delete;

  Host& host() noexcept { return *host_; }
  /// The catalog of the registration in use (replaced by a successful reload).
  std::shared_ptr<const catalog::PluginCatalog> catalog() const;
  /// The poster for asynchronous endpoint steps; null when this host made none.
  endpoints::EndpointPoster* endpoint_poster() noexcept { return poster_.get(); }
  /// The AMQP backend behind the poster; null when this host made none.
  amqp::Backend* backend() noexcept { return backend_.get(); }

  /// Reads the registration file again, scans new and changed plug-in libraries in a child
  /// process, loads them beside the ones in use and checks every step; only when all is well
  /// does the pipeline take the new registration and catalog. Operations already running finish
  /// with the old ones, whose libraries unload when the last of them ends. Settings that only a
  /// restart can change (the data folder, durability, worker counts, the listener) keep their
  /// running values, with a warning. `check`, when given, may refuse the new registration for
  /// reasons of the caller's (its errors, file:line:col). Calls are serialized; never throws for
  /// a bad registration.
  using ReloadCheck = std::function<std::vector<std::string>(const registration::Registration&)>;
  ReloadResult reload(const ReloadCheck& check = {});
  /// The registration in use.
  Generation generation() const;
  /// Generations whose plug-ins are still held by an operation, a job or the current
  /// registration (1 when nothing runs on an older one).
  int generations_alive() const noexcept { return alive_->load(); }

 private:
  class GenerationPlugins;
  catalog::CatalogSettings catalog_settings(const registration::Registration& r) const;

  std::filesystem::path file_;
  bool reloadable_ = false;
  std::mutex reload_mutex_;   ///< one reload at a time
  mutable std::mutex mutex_;  ///< guards catalog_ and generation_, held briefly
  std::shared_ptr<const catalog::PluginCatalog> catalog_;
  Generation generation_;
  std::shared_ptr<std::atomic<int>> alive_ = std::make_shared<std::atomic<int>>(0);
  void start_posters(const registration::Registration& r, metrics::Observer* observer,
                     bool every_kind);
  // Declared before the host so that they outlive it: its steps post through them. The blob
  // store before the HTTP client, as the client's last callbacks may still delete blobs.
  std::unique_ptr<claim_check::BlobStore> claims_;
  std::unique_ptr<http_client::Client> http_;
  std::unique_ptr<amqp::Backend> backend_;
  std::unique_ptr<endpoints::EndpointPoster> amqp_poster_;
  std::unique_ptr<endpoints::EndpointPoster> webhook_poster_;
  std::unique_ptr<endpoints::EndpointPoster> poster_;
  std::unique_ptr<NotificationService> notification_;
  std::unique_ptr<Host> host_;
};

}  // namespace stepline::host
