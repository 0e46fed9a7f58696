// Crash safety with an endpoint step: N account Updates queue a job each that posts its context
// to a stepline-broker queue (duplicate detection off). `stepline serve` is killed with SIGKILL
// at random moments while it posts, and restarted, until a last one finishes. Every job must end
// Succeeded, the queue must hold a message for every job and for nothing else, and the repeats
// must stay within what the jobs in flight allow per kill.
//
// The bound: a worker takes a batch, posts all of it, and writes the outcomes in one transaction
// once every post of the batch is settled. A kill can therefore repeat at most the posts the
// broker accepted whose Succeeded was not yet written — every job the workers held, workers ×
// batch. The backend's window (256 posts per link) limits what is unsettled at once, not what is
// accepted and still unrecorded, so with 2 × 64 held jobs it is not the limit.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>

#include <random>
#include <set>
#include <thread>

#include "endpoint_jobs.hpp"

using namespace stepline;
using namespace stepline::test;
using host::store::JobStatus;
using Clock = std::chrono::steady_clock;

namespace {

long long milliseconds(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

}  // namespace

TEST_CASE(
    "SIGKILLed hosts lose no endpoint post: the queue holds every job's message, repeats bounded "
    "by the jobs in flight") {
  constexpr std::size_t operations = 10000;
  constexpr int workers = 2;
  constexpr int batch = 64;
  constexpr int kill_count = 6;
  SteplineBroker broker(job_broker_yaml(false));
  EndpointJobs jobs(broker, workers);
  const auto start = Clock::now();
  jobs.queue(operations);
  const auto queued = Clock::now();
  REQUIRE(jobs.count(JobStatus::ready) == operations);
  auto succeeded = [&] { return jobs.count(JobStatus::succeeded); };

  std::mt19937 random(20261122);
  // Within the first tens of milliseconds of posting: a host works off all 10,000 jobs in a
  // few hundred, and a kill after that would find nothing left to post.
  std::uniform_int_distribution<int> delay_ms(0, 40);
  int kills = 0;
  int kills_with_work_left = 0;
  while (kills < kill_count && succeeded() < operations) {
    const std::size_t before = succeeded();
    pid_t pid = jobs.serve(batch);
    // Once this host is posting (it recorded a batch), the kill comes at a random moment.
    bool posting = wait_until([&] { return succeeded() > before; }, std::chrono::seconds(60));
    if (posting) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(random)));
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    REQUIRE_MESSAGE(posting, "stepline serve recorded no job within 60 s\n" << jobs.report(broker));
    ++kills;
    if (succeeded() < operations) ++kills_with_work_left;
  }
  // The last one runs to the end and stops cleanly.
  pid_t pid = jobs.serve(batch);
  bool finished = wait_until([&] { return succeeded() == operations; }, std::chrono::seconds(120));
  const auto worked_off = Clock::now();
  terminate(pid);
  REQUIRE_MESSAGE(finished, "not every job succeeded within 120 s\n" << jobs.report(broker));
  auto counts = jobs.counts();
  CHECK(counts[JobStatus::succeeded] == operations);
  CHECK(counts[JobStatus::failed] == 0);
  CHECK(kills_with_work_left > 0);

  auto ids = jobs.job_ids();
  REQUIRE(ids.size() == operations);
  auto received = drain_message_ids(broker);
  std::set<std::string> distinct(received.begin(), received.end());
  CHECK(distinct == ids);
  const std::size_t duplicates = received.size() - distinct.size();
  const std::size_t bound = static_cast<std::size_t>(kills) * workers * batch;
  MESSAGE(kills << " kills (" << kills_with_work_left << " with jobs left), " << duplicates
                << " duplicate messages for " << operations << " jobs; bound " << bound
                << "; queued in " << milliseconds(queued - start) << " ms, worked off in "
                << milliseconds(worked_off - queued) << " ms");
  CHECK(duplicates <= bound);
}
