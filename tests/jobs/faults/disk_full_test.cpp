// The host's data folder on a disk that fills up (a small tmpfs): operations get a clear error
// and leave nothing behind, the async service keeps the results it cannot write and says so once
// per interval instead of at every poll, and everything finishes by itself once there is room.
// Mounting needs root: where the tests cannot run, main() says why and CTest reports them
// skipped.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include <iostream>

#include <stepline/host/jobs/async_service.hpp>
#include <stepline/host/store/sqlite_record_store.hpp>

#include "fault_rig.hpp"
#include "jobs/fixture.hpp"
#include "testkit/small_disk.hpp"

using namespace stepline;
using namespace stepline::test;
using host::store::JobStatus;
using namespace std::chrono_literals;

namespace {

// Room for the write-ahead log (up to 16 MiB) and several thousand operations: the service has
// taken jobs, and holds some, by the time the disk is full.
constexpr std::size_t disk_size = 64 << 20;
constexpr std::size_t ballast_size = 8 << 20;  ///< freed to end the outage
constexpr int requests = 30000;                ///< more than fit

/// Jobs not completed.
std::size_t unfinished(FaultRig& rig) {
  auto counts = rig.jobs().count();
  return counts[JobStatus::ready] + counts[JobStatus::waiting] + counts[JobStatus::in_progress];
}

/// Requests from `run`'s output that were refused for the full disk.
std::size_t refused_for_full_disk(const std::filesystem::path& log) {
  return lines_with(log, ": failed: the operation was not saved: record store ");
}

}  // namespace

TEST_CASE("a data folder that fills up under serve: results are kept, said once, written later") {
  SmallDisk disk(disk_size);
  REQUIRE(disk.fill("ballast", ballast_size) == ballast_size);
  // Jobs take 2 ms each, so that the service still holds a backlog when the disk fills.
  FaultRig rig(disk.path() / "data", "  async_workers: 2\n", "", 2ms);
  pid_t serve = rig.serve();
  REQUIRE_MESSAGE(
      wait_for([&] { return lines_with(rig.log("serve"), "running jobs of") == 1; }, 30s),
      rig.report());

  // A few operations first, and the service working on their jobs: another process's jobs are
  // found by polling, and a fast run could otherwise fill the disk before the first poll.
  constexpr int first = 300;
  REQUIRE(rig.run(account_names(first), {"--fail-on-error"}, "first") == 0);
  REQUIRE_MESSAGE(wait_for([&] { return rig.count(JobStatus::ready) < first; }, 30s), rig.report());

  // A reader holds a snapshot (as a long listing or a backup does), so the database's write-ahead
  // log cannot start over and grows with every write: when the disk is full, the service's next
  // write needs room too. (Otherwise the log's file, reused from its start, may hold the
  // service's writes for as long as the jobs last, and only the operations, which add
  // contexts, are refused.)
  sqlite3* reader = nullptr;
  REQUIRE(sqlite3_open_v2((rig.data() / "stepline.db").c_str(), &reader, SQLITE_OPEN_READONLY,
                          nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM system_jobs;", nullptr, nullptr,
                       nullptr) == SQLITE_OK);

  // Operations queue jobs until the disk is full; the ones after that fail.
  REQUIRE(rig.run(account_names(requests)) == 0);
  REQUIRE_MESSAGE(refused_for_full_disk(rig.log("run")) > 0, tail(rig.log("run")));
  CHECK(disk.available() == 0);
  CHECK(lines_with(rig.log("run"), "is full: free space in " + rig.data().string()) ==
        refused_for_full_disk(rig.log("run")));
  const auto jobs = rig.all_jobs().size();
  CHECK(jobs + refused_for_full_disk(rig.log("run")) == first + requests);  // none half-written
  REQUIRE_MESSAGE(unfinished(rig) > 0, rig.report());
  // Results held: the service took jobs it cannot record. Looked for over a few seconds, not at
  // one instant: while the log's file still has room it was given before the reader's snapshot,
  // the service's writes get through, and both workers may be between a batch and the next.
  CHECK_MESSAGE(wait_for([&] { return rig.count(JobStatus::in_progress) > 0; }, 10s), rig.report());

  // The service cannot write: it keeps what it holds and says so once, not at every poll.
  const auto db = (rig.data() / "stepline.db").string();
  REQUIRE_MESSAGE(wait_for([&] { return lines_with(rig.log("serve"), "warning") > 0; }, 30s),
                  rig.report());
  std::this_thread::sleep_for(12s);  // longer than the service ever kept results before
  // Said when an outage starts and then at most every interval, not at every poll (the code
  // before logged 95 lines a second). A write may get through meanwhile (a checkpoint freed
  // pages), which ends one outage and lets the next start: each is said once.
  const auto outages = lines_with(rig.log("serve"), "async service: cannot ");
  CHECK_MESSAGE(outages >= 1, rig.report());
  CHECK_MESSAGE(outages <= 3, rig.report());
  // The start; per outage its start, its end and a reminder after an interval.
  CHECK_MESSAGE(lines_with(rig.log("serve"), db) <= 1 + 3 * outages, rig.report());
  CHECK(unfinished(rig) > 0);

  // Room again: every job finishes without a restart, each delivered at least once.
  const auto held = rig.count(JobStatus::in_progress), waiting = unfinished(rig);
  const auto warnings = lines_with(rig.log("serve"), "warning");
  sqlite3_exec(reader, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_close(reader);
  disk.free("ballast");
  const auto freed = std::chrono::steady_clock::now();
  REQUIRE_MESSAGE(wait_for([&] { return unfinished(rig) == 0; }, 60s), rig.report());
  MESSAGE(jobs << " jobs queued before the disk was full, " << refused_for_full_disk(rig.log("run"))
               << " operations refused; " << waiting << " jobs unfinished (" << held
               << " In progress with results kept) for 12 s with " << warnings
               << " warning(s) in the log; all done "
               << std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - freed)
                      .count()
               << " ms after space was freed");
  CHECK(rig.count(JobStatus::succeeded) == jobs);
  CHECK(rig.deliveries().size() == jobs);
  // Every outage said ended once.
  CHECK(lines_with(rig.log("serve"), "accepts writes again") ==
        lines_with(rig.log("serve"), "async service: cannot "));
  // And operations are written again.
  CHECK(rig.run(account_names(10), {"--fail-on-error"}, "after") == 0);
  ::kill(serve, SIGTERM);
  auto status = wait_exit(serve, 30s);
  REQUIRE(status);
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
}

