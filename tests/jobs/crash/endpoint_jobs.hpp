// The setup the endpoint crash and broker-outage tests share: a stepline-broker queue, a
// registration whose only step posts every account Update to it (connection string through
// ${env:…}), requests that queue one such job per account, `stepline serve` processes working
// them off, and the job store and the queue to check afterwards. The message-id of every post is
// the context's OperationId, which is the job's id.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <stepline/host/store/job_store.hpp>

#include "testkit/process.hpp"
#include "testkit/stepline_broker.hpp"

namespace stepline::test {

/// The queue every job posts to.
inline constexpr const char* job_queue = "jobs";

/// A broker configuration with the queue, duplicate detection off (every re-sent post is kept
/// and counted); `durable` adds a data_dir so messages survive a restart.
std::string job_broker_yaml(bool durable);

class EndpointJobs {
 public:
  /// Writes the registration: `workers` async workers, the endpoint with `endpoint_extra` (YAML
  /// lines indented under the endpoint, e.g. a retry policy) added.
  EndpointJobs(const SteplineBroker& broker, int workers, const std::string& endpoint_extra = {});
  /// The same posting through `connection` (a proxy in front of the broker, another peer).
  EndpointJobs(const std::string& connection, int workers, const std::string& endpoint_extra = {});

  std::filesystem::path config() const { return dir_.path() / "stepline.yaml"; }
  std::filesystem::path serve_log() const { return dir_.path() / "serve.log"; }

  /// Runs `operations` Creates with known ids (no step fires on Create), then an Update of each
  /// (one job each), through `stepline run`; then opens the job store.
  void queue(int operations);
  /// Starts `stepline serve` taking `batch` jobs per worker; its output goes to serve_log().
  pid_t serve(int batch) const;

  std::map<host::store::JobStatus, std::size_t> counts();
  std::size_t count(host::store::JobStatus status);
  std::set<std::string> job_ids();
  /// The job counts and the tails of the serve and broker logs, for failure messages.
  std::string report(const SteplineBroker& broker);
  /// The job counts and the tail of the serve log.
  std::string report();

 private:
  TempDir dir_;
  int workers_;
  std::map<std::string, std::string> env_;
  std::unique_ptr<host::store::JobStore> store_;
};

/// Polls `done` every 20 ms until it holds (true) or `limit` passes (false).
bool wait_until(const std::function<bool()>& done, std::chrono::seconds limit);

/// The message-ids of every message on the job queue, taken until the broker has none left.
std::vector<std::string> drain_message_ids(const SteplineBroker& broker);

}  // namespace stepline::test
