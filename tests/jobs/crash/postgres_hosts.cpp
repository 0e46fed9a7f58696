#include "postgres_hosts.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include <stepline/host/store/store.hpp>

#include "endpoint_jobs.hpp"

namespace stepline::test {
namespace {

namespace fs = std::filesystem;
using host::store::JobStatus;

std::string account_id(int host, int i) {
  char text[40];
  std::snprintf(text, sizeof text, "a%07d-0000-0000-0000-%012d", host, i);
  return text;
}

}  // namespace

PostgresHosts::PostgresHosts(const SteplineBroker& broker, int hosts, int workers,
                             const std::string& endpoint_extra)
    : dir_("stepline-postgres-hosts-"),
      hosts_(hosts),
      url_(fresh_database("hosts")),
      connection_(broker.connection_string()) {
  for (int h = 0; h < hosts; ++h) {
    fs::create_directories(dir_.path() / ("host" + std::to_string(h)) / "plugins");
    std::ofstream(config(h)) << "host:\n"
                             << "  plugin_folder: plugins\n"
                             << "  data_folder: data\n"
                             << "  log_level: warn\n"
                             << "  async_workers: " << workers << "\n"
                             << "  store:\n"
                             << "    postgresql: ${env:STEPLINE_DATABASE_URL}\n"
                             << "endpoints:\n"
                             << "  - name: job-queue\n"
                             << "    contract: queue\n"
                             << "    path: " << job_queue << "\n"
                             << "    format: json\n"
                             << "    connection: ${env:CRASH_BROKER_CONNECTION}\n"
                             << endpoint_extra << "steps:\n"
                             << "  - name: Post new accounts\n"
                             << "    message: Create\n"
                             << "    entity: account\n"
                             << "    stage: post-operation\n"
                             << "    mode: async\n"
                             << "    handler:\n"
                             << "      endpoint: job-queue\n";
  }
}

std::map<std::string, std::string> PostgresHosts::env() const {
  return {{"STEPLINE_DATABASE_URL", url_}, {"CRASH_BROKER_CONNECTION", connection_}};
}

fs::path PostgresHosts::config(int host) const {
  return dir_.path() / ("host" + std::to_string(host)) / "stepline.yaml";
}

fs::path PostgresHosts::log(int host) const {
  return dir_.path() / ("host" + std::to_string(host)) / "host.log";
}

fs::path PostgresHosts::requests(int host, int operations) const {
  auto file = dir_.path() / ("host" + std::to_string(host)) / "requests.jsonl";
  std::ofstream out(file);
  for (int i = 0; i < operations; ++i)
    out << R"({"message":"Create","target":{"logicalName":"account","id":")" << account_id(host, i)
        << R"(","attributes":{"name":"A)" << i << "\"}}}\n";
  return file;
}

pid_t PostgresHosts::run(int host, int operations, int parallel) const {
  return spawn({stepline_executable(), "run", "-c", config(host).string(), "--requests",
                requests(host, operations).string(), "--drain", "--fail-on-error", "--parallel",
                std::to_string(parallel)},
               env(), log(host));
}

void PostgresHosts::queue(int host, int operations) const {
  REQUIRE_MESSAGE(
      test::run({stepline_executable(), "run", "-c", config(host).string(), "--requests",
                 requests(host, operations).string(), "--fail-on-error", "--parallel", "4"},
                env(), log(host)) == 0,
      tail(log(host)));
}

pid_t PostgresHosts::serve(int host, int batch, const std::string& lease) const {
  return spawn({stepline_executable(), "serve", "-c", config(host).string(), "--batch",
                std::to_string(batch), "--lease", lease},
               env(), log(host));
}

host::store::JobStore& PostgresHosts::jobs() {
  if (!store_)
    store_ = host::store::open_jobs(
        host::store::Location::postgresql(url_, "the test's database", dir_.path()));
  return *store_;
}

std::map<JobStatus, std::size_t> PostgresHosts::counts() {
  return jobs().count();
}

std::size_t PostgresHosts::count(JobStatus status) {
  return counts()[status];
}

std::set<std::string> PostgresHosts::job_ids() {
  std::set<std::string> ids;
  host::store::JobFilter all;
  all.limit = 0;
  jobs().list(all, [&](const host::store::SystemJob& j) { ids.insert(j.id.str()); });
  return ids;
}

std::set<std::string> PostgresHosts::held_by(pid_t pid) {
  std::set<std::string> ids;
  host::store::JobFilter held;
  held.status = JobStatus::in_progress;
  held.limit = 0;
  const std::string mark = ":" + std::to_string(pid) + ":";
  jobs().list(held, [&](const host::store::SystemJob& j) {
    if (j.lease_owner.find(mark) != std::string::npos) ids.insert(j.id.str());
  });
  return ids;
}

std::string PostgresHosts::report() {
  std::ostringstream out;
  out << "jobs:";
  for (const auto& [status, n] : counts())
    if (n) out << " " << to_string(status) << " " << n;
  for (int h = 0; h < hosts_; ++h) out << "\n--- host " << h << " ---\n" << tail(log(h));
  return out.str();
}

}  // namespace stepline::test
