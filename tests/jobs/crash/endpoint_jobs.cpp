#include "endpoint_jobs.hpp"
#include <stepline/host/store/sqlite_job_store.hpp>

#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include <proton/message_id.hpp>

#include "testkit/message_receiver.hpp"

namespace stepline::test {
namespace {

namespace fs = std::filesystem;
using host::store::JobStatus;

constexpr const char* connection_variable = "CRASH_BROKER_CONNECTION";

std::string account_id(int i) {
  char text[40];
  std::snprintf(text, sizeof text, "a0000000-0000-0000-0000-%012d", i);
  return text;
}

}  // namespace

std::string job_broker_yaml(bool durable) {
  std::ostringstream yaml;
  if (durable) yaml << "data_dir: {dir}\n";
  yaml << "sas_policies:\n"
       << "  - name: RootManageSharedAccessKey\n"
       << "    key: " << SteplineBroker::root_key << "\n"
       << "    rights: [manage, send, listen]\n"
       << "queues:\n"
       << "  - name: " << job_queue << "\n";
  return yaml.str();
}

EndpointJobs::EndpointJobs(const SteplineBroker& broker, int workers,
                           const std::string& endpoint_extra)
    : EndpointJobs(broker.connection_string(), workers, endpoint_extra) {}

EndpointJobs::EndpointJobs(const std::string& connection, int workers,
                           const std::string& endpoint_extra)
    : dir_("stepline-endpoint-jobs-"), workers_(workers) {
  env_[connection_variable] = connection;
  fs::create_directory(dir_.path() / "plugins");  // no plug-ins: the only step is an endpoint's
  std::ofstream(config()) << "host:\n"
                          << "  plugin_folder: plugins\n"
                          << "  data_folder: data\n"
                          << "  log_level: warn\n"
                          << "  async_workers: " << workers << "\n"
                          << "endpoints:\n"
                          << "  - name: job-queue\n"
                          << "    contract: queue\n"
                          << "    path: " << job_queue << "\n"
                          << "    format: json\n"
                          << "    connection: ${env:" << connection_variable << "}\n"
                          << endpoint_extra << "steps:\n"
                          << "  - name: Post account updates\n"
                          << "    message: Update\n"
                          << "    entity: account\n"
                          << "    stage: post-operation\n"
                          << "    mode: async\n"
                          << "    handler:\n"
                          << "      endpoint: job-queue\n";
}

void EndpointJobs::queue(int operations) {
  auto requests = dir_.path() / "requests.jsonl";
  {
    std::ofstream out(requests);
    for (int i = 0; i < operations; ++i)
      out << R"({"message":"Create","target":{"logicalName":"account","id":")" << account_id(i)
          << R"(","attributes":{"name":"A)" << i << "\"}}}\n";
    for (int i = 0; i < operations; ++i)
      out << R"({"message":"Update","target":{"logicalName":"account","id":")" << account_id(i)
          << R"(","attributes":{"name":"B)" << i << "\"}}}\n";
  }
  auto log = dir_.path() / "run.log";
  REQUIRE_MESSAGE(run({stepline_executable(), "run", "-c", config().string(), "--requests",
                       requests.string(), "--fail-on-error"},
                      env_, log) == 0,
                  tail(log));
  store_ = std::make_unique<host::store::SqliteJobStore>(dir_.path() / "data" / "stepline.db");
}

pid_t EndpointJobs::serve(int batch) const {
  return spawn({stepline_executable(), "serve", "-c", config().string(), "--workers",
                std::to_string(workers_), "--batch", std::to_string(batch)},
               env_, serve_log());
}

std::map<JobStatus, std::size_t> EndpointJobs::counts() {
  return store_->count();
}

std::size_t EndpointJobs::count(JobStatus status) {
  return counts()[status];
}

std::set<std::string> EndpointJobs::job_ids() {
  std::set<std::string> ids;
  host::store::JobFilter all;
  all.limit = 0;
  store_->list(all, [&](const host::store::SystemJob& j) { ids.insert(j.id.str()); });
  return ids;
}

std::string EndpointJobs::report(const SteplineBroker& broker) {
  return report() + "\n--- broker log ---\n" + broker.log();
}

std::string EndpointJobs::report() {
  std::ostringstream out;
  out << "jobs:";
  for (const auto& [status, n] : counts())
    if (n) out << " " << to_string(status) << " " << n;
  out << "\n--- serve log ---\n" << tail(serve_log());
  return out.str();
}

bool wait_until(const std::function<bool()>& done, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

std::vector<std::string> drain_message_ids(const SteplineBroker& broker) {
  MessageReceiver receiver(
      broker.url(), {job_queue},
      {.user = "RootManageSharedAccessKey", .password = SteplineBroker::root_key, .reply = {}});
  REQUIRE_MESSAGE(receiver.drain(), "the queue was not drained within 60 s\n" << broker.log());
  std::vector<std::string> ids;
  for (const auto& m : receiver.messages()) ids.push_back(proton::to_string(m.id()));
  return ids;
}

}  // namespace stepline::test
