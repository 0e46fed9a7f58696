// `--drain` for `stepline run` and `stepline exec`: an async service in the same process works
// through the jobs these requests queue, and the command waits for them before it exits.
#pragma once

#include <chrono>
#include <memory>
#include <ostream>

#include <fmt/format.h>

#include <stepline/host/configured_host.hpp>
#include <stepline/host/jobs/async_service.hpp>

namespace stepline::cli {

class Drain {
 public:
  /// Starts the service (when `enabled`) before any request runs, so jobs are worked off while
  /// later requests still run. Jobs created from now on are "these requests' jobs".
  Drain(host::ConfiguredHost& configured, bool enabled) {
    if (!enabled) return;
    service_ = std::make_unique<host::jobs::AsyncService>(configured.host().pipeline(),
                                                          configured.host().store().location(),
                                                          configured.endpoint_poster());
    mark_ = service_->store().last_sequence();
    service_->start();
    start_ = std::chrono::steady_clock::now();
  }

  /// Waits until every job created since the start is completed (Waiting ones included: a
  /// retry due in ten minutes keeps the command ten minutes), stops the service and prints a
  /// summary line. Returns the number of jobs that did not succeed.
  std::size_t finish(std::ostream& out) {
    if (!service_) return 0;
    // A store that refuses every write (a full disk) for a lease's length is given up on: the
    // jobs run again when a service next starts.
    std::string outage;
    if (!service_->drain(mark_, std::chrono::milliseconds::max(), std::chrono::seconds(60)))
      outage = service_->outage();
    service_->stop();
    auto counts = service_->store().count(mark_);
    auto stats = service_->stats();
    // Jobs of auto_delete steps are gone once they succeed: the service counted them.
    auto succeeded = std::max<std::size_t>(counts[host::store::JobStatus::succeeded],
                                           static_cast<std::size_t>(stats.succeeded));
    auto failed = counts[host::store::JobStatus::failed];
    auto canceled = counts[host::store::JobStatus::canceled];
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    out << fmt::format(
               "async jobs: {} succeeded, {} failed, {} canceled, {} retries; drained in {:.3f} s",
               succeeded, failed, canceled, stats.retries, seconds)
        << std::endl;
    if (failed)
      out << "  `stepline jobs -c FILE list --status failed` shows why; `stepline jobs -c FILE "
             "retry ID` runs one again"
          << std::endl;
    std::size_t unfinished = 0;
    if (!outage.empty()) {
      for (auto status : {host::store::JobStatus::ready, host::store::JobStatus::waiting,
                          host::store::JobStatus::in_progress, host::store::JobStatus::canceling})
        unfinished += counts[status];
      out << fmt::format(
                 "  gave up waiting for {} unfinished job(s): {}; they run again when `stepline "
                 "serve` or another --drain next starts, once there is room",
                 unfinished, outage)
          << std::endl;
    }
    return failed + canceled + unfinished;
  }

 private:
  std::unique_ptr<host::jobs::AsyncService> service_;
  long long mark_ = 0;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace stepline::cli
