// A plug-in that runs in a worker process (`isolation: process`): a stepline::Plugin proxy the
// host calls like any other, which ships each execution to a `stepline plugins worker` child and
// serves the child's tracing, organization and notification calls in the host. A crash, an exit
// or a hang of the child fails that execution with a message naming the step, and the next
// execution starts a new child; the host process is not affected.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <stepline/host/pipeline/plugin_factory.hpp>
#include <stepline/plugin.hpp>
#include <stepline/registration/model.hpp>

namespace stepline::host::catalog {
class PluginCatalog;
}

namespace stepline::host::isolation {

class Worker;

/// What a worker needs to know to become the step's plug-in.
struct WorkerSpec {
  std::string step_name;
  std::string plugin_type;
  std::filesystem::path library;  ///< the library file the catalog loaded the type from
  std::filesystem::path program;  ///< the `stepline` executable
  std::string unsecure_configuration;
  std::string secure_configuration;  ///< sent over the channel, never on the command line
  /// How long one execution (starting the worker included) may take.
  std::chrono::milliseconds timeout{std::chrono::minutes(2)};
  /// Idle workers kept for reuse; more are started when executions overlap (other threads, or a
  /// nested request that runs the same step again) and stopped when they finish.
  std::size_t max_idle_workers = 2;
};

class IsolatedPlugin final : public Plugin {
 public:
  /// Starts nothing: the first execution starts the first worker.
  explicit IsolatedPlugin(WorkerSpec spec);
  ~IsolatedPlugin() override;

  /// Runs the plug-in in a worker. The worker's InvalidPluginExecution is rethrown as such; any
  /// other plug-in error as std::runtime_error; a worker that dies, hangs past the timeout or
  /// breaks the protocol as OperationFailed naming the step, the type and the signal or timeout.
  void execute(ExecutionContext& context, Services& services) override;

  const WorkerSpec& spec() const noexcept { return spec_; }
  /// Process ids of the idle workers (tests check reuse and what a worker exposes).
  std::vector<int> idle_worker_pids() const;

 private:
  std::unique_ptr<Worker> acquire(std::chrono::steady_clock::time_point deadline);
  void release(std::unique_ptr<Worker> worker);

  WorkerSpec spec_;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Worker>> idle_;
};

/// The plug-in for `step`: an IsolatedPlugin when the step asks for `isolation: process`, else
/// the catalog's in-process instance. Throws like PluginCatalog::create for an unknown type.
std::shared_ptr<Plugin> create_plugin(const catalog::PluginCatalog& catalog,
                                      const registration::Step& step);

/// The pipeline's plug-ins from a catalog's loaded libraries, each step's in the host process or
/// in worker processes as it is registered (create_plugin()). The catalog must outlive it.
class CatalogPlugins : public pipeline::PluginFactory {
 public:
  explicit CatalogPlugins(const catalog::PluginCatalog& catalog) : catalog_(catalog) {}

  std::shared_ptr<Plugin> create(const std::string& type, const std::string& unsecure,
                                 const std::string& secure) override;
  std::shared_ptr<Plugin> create_for(const registration::Step& step) override;

 private:
  const catalog::PluginCatalog& catalog_;
};

}  // namespace stepline::host::isolation
