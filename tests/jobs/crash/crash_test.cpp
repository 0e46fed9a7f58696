// Crash safety of the outbox and the async service: 3000 operations queue a plug-in job each;
// `stepline serve` is killed with SIGKILL at random moments and restarted until every job
// succeeded. Every job's effect (a line with its OperationId) must be there at least once, and
// repeats are bounded by the jobs in flight at each kill.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <map>
#include <random>
#include <set>

#include <stepline/host/store/job_store.hpp>
#include <stepline/host/store/sqlite_job_store.hpp>

#include "testkit/process.hpp"

using namespace stepline;
using namespace stepline::test;
namespace fs = std::filesystem;

TEST_CASE("SIGKILLed hosts lose no job: every operation's job runs at least once") {
  constexpr int operations = 3000;
  constexpr int workers = 2;
  constexpr int batch = 16;
  TempDir dir("stepline-crash");
  auto deliveries = dir.path() / "deliveries.txt";
  auto config = dir.path() / "stepline.yaml";
  std::ofstream(config) << "host:\n"
                        << "  plugin_folder: " << CRASH_PLUGIN_DIR << "\n"
                        << "  data_folder: data\n"
                        << "  log_level: warn\n"
                        << "  async_workers: " << workers << "\n"
                        << "plugins:\n  - file: record_delivery.so\n"
                        << "steps:\n"
                        << "  - name: Deliver\n    message: Create\n    entity: account\n"
                        << "    stage: post-operation\n    mode: async\n"
                        << "    configuration: " << deliveries.string() << "\n"
                        << "    handler:\n      plugin: Test.RecordDelivery\n";
  auto requests = dir.path() / "requests.jsonl";
  {
    std::ofstream out(requests);
    for (int i = 0; i < operations; ++i)
      out << R"({"message":"Create","target":{"logicalName":"account","attributes":{"name":"A)" << i
          << R"("}}})"
          << "\n";
  }
  REQUIRE(
      run({stepline_executable(), "run", "-c", config.string(), "--requests", requests.string()},
          {}, dir.path() / "run.log") == 0);

  host::store::SqliteJobStore jobs(dir.path() / "data" / "stepline.db");
  auto succeeded = [&] { return jobs.count()[host::store::JobStatus::succeeded]; };
  REQUIRE(jobs.count()[host::store::JobStatus::ready] == operations);

  std::mt19937 random(20261122);
  std::uniform_int_distribution<int> lifetime_ms(80, 400);
  int kills = 0;
  auto serve_log = dir.path() / "serve.log";
  auto serve = [&] {
    return spawn(
        {stepline_executable(), "serve", "-c", config.string(), "--batch", std::to_string(batch)},
        {}, serve_log);
  };
  while (kills < 8 && succeeded() < static_cast<std::size_t>(operations)) {
    pid_t pid = serve();
    std::this_thread::sleep_for(std::chrono::milliseconds(lifetime_ms(random)));
    ::kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    ++kills;
  }
  // The last one runs to the end and stops cleanly.
  pid_t pid = serve();
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (succeeded() < static_cast<std::size_t>(operations) &&
         std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  terminate(pid);
  auto counts = jobs.count();
  CHECK_MESSAGE(counts[host::store::JobStatus::succeeded] == operations, tail(serve_log));
  CHECK(counts[host::store::JobStatus::failed] == 0);

  std::set<std::string> ids;
  host::store::JobFilter every_job;
  every_job.limit = 0;
  jobs.list(every_job, [&](const host::store::SystemJob& j) { ids.insert(j.id.str()); });
  std::map<std::string, int> seen;
  std::ifstream in(deliveries);
  std::size_t lines = 0;
  for (std::string line; std::getline(in, line);) {
    ++seen[line];
    ++lines;
  }
  std::size_t missing = 0;
  for (const auto& id : ids) missing += seen.count(id) ? 0 : 1;
  CHECK(missing == 0);
  CHECK(seen.size() == ids.size());  // nothing delivered that is not a job
  // Each kill can repeat at most the jobs its workers held: workers × batch.
  const std::size_t repeats = lines - seen.size();
  MESSAGE(kills << " kills, " << repeats << " repeated deliveries of " << operations);
  CHECK(repeats <= static_cast<std::size_t>(kills * workers * batch));
}
