// bench_http: the HTTP intake's operation rate against the host's in-process rate, in one run.
//
// The operations: Updates of accounts (a seeded set of records, revenue changed each time) with
// one synchronous step (Samples.SetAccountTier, pre-operation, filtered on revenue) and one
// asynchronous endpoint step (post-operation, json, into a stepline-broker queue that a consumer
// empties). Both sides start from a copy of the same seeded data folder and are timed until
// every operation is done and every job it queued has Succeeded.
//
//   in-process: `stepline run --parallel 8 --drain` over a JSONL file of the updates.
//   HTTP:       `stepline serve`, and wrk sending the same PATCH /api/data/v9.2/accounts(ID)
//               requests over 64 keep-alive connections for --duration seconds; then waiting
//               until the jobs of every answered request have Succeeded.
//
// Reported per round: operations per second of each side and their ratio (HTTP / in-process),
// wrk's p50 and p99 latency, each side's peak RSS (the host process's VmHWM / ru_maxrss) and CPU
// per operation. The goal is a ratio of at least 0.8. wrk runs on the same machine and takes CPU
// the in-process side does not pay.
//
//   bench_http [--records N] [--updates N] [--duration S] [--connections C] [--threads T]
//              [--workers W] [--rounds R] [--keep DIR]
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "child_run.hpp"
#include "testkit/http_client.hpp"
#include "testkit/message_receiver.hpp"
#include "testkit/process.hpp"
#include "testkit/stepline_broker.hpp"

using namespace stepline;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

struct Settings {
  int records = 1000;
  int updates = 60000;
  int duration = 10;
  int connections = 64;
  int threads = 1;
  int workers = 8;
  int rounds = 3;
  std::string keep;
};

const std::string broker_config = R"(
sas_policies:
  - name: RootManageSharedAccessKey
    key: test-root-key
    rights: [manage, send, listen]
queues:
  - name: bench-http
)";

std::string record_id(int i) {
  char text[40];
  std::snprintf(text, sizeof text, "a0000000-0000-0000-0000-%012d", i);
  return text;
}

void write_registration(const fs::path& file, const fs::path& data, const Settings& s) {
  std::ofstream(file) << "host:\n  plugin_folder: "
                      << (fs::path(STEPLINE_BINARY_DIR) / "plugins").string()
                      << "\n  data_folder: " << data.string() << "\n  log_level: warn\n"
                      << "http:\n  listen: 127.0.0.1:0\n  workers: " << s.workers << R"(
  tables:
    - name: account
      columns: {revenue: money}
plugins:
  - file: account_rules.so
endpoints:
  - name: changes
    contract: queue
    path: bench-http
    format: json
    connection: ${env:BENCH_CONNECTION}
steps:
  - name: Set tier
    message: Update
    entity: account
    stage: pre-operation
    filtering_attributes: revenue
    handler: {plugin: Samples.SetAccountTier}
  - name: Post changes
    message: Update
    entity: account
    stage: post-operation
    mode: async
    handler: {endpoint: changes}
)";
}

/// A finished child: its exit status, wall time, peak RSS and CPU time.
struct Finished {
  int status = -1;
  double seconds = 0;
  long peak_rss_kib = 0;
  double cpu = 0;
};

/// Waits for `pid` and reads its resource use from the kernel (wait4), so that the numbers are
/// the child's own.
Finished reap(pid_t pid, Clock::time_point started) {
  Finished f;
  int status = 0;
  rusage usage{};
  ::wait4(pid, &status, 0, &usage);
  f.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  f.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  f.peak_rss_kib = usage.ru_maxrss;
  auto sec = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  f.cpu = sec(usage.ru_utime) + sec(usage.ru_stime);
  return f;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// Seeds the records once; each side starts from a copy.
void seed(const fs::path& work, const std::map<std::string, std::string>& env, const Settings& s) {
  auto creates = work / "creates.jsonl";
  {
    std::ofstream out(creates);
    for (int i = 0; i < s.records; ++i)
      out << R"({"message":"Create","target":{"logicalName":"account","id":")" << record_id(i)
          << R"(","attributes":{"name":"Account )" << i
          << R"(","revenue":{"@type":"money","value":"1000.00"}}}})" << '\n';
  }
  write_registration(work / "seed.yaml", work / "seed-data", s);
  int status = test::run({test::stepline_executable(), "run", "-c", (work / "seed.yaml").string(),
                          "--requests", creates.string()},
                         env, work / "seed.out");
  if (status != 0) throw std::runtime_error("seeding failed:\n" + test::tail(work / "seed.out"));
}

