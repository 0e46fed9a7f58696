// The host's metrics in Prometheus form (docs/HTTP.md "Metrics"): operations by message, table
// and outcome, operation and step durations, posts by endpoint and outcome with their latency,
// jobs by status, job attempts, AMQP connections, plug-in loads and registration reloads. It is
// the pipeline's and the poster's observer; values kept elsewhere (the job table, the async
// service's and the backend's counts) are read when /metrics is scraped. It also remembers each
// endpoint's last post, which readiness reports.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <stepline/date_time.hpp>
#include <stepline/host/amqp/backend.hpp>
#include <stepline/host/jobs/async_service.hpp>
#include <stepline/host/metrics/observer.hpp>
#include <stepline/prometheus/registry.hpp>

namespace stepline::host::catalog {
class PluginCatalog;
struct CatalogLibrary;
}  // namespace stepline::host::catalog

namespace stepline::host::metrics {

/// How an endpoint's last post ended.
struct EndpointState {
  bool ok = true;
  std::string problem;  ///< the failure's condition and description (never a secret)
  DateTime at{};
};

class HostMetrics final : public Observer {
 public:
  /// Adds the host's families to `registry`, which must outlive this.
  explicit HostMetrics(prometheus::Registry& registry);

  void operation_finished(const pipeline::OperationRequest& request,
                          const pipeline::OperationResponse& response,
                          std::chrono::nanoseconds took) noexcept override;
  void step_finished(const registration::Step& step, bool ok,
                     std::chrono::nanoseconds took) noexcept override;
  void post_finished(std::string_view endpoint, const amqp::Outcome& outcome,
                     std::chrono::nanoseconds took) noexcept override;

  /// Counts what the catalog did with each library (at start, and after each reload).
  void plugins_loaded(const catalog::PluginCatalog& catalog);
  /// Counts libraries a reload's catalog loaded or refused anew (new or changed files).
  void plugins_loaded(const std::vector<catalog::CatalogLibrary>& libraries);
  /// Counts a registration reload's result.
  void registration_reloaded(bool ok);
  /// The registration in use: its generation number and SHA-256.
  void registration_in_use(std::uint64_t generation, const std::string& sha256);
  /// Reads this when scraped: generations still held by running operations or jobs.
  void watch_generations(std::function<int()> alive);
  /// Reads these when scraped: jobs by status, the async service's attempts, the AMQP backend.
  void watch(std::function<std::map<store::JobStatus, std::size_t>()> jobs_by_status,
             std::function<jobs::AsyncServiceStats()> attempts,
             std::function<amqp::BackendStats()> backend);

  /// Every endpoint posted to so far, with how its last post ended.
  std::map<std::string, EndpointState, std::less<>> endpoints() const;

 private:
  prometheus::Registry& registry_;
  prometheus::Family<prometheus::Counter>& operations_;
  prometheus::Family<prometheus::Histogram>& operation_seconds_;
  prometheus::Family<prometheus::Histogram>& step_seconds_;
  prometheus::Family<prometheus::Counter>& step_failures_;
  prometheus::Family<prometheus::Counter>& posts_;
  prometheus::Family<prometheus::Histogram>& post_seconds_;
  prometheus::Family<prometheus::Gauge>& jobs_;
  prometheus::Family<prometheus::Counter>& attempts_;
  prometheus::Family<prometheus::Counter>& retries_;
  prometheus::Family<prometheus::Gauge>& amqp_open_;
  prometheus::Family<prometheus::Counter>& amqp_opened_;
  prometheus::Family<prometheus::Counter>& plugin_loads_;
  prometheus::Family<prometheus::Counter>& reloads_;
  prometheus::Family<prometheus::Gauge>& generation_;
  prometheus::Family<prometheus::Gauge>& generation_info_;
  prometheus::Family<prometheus::Gauge>& generations_alive_;
  prometheus::Family<prometheus::Gauge>& last_reload_;

  mutable std::mutex endpoints_mutex_;
  std::map<std::string, EndpointState, std::less<>> endpoints_;
};

}  // namespace stepline::host::metrics
