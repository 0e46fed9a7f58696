#include <stepline/host/configured_host.hpp>

#include <openssl/evp.h>

#include <algorithm>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

#include <stepline/host/amqp/backend.hpp>
#include <stepline/host/claim_check/blob_store.hpp>
#include <stepline/host/endpoints/amqp_endpoint_poster.hpp>
#include <stepline/host/endpoints/contract_router.hpp>
#include <stepline/host/endpoints/endpoint_message.hpp>
#include <stepline/host/endpoints/notification_service.hpp>
#include <stepline/host/http_client/client.hpp>
#include <stepline/host/isolation/isolated_plugin.hpp>
#include <stepline/host/log.hpp>
#include <stepline/host/webhook/webhook_poster.hpp>
#include <stepline/registration/load.hpp>
#include <stepline/version.hpp>

namespace stepline::host {
namespace {

/// SHA-256 over the registration's YAML files (names and bytes) and the libraries its catalog
/// loaded (names and digests): equal for the same registration and plug-ins, whatever the order
/// of reloads that led there.
std::string generation_sha256(const registration::Registration& r,
                              const catalog::PluginCatalog& catalog) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) return {};
  auto add = [&](const std::string& text) {
    EVP_DigestUpdate(ctx.get(), text.data(), text.size() + 1);  // with its NUL, as a separator
  };
  for (const auto& file : r.files) {
    add(file.string());
    std::ifstream in(file, std::ios::binary);
    add(std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()));
  }
  for (const auto& library : catalog.libraries())
    if (library.status == catalog::LibraryStatus::loaded)
      add(library.file.string() + " " + library.sha256);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &length);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

/// Problems for steps whose type the catalog does not export, with the refused libraries as
/// notes (a refused library is the usual reason).
std::vector<std::string> missing_types(const registration::Registration& r,
                                       const catalog::PluginCatalog& catalog) {
  std::vector<std::string> lines;
  for (const auto& problem : registration::check_plugin_types(r, catalog.type_names()))
    lines.push_back(problem.str());
  if (lines.empty()) return lines;
  for (const auto& library : catalog.libraries())
    if (library.status == catalog::LibraryStatus::refused)
      lines.push_back("note: refused " + library.reason);
  return lines;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& line : lines) text += (text.empty() ? "" : "\n") + line;
  return text;
}

/// Settings only a restart can change (the data folder and store, the workers, the listener,
/// the AMQP trust store) keep their running values in `next`; each difference is a warning at its
/// section.
std::vector<std::string> keep_restart_settings(const registration::Registration& running,
                                               registration::Registration& next) {
  std::vector<std::string> warnings;
  auto keep = [&](auto& value, const auto& current, const registration::SourceLocation& where,
                  const std::string& name, auto text) {
    if (value == current) return;
    warnings.push_back(fmt::format(
        "{}: warning: {} changed from {} to {}: it takes effect when stepline serve restarts; "
        "until then the running value stays",
        where.str(), name, text(current), text(value)));
    value = current;
  };
  auto path = [](const std::filesystem::path& p) { return p.empty() ? "(none)" : p.string(); };
  auto number = [](auto n) { return std::to_string(n); };
  auto& h = next.host;
  const auto& was = running.host;
  keep(h.data_folder, was.data_folder, h.where, "host.data_folder", path);
  keep(h.durability, was.durability, h.where, "host.durability", [](registration::Durability d) {
    return std::string(d == registration::Durability::full ? "full" : "normal");
  });
  keep(h.async_workers, was.async_workers, h.where, "host.async_workers", number);
  keep(h.async_crash_limit, was.async_crash_limit, h.where, "host.async_crash_limit", number);
  keep(h.tls_ca_file, was.tls_ca_file, h.where, "host.tls_ca_file", path);
  keep(h.store.kind, was.store.kind, h.store.where, "host.store", [](registration::StoreKind k) {
    return std::string(k == registration::StoreKind::postgresql ? "postgresql" : "sqlite");
  });
  // The database URL may hold a password: that it changed is said, never what it is.
  keep(h.store.url, was.store.url, h.store.where, "host.store's database URL",
       [](const std::string&) { return std::string("(not shown)"); });
  auto& t = next.http;
  const auto& http = running.http;
  auto where = t.enabled ? t.where : http.where;
  auto yes_no = [](bool b) { return std::string(b ? "present" : "absent"); };
  keep(t.enabled, http.enabled, where, "the http: section", yes_no);
  keep(t.address, http.address, t.listen_where, "http.listen (address)",
       [](const std::string& s) { return s; });
  keep(t.port, http.port, t.listen_where, "http.listen (port)", number);
  keep(t.body_limit, http.body_limit, where, "http.body_limit", number);
  keep(t.workers, http.workers, where, "http.workers", number);
  keep(t.queue, http.queue, where, "http.queue", number);
  keep(t.max_connections, http.max_connections, where, "http.max_connections", number);
  auto ms = [](std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; };
  keep(t.request_timeout, http.request_timeout, where, "http.request_timeout", ms);
  keep(t.idle_timeout, http.idle_timeout, where, "http.idle_timeout", ms);
  keep(t.tls_certificate, http.tls_certificate, where, "http.tls certificate", path);
  keep(t.tls_key, http.tls_key, where, "http.tls key", path);
  return warnings;
}