fs::path fresh_copy(const fs::path& work, const std::string& name) {
  auto data = work / (name + "-data");
  fs::remove_all(data);
  fs::copy(work / "seed-data", data, fs::copy_options::recursive);
  return data;
}

struct Result {
  double seconds = 0;
  long operations = 0;
  long peak_rss_kib = 0;
  double cpu = 0;
  double p50_ms = 0, p99_ms = 0;
};

Result run_in_process(const fs::path& work, const std::map<std::string, std::string>& env,
                      const Settings& s) {
  auto data = fresh_copy(work, "run");
  write_registration(work / "run.yaml", data, s);
  auto updates = work / "updates.jsonl";
  if (!fs::exists(updates)) {
    std::ofstream out(updates);
    for (int i = 0; i < s.updates; ++i)
      out << R"({"message":"Update","target":{"logicalName":"account","id":")"
          << record_id(i % s.records) << R"(","attributes":{"revenue":{"@type":"money","value":")"
          << 1000 + i << R"(.00"}}}})" << '\n';
  }
  auto started = Clock::now();
  pid_t pid = test::spawn({test::stepline_executable(), "run", "-c", (work / "run.yaml").string(),
                           "--requests", updates.string(), "--parallel", "8", "--drain"},
                          env, work / "run.out");
  auto f = reap(pid, started);
  if (f.status != 0)
    throw std::runtime_error("stepline run failed (exit " + std::to_string(f.status) + "):\n" +
                             test::tail(work / "run.out"));
  return {f.seconds, s.updates, f.peak_rss_kib, f.cpu, 0, 0};
}

/// A number from the text /metrics answers, or -1.
double metric(int port, const std::string& series) {
  auto text = test::http_request(port, "GET", "/metrics").body;
  auto at = text.find("\n" + series + " ");
  return at == std::string::npos ? -1 : std::stod(text.substr(at + series.size() + 2));
}

double milliseconds(const std::string& value, const std::string& unit) {
  double v = std::stod(value);
  if (unit == "us") return v / 1000;
  if (unit == "s") return v * 1000;
  if (unit == "m") return v * 60000;
  return v;
}

Result run_http(const fs::path& work, const std::map<std::string, std::string>& env,
                const Settings& s) {
  auto data = fresh_copy(work, "serve");
  write_registration(work / "serve.yaml", data, s);
  auto script = work / "patch.lua";
  std::ofstream(script) << "-- PATCH one of " << s.records
                        << R"( seeded accounts, revenue changed each time.
local records = )" << s.records
                        << R"lua(
local counter = 0
request = function()
  counter = counter + 1
  local id = string.format("a0000000-0000-0000-0000-%012d", counter % records)
  local body = string.format('{"revenue":%d.00}', 1000 + counter)
  return wrk.format("PATCH", "/api/data/v9.2/accounts(" .. id .. ")",
                    {["Content-Type"] = "application/json"}, body)
