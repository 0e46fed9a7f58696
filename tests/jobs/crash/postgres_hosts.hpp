// Several Stepline hosts on one PostgreSQL database, as separate processes on this machine: each
// host has its own registration file and data folder (as each machine would), the same endpoint
// and step, and `host.store: {postgresql: ${env:STEPLINE_DATABASE_URL}}`. The step posts every
// account Create to a stepline-broker queue; the message-id of each post is its job's id.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <stepline/host/store/job_store.hpp>

#include "testkit/postgres.hpp"
#include "testkit/stepline_broker.hpp"

namespace stepline::test {

class PostgresHosts {
 public:
  /// `hosts` registrations with `workers` async workers each, on a fresh database of the shared
  /// test server; `endpoint_extra` is added under the endpoint (YAML lines, e.g. a retry policy).
  PostgresHosts(const SteplineBroker& broker, int hosts, int workers,
                const std::string& endpoint_extra = {});

  std::filesystem::path config(int host) const;
  std::filesystem::path log(int host) const;
  const std::string& url() const { return url_; }

  /// Host `host`'s requests: `operations` Creates of accounts with ids of their own (each queues
  /// one job).
  std::filesystem::path requests(int host, int operations) const;
  /// `stepline run --drain --parallel P --fail-on-error` of host `host`'s requests, started.
  pid_t run(int host, int operations, int parallel) const;
  /// `stepline run` of host `host`'s requests without --drain, to the end; REQUIREs exit 0.
  void queue(int host, int operations) const;
  /// `stepline serve` of host `host`, started.
  pid_t serve(int host, int batch, const std::string& lease = "60s") const;

  host::store::JobStore& jobs();
  std::map<host::store::JobStatus, std::size_t> counts();
  std::size_t count(host::store::JobStatus status);
  std::set<std::string> job_ids();
  /// The ids of the jobs held (In progress) by the process `pid` of this machine.
  std::set<std::string> held_by(pid_t pid);
  /// The job counts and the tails of every host's log.
  std::string report();

 private:
  std::map<std::string, std::string> env() const;

  TempDir dir_;
  int hosts_;
  std::string url_;
  std::string connection_;
  std::unique_ptr<host::store::JobStore> store_;
};

}  // namespace stepline::test