/// What changed in the catalog: libraries not loaded before, loaded from other bytes, or whose
/// status differs.
std::vector<catalog::CatalogLibrary> changed_libraries(const catalog::PluginCatalog& before,
                                                       const catalog::PluginCatalog& after) {
  std::vector<catalog::CatalogLibrary> changed;
  for (const auto& library : after.libraries()) {
    auto same = std::find_if(before.libraries().begin(), before.libraries().end(),
                             [&](const catalog::CatalogLibrary& b) {
                               return b.file == library.file && b.sha256 == library.sha256 &&
                                      b.status == library.status;
                             });
    if (same == before.libraries().end()) changed.push_back(library);
  }
  return changed;
}

}  // namespace

/// The plug-ins of one generation: a catalog's, kept by the pipeline with its registration, so
/// the catalog (and the libraries only it loaded) goes when the last operation of its generation
/// has ended and a newer generation is in use.
class ConfiguredHost::GenerationPlugins final : public isolation::CatalogPlugins {
 public:
  GenerationPlugins(std::shared_ptr<const catalog::PluginCatalog> catalog,
                    std::shared_ptr<std::atomic<int>> alive)
      : CatalogPlugins(*catalog), catalog_(std::move(catalog)), alive_(std::move(alive)) {
    ++*alive_;
  }
  ~GenerationPlugins() override { --*alive_; }

 private:
  std::shared_ptr<const catalog::PluginCatalog> catalog_;
  std::shared_ptr<std::atomic<int>> alive_;
};

ConfiguredHost::ConfiguredHost(const std::filesystem::path& registration_file, HostOptions options)
    : ConfiguredHost(registration_file, std::move(options), Options{}) {}

ConfiguredHost::ConfiguredHost(const std::filesystem::path& registration_file, HostOptions options,
                               Options reload)
    : file_(registration_file), reloadable_(reload.reloadable) {
  registration::Registration r = registration::load(registration_file);
  log::configure(r.host.log_level, r.host.log_format);
  for (const auto& warning : r.warnings) log::warn("{}", warning.str());

  catalog_ = std::make_shared<const catalog::PluginCatalog>(catalog_settings(r));
  if (auto missing = missing_types(r, *catalog_); !missing.empty())
    throw std::runtime_error(joined(missing));
  if ((!r.endpoints.empty() || reload.reloadable) && !options.notification) {
    for (const auto& endpoint : r.endpoints)
      if (auto problem = endpoints::partition_key_problem(endpoint); !problem.empty())
        throw std::invalid_argument(problem);
    start_posters(r, options.observer, reload.reloadable);
    notification_ = std::make_unique<endpoints::EndpointNotificationService>(
        *poster_, [this] { return host_->pipeline().registration(); });
    options.notification = notification_.get();
  }
  generation_ = Generation{1, generation_sha256(r, *catalog_)};
  host_ = std::make_unique<Host>(std::move(r),
                                 std::make_shared<GenerationPlugins>(catalog_, alive_), options);
}

