// The database restarted under two running hosts: `stepline serve` on two hosts works off jobs
// queued by a third; once some are done PostgreSQL is stopped for a few seconds and started
// again. The services must keep running, their jobs wait (none fails), and every job succeeds
// after the restart with its message in the queue. An operation tried while the database is
// down fails with an error naming the store, and writes nothing.
#include <doctest/doctest.h>

#include <signal.h>

#include <set>
#include <thread>

#include "endpoint_jobs.hpp"
#include "postgres_hosts.hpp"

using namespace stepline;
using namespace stepline::test;
using host::store::JobStatus;
using Clock = std::chrono::steady_clock;

TEST_CASE("PostgreSQL restarted under two hosts: jobs wait, then all succeed, once each") {
  constexpr int operations = 3000;
  auto& server = shared_postgres();
  SteplineBroker broker(job_broker_yaml(false));
  PostgresHosts cluster(broker, 3, 2);
  cluster.queue(0, operations);
  REQUIRE(cluster.count(JobStatus::ready) == operations);
  auto succeeded = [&] { return cluster.count(JobStatus::succeeded); };

  pid_t first = cluster.serve(1, 16), second = cluster.serve(2, 16);
  bool working = wait_until([&] { return succeeded() > 200; }, std::chrono::seconds(60));
  const auto before = succeeded();
  server.stop();
  const auto stopped = Clock::now();
  if (!working) {
    server.start();
    terminate(first);
    terminate(second);
  }
  REQUIRE_MESSAGE(working, "no job succeeded within 60 s\n" << cluster.report());
  CHECK_MESSAGE(before < operations, "every job was done before the database stopped");

  // While it is down: an operation fails, saying why and where the URL comes from.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  auto refused = run_stepline({"exec", "-c", cluster.config(0).string(), "--request",
                               R"({"message":"Create","target":{"logicalName":"contact"}})"});
  CHECK(::kill(first, 0) == 0);  // the services wait for the database
  CHECK(::kill(second, 0) == 0);
  server.start();
  const auto restarted = Clock::now();

  bool finished = wait_until([&] { return succeeded() == operations; }, std::chrono::seconds(120));
  terminate(first);
  terminate(second);
  REQUIRE_MESSAGE(finished, "not every job succeeded within 120 s of the restart\n"
                                << cluster.report());
  CHECK(cluster.count(JobStatus::failed) == 0);
  // The operation tried during the outage left nothing behind.
  CHECK(refused.status != 0);
  CHECK(server.sql(cluster.url().substr(cluster.url().rfind('/') + 1),
                   "SELECT count(*) FROM records WHERE entity = 'contact'") == "0");

  auto ids = cluster.job_ids();
  auto received = drain_message_ids(broker);
  std::set<std::string> distinct(received.begin(), received.end());
  CHECK(distinct == ids);
  MESSAGE(before
          << " of " << operations << " jobs done before the database stopped for "
          << std::chrono::duration_cast<std::chrono::milliseconds>(restarted - stopped).count()
          << " ms; all done "
          << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - restarted).count()
          << " ms after its restart; " << received.size() << " messages, " << distinct.size()
          << " distinct");
}
