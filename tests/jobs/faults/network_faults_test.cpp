// The AMQP side of `stepline serve` under faults: connections to stepline-broker stalled and cut
// mid-transfer by a proxy, and a broker that grants no credit for a while. Posts that cannot
// finish time out and their jobs wait for another attempt; none gives up, and once the network
// or the broker is back every job's message arrives (at least once: message-id = job id).
#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <thread>

#include <proton/message_id.hpp>

#include "jobs/crash/endpoint_jobs.hpp"
#include "testkit/tcp_proxy.hpp"
#include "testkit/test_peer.hpp"

using namespace stepline;
using namespace stepline::test;
using host::store::JobStatus;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

// An attempt that cannot finish ends after 2 s; retries at most 1 s apart outlast the faults.
constexpr const char* patient_endpoint =
    "    timeout: 2s\n"
    "    retry:\n"
    "      max_attempts: 100\n"
    "      base_delay: 200ms\n"
    "      max_delay: 1s\n"
    "      jitter: 0.2\n";

/// The most jobs seen Waiting and Failed while `until` had not come.
struct Watched {
  std::size_t most_waiting = 0, most_failed = 0;
};
Watched watch(EndpointJobs& jobs, Clock::time_point until) {
  Watched w;
  while (Clock::now() < until) {
    auto counts = jobs.counts();
    w.most_waiting = std::max(w.most_waiting, counts[JobStatus::waiting]);
    w.most_failed = std::max(w.most_failed, counts[JobStatus::failed]);
    std::this_thread::sleep_for(50ms);
  }
  return w;
}

long long ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

}  // namespace

TEST_CASE("connections to the broker stalled and cut mid-transfer: no job fails or is lost") {
  constexpr std::size_t operations = 10000;
  SteplineBroker broker(job_broker_yaml(false));
  TcpProxy proxy(broker.port());
  const std::string via_proxy = "Endpoint=sb://127.0.0.1:" + std::to_string(proxy.port()) +
                                "/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=" +
                                SteplineBroker::root_key + ";UseDevelopmentEmulator=true";
  EndpointJobs jobs(via_proxy, 2, patient_endpoint);
  jobs.queue(static_cast<int>(operations));
  auto succeeded = [&] { return jobs.count(JobStatus::succeeded); };

  pid_t pid = jobs.serve(64);
  bool posting = wait_until([&] { return succeeded() > 0; }, 60s);
  if (posting) proxy.stall();
  const std::size_t before = succeeded();
  if (!posting) terminate(pid);
  REQUIRE_MESSAGE(posting, "stepline serve recorded no job within 60 s\n" << jobs.report(broker));
  REQUIRE(before < operations);

  // Stalled for twice the endpoint's timeout: posts time out, their jobs wait.
  const auto stalled = watch(jobs, Clock::now() + 4s);
  CHECK_MESSAGE(stalled.most_failed == 0, jobs.report(broker));
  CHECK_MESSAGE(stalled.most_waiting > 0, jobs.report(broker));

  // The stalled connections are cut, and two more times the new ones, while posts are in flight.
  std::size_t cut = proxy.cut();
  proxy.resume();
  const auto resumed = Clock::now();
  for (int i = 0; i < 2; ++i) {
    std::this_thread::sleep_for(300ms);
    cut += proxy.cut();
  }
  const auto after_cuts = watch(jobs, Clock::now() + 500ms);
  bool finished = wait_until([&] { return succeeded() == operations; }, 120s);
  const auto recovery = ms_since(resumed);
  terminate(pid);
  REQUIRE_MESSAGE(finished, "not every job succeeded within 120 s of the network's return\n"
                                << jobs.report(broker));
  CHECK(jobs.count(JobStatus::failed) == 0);
  CHECK(after_cuts.most_failed == 0);
  CHECK(cut >= 3);  // every cut found a connection to reset

  auto ids = jobs.job_ids();
  auto received = drain_message_ids(broker);
  std::set<std::string> distinct(received.begin(), received.end());
  MESSAGE(before << " jobs succeeded before the stall, at most " << stalled.most_waiting
                 << " waiting during it; " << cut << " connections cut; all " << operations
                 << " done " << recovery << " ms after the network came back; " << received.size()
                 << " messages, " << distinct.size() << " distinct");
  CHECK(distinct == ids);
}

TEST_CASE("a broker that withholds credit: posts time out and wait, and all go once it grants") {
  constexpr std::size_t operations = 500;
  TestPeerOptions options;
  options.withhold_credit = true;
  TestPeer peer(options);
  EndpointJobs jobs(peer.connection_string(), 2, patient_endpoint);
  jobs.queue(static_cast<int>(operations));
  pid_t pid = jobs.serve(64);

  // Six seconds without credit: three times the endpoint's timeout.
  const auto withheld = watch(jobs, Clock::now() + 6s);
  CHECK_MESSAGE(withheld.most_failed == 0, jobs.report());
  CHECK_MESSAGE(withheld.most_waiting > 0, jobs.report());
  CHECK(jobs.count(JobStatus::succeeded) == 0);
  CHECK(peer.messages().empty());

  peer.grant_credit();
  const auto granted = Clock::now();
  bool finished = wait_until([&] { return jobs.count(JobStatus::succeeded) == operations; }, 60s);
  const auto recovery = ms_since(granted);
  terminate(pid);
  REQUIRE_MESSAGE(finished, "not every job succeeded within 60 s of the credit\n" << jobs.report());
  CHECK(jobs.count(JobStatus::failed) == 0);
  std::set<std::string> distinct;
  for (const auto& m : peer.messages()) distinct.insert(proton::to_string(m.id()));
  MESSAGE("at most " << withheld.most_waiting << " of " << operations
                     << " jobs waiting while credit was withheld; all done " << recovery
                     << " ms after it was granted; " << peer.messages().size() << " messages");
  CHECK(distinct == jobs.job_ids());
}
