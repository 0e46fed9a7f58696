// bench_store: the durable path end to end on each kind of store, in one run: N Create
// operations, each with one async endpoint step posting its context (json, a 1 KiB description)
// into a stepline-broker queue, timed from the first operation until every job is Succeeded; on
// the SQLite store with one host, and on one PostgreSQL database (started by the benchmark,
// fsync on) with 1, 2 and 3 hosts sharing the N operations. Each host is a child process like
// `stepline run --drain --parallel C`: a ConfiguredHost, C client threads each waiting for its
// operation to return, and an async service taking its own jobs at their commit and the others'
// from the database. A consumer empties the queue throughout.
//
// For each configuration it reports the rate, and per operation: the CPU time of the hosts, of
// PostgreSQL (the server and every backend) and of the broker, and the hosts' round trips to
// the database. On a machine with few cores all of them share the cores, so the rate is the
// cores divided by the summed CPU per operation; from the same figures it projects what hosts,
// database and broker on machines of their own would reach (the slowest of them), which is
// where adding hosts pays.
//
//   bench_store [--messages N] [--clients C] [--hosts 1,2,3] [--rounds R]
//               [--durability normal|full] [--host-cores K] [--database-cores K]
//   bench_store --mode host --store sqlite|URL --connection-string S --messages N --clients C
//               --index I --start EPOCH_MS   (one host, as the driver starts it)
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include <stepline/host/configured_host.hpp>
#include <stepline/host/jobs/async_service.hpp>
#include <stepline/host/process/allocator.hpp>

#include "child_run.hpp"
#include "testkit/message_receiver.hpp"
#include "testkit/postgres.hpp"
#include "testkit/process.hpp"
#include "testkit/stepline_broker.hpp"

using namespace stepline;
using Clock = std::chrono::steady_clock;

