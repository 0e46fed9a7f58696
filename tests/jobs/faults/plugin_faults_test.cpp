// Async plug-ins that run in the host process and go wrong: one that takes the host down must
// not crash-loop `stepline serve` (its job fails after host.async_crash_limit attempts that never
// returned, and the host stays up), and one that never returns must not hold a worker for ever
// (its job fails at the step's timeout, and serve still stops cleanly).
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>

#include "fault_rig.hpp"

using namespace stepline;
using namespace stepline::test;
using host::store::JobStatus;
using namespace std::chrono_literals;

namespace {

host::store::SystemJob job_of(FaultRig& rig, const std::string& step_name, int index) {
  auto jobs = rig.all_jobs();
  REQUIRE(jobs.size() > static_cast<std::size_t>(index));
  CHECK(jobs[index].step_name == step_name);
  return rig.jobs().find(jobs[index].id.str());
}

}  // namespace

TEST_CASE(
    "a plug-in that takes the host down fails its job after the crash limit; serve stays up") {
  FaultRig rig({}, "  async_crash_limit: 2\n");
  auto names = account_names(20);
  names.insert(names.begin() + 10, "crash");
  REQUIRE(rig.run(names) == 0);
  REQUIRE(rig.count(JobStatus::ready) == 21);
  auto done = [&] {
    return rig.count(JobStatus::succeeded) == 20 && rig.count(JobStatus::failed) == 1;
  };

  // Restarted as a supervisor would: each start runs the job again, until the host has died
  // as often as the limit says.
  int crashes = 0;
  pid_t serve = 0;
  const auto started = std::chrono::steady_clock::now();
  for (;;) {
    serve = rig.serve();
    std::optional<int> ended;
    wait_for([&] { return (ended = wait_exit(serve, 0ms)).has_value() || done(); }, 60s);
    if (!ended) break;
    REQUIRE_MESSAGE(WIFSIGNALED(*ended), rig.report());
    CHECK(WTERMSIG(*ended) == SIGSEGV);
    ++crashes;
    REQUIRE_MESSAGE(crashes <= 2, "serve crashed again after the limit: " << rig.report());
  }
  CHECK(crashes == 2);
  REQUIRE_MESSAGE(done(), rig.report());
  MESSAGE("serve crashed " << crashes << " times, then failed the job and ran the other 20; "
                           << std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::steady_clock::now() - started)
                                  .count()
                           << " ms from the first start");

  auto crashed = job_of(rig, "Deliver", 10);
  CHECK(crashed.crash_count == 2);
  CHECK(crashed.error_code == host::store::job_error::plugin_lost);
  CHECK(crashed.friendly_message.find("The host died while running this step (2 times)") == 0);
  CHECK(crashed.friendly_message.find("`isolation: process`") != std::string::npos);
  CHECK(crashed.message_text.find("the host died while running this step") == 0);
  CHECK(lines_with(rig.log("serve"), "should run with `isolation: process`") == 1);
  // The other jobs ran, those of the crashed batches at least once.
  auto seen = rig.deliveries();
  CHECK(seen.size() == 20);
  CHECK(seen.count(crashed.id.str()) == 0);

  // The host that stayed up is still a working one: it stops cleanly.
  ::kill(serve, SIGTERM);
  auto status = wait_exit(serve, 30s);
  REQUIRE(status);
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);

  // An operator's retry starts the count again.
  CHECK(rig.jobs().retry(crashed.id) == JobStatus::ready);
  CHECK(rig.jobs().find(crashed.id.str()).crash_count == 0);
}

TEST_CASE(
    "a hung in-process plug-in fails its job at the step's timeout, and serve stops cleanly") {
  FaultRig rig({}, "", "    timeout: 1s\n");
  auto names = account_names(10);
  names.insert(names.begin() + 3, "hang");
  REQUIRE(rig.run(names) == 0);
  pid_t serve = rig.serve();
  const auto started = std::chrono::steady_clock::now();
  bool done = wait_for(
      [&] { return rig.count(JobStatus::succeeded) == 10 && rig.count(JobStatus::failed) == 1; },
      60s);
  REQUIRE_MESSAGE(done, rig.report());

  auto hung = job_of(rig, "Deliver", 3);
  CHECK(hung.status_code == 31);
  CHECK(hung.friendly_message.find("The plug-in of step 'Deliver' did not return within 1s") == 0);
  CHECK(lines_with(rig.log("serve"), "The step should run with `isolation: process`") == 1);
  CHECK(rig.deliveries().size() == 10);
  MESSAGE("the hung job failed and the other 10 ran "
          << std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::steady_clock::now() - started)
                 .count()
          << " ms after serve started (the step's timeout: 1 s)");

  // A thread is still inside the plug-in: stopping does not wait for it.
  ::kill(serve, SIGTERM);
  auto status = wait_exit(serve, 30s);
  REQUIRE_MESSAGE(status, rig.report());
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
}