TEST_CASE("run --drain on a data folder that fills up finishes once there is room") {
  SmallDisk disk(disk_size);
  REQUIRE(disk.fill("ballast", ballast_size) == ballast_size);
  FaultRig rig(disk.path() / "data", "", "", 2ms);
  pid_t run = rig.start_run(account_names(requests), {"--drain"}, "drain");
  const bool full = wait_for(
      [&] { return refused_for_full_disk(rig.log("drain")) > 0 && disk.available() == 0; }, 60s);
  REQUIRE_MESSAGE(full, tail(rig.log("drain")));
  std::this_thread::sleep_for(12s);  // longer than the service ever kept results before
  disk.free("ballast");
  const auto freed = std::chrono::steady_clock::now();
  auto status = wait_exit(run, 90s);
  const auto returned = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - freed);
  if (!status) {
    ::kill(run, SIGKILL);
    ::waitpid(run, nullptr, 0);
  }
  REQUIRE_MESSAGE(status,
                  "run --drain did not return once there was room: " << rig.report("drain"));
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
  const auto jobs = rig.all_jobs().size();
  CHECK(rig.count(JobStatus::succeeded) == jobs);
  CHECK(lines_with(rig.log("drain"),
                   "async jobs: " + std::to_string(jobs) + " succeeded, 0 failed") == 1);
  CHECK(rig.deliveries().size() == jobs);
  MESSAGE("run --drain returned " << returned.count() << " ms after space was freed, with " << jobs
                                  << " jobs succeeded");
}

TEST_CASE("drain gives up on a store that stays full, naming it, and finishes once there is room") {
  SmallDisk disk(disk_size);
  disk.fill("ballast", ballast_size);
  TestFactory factory;
  host::store::SqliteRecordStore store(disk.path() / "stepline.db");
  host::pipeline::Pipeline pipeline(
      make_registration({async_plugin_step("work", "work", "Create")}), factory, store);
  std::atomic<int> runs{0};
  factory.add("work", [&](ExecutionContext&, Services&) {
    std::this_thread::sleep_for(2ms);
    ++runs;
  });
  host::jobs::AsyncService service(pipeline, store.location(), nullptr, test_options());
  const auto mark = service.store().last_sequence();
  service.start();
  // A reader holds a snapshot, as in the first test: the write-ahead log cannot start over, so
  // once the disk is full the service's results need room too, instead of fitting in the log's
  // file reused from its start while only the operations (which add contexts) are refused.
  sqlite3* reader = nullptr;
  REQUIRE(sqlite3_open_v2(store.location().file.c_str(), &reader, SQLITE_OPEN_READONLY, nullptr) ==
          SQLITE_OK);
  REQUIRE(sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM system_jobs;", nullptr, nullptr,
                       nullptr) == SQLITE_OK);

  // Operations until the disk refuses one: it gets the reason, and nothing of it is kept.
  host::pipeline::OperationResponse refused;
  int created = 0;
  for (; created < 20000; ++created) {
    refused =
        pipeline.execute({.message = "Create", .parameters = {{"Target", Value(account("A"))}}});
    if (!refused.ok()) break;
  }
  REQUIRE(!refused.ok());
  CHECK(refused.outcome == host::pipeline::Outcome::failed);
  CHECK(refused.error_message.find("the operation was not saved: record store " +
                                   store.location().file.string()) == 0);
  CHECK(refused.error_message.find("is full: free space in " + disk.path().string()) !=
        std::string::npos);
  CHECK(refused.trace_id.empty());  // a known condition, not an unexpected error

  CHECK_FALSE(service.drain(mark, 30s, 1s));
  CHECK(service.outage().find("the job store " + store.location().file.string() +
                              " has refused writes for") == 0);
  CHECK(service.outage().find("is full") != std::string::npos);

  sqlite3_exec(reader, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_close(reader);
  disk.free("ballast");
  CHECK(service.drain(mark, 60s));
  CHECK(service.outage().empty());
  CHECK(runs >= created);
  service.stop();
  CHECK(service.stats().succeeded == static_cast<std::uint64_t>(created));
}

int main(int argc, char** argv) {
  if (auto why = SmallDisk::why_not(); !why.empty()) {
    std::cout << "skipped: " << why << '\n';
    return 77;
  }
  doctest::Context context(argc, argv);
  return context.run();
}