void ConfiguredHost::start_posters(const registration::Registration& r, metrics::Observer* observer,
                                   bool every_kind) {
  // A reloadable host starts every kind of poster, as a reload may add the first endpoint of any.
  bool amqp = every_kind, webhooks = every_kind, claim_checks = every_kind;
  for (const auto& endpoint : r.endpoints) {
    (endpoint.contract == registration::Contract::webhook ? webhooks : amqp) = true;
    claim_checks = claim_checks || endpoint.claim_check.has_value();
  }
  if (webhooks || claim_checks) {
    http_client::ClientOptions http;
    http.ca_file = r.host.tls_ca_file.string();
    http.user_agent = "stepline/" STEPLINE_SDK_VERSION;
    http_ = std::make_unique<http_client::Client>(std::move(http));
    if (claim_checks) claims_ = std::make_unique<claim_check::BlobStore>(*http_);
  }
  if (amqp) {
    amqp::BackendOptions backend;
    backend.ca_file = r.host.tls_ca_file.string();
    backend_ = std::make_unique<amqp::Backend>(std::move(backend));
    amqp_poster_ =
        std::make_unique<endpoints::AmqpEndpointPoster>(*backend_, observer, claims_.get());
  }
  if (webhooks)
    webhook_poster_ = std::make_unique<webhook::WebhookPoster>(*http_, observer, claims_.get());
  poster_ = std::make_unique<endpoints::ContractRouter>(amqp_poster_.get(), webhook_poster_.get());
}

ConfiguredHost::~ConfiguredHost() {
  // Operations and jobs first; then the posts still out, while everything they use is here.
  host_.reset();
  if (backend_) backend_->shutdown();
  if (http_) http_->shutdown();
}

catalog::CatalogSettings ConfiguredHost::catalog_settings(
    const registration::Registration& r) const {
  auto settings = catalog::CatalogSettings::from(r);
  settings.load_copies = reloadable_;
  return settings;
}

std::shared_ptr<const catalog::PluginCatalog> ConfiguredHost::catalog() const {
  std::lock_guard lock(mutex_);
  return catalog_;
}

Generation ConfiguredHost::generation() const {
  std::lock_guard lock(mutex_);
  return generation_;
}

ReloadResult ConfiguredHost::reload(const ReloadCheck& check) {
  // Readers of the generation (/healthz, /metrics) must not wait for a reload's scans.
  std::lock_guard serialized(reload_mutex_);
  auto running = catalog();
  ReloadResult result;
  result.generation = generation();
  registration::LoadResult loaded = registration::read(file_);
  result.files = loaded.registration.files;
  result.plugin_folder = loaded.registration.host.plugin_folder;
  for (const auto& problem : loaded.problems)
    (problem.severity == registration::Severity::error ? result.errors : result.warnings)
        .push_back(problem.str());
  if (loaded.has_errors()) return result;
  registration::Registration& r = loaded.registration;
  for (auto& line : keep_restart_settings(*host_->pipeline().registration(), r))
    result.warnings.push_back(std::move(line));
  for (const auto& endpoint : r.endpoints)
    if (auto problem = endpoints::partition_key_problem(endpoint); !problem.empty())
      result.errors.push_back(problem);
  if (check)
    for (auto& problem : check(r)) result.errors.push_back(std::move(problem));
  if (!result.errors.empty()) return result;

  std::shared_ptr<const catalog::PluginCatalog> catalog;
  try {
    // Scans new and changed libraries in a child process before any of their code runs here.
    catalog = std::make_shared<const catalog::PluginCatalog>(catalog_settings(r), *running);
  } catch (const std::exception& e) {
    auto where = r.host.where.file.empty() ? file_.string() : r.host.where.str();
    result.errors.push_back(where + ": error: " + e.what());
    return result;
  }
  result.changed_libraries = changed_libraries(*running, *catalog);
  if (auto missing = missing_types(r, *catalog); !missing.empty()) {
    result.errors = std::move(missing);
    return result;
  }
  Generation next{result.generation.number + 1, generation_sha256(r, *catalog)};
  auto level = r.host.log_level;
  auto format = r.host.log_format;
  try {
    host_->pipeline().load(std::move(r), std::make_shared<GenerationPlugins>(catalog, alive_));
  } catch (const std::exception& e) {
    result.errors.push_back(e.what());
    return result;
  }
  log::configure(level, format);
  {
    std::lock_guard lock(mutex_);
    catalog_ = std::move(catalog);
    generation_ = next;
  }
  result.ok = true;
  result.generation = next;
  return result;
}

}  // namespace stepline::host