end
)lua";
  auto log = work / "serve.out";
  fs::remove(log);
  auto started = Clock::now();
  pid_t pid = test::spawn(
      {test::stepline_executable(), "serve", "-c", (work / "serve.yaml").string()}, env, log);
  int port = 0;
  static const std::regex listening(R"(listening on http://127\.0\.0\.1:(\d+))");
  for (auto deadline = Clock::now() + std::chrono::seconds(60); !port;) {
    std::smatch m;
    auto text = read_file(log);
    if (std::regex_search(text, m, listening))
      port = std::stoi(m[1]);
    else if (Clock::now() > deadline)
      throw std::runtime_error("serve did not listen:\n" + text);
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto url = "http://127.0.0.1:" + std::to_string(port);
  auto load_started = Clock::now();
  auto wrk = test::capture(
      {"wrk", "-t" + std::to_string(s.threads), "-c" + std::to_string(s.connections),
       "-d" + std::to_string(s.duration) + "s", "--latency", "-s", script.string(), url});
  if (wrk.status != 0) throw std::runtime_error("wrk failed:\n" + wrk.output);
  std::ofstream(work / "wrk.out") << wrk.output;
  Result r;
  std::smatch m;
  if (!std::regex_search(wrk.output, m, std::regex(R"((\d+) requests in)")))
    throw std::runtime_error("no request count in wrk's output:\n" + wrk.output);
  r.operations = std::stol(m[1]);
  if (std::regex_search(wrk.output, m, std::regex(R"(Non-2xx or 3xx responses: (\d+))")))
    throw std::runtime_error(std::string(m[1]) + " requests failed:\n" + wrk.output);
  if (std::regex_search(wrk.output, m, std::regex(R"(\n\s+50%\s+([\d.]+)(us|ms|s|m))")))
    r.p50_ms = milliseconds(m[1], m[2]);
  if (std::regex_search(wrk.output, m, std::regex(R"(\n\s+99%\s+([\d.]+)(us|ms|s|m))")))
    r.p99_ms = milliseconds(m[1], m[2]);
  // Done when every answered operation's job has Succeeded.
  const std::string succeeded = R"(stepline_jobs{status="succeeded"})";
  for (auto deadline = Clock::now() + std::chrono::minutes(5);;) {
    if (metric(port, succeeded) >= r.operations) break;
    if (Clock::now() > deadline) throw std::runtime_error("the jobs did not finish in 5 minutes");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - load_started).count();
  ::kill(pid, SIGTERM);
  auto f = reap(pid, started);
  if (f.status != 0)
    throw std::runtime_error("stepline serve exited with " + std::to_string(f.status) + ":\n" +
                             test::tail(log));
  r.peak_rss_kib = f.peak_rss_kib;
  r.cpu = f.cpu;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  CLI::App app{"bench_http: HTTP intake against stepline run --parallel 8, same operations"};
  app.add_option("--records", s.records, "accounts seeded and updated in turn (1000)");
  app.add_option("--updates", s.updates, "updates the in-process side runs (60000)");
  app.add_option("--duration", s.duration, "seconds wrk sends for (10)");
  app.add_option("--connections", s.connections, "wrk's keep-alive connections (64)");
  app.add_option("--threads", s.threads,
                 "wrk's threads (1: the load generator takes as little of the machine as it can)");
  app.add_option("--workers", s.workers, "http.workers of the serving host (8)");
  app.add_option("--rounds", s.rounds, "rounds, the first side alternating (3)");
  app.add_option("--keep", s.keep, "keep the work folder here (logs, wrk's output)");
  CLI11_PARSE(app, argc, argv);

  test::SteplineBroker broker(broker_config);
  test::MessageReceiver consumer(broker.url(), {"bench-http"},
                                 {.user = "RootManageSharedAccessKey",
                                  .password = test::SteplineBroker::root_key,
                                  .reply = {}},
                                 test::Keep::count_only);
  std::map<std::string, std::string> env{{"BENCH_CONNECTION", broker.connection_string()}};
  test::TempDir scratch("stepline-bench-http-");
  fs::path work = s.keep.empty() ? scratch.path() : fs::path(s.keep);
  fs::create_directories(work);
  seed(work, env, s);

  std::printf(
      "Update with one sync step and one async endpoint step; %d records; in-process: "
      "%d updates, --parallel 8 --drain; HTTP: wrk %d connections, %d threads, %d s, "
      "http.workers %d\n",
      s.records, s.updates, s.connections, s.threads, s.duration, s.workers);
  auto row = [](const char* label, const Result& r) {
    std::printf("  %-10s %8.0f ops/s  %7.2f s  %7ld ops  CPU %6.1f us/op  peak RSS %6.1f MiB",
                label, r.operations / r.seconds, r.seconds, r.operations,
                r.cpu * 1e6 / r.operations, r.peak_rss_kib / 1024.0);
    if (r.p99_ms > 0) std::printf("  p50 %.2f ms  p99 %.2f ms", r.p50_ms, r.p99_ms);
    std::printf("\n");
  };
  std::vector<double> ratios;
  for (int round = 1; round <= s.rounds; ++round) {
    Result in_process, http;
    if (round % 2) {
      in_process = run_in_process(work, env, s);
      http = run_http(work, env, s);
    } else {
      http = run_http(work, env, s);
      in_process = run_in_process(work, env, s);
    }
    std::printf(" round %d\n", round);
    row("in-process", in_process);
    row("HTTP", http);
    ratios.push_back((http.operations / http.seconds) /
                     (in_process.operations / in_process.seconds));
    std::printf("  ratio HTTP / in-process: %.2f\n", ratios.back());
    std::fflush(stdout);
  }
  std::printf("median ratio HTTP / in-process: %.2f (goal: at least 0.80)\n",
              bench::median(ratios));
  return 0;
}
