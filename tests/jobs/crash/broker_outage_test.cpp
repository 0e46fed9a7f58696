// A broker outage under `stepline serve`: jobs post to a stepline-broker queue that keeps its
// messages on disk; once some have succeeded the broker is stopped for 30 s and started again on
// the same port. While it is down jobs must come back Waiting for another attempt and none may
// give up; after its restart every job must succeed and the queue must hold each job's message.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <thread>

#include "endpoint_jobs.hpp"

using namespace stepline;
using namespace stepline::test;
using host::store::JobStatus;
using Clock = std::chrono::steady_clock;

TEST_CASE(
    "a broker down for 30 s: jobs wait and retry, none fails, and after its restart the queue "
    "holds every job's message") {
  constexpr std::size_t operations = 3000;
  constexpr auto outage = std::chrono::seconds(30);
  SteplineBroker broker(job_broker_yaml(true));
  // While the broker is down an attempt ends after `timeout`; with retries at most 2 s apart,
  // 100 attempts outlast the outage and the host's reconnect backoff many times over.
  EndpointJobs jobs(broker, 2,
                    "    timeout: 3s\n"
                    "    retry:\n"
                    "      max_attempts: 100\n"
                    "      base_delay: 200ms\n"
                    "      max_delay: 2s\n"
                    "      jitter: 0.2\n");
  jobs.queue(operations);
  REQUIRE(jobs.count(JobStatus::ready) == operations);
  auto succeeded = [&] { return jobs.count(JobStatus::succeeded); };

  pid_t pid = jobs.serve(64);
  bool posting = wait_until([&] { return succeeded() > 0; }, std::chrono::seconds(60));
  if (posting) broker.stop();
  const std::size_t before_outage = succeeded();
  if (!posting || before_outage == operations) terminate(pid);
  REQUIRE_MESSAGE(posting, "stepline serve recorded no job within 60 s\n" << jobs.report(broker));
  REQUIRE_MESSAGE(before_outage < operations, "every job was done before the broker stopped");

  // While it is down: jobs come back Waiting for their next attempt, and none gives up.
  std::size_t most_waiting = 0, most_failed = 0;
  const auto outage_end = Clock::now() + outage;
  while (Clock::now() < outage_end && most_failed == 0) {
    auto counts = jobs.counts();
    most_waiting = std::max(most_waiting, counts[JobStatus::waiting]);
    most_failed = std::max(most_failed, counts[JobStatus::failed]);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const std::size_t during_outage = succeeded() - before_outage;
  CHECK_MESSAGE(most_failed == 0, jobs.report(broker));
  CHECK_MESSAGE(most_waiting > 0, jobs.report(broker));

  broker.start();
  const auto restarted = Clock::now();
  bool finished = wait_until([&] { return succeeded() == operations; }, std::chrono::seconds(180));
  const auto recovery =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - restarted);
  terminate(pid);
  REQUIRE_MESSAGE(finished, "not every job succeeded within 180 s of the broker's restart\n"
                                << jobs.report(broker));
  CHECK(jobs.count(JobStatus::failed) == 0);

  auto ids = jobs.job_ids();
  auto received = drain_message_ids(broker);
  std::set<std::string> distinct(received.begin(), received.end());
  MESSAGE(before_outage << " jobs succeeded before the outage, " << during_outage
                        << " as it began, at most " << most_waiting << " waiting during it; all "
                        << operations << " done " << recovery.count() << " ms after the restart; "
                        << received.size() << " messages, " << distinct.size() << " distinct");
  CHECK(distinct.size() == operations);
  CHECK(distinct == ids);
}
