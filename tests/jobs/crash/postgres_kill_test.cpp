// Three hosts on one PostgreSQL database, each running 10,000 operations whose async endpoint
// step posts to a stepline-broker queue (`stepline run --drain`: it commits operations and runs
// jobs, its own handed over at their commit, the others' found in the database). One host is
// killed with SIGKILL while it works. Every job must end Succeeded, the queue must hold a message
// for every job and for nothing else, and a message may come twice only for a job the killed
// host held when it died: the others take those jobs once its lease is found gone. And a host
// that stops answering without dying loses its jobs to the others once its lease expires.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "endpoint_jobs.hpp"
#include "postgres_hosts.hpp"

using namespace stepline;
using namespace stepline::test;
using host::store::JobStatus;
using Clock = std::chrono::steady_clock;

namespace {

long long milliseconds(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

std::string file_text(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

int exit_status_of(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_CASE(
    "three hosts on one database, one SIGKILLed: every job succeeds, every message arrives, "
    "repeats only of the jobs the dead host held") {
  constexpr int hosts = 3, operations = 10000, workers = 2, batch = 64;
  constexpr int victim = 1;
  SteplineBroker broker(job_broker_yaml(false));
  PostgresHosts cluster(broker, hosts, workers);
  const auto start = Clock::now();
  std::vector<pid_t> pids;
  for (int h = 0; h < hosts; ++h) pids.push_back(cluster.run(h, operations, 4));

  // Once the victim has run a good part of its jobs it is stopped where it stands, the jobs it
  // holds are noted, and it is killed: nothing of it runs between the two.
  const std::string victim_mark = ":" + std::to_string(pids[victim]) + ":";
  auto victim_done = [&] {
    std::size_t n = 0;
    host::store::JobFilter done;
    done.status = JobStatus::succeeded;
    done.limit = 0;
    // Its own jobs: the ids its requests gave the records they created.
    cluster.jobs().list(done, [&](const host::store::SystemJob& j) {
      if (j.regarding_id.str().starts_with("a0000001")) ++n;
    });
    return n;
  };
  const bool working = wait_until([&] { return victim_done() >= 2000; }, std::chrono::seconds(120));
  ::kill(pids[victim], SIGSTOP);
  const auto held = cluster.held_by(pids[victim]);
  ::kill(pids[victim], SIGKILL);
  ::waitpid(pids[victim], nullptr, 0);
  const auto killed = Clock::now();
  REQUIRE_MESSAGE(working, "the host to kill ran no 2000 jobs within 120 s\n" << cluster.report());

  // The others finish their operations and wait for every job after their start, the dead
  // host's included, which they take back from it.
  std::map<int, int> exits;
  for (int h = 0; h < hosts; ++h)
    if (h != victim) exits[h] = exit_status_of(pids[h]);
  const auto finished = Clock::now();
  for (auto [h, status] : exits)
    CHECK_MESSAGE(status == 0, "host " << h << "\n" << cluster.report());

  auto counts = cluster.counts();
  const std::size_t jobs = cluster.job_ids().size();
  CHECK(jobs >= 2 * operations + 2000);
  CHECK(counts[JobStatus::succeeded] == jobs);
  CHECK(counts[JobStatus::failed] == 0);

  auto ids = cluster.job_ids();
  auto received = drain_message_ids(broker);
  std::map<std::string, int> times;
  for (const auto& id : received) ++times[id];
  std::set<std::string> distinct;
  for (const auto& [id, n] : times) distinct.insert(id);
  CHECK(distinct == ids);
  std::size_t repeats = 0, repeats_not_held = 0;
  for (const auto& [id, n] : times) {
    if (n < 2) continue;
    repeats += static_cast<std::size_t>(n - 1);
    if (!held.count(id)) ++repeats_not_held;
  }
  CHECK_MESSAGE(repeats_not_held == 0,
                repeats_not_held << " job(s) repeated that the dead host did not hold");
  CHECK(repeats <= static_cast<std::size_t>(workers * batch));
  MESSAGE(jobs << " jobs from " << hosts << " hosts; the killed one held " << held.size()
               << " when it died; " << received.size() << " messages, " << repeats
               << " repeats; killed after " << milliseconds(killed - start)
               << " ms, the others done " << milliseconds(finished - killed) << " ms later");
}

// A host that stops answering without dying (a machine frozen, or cut off from the database): its
// process is still there, so the others cannot tell it is gone; they take its jobs once its lease
// has expired, and what it sends when it comes back is refused.
TEST_CASE("a host that stops answering loses its jobs to the others when its lease expires") {
  // Enough that the host to freeze is still at work when a stop lands.
  constexpr int operations = 10000;
  SteplineBroker broker(job_broker_yaml(false));
  PostgresHosts cluster(broker, 3, 2);
  cluster.queue(0, operations);
  // The other host starts once this one is stopped holding jobs: started with it, it could take
  // every job before this one was ever seen holding any.
  pid_t frozen = cluster.serve(1, 16, "6s");
  std::set<std::string> held;
  // A host records its results within milliseconds: the jobs seen held before the stop may be
  // finished by a commit it sent just before, which the database completes after the stop. What
  // it holds is read once such a commit has had time to land; if that is nothing, it is stopped
  // again, later, until it is stopped holding some.
  bool holding = false;
  auto stopped = Clock::now();
  const auto give_up = Clock::now() + std::chrono::seconds(60);
  while (!holding && Clock::now() < give_up) {
    if (!wait_until([&] { return cluster.held_by(frozen).size() >= 4; },
                    std::chrono::ceil<std::chrono::seconds>(give_up - Clock::now())))
      break;
    ::kill(frozen, SIGSTOP);
    stopped = Clock::now();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    held = cluster.held_by(frozen);
    holding = !held.empty();
    if (!holding) ::kill(frozen, SIGCONT);
  }
  if (!holding) terminate(frozen);
  REQUIRE_MESSAGE(holding, "the host to freeze held no jobs within 60 s\n" << cluster.report());
  pid_t other = cluster.serve(2, 16, "6s");

  // The other host finishes everything, the frozen host's jobs included, while it is stopped.
  // The jobs it holds are noted all along: a take it sent just before it stopped is still
  // committed by the database, and those jobs are its until their lease expires.
  const bool finished = wait_until(
      [&] {
        auto now_held = cluster.held_by(frozen);
        held.insert(now_held.begin(), now_held.end());
        return cluster.count(JobStatus::succeeded) == operations;
      },
      std::chrono::seconds(120));
  const auto done = Clock::now();
  CHECK(::kill(frozen, 0) == 0);  // still there: only its lease let the others take its jobs
  ::kill(frozen, SIGCONT);
  // Back, it finds its results refused: another host holds (and finished) those jobs.
  const bool refused = wait_until(
      [&] { return file_text(cluster.log(1)).find("its lease was lost") != std::string::npos; },
      std::chrono::seconds(60));
  terminate(frozen);
  terminate(other);
  REQUIRE_MESSAGE(finished, "not every job succeeded within 120 s\n" << cluster.report());
  CHECK(cluster.count(JobStatus::failed) == 0);
  CHECK_MESSAGE(refused, cluster.report());
  // Renewed every two seconds, its lease had four to six seconds left when it stopped.
  CHECK(milliseconds(done - stopped) >= 4000);

  auto ids = cluster.job_ids();
  auto received = drain_message_ids(broker);
  std::map<std::string, int> times;
  for (const auto& id : received) ++times[id];
  std::set<std::string> distinct;
  for (const auto& [id, n] : times) {
    distinct.insert(id);
    if (n > 1) CHECK_MESSAGE(held.count(id) == 1, id << " repeated, not held by the frozen host");
  }
  CHECK(distinct == ids);
  MESSAGE(held.size() << " jobs held by the frozen host; all " << operations << " done "
                      << milliseconds(done - stopped) << " ms after it stopped; " << received.size()
                      << " messages");
}
