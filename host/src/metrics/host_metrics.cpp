#include <stepline/host/metrics/host_metrics.hpp>

#include <stepline/host/amqp/outcome.hpp>
#include <stepline/host/catalog/plugin_catalog.hpp>
#include <stepline/host/log.hpp>
#include <stepline/host/pipeline/pipeline.hpp>
#include <stepline/registration/model.hpp>

namespace stepline::host::metrics {
namespace {

double seconds(std::chrono::nanoseconds d) {
  return std::chrono::duration<double>(d).count();
}

/// The table an operation is on: its Target's, its Query's, or "none".
std::string_view entity_of(const pipeline::OperationRequest& request) {
  const auto& p = request.parameters;
  for (const char* name : {"Target", "Query"}) {
    auto it = p.find(name);
    if (it == p.end()) continue;
    if (const auto* e = it->second.get_if<Entity>()) return e->logical_name;
    if (const auto* r = it->second.get_if<EntityReference>()) return r->logical_name;
  }
  return "none";
}

constexpr store::JobStatus all_statuses[] = {
    store::JobStatus::ready,   store::JobStatus::waiting,   store::JobStatus::in_progress,
    store::JobStatus::pausing, store::JobStatus::canceling, store::JobStatus::succeeded,
    store::JobStatus::failed,  store::JobStatus::canceled};

}  // namespace

HostMetrics::HostMetrics(prometheus::Registry& r)
    : registry_(r),
      operations_(r.counter("stepline_operations_total",
                            "Top-level operations that finished, by message, table and outcome "
                            "(succeeded, rejected, failed, invalid-request).",
                            {"message", "entity", "outcome"})),
      operation_seconds_(r.histogram("stepline_operation_duration_seconds",
                                     "How long top-level operations took, nested operations and "
                                     "synchronous steps included.",
                                     {"message", "entity"}, prometheus::duration_buckets())),
      step_seconds_(r.histogram("stepline_step_duration_seconds",
                                "How long steps took: synchronous steps in operations and "
                                "asynchronous plug-in steps in jobs.",
                                {"step"}, prometheus::duration_buckets())),
      step_failures_(r.counter("stepline_step_failures_total",
                               "Steps that threw (rejected the operation or failed the job).",
                               {"step"})),
      posts_(r.counter("stepline_posts_total",
                       "Posts to service endpoints by outcome (accepted, transient, permanent, "
                       "shutdown).",
                       {"endpoint", "outcome"})),
      post_seconds_(r.histogram("stepline_post_duration_seconds",
                                "From handing a context to the poster to the service's outcome.",
                                {"endpoint"}, prometheus::duration_buckets())),
      jobs_(r.gauge("stepline_jobs", "System jobs in the store by status.", {"status"})),
      attempts_(r.counter("stepline_job_attempts_total",
                          "Job attempts of this process's async service by result (succeeded, "
                          "failed, retry = waiting for another attempt, canceled).",
                          {"result"})),
      retries_(
          r.counter("stepline_job_retries_total", "Job attempts that ended waiting for a retry.")),
      amqp_open_(r.gauge("stepline_amqp_connections", "AMQP connections open now.")),
      amqp_opened_(r.counter("stepline_amqp_connections_opened_total",
                             "AMQP connections opened (reconnections included).")),
      plugin_loads_(r.counter("stepline_plugin_loads_total",
                              "Plug-in libraries the catalog loaded or refused, by library.",
                              {"library", "result"})),
      reloads_(r.counter("stepline_registration_reloads_total",
                         "Registration reloads by result (succeeded, failed).", {"result"})),
      generation_(r.gauge("stepline_registration_generation",
                          "The registration in use: 1 at start, one more per successful reload.")),
      generation_info_(r.gauge("stepline_registration_info",
                               "Always 1, labelled with the SHA-256 of the registration in use "
                               "(its YAML files and loaded plug-in libraries).",
                               {"sha256"})),
      generations_alive_(r.gauge("stepline_registration_generations_alive",
                                 "Registration generations whose plug-ins are still held: the one "
                                 "in use and older ones that operations or jobs still run on.")),
      last_reload_(r.gauge("stepline_registration_last_reload_timestamp_seconds",
                           "When the last reload of each result happened (Unix time).",
                           {"result"})) {
  reloads_.labels({"succeeded"});
  reloads_.labels({"failed"});
}

void HostMetrics::operation_finished(const pipeline::OperationRequest& request,
                                     const pipeline::OperationResponse& response,
                                     std::chrono::nanoseconds took) noexcept {
  try {
    auto entity = entity_of(request);
    operations_.labels({request.message, entity, to_string(response.outcome)}).inc();
    operation_seconds_.labels({request.message, entity}).observe(seconds(took));
  } catch (...) {
    // Metrics never fail an operation (an allocation failure is all that can throw here).
  }
}

void HostMetrics::step_finished(const registration::Step& step, bool ok,
                                std::chrono::nanoseconds took) noexcept {
  try {
    step_seconds_.labels({step.name}).observe(seconds(took));
    if (!ok) step_failures_.labels({step.name}).inc();
  } catch (...) {
  }
}

void HostMetrics::post_finished(std::string_view endpoint, const amqp::Outcome& outcome,
                                std::chrono::nanoseconds took) noexcept {
  try {
    posts_.labels({endpoint, amqp::to_string(outcome.status)}).inc();
    post_seconds_.labels({endpoint}).observe(seconds(took));
    if (outcome.status == amqp::OutcomeStatus::shutdown) return;  // says nothing of the service
    EndpointState state;
    state.ok = outcome.ok();
    if (!state.ok) state.problem = outcome.condition + ": " + outcome.description;
    state.at = now_utc();
    std::lock_guard lock(endpoints_mutex_);
    endpoints_.insert_or_assign(std::string(endpoint), std::move(state));
  } catch (...) {
  }
}

void HostMetrics::plugins_loaded(const catalog::PluginCatalog& catalog) {
  for (const auto& library : catalog.libraries())
    plugin_loads_.labels({library.file.filename().string(), to_string(library.status)}).inc();
}

void HostMetrics::plugins_loaded(const std::vector<catalog::CatalogLibrary>& libraries) {
  for (const auto& library : libraries)
    plugin_loads_.labels({library.file.filename().string(), to_string(library.status)}).inc();
}

void HostMetrics::registration_reloaded(bool ok) {
  const char* result = ok ? "succeeded" : "failed";
  reloads_.labels({result}).inc();
  last_reload_.labels({result}).set(
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
}

void HostMetrics::registration_in_use(std::uint64_t generation, const std::string& sha256) {
  generation_.get().set(double(generation));
  // One series: the old hash goes when the new one comes.
  generation_info_.clear();
  generation_info_.labels({sha256}).set(1);
}

void HostMetrics::watch_generations(std::function<int()> alive) {
  registry_.on_scrape(
      [this, alive = std::move(alive)] { generations_alive_.get().set(double(alive())); });
}

void HostMetrics::watch(std::function<std::map<store::JobStatus, std::size_t>()> jobs_by_status,
                        std::function<jobs::AsyncServiceStats()> attempts,
                        std::function<amqp::BackendStats()> backend) {
  registry_.on_scrape([this, jobs_by_status = std::move(jobs_by_status),
                       attempts = std::move(attempts), backend = std::move(backend)] {
    if (jobs_by_status) {
      // A database that does not answer (a PostgreSQL store restarting) leaves the last counts
      // in place: the scrape itself still answers.
      try {
        auto counts = jobs_by_status();
        for (auto status : all_statuses) {
          auto it = counts.find(status);
          jobs_.labels({store::to_string(status)})
              .set(it == counts.end() ? 0.0 : double(it->second));
        }
      } catch (const std::exception& e) {
        log::warn("metrics: cannot count the system jobs: {}", e.what());
      }
    }
    if (attempts) {
      auto s = attempts();
      attempts_.labels({"succeeded"}).advance_to(double(s.succeeded));
      attempts_.labels({"failed"}).advance_to(double(s.failed));
      attempts_.labels({"retry"}).advance_to(double(s.retries));
      attempts_.labels({"canceled"}).advance_to(double(s.canceled));
      retries_.get().advance_to(double(s.retries));
    }
    if (backend) {
      auto b = backend();
      amqp_open_.get().set(double(b.connections_open));
      amqp_opened_.get().advance_to(double(b.connections_opened));
    }
  });
}

std::map<std::string, EndpointState, std::less<>> HostMetrics::endpoints() const {
  std::lock_guard lock(endpoints_mutex_);
  return endpoints_;
}

}  // namespace stepline::host::metrics
