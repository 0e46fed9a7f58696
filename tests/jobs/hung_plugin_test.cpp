// An async step whose plug-in, running in the host process, does not return within the step's
// timeout: its job fails with the reason, the worker thread is left behind in the plug-in and
// replaced, so the rest of its batch and the jobs after it still run, and the threads left
// behind are bounded.
#include <doctest/doctest.h>

#include <future>

#include "jobs/fixture.hpp"

using namespace stepline;
using namespace stepline::test;
using host::jobs::AsyncService;
using host::store::JobStatus;
using host::store::status_of;
using host::store::SystemJob;

namespace {

/// Async plug-in steps on account Update: "stuck" (blocks until release(), 300 ms timeout) and
/// "quick" (counts its runs).
struct HangRig {
  HangRig() : rig(steps()) {
    rig.factory.add("stuck", [this](ExecutionContext&, Services&) {
      ++stuck_runs;
      gate.wait();
    });
    rig.factory.add("quick", [this](ExecutionContext&, Services&) { ++quick_runs; });
  }
  ~HangRig() {
    release();
    // Threads left behind must be out of the plug-in before the pipeline goes.
    eventually([] { return AsyncService::threads_left_behind() == 0; }, std::chrono::seconds(10));
  }

  static std::vector<registration::Step> steps() {
    auto stuck = async_plugin_step("stuck", "stuck");
    stuck.timeout = std::chrono::milliseconds(300);
    stuck.rank = 1;
    auto quick = async_plugin_step("quick", "quick");
    quick.rank = 2;
    return {stuck, quick};
  }

  /// Lets every stuck plug-in return.
  void release() {
    if (!released.exchange(true)) opened.set_value();
  }
  std::vector<SystemJob> jobs_of(const std::string& step) {
    std::vector<SystemJob> out;
    for (auto& j : rig.store.system_jobs())
      if (j.step_name == step) out.push_back(j);
    return out;
  }
  bool all(const std::string& step, JobStatus status) {
    auto jobs = jobs_of(step);
    return !jobs.empty() && std::all_of(jobs.begin(), jobs.end(),
                                        [&](const SystemJob& j) { return status_of(j) == status; });
  }

  Rig rig;
  std::promise<void> opened;
  std::shared_future<void> gate = opened.get_future().share();
  std::atomic<bool> released{false};
  std::atomic<int> stuck_runs{0}, quick_runs{0};
};

Guid account_with_updates(Rig& rig, int updates) {
  auto id = rig.create(account("Contoso")).output_parameters.at("id").as<Guid>();
  for (int i = 0; i < updates; ++i) {
    Entity change("account", id);
    change.set("name", Value("Contoso " + std::to_string(i)));
    REQUIRE(rig.update(change).ok());
  }
  return id;
}

}  // namespace

TEST_CASE("a hung in-process plug-in fails its job at the step's timeout; a new worker goes on") {
  HangRig h;
  account_with_updates(h.rig, 3);  // stuck, quick, stuck, quick, stuck, quick: one batch
  auto o = test_options();
  o.workers = 1;  // the only worker hangs: the jobs after it run only if it is replaced
  o.max_abandoned = 2;
  auto service = std::make_unique<AsyncService>(h.rig.pipeline, h.rig.store.location(), nullptr, o);
  service->start();

  // The first two stuck jobs time out and their threads are left behind, each replaced by one
  // that goes on with the batch; the third finds two threads left behind already, the most this
  // service leaves, and keeps its worker.
  REQUIRE(eventually([&] { return h.stuck_runs == 3; }));
  REQUIRE(eventually([&] { return service->stats().timed_out == 2; }));
  auto stuck = h.jobs_of("stuck");
  REQUIRE(stuck.size() == 3);
  for (int i : {0, 1}) {
    CHECK(status_of(stuck[i]) == JobStatus::failed);
    CHECK(stuck[i].error_code == host::store::job_error::plugin_lost);
    CHECK(stuck[i].friendly_message.find("The plug-in of step 'stuck' did not return within "
                                         "300ms (the step's timeout)") == 0);
    CHECK(stuck[i].friendly_message.find("`isolation: process`") != std::string::npos);
    CHECK(stuck[i].execution_time_ms == 300);
  }
  CHECK(status_of(stuck[2]) == JobStatus::in_progress);
  CHECK(h.quick_runs == 2);
  CHECK(service->stats().abandoned == 2);
  CHECK(AsyncService::threads_left_behind() == 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // well past its timeout
  CHECK(service->stats().timed_out == 2);
  CHECK(status_of(h.jobs_of("stuck")[2]) == JobStatus::in_progress);

  // Once the plug-ins return, the threads left behind go quietly (their jobs keep their
  // failure), and the worker that waited finishes the batch.
  h.release();
  REQUIRE(eventually([&] { return AsyncService::threads_left_behind() == 0; }));
  REQUIRE(eventually([&] { return h.all("quick", JobStatus::succeeded); }));
  stuck = h.jobs_of("stuck");
  CHECK(status_of(stuck[0]) == JobStatus::failed);
  CHECK(status_of(stuck[1]) == JobStatus::failed);
  CHECK(status_of(stuck[2]) == JobStatus::succeeded);
  CHECK(h.quick_runs == 3);
  service->stop();
}

TEST_CASE("stopping leaves a worker that is still inside a plug-in after the grace period") {
  HangRig h;
  account_with_updates(h.rig, 1);
  auto o = test_options();
  o.workers = 1;
  auto service = std::make_unique<AsyncService>(h.rig.pipeline, h.rig.store.location(), nullptr, o);
  service->start();
  REQUIRE(eventually([&] { return h.stuck_runs == 1; }));
  auto stopped =
      std::async(std::launch::async, [&] { service->stop(std::chrono::milliseconds(50)); });
  // The step's timeout is 300 ms; stop() does not wait for it, nor for ever.
  REQUIRE(stopped.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
  CHECK(AsyncService::threads_left_behind() == 1);
  // Its job was handed back like any other held job: it runs again at the next start.
  CHECK(status_of(h.jobs_of("stuck")[0]) == JobStatus::ready);
  h.release();
  REQUIRE(eventually([&] { return AsyncService::threads_left_behind() == 0; }));
}