namespace {

struct Settings {
  std::string mode = "driver";  // driver | host
  int messages = 20'000;
  int clients = 8;
  int rounds = 1;
  std::vector<int> hosts{1, 2, 3};
  std::string durability = "normal";
  int host_cores = 2, database_cores = 8;
  // host mode:
  std::string store;  // "sqlite" or the database URL
  std::string connection_string;
  int index = 0;
  long long start_ms = 0;  // when every host starts its operations (system clock)
};

constexpr const char* queue = "bench-store";

long long epoch_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// --- a host ------------------------------------------------------------------------------------

std::filesystem::path write_registration(const std::filesystem::path& dir, const Settings& s) {
  std::filesystem::create_directories(dir / "plugins");
  auto file = dir / "stepline.yaml";
  std::ofstream yaml(file);
  yaml << "host:\n  plugin_folder: plugins\n  data_folder: data\n  log_level: warn\n"
       << "  durability: " << s.durability << "\n";
  if (s.store != "sqlite") yaml << "  store:\n    postgresql: ${env:BENCH_STORE_URL}\n";
  yaml << "endpoints:\n  - name: events\n    contract: queue\n    path: " << queue
       << "\n    format: json\n    connection: ${env:BENCH_STORE_BROKER}\n"
       << "steps:\n  - name: Post new accounts\n    message: Create\n    entity: account\n"
       << "    stage: post-operation\n    mode: async\n    handler:\n      endpoint: events\n";
  return file;
}

// Prints "result SECONDS SUCCEEDED PEAK_RSS_KIB CPU END_EPOCH_MS ROUND_TRIPS COMMITS".
int run_host(const Settings& s) {
  test::TempDir dir("stepline-bench-store-host-");
  ::setenv("BENCH_STORE_URL", s.store.c_str(), 1);
  ::setenv("BENCH_STORE_BROKER", s.connection_string.c_str(), 1);
  host::ConfiguredHost configured(write_registration(dir.path(), s));
  auto& host = configured.host();
  host::jobs::AsyncService service(host.pipeline(), host.store().location(),
                                   configured.endpoint_poster());
  const long long sequence = service.store().last_sequence();
  service.start();
  const std::string description(1024, 'd');
  const double setup_cpu = bench::cpu_seconds();
  std::this_thread::sleep_until(
      std::chrono::system_clock::time_point(std::chrono::milliseconds(s.start_ms)));
  const auto start = Clock::now();
  std::atomic<int> next{0}, failed{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < s.clients; ++c)
    clients.emplace_back([&] {
      for (int i; (i = next.fetch_add(1)) < s.messages;) {
        Entity account("account");
        account.set("name", Value("Account " + std::to_string(s.index) + "-" + std::to_string(i)));
        account.set("description", Value(description));
        host::pipeline::OperationRequest r;
        r.message = "Create";
        r.parameters.emplace("Target", Value(std::move(account)));
        if (!host.execute(r).ok()) ++failed;
      }
    });
  for (auto& t : clients) t.join();
  // Every job after this host's start, whichever host queued it, is done: the last host to see
  // that is the end of the run.
  service.drain(sequence);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const long long end = epoch_ms();
  service.stop();
  const auto round_trips = host.store().round_trips() + service.store().round_trips();
  const auto succeeded = static_cast<long>(service.stats().succeeded);
  bench::print_result(seconds, succeeded,
                      {static_cast<double>(end), static_cast<double>(round_trips),
                       static_cast<double>(host.store().commits()), static_cast<double>(failed)},
                      setup_cpu);
  return failed == 0 ? 0 : 1;
}

// --- the driver --------------------------------------------------------------------------------

/// CPU seconds of a process and of its children: the ones it has reaped (cutime, cstime) and
/// the ones still running (PostgreSQL's backends come and go with the hosts' connections).
double tree_cpu_seconds(pid_t root) {
  auto read = [](const std::filesystem::path& stat, pid_t& parent) {
    std::ifstream in(stat);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto end_of_name = text.rfind(')');
    if (end_of_name == std::string::npos) return 0.0;
    std::istringstream fields(text.substr(end_of_name + 2));
    std::string field;
    unsigned long long ticks = 0;
    // Field 3 is the state, 4 the parent; 14 utime, 15 stime, 16 cutime, 17 cstime.
    for (int i = 3; i <= 17 && fields >> field; ++i) {
      if (i == 4) parent = std::stoi(field);
      if (i >= 14) ticks += std::stoull(field);
    }
    return static_cast<double>(ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
  };
  pid_t parent = 0;
  double total = read("/proc/" + std::to_string(root) + "/stat", parent);
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    pid_t p = 0;
    double cpu = read(entry.path() / "stat", p);
    if (p == root) total += cpu;
  }
  return total;
}

struct Measured {
  std::string store;
  int hosts = 0;
  double seconds = 0;
  long succeeded = 0;
  double host_cpu = 0, database_cpu = 0, broker_cpu = 0;
  double round_trips = 0, commits = 0;
};

Measured run_configuration(const char* self, const Settings& s, const std::string& store, int hosts,
                           test::SteplineBroker& broker, test::PostgresServer* database,
                           test::MessageReceiver& consumer, std::size_t& consumed) {
  test::TempDir dir("stepline-bench-store-");
  std::string url = "sqlite";
  if (store == "postgresql") {
    static int n = 0;
    url = database->create_database("bench_" + std::to_string(++n));
  }
  Measured m;
  m.store = store;
  m.hosts = hosts;
  const double database_before = database ? tree_cpu_seconds(database->pid()) : 0;
  const double broker_before = tree_cpu_seconds(broker.pid());
  // Every host starts its operations at the same moment, once all have connected.
  const long long start = epoch_ms() + 1500;
  std::vector<std::thread> children;
  std::vector<bench::ChildResult> results(static_cast<std::size_t>(hosts));
  std::vector<std::string> errors(static_cast<std::size_t>(hosts));
  for (int h = 0; h < hosts; ++h) {
    const int share = s.messages / hosts + (h < s.messages % hosts ? 1 : 0);
    children.emplace_back([&, h, share] {
      try {
        results[h] = bench::run_child(
            {self, "--mode", "host", "--store", url, "--connection-string",
             broker.connection_string("guest", "guest"), "--messages", std::to_string(share),
             "--clients", std::to_string(s.clients), "--index", std::to_string(h), "--start",
             std::to_string(start), "--durability", s.durability},
            store + "-" + std::to_string(hosts) + "-" + std::to_string(h), dir.path());
      } catch (const std::exception& e) {
        errors[h] = e.what();
      }
    });
  }
  for (auto& t : children) t.join();
  for (const auto& e : errors)
    if (!e.empty()) throw std::runtime_error(e);
  double end = 0;
  for (const auto& r : results) {
    end = std::max(end, r.extra.at(0));
    m.succeeded += r.done;
    m.host_cpu += r.cpu;
    m.round_trips += r.extra.at(1);
    m.commits += r.extra.at(2);
  }
  m.seconds = (end - static_cast<double>(start)) / 1000.0;
  consumed += static_cast<std::size_t>(s.messages);
  if (!consumer.wait_for(consumed, 120000))
    throw std::runtime_error("the consumer did not see every message");
  // The backends of the hosts' connections have ended and been counted by now.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  m.database_cpu = database ? tree_cpu_seconds(database->pid()) - database_before : 0;
  m.broker_cpu = tree_cpu_seconds(broker.pid()) - broker_before;
  return m;
}

void report(const Settings& s, const std::vector<Measured>& all) {
  const double n = s.messages;
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  double sqlite_rate = 0;
  for (const auto& m : all)
    if (m.store == "sqlite") sqlite_rate = std::max(sqlite_rate, m.succeeded / m.seconds);
  std::printf(
      "\n%d Create operations per configuration, each with one async endpoint step (json, 1 KiB "
      "description) into stepline-broker; %d client thread(s) per host; durability %s; %u "
      "cores\n",
      s.messages, s.clients, s.durability.c_str(), cores);
  std::printf("  %-11s %5s %8s %7s | %9s %9s %9s %9s | %11s %9s\n", "store", "hosts", "ops/s",
              "vs SQL.", "host us", "db us", "broker us", "total us", "round trips", "commits");
  for (const auto& m : all) {
    const double rate = m.succeeded / m.seconds;
    std::printf("  %-11s %5d %8.0f %6.2fx | %9.1f %9.1f %9.1f %9.1f | %11.2f %9.2f\n",
                m.store.c_str(), m.hosts, rate, sqlite_rate > 0 ? rate / sqlite_rate : 0.0,
                m.host_cpu * 1e6 / n, m.database_cpu * 1e6 / n, m.broker_cpu * 1e6 / n,
                (m.host_cpu + m.database_cpu + m.broker_cpu) * 1e6 / n, m.round_trips / n,
                m.commits > 0 ? n / m.commits : 0.0);
  }
  std::printf(
      "  (us: CPU microseconds per operation, all hosts together; round trips: the hosts' "
      "requests to the database that waited for its answer, per operation; commits: operations "
      "per commit of the operations)\n");
  // On this machine every component shares the cores; on machines of their own each is bounded
  // by its own CPU per operation, and the broker by its single thread.
  for (const auto& m : all) {
    if (m.store != "postgresql") continue;
    const double host_us = m.host_cpu * 1e6 / n, db_us = m.database_cpu * 1e6 / n,
                 broker_us = m.broker_cpu * 1e6 / n;
    std::printf(
        "  postgresql, %d host(s): here %.0f ops/s (%u cores / %.1f us); on machines of their "
        "own (hosts %d cores each, database %d, broker 1 thread):",
        m.hosts, m.succeeded / m.seconds, cores, host_us + db_us + broker_us, s.host_cores,
        s.database_cores);
    for (int hosts : {1, 2, 3, 4, 8}) {
      const double by_hosts = hosts * s.host_cores * 1e6 / host_us;
      const double by_database = s.database_cores * 1e6 / db_us;
      const double by_broker = 1e6 / broker_us;
      const double rate = std::min({by_hosts, by_database, by_broker});
      std::printf(" %d: %.0f (%s)", hosts, rate,
                  rate == by_hosts      ? "hosts"
                  : rate == by_database ? "database"
                                        : "broker");
    }
    std::printf("\n");
  }
  std::fflush(stdout);
}

int run_driver(const char* self, const Settings& s) {
  test::SteplineBroker broker(
      "sas_policies:\n  - name: guest\n    key: guest\n    rights: [manage, send, listen]\n"
      "queues:\n  - name: " +
      std::string(queue) + "\n");
  test::PostgresServer database(true);
  test::MessageReceiver consumer(broker.url(), {queue},
                                 {.user = "guest", .password = "guest", .reply = {}},
                                 test::Keep::count_only);
  std::size_t consumed = 0;
  std::vector<Measured> all;
  // Rounds alternate the configurations, so a machine whose speed drifts drifts for all.
  for (int round = 0; round < s.rounds; ++round) {
    all.push_back(run_configuration(self, s, "sqlite", 1, broker, nullptr, consumer, consumed));
    for (int hosts : s.hosts)
      all.push_back(
          run_configuration(self, s, "postgresql", hosts, broker, &database, consumer, consumed));
  }
  report(s, all);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  CLI::App app{"The durable path on SQLite and on PostgreSQL with 1, 2 and 3 hosts"};
  app.add_option("--messages", s.messages, "operations per configuration")
      ->check(CLI::PositiveNumber);
  app.add_option("--clients", s.clients, "client threads per host")->check(CLI::PositiveNumber);
  app.add_option("--hosts", s.hosts, "host counts on PostgreSQL")->delimiter(',');
  app.add_option("--rounds", s.rounds, "rounds of every configuration")->check(CLI::PositiveNumber);
  app.add_option("--durability", s.durability, "host.durability: normal or full")
      ->check(CLI::IsMember({"normal", "full"}));
  app.add_option("--host-cores", s.host_cores, "cores of each host's machine, for the projection");
  app.add_option("--database-cores", s.database_cores,
                 "cores of the database's machine, for the projection");
  app.add_option("--mode", s.mode, "driver, or one host")->check(CLI::IsMember({"driver", "host"}));
  app.add_option("--store", s.store, "host: sqlite or the database URL");
  app.add_option("--connection-string", s.connection_string, "host: the broker");
  app.add_option("--index", s.index, "host: its number");
  app.add_option("--start", s.start_ms, "host: when to start, milliseconds since the epoch");
  CLI11_PARSE(app, argc, argv);
  host::process::tune_allocator();  // as the stepline executable does
  try {
    if (s.mode == "host") return run_host(s);
    return run_driver(argv[0], s);
  } catch (const std::exception& e) {
    std::cerr << "bench_store: " << e.what() << "\n";
    return 1;
  }
}
