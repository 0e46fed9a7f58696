// bench_jobs: what the async service costs and how fast it works, in seven parts.
//
// (1) waiting: resident memory of a running async service over a database holding WAITING jobs
//     postponed into the future (inserted directly), against the same over an empty database
//     (each in a child process), and how long its due check takes.
// (2) plug-in: plug-in jobs worked off per second by the service (no-op plug-in, default batch)
//     against the rate at which the pipeline runs the same operations with the step synchronous.
// (3) endpoint: the durable path end to end. N Update operations through a ConfiguredHost (record
//     store and job store in a temporary data folder, WAL), each queuing one async post-operation
//     endpoint step (json format) whose target is padded until the body is at least 1 KiB (an
//     Update's context with its parent context is about 2.5 KiB already, so it usually needs no
//     pad), worked off by the AsyncService through the real AMQP backend into a stepline-broker
//     queue; timed from the first operation until every job is Succeeded. The operations go in
//     through Host::submit with --in-flight N (64) in flight, each answered once committed (as
//     an asynchronous front end or `stepline run --parallel` drives the host); then the same
//     from --clients C (8) threads that each wait for their own (Host::execute; --threads-side
//     false leaves it out, --in-flight 0 makes it the only side).
//     The baseline, in the same run and into the same queue, is bench_amqp's plain Proton C++
//     sender (`bench_amqp --mode baseline`) sending N messages as large as the job's encoded
//     message, counted when the broker has accepted every one. Each side runs in its own child
//     process so its peak RSS is its own; a consumer empties the queue during both, and each side
//     starts only once the one before's messages are all consumed. The sender, the stepline side
//     and the SDK sender (below) take turns for --endpoint-rounds rounds (3); the figures are the
//     medians of the rounds', a ratio the median of each round's own. The client threads' side
//     runs once, after them.
// (4) floor: the SQLite statements of one such operation and its job alone, on the store's schema
//     (run_sqlite_floor): what a durable outbox in this database costs before any other work.
//
//     After the stepline side, the official @azure/service-bus sender (bench/servicebus/send.mjs,
//     node) sends as many messages of the job's body size into the same queue in three modes (one
//     awaited send at a time, 64 in flight, batched) and the stepline figure is printed against
//     each as a ratio.
//     Then the open loop: the stepline side again, its operations due at a fixed rate (by default
//     half the closed loop's, --open-loop FRACTION or --rate R) and submitted when due whatever
//     earlier ones are doing (through Host::submit from one thread, or with
//     --open-loop-submit false by whichever of --open-loop-clients threads is free); latency from
//     each operation's due time to its post's acceptance by the broker (p50, p99, p999), noted by a
//     poster wrapped around the host's, and in parts: to the operation's return, on to a worker's
//     post, on to the acceptance. It runs --endpoint-rounds times; the round with the median p99
//     is the one reported.
// (5) run: `stepline run --drain --parallel N` (the JSONL intake, the `stepline` executable)
//     against the endpoint part's stepline side (the Host API, N clients or in flight) on the same
//     Updates and registration, in turns for --rounds rounds; both timed from the async service's
//     start until every job succeeded.
// (6) rss (only when asked): the stepline side over --rss-operations operations (1,000,000), its
//     resident memory (VmRSS) sampled about 500 times; after warm-up (a tenth of the operations)
//     against the end and the highest since, and the samples in --rss-file.
// (7) restart: --pending Updates (100,000) through a host with no async service leave their
//     endpoint jobs Ready; then a child process starts a host with its service over that data
//     folder against the running broker: time from the process's start to the broker's first
//     acceptance (and to the last), against the same with one pending job.
//
//   bench_jobs [WAITING] [--waiting N] [--messages N] [--workers W] [--batch B] [--clients C]
//              [--in-flight N] [--threads-side true|false]
//              [--handoff true|false] [--tuned-allocator true|false] [--durability normal|full]
//              [--history N] [--parts waiting,plugin,floor,endpoint,run,rss,restart]
//              [--sdk-peer true|false] [--sdk-awaited N] [--open-loop FRACTION | --rate R]
//              [--open-loop-clients C] [--open-loop-submit true|false] [--rounds R]
//              [--endpoint-rounds R] [--latency-file F] [--latency-parts-file F]
//              [--rss-operations N] [--rss-file F]
//              [--pending N] [--figures F]
//   bench_jobs --mode stepline --connection-string S --queue Q --messages N --pad BYTES
//              [--workers W] [--batch B] [--keep DIR] [...]  (one side alone, e.g. under perf)
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <iterator>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include <rapidjson/document.h>
#include <sqlite3.h>
#include <CLI/CLI.hpp>

#include <stepline/format/json.hpp>
#include <stepline/host/configured_host.hpp>
#include <stepline/host/endpoints/endpoint_message.hpp>
#include <stepline/host/jobs/async_service.hpp>
#include <stepline/host/process/allocator.hpp>
#include <stepline/host/store/sqlite_record_store.hpp>
#include <stepline/host/store/wal_batching_vfs.hpp>
#include <stepline/plugin.hpp>
#include "store/context_log.hpp"

#include "child_run.hpp"
#include "testkit/message_receiver.hpp"
#include "testkit/process.hpp"
#include "testkit/stepline_broker.hpp"

using namespace stepline;
using Clock = std::chrono::steady_clock;

namespace {

struct Settings {
  std::string mode = "driver";  // driver | stepline
  long waiting = 1'000'000;
  int messages = 20'000;
  int workers = 0;           // 0 = the registration's default
  int clients = 8;           // threads issuing the operations, each waiting for its own to return
  int in_flight = 64;        // > 0: Host::submit with this many in flight; 0: client threads
  bool threads_side = true;  // endpoint: then the client threads' side too (Host::execute)
  bool handoff = true;  // the service takes jobs at their commit (else it finds them by polling)
  std::size_t handoff_window = 0;  // jobs handed over and unfinished at most; 0 = the service's
  bool tuned_allocator = true;  // host::process::tune_allocator(), as the stepline executable does
  std::string durability = "normal";  // the registration's host.durability
  long history = 0;  // succeeded jobs in the stepline side's database before it starts
  std::size_t batch = 64;
  // stepline mode:
  std::string connection_string;
  std::string queue = "bench-jobs";
  std::size_t pad = 0;
  std::string keep;  // copy the data folder here afterwards (for inspection)
  // The Service Bus SDK peer (bench/servicebus/send.mjs) after the stepline side, same broker.
  bool sdk_peer = true;
  int sdk_awaited = 2000;  // its one-at-a-time mode sends this many (each waits a round trip)
  // Open loop: operations submitted at a fixed rate whatever their completion.
  double open_loop = 0.5;  // driver: the rate as a fraction of the closed loop's
  double rate = 0;         // operations per second (stepline side; the driver's, when given)
  int open_loop_clients = 16;
  bool open_loop_submit = true;  // Host::submit from one thread instead of the clients
  std::string figures;           // driver: append "NAME VALUE" lines here (bench/report reads them)
  std::string latency_file;  // open loop: each operation's latency to the broker, ms, one a line
  std::string parts_file;    // open loop: each operation's latency in parts, ms, one a line
  int rounds = 3;            // run: rounds of `stepline run` against the Host API
  int endpoint_rounds = 3;   // endpoint: alternating rounds of the closed loop, and open loops
  long rss_operations = 1'000'000;  // rss: durable operations while resident memory is sampled
  std::string rss_file;             // rss: "OPERATIONS RSS_KIB" samples, one a line
  long pending = 100'000;    // restart: endpoint jobs pending in the data folder at the start
  std::string data;          // restart side: the folder holding stepline.yaml and data/
  long long started_ns = 0;  // restart side: when the driver started it (steady clock)
};

/// Operations to a commit in the closed loop: the operations in flight, up to the SQLite store's
/// commit group (64); on the client threads' side, about one operation of each thread.
int commit_group(const Settings& s) {
  return s.in_flight > 0 ? std::min(s.in_flight, 64) : s.clients;
}

/// Appends "NAME VALUE" to the figures file, when there is one.
void figure(const Settings& s, const std::string& name, double value) {
  if (s.figures.empty()) return;
  std::ofstream(s.figures, std::ios::app) << name << ' ' << value << '\n';
}

long rss_kib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

long peak_rss_kib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

host::pipeline::OperationRequest request(std::string message, Entity target) {
  host::pipeline::OperationRequest r;
  r.message = std::move(message);
  r.parameters.emplace("Target", Value(std::move(target)));
  return r;
}

// --- (1) and (2): waiting jobs and plug-in jobs ------------------------------------------------

class Noop : public Plugin {
 public:
  using Plugin::Plugin;
  void execute(ExecutionContext&, Services&) override {}
};

class Factory : public host::pipeline::PluginFactory {
 public:
  std::shared_ptr<Plugin> create(const std::string&, const std::string& u,
                                 const std::string& s) override {
    return std::make_shared<Noop>(u, s);
  }
};

registration::Registration registration_with(Mode mode) {
  registration::Registration r;
  r.host.async_workers = 2;
  registration::Step s;
  s.id = Guid::random();
  s.name = "noop";
  s.message = "Update";
  s.entity = "account";
  s.stage = Stage::post_operation;
  s.mode = mode;
  s.plugin_type = "noop";
  r.steps.push_back(s);
  return r;
}

/// Writes `count` jobs straight into the database: Waiting until 2099, or Succeeded (a job
/// history, as a store accumulates without purging).
void insert_jobs(const std::filesystem::path& db_file, long count, bool succeeded) {
  host::store::SqliteRecordStore store(db_file);  // creates the schema
  sqlite3* db = nullptr;
  sqlite3_open(db_file.c_str(), &db);
  sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db,
                     "INSERT INTO system_jobs (id, created_on, step_id, step_name, "
                     "regarding_entity, regarding_id, message, depth, correlation_id, state_code, "
                     "status_code, postpone_until, endpoint, sequence) VALUES (?1, "
                     "'2026-01-01T00:00:00.000Z', ?2, 'publish', 'account', ?3, 'Update', 1, ?2, "
                     "?6, ?7, ?8, 'orders', ?5)",
                     -1, &s, nullptr);
  sqlite3_stmt* c = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO system_job_contexts (sequence, context) VALUES (?1, ?2)", -1,
                     &c, nullptr);
  const std::string context(200, 'x');
  auto step = Guid::random().str();
  for (long i = 1; i <= count; ++i) {
    auto id = Guid::random().str();
    sqlite3_bind_text(s, 1, id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, step.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 5, i);
    sqlite3_bind_int(s, 6, succeeded ? 3 : 1);
    sqlite3_bind_int(s, 7, succeeded ? 30 : 10);
    if (succeeded)
      sqlite3_bind_null(s, 8);
    else
      sqlite3_bind_text(s, 8, "2099-01-01T00:00:00.000Z", -1, SQLITE_STATIC);
    sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_bind_int64(c, 1, i);
    sqlite3_bind_text(c, 2, context.c_str(), -1, SQLITE_STATIC);
    sqlite3_step(c);
    sqlite3_reset(c);
  }
  sqlite3_finalize(s);
  sqlite3_finalize(c);
  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_close(db);
}

// The waiting side, in a child process so that its resident memory is its own and owes nothing
// to writing the jobs: a pipeline and an async service over `s.data`, a database the driver
// filled, for 3 s. Prints "result 3 0 PEAK_RSS_KIB CPU RSS_BEFORE_SERVICE_KIB RSS_KIB
// HAS_DUE_MS".
int run_waiting_side(const Settings& s) {
  Factory factory;
  host::store::SqliteRecordStore store(s.data);
  host::pipeline::Pipeline pipeline(registration_with(Mode::asynchronous), factory, store);
  long before = rss_kib();
  host::jobs::AsyncService service(pipeline, store.location(), nullptr, {});
  service.start();
  std::this_thread::sleep_for(std::chrono::seconds(3));
  long during = rss_kib();
  auto q = Clock::now();
  bool due = service.store().has_due(now_utc(), true);
  double has_due_ms = seconds_since(q) * 1000;
  service.stop();
  if (due) throw std::runtime_error("a job postponed to 2099 was due");
  bench::print_result(3.0, 0,
                      {static_cast<double>(before), static_cast<double>(during), has_due_ms});
  return 0;
}

/// (1) waiting: the service's resident memory over `s.waiting` waiting jobs against the same
/// over an empty database, each in a child process.
void run_waiting(const char* self, const Settings& s, const std::filesystem::path& dir) {
  double insert_s = 0, database_mib = 0;
  auto side = [&](long waiting) {
    const auto file = dir / ("waiting-" + std::to_string(waiting) + ".db");
    auto t = Clock::now();
    insert_jobs(file, waiting, false);
    insert_s = seconds_since(t);
    database_mib = std::filesystem::file_size(file) / 1048576.0;
    auto r = bench::run_child({self, "--mode", "waiting", "--data", file.string(),
                               "--tuned-allocator", s.tuned_allocator ? "true" : "false"},
                              "waiting-" + std::to_string(waiting), dir);
    std::filesystem::remove(file);
    return r;
  };
  auto none = side(0), many = side(s.waiting);
  if (none.extra.size() < 3 || many.extra.size() < 3)
    throw std::runtime_error("the waiting side printed no memory figures");
  const double rss = many.extra[1], rss_none = none.extra[1];
  std::printf(
      "inserted %ld waiting jobs in %.1f s (%.0f MiB on disk)\n"
      "RSS of a running async service after 3 s of polling: %.0f KiB with %ld waiting jobs, "
      "%.0f KiB with none: ratio %.2f (goal <= 1.10); %.0f KiB before the service started; "
      "due check %.3f ms\n",
      s.waiting, insert_s, database_mib, rss, s.waiting, rss_none, rss / rss_none, many.extra[0],
      many.extra[2]);
  std::fflush(stdout);
  figure(s, "waiting_jobs", static_cast<double>(s.waiting));
  figure(s, "waiting_rss_kib", rss);
  figure(s, "waiting_none_rss_kib", rss_none);
  figure(s, "waiting_due_ms", many.extra[2]);
}

/// What the SQLite statements of the durable path cost alone, per operation (run_sqlite_floor).
struct Floor {
  double operation_us = 0;  ///< the record, the job's row and its context, at the operation
  double result_us = 0;     ///< the job's result
  double record_us = 0;     ///< the record and its context alone, no job row, no result
  /// All of it: the record, the job, its context and its result.
  double total_us() const { return operation_us + result_us; }
};

/// (4) floor: the SQLite statements one end-to-end operation needs, alone, on the store's schema
/// and one connection, as the host runs them at best: per operation an Update of a record (a
/// 1 KiB attributes document), the job's row, written In progress as a job handed over at its
/// commit is, and its 2.5 KiB context appended to the store's context log before the commit,
/// `group` operations to a commit (the closed loop's commit groups); then each job's result, 64
/// to a commit (a worker's batch). No pipeline, no serialization, no AMQP: what any durable
/// outbox in this database pays per operation, whatever the code around it. Then, in a second
/// database, the records and their contexts alone: the part a job store outside SQLite would
/// still pay.
Floor run_sqlite_floor(const std::filesystem::path& dir, int operations, int group) {
  group = std::max(1, group);
  // CPU microseconds an operation: at the operation, and for its result (none without jobs).
  auto pass = [&](const char* name, bool with_jobs) -> std::pair<double, double> {
    const auto file = dir / name;
    host::store::SqliteRecordStore(file).create(
        Entity("account", host::store::time_ordered_guid()));  // the schema
    sqlite3* db = nullptr;
    // Through the VFS the stores use, which writes a commit's log frames at once.
    sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE, host::store::wal_batching_vfs());
    sqlite3_exec(db, "PRAGMA synchronous=NORMAL", nullptr, nullptr, nullptr);
    auto prepare = [&](const char* sql) {
      sqlite3_stmt* s = nullptr;
      if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK)
        throw std::runtime_error(std::string("floor: ") + sqlite3_errmsg(db));
      return s;
    };
    auto run = [&](sqlite3_stmt* s) {
      if (sqlite3_step(s) != SQLITE_DONE)
        throw std::runtime_error(std::string("floor: ") + sqlite3_errmsg(db));
      sqlite3_reset(s);
    };
    sqlite3_stmt* begin = prepare("BEGIN IMMEDIATE");
    sqlite3_stmt* commit = prepare("COMMIT");
    sqlite3_stmt* update = prepare(
        "UPDATE records SET attributes = ?1, modified_on = ?2, version = version + 1 WHERE rowid "
        "= 1");
    sqlite3_stmt* job = prepare(
        "INSERT INTO system_jobs (id, created_on, step_id, step_name, regarding_entity, "
        "regarding_id, message, depth, correlation_id, endpoint, sequence, state_code, "
        "status_code, lease_owner, lease_until, started_on, context_at, context_size) VALUES "
        "(?1, ?2, ?3, 'publish', 'account', ?3, 'Update', 1, ?3, 'orders', ?4, 2, 20, "
        "'host:1:x', ?2, ?2, ?5, ?6)");
    // The context goes to the store's context log, written before each commit.
    auto contexts = host::store::ContextLog::of(file);
    sqlite3_stmt* finish = prepare(
        "UPDATE system_jobs SET state_code = 3, status_code = 30, completed_on = ?2, "
        "lease_owner = NULL, lease_until = NULL, execution_time_ms = 1 WHERE id = ?1");
    const std::string attributes(1024, 'a'), frozen(2555, 'c'), step = Guid::random().str();
    const std::string now = "2026-01-01T00:00:00.000Z";
    std::vector<std::string> ids;
    ids.reserve(static_cast<std::size_t>(operations));
    const double cpu_start = bench::cpu_seconds();
    for (int i = 0; i < operations; ++i) {
      if (i % group == 0) {
        run(begin);
        contexts->begin();
      }
      sqlite3_bind_text(update, 1, attributes.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_text(update, 2, now.c_str(), -1, SQLITE_STATIC);
      run(update);
      ids.push_back(host::store::time_ordered_guid().str());
      const auto place = contexts->stage(ids.back(), frozen);
      if (with_jobs) {
        sqlite3_bind_text(job, 1, ids.back().c_str(), -1, SQLITE_STATIC);
        sqlite3_bind_text(job, 2, now.c_str(), -1, SQLITE_STATIC);
        sqlite3_bind_text(job, 3, step.c_str(), -1, SQLITE_STATIC);
        sqlite3_bind_int64(job, 4, i + 1);
        sqlite3_bind_int64(job, 5, place.at);
        sqlite3_bind_int64(job, 6, place.size);
        run(job);
      }
      if (i % group == group - 1 || i == operations - 1) {
        contexts->write_staged(false);
        run(commit);
      }
    }
    const double cpu_operations = bench::cpu_seconds();
    for (int i = 0; i < operations && with_jobs; ++i) {
      if (i % 64 == 0) run(begin);
      sqlite3_bind_text(finish, 1, ids[static_cast<std::size_t>(i)].c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_text(finish, 2, now.c_str(), -1, SQLITE_STATIC);
      run(finish);
      if (i % 64 == 63 || i == operations - 1) run(commit);
    }
    const double cpu_end = bench::cpu_seconds();
    for (sqlite3_stmt* s : {begin, commit, update, job, finish}) sqlite3_finalize(s);
    sqlite3_close(db);
    return {(cpu_operations - cpu_start) * 1e6 / operations,
            (cpu_end - cpu_operations) * 1e6 / operations};
  };
  Floor floor;
  std::tie(floor.operation_us, floor.result_us) = pass("floor.db", true);
  floor.record_us = pass("floor-records.db", false).first;
  std::printf(
      "SQLite floor of one durable operation (%d operations, %d to a commit, its statements "
      "alone): %.1f us CPU (record + job + context %.1f us, the result %.1f us; the record and "
      "its context without the job's row and result %.1f us): at most %.0f operations/s per "
      "core before any other work\n",
      operations, group, floor.total_us(), floor.operation_us, floor.result_us, floor.record_us,
      1e6 / floor.total_us());
  std::fflush(stdout);
  return floor;
}

/// User plus system CPU seconds another process has used so far, from /proc/PID/stat.
double process_cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto end_of_name = text.rfind(')');
  if (end_of_name == std::string::npos) throw std::runtime_error("cannot read /proc stat");
  std::istringstream fields(text.substr(end_of_name + 2));
  std::string field;
  unsigned long long ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i)  // field 3 is the state; 14 utime, 15 stime
    if (i >= 14) ticks += std::stoull(field);
  return static_cast<double>(ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

void run_plugin_throughput(const std::filesystem::path& dir) {
  constexpr int operations = 20000;
  Factory factory;
  auto run = [&](Mode mode, const char* name) {
    auto file = dir / (std::string(name) + ".db");
    host::store::SqliteRecordStore store(file);
    host::pipeline::Pipeline pipeline(registration_with(mode), factory, store);
    Entity record("account");
    record.set("name", Value(std::string("x")));
    auto id = store.create(record);
    auto t = Clock::now();
    for (int i = 0; i < operations; ++i) {
      Entity change("account", id);
      change.set("name", Value(std::to_string(i)));
      pipeline.execute(request("Update", std::move(change)));
    }
    double queue_s = seconds_since(t);
    double drain_s = 0;
    if (mode == Mode::asynchronous) {
      host::jobs::AsyncService service(pipeline, store.location(), nullptr, {});
      t = Clock::now();
      service.start();
      service.drain(0);
      drain_s = seconds_since(t);
      service.stop();
    }
    return std::pair{queue_s, drain_s};
  };
  auto [sync_s, unused] = run(Mode::synchronous, "sync");
  auto [queue_s, drain_s] = run(Mode::asynchronous, "async");
  std::printf(
      "%d operations with a no-op step: synchronous %.0f ops/s; async queued %.0f ops/s, jobs "
      "worked off %.0f jobs/s (%.2f x the synchronous operation rate)\n",
      operations, operations / sync_s, operations / queue_s, operations / drain_s,
      (operations / drain_s) / (operations / sync_s));
  std::fflush(stdout);
}

// --- (3) endpoint jobs end to end --------------------------------------------------------------

constexpr const char* endpoint_name = "bench";

/// A registration whose only step posts every Update of an account to the broker's queue.
std::filesystem::path write_registration(const std::filesystem::path& dir, const Settings& s) {
  auto file = dir / "stepline.yaml";
  std::filesystem::create_directories(dir / "plugins");
  std::ofstream(dir / "connection.txt") << s.connection_string;
  std::ofstream out(file);
  out << "host:\n"
      << "  plugin_folder: " << (dir / "plugins").string() << "\n"
      << "  data_folder: " << (dir / "data").string() << "\n"
      << "  log_level: warn\n";
  if (s.workers > 0) out << "  async_workers: " << s.workers << "\n";
  out << "  durability: " << s.durability << "\n";
  out << "endpoints:\n"
      << "  - name: " << endpoint_name << "\n"
      << "    contract: queue\n"
      << "    path: " << s.queue << "\n"
      << "    format: json\n"
      << "    auth: plain\n"  // as the baseline sender logs in
      << "    timeout: 120s\n"
      << "    connection: ${file:" << (dir / "connection.txt").string() << "}\n"
      << "steps:\n"
      << "  - name: Publish account updates\n"
      << "    message: Update\n"
      << "    entity: account\n"
      << "    stage: post-operation\n"
      << "    mode: async\n"
      << "    handler:\n"
      << "      endpoint: " << endpoint_name << "\n";
  return file;
}

Guid create_account(host::Host& host) {
  Entity account("account");
  account.set("name", Value(std::string("Contoso Ltd")));
  auto response = host.execute(request("Create", std::move(account)));
  if (!response.ok()) throw std::runtime_error("Create failed: " + response.error_message);
  return response.output_parameters.at("id").as<Guid>();
}

/// The i-th Update: a new name and a description of `pad` bytes that sizes the context.
host::pipeline::OperationRequest update(const Guid& id, int i, std::size_t pad) {
  Entity change("account", id);
  change.set("name", Value("Contoso Ltd " + std::to_string(i)));
  if (pad > 0) change.set("description", Value(std::string(pad, 'x')));
  return request("Update", std::move(change));
}

struct MessageSize {
  std::size_t body = 0;     ///< the serialized context in the endpoint's format
  std::size_t encoded = 0;  ///< the whole AMQP message: body, properties, annotations
  ExecutionContext frozen;  ///< the job's context
};

/// What one job's post weighs with `pad` bytes of description: one operation through a host
/// like the measured one, its job's frozen context composed as the poster composes it.
MessageSize probe(const Settings& s, std::size_t pad) {
  test::TempDir dir("stepline-bench-jobs-probe-");
  host::ConfiguredHost configured(write_registration(dir.path(), s));
  auto& host = configured.host();
  auto id = create_account(host);
  auto response = host.execute(update(id, 0, pad));
  if (!response.ok()) throw std::runtime_error("Update failed: " + response.error_message);
  auto jobs = host.store().system_jobs();
  if (jobs.size() != 1) throw std::runtime_error("the probe queued no job");
  auto context = format::json::read_context(jobs.front().context);
  const auto* endpoint = host.pipeline().registration()->find_endpoint(endpoint_name);
  auto message = host::endpoints::compose_message(*endpoint, context).message;
  MessageSize size;
  size.body = proton::get<proton::binary>(message.body()).size();
  size.encoded = message.encode().size();
  size.frozen = std::move(context);
  return size;
}

/// Latencies in milliseconds from each job's creation (the operation) to its completion (the
/// broker's acceptance recorded), for jobs created after `sequence`, sorted.
std::vector<double> job_latencies_ms(const std::filesystem::path& database, long long sequence) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(database.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK)
    throw std::runtime_error("cannot open " + database.string());
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT (julianday(completed_on) - julianday(created_on)) * 86400000.0 "
                     "FROM system_jobs WHERE sequence > ?1 AND completed_on IS NOT NULL",
                     -1, &s, nullptr);
  sqlite3_bind_int64(s, 1, sequence);
  std::vector<double> out;
  while (sqlite3_step(s) == SQLITE_ROW) out.push_back(sqlite3_column_double(s, 0));
  sqlite3_finalize(s);
  sqlite3_close(db);
  std::sort(out.begin(), out.end());
  return out;
}

/// On-CPU seconds of this process's threads by name (the async service's workers summed), from
/// /proc/self/task/*/schedstat, which counts nanoseconds. A thread that has ended is no longer
/// listed, so a snapshot is taken while the threads it is about still run.
std::map<std::string, double> thread_cpu_seconds() {
  std::map<std::string, double> by_name;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream name_file(task.path() / "comm"), time_file(task.path() / "schedstat");
    std::string name;
    unsigned long long ns = 0;
    if (std::getline(name_file, name) && time_file >> ns) by_name[name] += ns / 1e9;
  }
  return by_name;
}

double system_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

/// The host's threads whose CPU the stepline side reports apart, in its result line's order.
constexpr std::array<const char*, 4> reported_threads = {"sl-intake", "sl-job-worker", "sl-amqp",
                                                         "sl-checkpoint"};

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto at = static_cast<std::size_t>(std::ceil(p * sorted.size())) - 1;
  return sorted[std::min(at, sorted.size() - 1)];
}

// The measured side: prints "result SECONDS SUCCEEDED PEAK_RSS_KIB CPU QUEUE_SECONDS P50 P99
// COMMITS", then six CPU figures per operation (us), each from the service's start to its drain:
// the intake thread's, the workers', the AMQP thread's, the checkpointer's, every other thread's,
// and the process's time in the kernel.
int run_stepline(const Settings& s) {
  test::TempDir dir("stepline-bench-jobs-");
  int succeeded = 0;
  double seconds = 0, queue_seconds = 0, operation_commits = 0, setup_cpu = 0;
  std::vector<double> latencies, thread_us;
  {
    if (s.history > 0) {
      std::filesystem::create_directories(dir.path() / "data");
      insert_jobs(dir.path() / "data" / "stepline.db", s.history, true);
      setup_cpu = bench::cpu_seconds();
    }
    host::ConfiguredHost configured(write_registration(dir.path(), s));
    auto& host = configured.host();
    std::vector<Guid> accounts;
    for (int c = 0; c < s.clients; ++c) accounts.push_back(create_account(host));
    host::jobs::AsyncServiceOptions options;
    options.workers = s.workers;
    options.batch = s.batch;
    options.handoff = s.handoff;
    options.handoff_window = s.handoff_window;
    host::jobs::AsyncService service(host.pipeline(), host.store().location(),
                                     configured.endpoint_poster(), options);
    service.start();
    const long long sequence = service.store().last_sequence();
    const auto threads_before = thread_cpu_seconds();
    const double system_before = system_cpu_seconds();

    // Each client runs its share of the operations one after another, as a caller that waits
    // for each operation to return (its job durable) before it sends the next.
    std::atomic<int> next{0};
    const auto commits_before = host.store().commits();
    std::string failure;
    std::mutex failure_mutex;
    // With --rss-file, resident memory about 500 times over the run, by operations taken.
    const int sample_every = std::max(1, s.messages / 500);
    std::vector<std::pair<int, long>> rss_samples;
    auto start = Clock::now();
    std::vector<std::thread> clients;
    // Or operations submitted with a fixed number in flight: each response submits the next.
    std::atomic<int> finished{0};
    std::mutex all_done_mutex;
    std::condition_variable all_done;
    std::function<void()> submit_next = [&] {
      const int i = next.fetch_add(1);
      if (i >= s.messages) return;
      if (!s.rss_file.empty() && i % sample_every == 0) {
        const long rss = rss_kib();
        std::lock_guard lock(failure_mutex);
        rss_samples.emplace_back(i, rss);
      }
      host.submit(update(accounts[static_cast<std::size_t>(i % s.clients)], i + 1, s.pad),
                  [&](host::pipeline::OperationResponse response) {
                    if (!response.ok()) {
                      std::lock_guard lock(failure_mutex);
                      failure = "Update failed: " + response.error_message;
                    }
                    submit_next();
                    if (finished.fetch_add(1) + 1 == s.messages) {
                      std::lock_guard lock(all_done_mutex);
                      all_done.notify_all();
                    }
                  });
    };
    if (s.in_flight > 0) {
      for (int k = 0; k < s.in_flight; ++k) submit_next();
      std::unique_lock lock(all_done_mutex);
      all_done.wait(lock, [&] { return finished.load() == s.messages; });
    }
    for (int c = 0; c < s.clients && s.in_flight == 0; ++c) {
      clients.emplace_back([&, c] {
        for (int i; (i = next.fetch_add(1)) < s.messages;) {
          if (!s.rss_file.empty() && i % sample_every == 0) {
            const long rss = rss_kib();
            std::lock_guard lock(failure_mutex);
            rss_samples.emplace_back(i, rss);
          }
          auto response = host.execute(update(accounts[c], i + 1, s.pad));
          if (!response.ok()) {
            std::lock_guard lock(failure_mutex);
            failure = "Update failed: " + response.error_message;
            return;
          }
        }
      });
    }
    for (auto& t : clients) t.join();
    if (!failure.empty()) throw std::runtime_error(failure);
    queue_seconds = seconds_since(start);
    operation_commits = static_cast<double>(host.store().commits() - commits_before);
    service.drain(sequence);
    seconds = seconds_since(start);
    {
      auto spent = thread_cpu_seconds();
      for (const auto& [name, before] : threads_before) spent[name] -= before;
      double others = 0;
      for (const auto& [name, cpu] : spent) others += cpu;
      for (const char* name : reported_threads) {
        thread_us.push_back(spent[name] * 1e6 / s.messages);
        others -= spent[name];
      }
      thread_us.push_back(others * 1e6 / s.messages);
      thread_us.push_back((system_cpu_seconds() - system_before) * 1e6 / s.messages);
    }
    if (!s.rss_file.empty()) {
      rss_samples.emplace_back(s.messages, rss_kib());
      std::sort(rss_samples.begin(), rss_samples.end());
      std::ofstream out(s.rss_file);
      for (const auto& [operations, rss] : rss_samples) out << operations << ' ' << rss << '\n';
    }

    service.stop();
    auto counts = service.store().count(sequence);
    succeeded = static_cast<int>(counts[host::store::JobStatus::succeeded]);
    // (Not for the rss part: a million latencies would raise the peak this process reports.)
    if (s.rss_file.empty()) latencies = job_latencies_ms(host.store().location().file, sequence);
  }
  if (!s.keep.empty())
    std::filesystem::copy(dir.path() / "data", s.keep,
                          std::filesystem::copy_options::recursive |
                              std::filesystem::copy_options::overwrite_existing);
  std::vector<double> extra = {queue_seconds, percentile(latencies, 0.5),
                               percentile(latencies, 0.99), operation_commits};
  extra.insert(extra.end(), thread_us.begin(), thread_us.end());
  bench::print_result(seconds, succeeded, extra, setup_cpu);
  return succeeded == s.messages ? 0 : 1;
}

/// The poster the open loop measures through: hands each post to the host's poster and notes
/// when its outcome arrives, by the operation's number (the N of the target's "Contoso Ltd N").
/// A post with a callback (as the async service starts them) is noted in the callback, on the
/// AMQP thread; for one with a future, a thread waits for the outcomes in the order of the posts
/// (a link's dispositions come in its sending order) and passes each on.
class TimedPoster : public host::endpoints::EndpointPoster {
 public:
  TimedPoster(host::endpoints::EndpointPoster& inner, std::size_t operations)
      : inner_(inner), accepted_(operations), posted_(operations) {
    watcher_ = std::thread([this] { watch(); });
  }
  ~TimedPoster() override {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    ready_.notify_all();
    watcher_.join();
  }
  std::future<host::amqp::Outcome> post(const registration::ServiceEndpoint& endpoint,
                                        const ExecutionContext& context,
                                        const host::endpoints::PostOptions& options) override {
    Pending p{index_of(context), inner_.post(endpoint, context, options), {}};
    auto out = p.passed_on.get_future();
    {
      std::lock_guard lock(mutex_);
      pending_.push_back(std::move(p));
    }
    ready_.notify_one();
    return out;
  }
  bool post_then(const registration::ServiceEndpoint& endpoint, const ExecutionContext& context,
                 const host::endpoints::PostOptions& options, Completion done) override {
    const long index = index_of(context);
    if (index >= 0 && static_cast<std::size_t>(index) < posted_.size())
      posted_[static_cast<std::size_t>(index)] = Clock::now();
    return inner_.post_then(
        endpoint, context, options,
        [this, index, done = std::move(done)](const host::amqp::Outcome& o) {
          if (o.ok() && index >= 0 && static_cast<std::size_t>(index) < accepted_.size())
            accepted_[static_cast<std::size_t>(index)] = Clock::now();
          done(o);
        });
  }
  /// When operation i's post was accepted (the epoch when it never was).
  const std::vector<Clock::time_point>& accepted() const { return accepted_; }
  /// When a worker started operation i's post (posts with callbacks only).
  const std::vector<Clock::time_point>& posted() const { return posted_; }

 private:
  static long index_of(const ExecutionContext& context) {
    long index = -1;
    if (const Entity* target = context.target()) {
      auto name = target->get_as<std::string>("name").value_or("");
      auto space = name.rfind(' ');
      if (space != std::string::npos) index = std::atol(name.c_str() + space + 1) - 1;
    }
    return index;
  }
  struct Pending {
    long index;
    std::future<host::amqp::Outcome> outcome;
    std::promise<host::amqp::Outcome> passed_on;
  };
  void watch() {
    for (;;) {
      Pending p;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [&] { return done_ || !pending_.empty(); });
        if (pending_.empty()) return;
        p = std::move(pending_.front());
        pending_.pop_front();
      }
      try {
        auto outcome = p.outcome.get();
        if (outcome.ok() && p.index >= 0 && static_cast<std::size_t>(p.index) < accepted_.size())
          accepted_[static_cast<std::size_t>(p.index)] = Clock::now();
        p.passed_on.set_value(std::move(outcome));
      } catch (...) {
        p.passed_on.set_exception(std::current_exception());
      }
    }
  }
  host::endpoints::EndpointPoster& inner_;
  std::vector<Clock::time_point> accepted_;
  std::vector<Clock::time_point> posted_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Pending> pending_;
  bool done_ = false;
  std::thread watcher_;
};

double percentile_of(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  return percentile(values, p);
}

// The open loop's measured side: operation i is due at start + i / rate and is submitted then
// (by whichever of the client threads is free) whether or not earlier ones have finished; its
// latency runs from that due time, so a host that falls behind is charged for the wait too.
// Prints "result SECONDS SUCCEEDED PEAK_RSS_KIB CPU ACHIEVED_RATE P50 P99 P999 RETURN_P50
// RETURN_P99 LATE_P99 POST_P50 POST_P99 WIRE_P50 WIRE_P99" (milliseconds; RETURN_* from due
// time to the operation's return, its job durable; LATE_* how late the submission itself was;
// POST_* from the return to a worker's post, WIRE_* from the post to the broker's acceptance).
int run_stepline_open_loop(const Settings& s) {
  test::TempDir dir("stepline-bench-jobs-open-");
  const auto n = static_cast<std::size_t>(s.messages);
  std::vector<Clock::time_point> due(n), returned(n), submitted(n);
  std::vector<Clock::time_point> accepted, posted;
  int succeeded = 0;
  double seconds = 0;
  {
    host::ConfiguredHost configured(write_registration(dir.path(), s));
    auto& host = configured.host();
    std::vector<Guid> accounts;
    for (int c = 0; c < s.open_loop_clients; ++c) accounts.push_back(create_account(host));
    TimedPoster poster(*configured.endpoint_poster(), n);
    host::jobs::AsyncServiceOptions options;
    options.workers = s.workers;
    options.batch = s.batch;
    options.handoff = s.handoff;
    options.handoff_window = s.handoff_window;
    host::jobs::AsyncService service(host.pipeline(), host.store().location(), &poster, options);
    service.start();
    const long long sequence = service.store().last_sequence();
    const auto interval = std::chrono::duration<double>(1.0 / s.rate);
    const auto start = Clock::now() + std::chrono::milliseconds(50);
    for (std::size_t i = 0; i < n; ++i)
      due[i] =
          start + std::chrono::duration_cast<Clock::duration>(interval * static_cast<double>(i));
    std::atomic<std::size_t> next{0};
    std::atomic<bool> failed{false};
    std::vector<std::thread> clients;
    std::size_t sent = 0, answered = 0;  // submitted and answered (open_loop_submit)
    std::mutex answered_mutex;
    std::condition_variable all_answered;
    if (s.open_loop_submit) {
      // Host::submit from one thread, each operation at its due time; answered on the intake
      // thread once committed.
      for (std::size_t i = 0; i < n && !failed; ++i, ++sent) {
        std::this_thread::sleep_until(due[i]);
        submitted[i] = Clock::now();
        host.submit(update(accounts[i % accounts.size()], static_cast<int>(i) + 1, s.pad),
                    [&, i](host::pipeline::OperationResponse response) {
                      returned[i] = Clock::now();
                      if (!response.ok()) {
                        std::fprintf(stderr, "Update failed: %s\n", response.error_message.c_str());
                        failed = true;
                      }
                      std::lock_guard lock(answered_mutex);
                      ++answered;
                      all_answered.notify_all();
                    });
      }
      // Every submitted one is answered before what the handlers use goes.
      std::unique_lock lock(answered_mutex);
      all_answered.wait(lock, [&] { return answered == sent; });
    }
    for (int c = 0; c < s.open_loop_clients && !s.open_loop_submit; ++c) {
      clients.emplace_back([&, c] {
        for (std::size_t i; (i = next.fetch_add(1)) < n && !failed;) {
          std::this_thread::sleep_until(due[i]);
          submitted[i] = Clock::now();
          auto response = host.execute(update(accounts[c], static_cast<int>(i) + 1, s.pad));
          returned[i] = Clock::now();
          if (!response.ok()) {
            std::fprintf(stderr, "Update failed: %s\n", response.error_message.c_str());
            failed = true;
          }
        }
      });
    }
    for (auto& t : clients) t.join();
    if (failed) return 1;
    service.drain(sequence);
    seconds = std::chrono::duration<double>(Clock::now() - start).count();
    service.stop();
    succeeded =
        static_cast<int>(service.store().count(sequence)[host::store::JobStatus::succeeded]);
    accepted = poster.accepted();
    posted = poster.posted();
  }
  auto ms = [](Clock::time_point from, Clock::time_point to) {
    return std::chrono::duration<double, std::milli>(to - from).count();
  };
  // The path in three parts: to the operation's return (its job durable), from there to a
  // worker's post, and from the post to the broker's acceptance (the AMQP thread and the wire).
  std::vector<double> to_broker, to_return, late, to_post, on_wire;
  for (std::size_t i = 0; i < n; ++i) {
    if (accepted[i] != Clock::time_point{}) to_broker.push_back(ms(due[i], accepted[i]));
    to_return.push_back(ms(due[i], returned[i]));
    late.push_back(ms(due[i], submitted[i]));
    if (posted[i] == Clock::time_point{} || accepted[i] == Clock::time_point{}) continue;
    to_post.push_back(ms(returned[i], posted[i]));
    on_wire.push_back(ms(posted[i], accepted[i]));
  }
  if (!s.latency_file.empty()) {
    std::ofstream out(s.latency_file);
    for (double x : to_broker) out << x << '\n';
  }
  if (!s.parts_file.empty()) {
    // Each operation in due order: the late submission, due -> returned, returned -> posted,
    // posted -> accepted (-1 where a time is missing).
    std::ofstream out(s.parts_file);
    auto part = [&](Clock::time_point from, Clock::time_point to) {
      return from == Clock::time_point{} || to == Clock::time_point{} ? -1.0 : ms(from, to);
    };
    for (std::size_t i = 0; i < n; ++i)
      out << ms(due[i], submitted[i]) << ' ' << ms(due[i], returned[i]) << ' '
          << part(returned[i], posted[i]) << ' ' << part(posted[i], accepted[i]) << '\n';
  }
  if (to_broker.size() != n)
    std::fprintf(stderr, "%zu of %zu posts were not seen accepted\n", n - to_broker.size(), n);
  const double achieved = static_cast<double>(n) / ms(due.front(), due.back()) * 1000.0;
  bench::print_result(
      seconds, succeeded,
      {achieved, percentile_of(to_broker, 0.5), percentile_of(to_broker, 0.99),
       percentile_of(to_broker, 0.999), percentile_of(to_return, 0.5),
       percentile_of(to_return, 0.99), percentile_of(late, 0.99), percentile_of(to_post, 0.5),
       percentile_of(to_post, 0.99), percentile_of(on_wire, 0.5), percentile_of(on_wire, 0.99)});
  return succeeded == s.messages && to_broker.size() == n ? 0 : 1;
}

/// Runs the Service Bus SDK peer and reads its JSON line: mode -> (msg/s, CPU us per message).
struct PeerMode {
  std::string name;
  double rate = 0, cpu_us = 0;
  long messages = 0;
};
struct PeerResult {
  std::vector<PeerMode> modes;
  long sent = 0;
};

PeerResult run_sdk_peer(const Settings& s, std::size_t size, const std::filesystem::path& dir) {
  const std::filesystem::path script = STEPLINE_BENCH_DIR "/servicebus/send.mjs";
  auto log = dir / "servicebus.out";
  int status = test::run(
      {"node", script.string(), "--connection-string", s.connection_string, "--queue", s.queue,
       "--messages", std::to_string(s.messages), "--awaited-messages",
       std::to_string(std::min(s.messages, s.sdk_awaited)), "--size", std::to_string(size)},
      {}, log);
  std::string out = test::tail(log, 100000);
  auto at = out.rfind("\n{");
  std::string line = out.substr(at == std::string::npos ? 0 : at + 1);
  rapidjson::Document json;
  json.Parse(line.c_str());
  if (status != 0 || json.HasParseError() || !json.IsObject() || !json.HasMember("modes"))
    throw std::runtime_error("the Service Bus SDK peer failed (exit " + std::to_string(status) +
                             "):\n" + test::tail(log));
  PeerResult r;
  r.sent = json["sent"].GetInt64();
  for (auto& m : json["modes"].GetObject())
    r.modes.push_back({m.name.GetString(), m.value["msg_per_s"].GetDouble(),
                       m.value["cpu_us_per_msg"].GetDouble(), m.value["messages"].GetInt64()});
  return r;
}

std::vector<std::string> stepline_argv(const char* self, const Settings& s) {
  std::vector<std::string> argv{self,
                                "--mode",
                                "stepline",
                                "--connection-string",
                                s.connection_string,
                                "--queue",
                                s.queue,
                                "--messages",
                                std::to_string(s.messages),
                                "--pad",
                                std::to_string(s.pad),
                                "--batch",
                                std::to_string(s.batch),
                                "--clients",
                                std::to_string(s.clients),
                                "--handoff",
                                s.handoff ? "true" : "false",
                                "--tuned-allocator",
                                s.tuned_allocator ? "true" : "false",
                                "--durability",
                                s.durability,
                                "--history",
                                std::to_string(s.history)};
  if (s.workers > 0) argv.insert(argv.end(), {"--workers", std::to_string(s.workers)});
  argv.insert(argv.end(), {"--in-flight", std::to_string(s.in_flight)});
  if (s.rate > 0)
    argv.insert(argv.end(), {"--rate", std::to_string(s.rate), "--open-loop-clients",
                             std::to_string(s.open_loop_clients), "--open-loop-submit",
                             s.open_loop_submit ? "true" : "false"});
  if (s.rate > 0 && !s.latency_file.empty())
    argv.insert(argv.end(), {"--latency-file", s.latency_file});
  if (s.rate > 0 && !s.parts_file.empty())
    argv.insert(argv.end(), {"--latency-parts-file", s.parts_file});
  if (!s.rss_file.empty()) argv.insert(argv.end(), {"--rss-file", s.rss_file});
  return argv;
}

/// The open loop: the stepline side with operations due at a fixed rate, `s.endpoint_rounds`
/// times (`after_each` waits until a round's messages are consumed); prints each round's latency
/// percentiles from each operation's due time to its post's acceptance by the broker, then the
/// round with the median p99 in full, whose figures and latency files are the ones kept.
void run_open_loop(const char* self, const Settings& s, const std::filesystem::path& dir,
                   const char* why, const std::function<void()>& after_each) {
  std::vector<bench::ChildResult> runs;
  auto suffixed = [](const std::string& file, int r) {
    return file.empty() ? file : file + "." + std::to_string(r);
  };
  for (int r = 0; r < s.endpoint_rounds; ++r) {
    Settings round = s;
    round.latency_file = suffixed(s.latency_file, r);
    round.parts_file = suffixed(s.parts_file, r);
    auto x = bench::run_child(stepline_argv(self, round), "open-loop", dir);
    if (x.extra.size() < 11) throw std::runtime_error("the open loop printed no latencies");
    after_each();
    std::printf(
        "open loop round %d of %d at %.0f ops/s: p50 %.2f ms, p99 %.2f ms, p999 %.2f ms; host "
        "CPU %.1f us per operation\n",
        r + 1, s.endpoint_rounds, s.rate, x.extra[1], x.extra[2], x.extra[3],
        x.cpu * 1e6 / s.messages);
    std::fflush(stdout);
    runs.push_back(std::move(x));
  }
  std::vector<std::size_t> order(runs.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return runs[a].extra[2] < runs[b].extra[2]; });
  const std::size_t m = order[order.size() / 2];
  const auto& r = runs[m];
  for (const auto* file : {&s.latency_file, &s.parts_file}) {
    if (file->empty()) continue;
    std::filesystem::copy_file(suffixed(*file, static_cast<int>(m)), *file,
                               std::filesystem::copy_options::overwrite_existing);
    for (int i = 0; i < s.endpoint_rounds; ++i) std::filesystem::remove(suffixed(*file, i));
  }
  std::printf(
      "open loop, the round with the median p99 (round %zu of %d): %d Update operations due at "
      "%.0f ops/s (%s; %s), submitted at %.0f ops/s; %ld of %d jobs succeeded; host CPU %.1f us "
      "per operation\n"
      "  latency operation due -> broker acceptance: p50 %.2f ms, p99 %.2f ms, p999 %.2f ms "
      "(goal p99 <= 5 ms)\n"
      "  latency operation due -> operation returned (job durable): p50 %.2f ms, p99 %.2f ms; "
      "submissions late by p99 %.2f ms\n"
      "  latency operation returned -> post started: p50 %.2f ms, p99 %.2f ms; post started -> "
      "broker acceptance: p50 %.2f ms, p99 %.2f ms\n",
      m + 1, s.endpoint_rounds, s.messages, s.rate, why,
      (s.open_loop_submit ? std::string("Host::submit from one thread")
                          : std::to_string(s.open_loop_clients) + " client threads")
          .c_str(),
      r.extra[0], r.done, s.messages, r.cpu * 1e6 / s.messages, r.extra[1], r.extra[2], r.extra[3],
      r.extra[4], r.extra[5], r.extra[6], r.extra[7], r.extra[8], r.extra[9], r.extra[10]);
  std::fflush(stdout);
  figure(s, "open_rate", s.rate);
  figure(s, "open_p50_ms", r.extra[1]);
  figure(s, "open_p99_ms", r.extra[2]);
  figure(s, "open_p999_ms", r.extra[3]);
  figure(s, "open_return_p99_ms", r.extra[5]);
  figure(s, "open_cpu_us", r.cpu * 1e6 / s.messages);
  for (std::size_t i = 0; i < runs.size(); ++i)
    figure(s, "open_round_p99_ms_" + std::to_string(i + 1), runs[i].extra[2]);
}

/// A stepline-broker with the bench's queue and a consumer that empties it, counting.
struct BenchQueue {
  // `guest`/`guest` is the login of bench_amqp's baseline sender.
  explicit BenchQueue(const std::string& queue)
      : broker(
            "sas_policies:\n"
            "  - name: guest\n"
            "    key: guest\n"
            "    rights: [manage, send, listen]\n"
            "queues:\n"
            "  - name: " +
            queue + "\n"),
        consumer(broker.url(), {queue}, {.user = "guest", .password = "guest", .reply = {}},
                 test::Keep::count_only) {}
  std::string connection_string() const { return broker.connection_string("guest", "guest"); }
  test::SteplineBroker broker;
  test::MessageReceiver consumer;
};

/// The description's length that makes the posted body at least 1 KiB (it grows about twice as
/// fast as the pad: the target appears in the context and in its parent).
std::size_t body_pad(const Settings& s) {
  constexpr std::size_t target_body = 1024;
  MessageSize bare = probe(s, 0), padded = probe(s, 100);
  double growth = (double(padded.body) - double(bare.body)) / 100.0;
  if (bare.body < target_body && growth > 0)
    return static_cast<std::size_t>(std::ceil((target_body - bare.body) / growth));
  return 0;
}

/// One round of the endpoint part's closed loop: the plain sender, then the stepline side, then
/// (when asked) the Service Bus SDK's sender, one after another into the same queue.
struct EndpointRound {
  bench::ChildResult baseline, stepline;
  double broker_us = 0;           ///< the broker's CPU per message of the baseline
  double broker_stepline_us = 0;  ///< and of the stepline side's posts
  PeerResult peer;
  double base_rate() const { return baseline.done / baseline.seconds; }
  double rate() const { return stepline.done / stepline.seconds; }
  /// The SDK sender's figures in one mode (zeros when it did not run).
  PeerMode peer_mode(const std::string& name) const {
    for (const auto& m : peer.modes)
      if (m.name == name) return m;
    return {};
  }
};

void run_endpoint_throughput(const char* self, Settings s) {
  s.rss_file.clear();  // the rss part's
  BenchQueue queue(s.queue);
  auto& broker = queue.broker;
  auto& consumer = queue.consumer;
  s.connection_string = queue.connection_string();
  test::TempDir dir("stepline-bench-jobs-e2e-");
  s.pad = body_pad(s);
  MessageSize size = probe(s, s.pad);
  const auto n = static_cast<std::size_t>(s.messages);
  std::size_t sent = 0;  // into the queue so far: each side starts once the last is consumed
  bool drained = true;
  auto consumed = [&](std::size_t more) {
    sent += more;
    drained = consumer.wait_for(sent, 120000) && drained;
  };

  std::printf(
      "%d Update operations, each with one async endpoint step posting a json context (body %zu "
      "bytes, message %zu bytes encoded) into stepline-broker; %s; %s worker(s) x batch %zu, %s "
      "allocator, durability %s, %ld earlier jobs; %d alternating rounds\n",
      s.messages, size.body, size.encoded,
      (s.in_flight > 0 ? "Host::submit with " + std::to_string(s.in_flight) + " in flight"
                       : std::to_string(s.clients) + " client thread(s)")
          .c_str(),
      s.workers > 0 ? std::to_string(s.workers).c_str() : "default", s.batch,
      s.tuned_allocator ? "tuned" : "default", s.durability.c_str(), s.history, s.endpoint_rounds);
  auto row = [&](const char* name, double r, const bench::ChildResult& x) {
    std::printf("  %-40s %8.0f msg/s  %6.2f s  CPU %5.2f s (%5.1f us/msg)  peak RSS %6.1f MiB\n",
                name, r, x.seconds, x.cpu, x.cpu * 1e6 / s.messages, x.rss_kib / 1024.0);
  };
  Settings closed = s;
  closed.rate = 0;
  std::vector<EndpointRound> rounds;
  for (int r = 0; r < s.endpoint_rounds; ++r) {
    EndpointRound round;
    const double broker_cpu_before = process_cpu_seconds(broker.pid());
    round.baseline = bench::run_child(
        bench::baseline_sender(self, s.connection_string, s.queue, s.messages, size.encoded),
        "baseline", dir.path());
    // The stepline side starts on an empty queue.
    consumed(n);
    if (!drained) throw std::runtime_error("the queue was not drained after the baseline");
    // What the broker spends taking in and handing on one message, whoever sends it.
    round.broker_us = (process_cpu_seconds(broker.pid()) - broker_cpu_before) * 1e6 / s.messages;
    const double broker_cpu_stepline = process_cpu_seconds(broker.pid());
    round.stepline = bench::run_child(stepline_argv(self, closed), "stepline", dir.path());
    if (round.stepline.extra.size() < 4)
      throw std::runtime_error("the stepline side printed no latencies");
    consumed(n);
    round.broker_stepline_us =
        (process_cpu_seconds(broker.pid()) - broker_cpu_stepline) * 1e6 / s.messages;
    // The official Service Bus SDK's sender into the same queue (a message as large as the
    // job's body), after the stepline side's messages are all consumed.
    if (s.sdk_peer) {
      round.peer = run_sdk_peer(s, size.body, dir.path());
      consumed(static_cast<std::size_t>(round.peer.sent));
    }
    std::printf("round %d of %d:\n", r + 1, s.endpoint_rounds);
    row("plain Proton C++ sender (same size)", round.base_rate(), round.baseline);
    row("stepline operation -> job Succeeded", round.rate(), round.stepline);
    for (const auto& m : round.peer.modes)
      std::printf("    @azure/service-bus %-9s %8.0f msg/s  CPU %6.1f us/msg  stepline/sdk %.2f\n",
                  m.name.c_str(), m.rate, m.cpu_us, round.rate() / m.rate);
    std::fflush(stdout);
    rounds.push_back(std::move(round));
  }
  // Each figure is the median of the rounds' (a ratio: of each round's own ratio).
  auto median_of = [&](auto of) {
    std::vector<double> values;
    for (const auto& r : rounds) values.push_back(of(r));
    return bench::median(values);
  };
  const double base_rate = median_of([](const EndpointRound& r) { return r.base_rate(); });
  const double rate = median_of([](const EndpointRound& r) { return r.rate(); });
  const double ratio = median_of([](const EndpointRound& r) { return r.rate() / r.base_rate(); });
  const double cpu_us =
      median_of([&](const EndpointRound& r) { return r.stepline.cpu * 1e6 / s.messages; });
  const double base_cpu_us =
      median_of([&](const EndpointRound& r) { return r.baseline.cpu * 1e6 / s.messages; });
  const double broker_us = median_of([](const EndpointRound& r) { return r.broker_us; });
  const double broker_stepline_us =
      median_of([](const EndpointRound& r) { return r.broker_stepline_us; });
  const double queue_rate =
      median_of([&](const EndpointRound& r) { return s.messages / r.stepline.extra[0]; });
  const double p50 = median_of([](const EndpointRound& r) { return r.stepline.extra[1]; });
  const double p99 = median_of([](const EndpointRound& r) { return r.stepline.extra[2]; });
  const double operation_commits =
      median_of([](const EndpointRound& r) { return r.stepline.extra[3]; });
  const long succeeded = static_cast<long>(
      median_of([](const EndpointRound& r) { return static_cast<double>(r.stepline.done); }));

  std::printf("medians of the %d rounds:\n", s.endpoint_rounds);
  std::printf("  plain Proton C++ sender %.0f msg/s (CPU %.1f us/msg); stepline %.0f ops/s\n",
              base_rate, base_cpu_us, rate);
  std::printf(
      "  operations queued their jobs at %.0f ops/s in %.0f commits (%.1f operations per "
      "commit); %ld of %d jobs succeeded%s\n",
      queue_rate, operation_commits, operation_commits > 0 ? s.messages / operation_commits : 0.0,
      succeeded, s.messages, drained ? "" : " (the consumer did not see every message)");
  std::printf(
      "  latency operation -> broker acceptance (completed_on - created_on): p50 %.0f ms, "
      "p99 %.0f ms\n",
      p50, p99);
  std::printf("  ratio stepline/baseline: %.2f (goal >= 0.80)\n", ratio);
  std::printf("  host CPU per durable operation: %.1f us (goal <= 30)\n", cpu_us);
  std::printf(
      "  the broker's CPU per message: %.1f us of the plain sender's, %.1f us of the host's "
      "posts\n",
      broker_us, broker_stepline_us);
  // The stepline side's CPU by thread, and in the kernel (result line fields 9-14).
  const bool by_thread = std::all_of(rounds.begin(), rounds.end(), [](const EndpointRound& r) {
    return r.stepline.extra.size() >= 4 + reported_threads.size() + 2;
  });
  std::vector<double> thread_us;
  for (std::size_t k = 0; by_thread && k < reported_threads.size() + 2; ++k)
    thread_us.push_back(median_of([&](const EndpointRound& r) { return r.stepline.extra[4 + k]; }));
  if (by_thread)
    std::printf(
        "  host CPU per operation by thread: intake %.1f us, workers %.1f, AMQP %.1f, "
        "checkpointer %.1f, others %.1f; in the kernel %.1f us of it\n",
        thread_us[0], thread_us[1], thread_us[2], thread_us[3], thread_us[4], thread_us[5]);
  figure(s, "endpoint_rounds", s.endpoint_rounds);
  figure(s, "clients", s.clients);
  figure(s, "in_flight", s.in_flight);
  figure(s, "baseline_rate", base_rate);
  figure(s, "baseline_cpu_us", base_cpu_us);
  figure(s, "stepline_rate", rate);
  figure(s, "stepline_ratio", ratio);
  figure(s, "stepline_cpu_us", cpu_us);
  figure(s, "stepline_p50_ms", p50);
  figure(s, "stepline_p99_ms", p99);
  figure(s, "message_bytes", static_cast<double>(size.encoded));
  if (by_thread) {
    const char* names[] = {"intake", "workers", "amqp", "checkpointer", "others", "kernel"};
    for (std::size_t k = 0; k < thread_us.size(); ++k)
      figure(s, std::string("stepline_cpu_") + names[k] + "_us", thread_us[k]);
  }
  if (s.sdk_peer) {
    std::printf("  official @azure/service-bus sender (node, same queue, %zu-byte bodies):\n",
                size.body);
    for (const auto& m : rounds.front().peer.modes) {
      const std::string name = m.name;
      const char* goal = name == "inflight"  ? " (goal >= 1.00)"
                         : name == "batched" ? " (goal >= 0.50)"
                                             : "";
      const double peer_rate =
          median_of([&](const EndpointRound& r) { return r.peer_mode(name).rate; });
      const double peer_cpu =
          median_of([&](const EndpointRound& r) { return r.peer_mode(name).cpu_us; });
      const double peer_ratio =
          median_of([&](const EndpointRound& r) { return r.rate() / r.peer_mode(name).rate; });
      std::printf(
          "    %-9s %8.0f msg/s (%ld messages)  CPU %6.1f us/msg   stepline/sdk %.2f%s, host "
          "CPU per op / sdk CPU per msg %.2f\n",
          name.c_str(), peer_rate, m.messages, peer_cpu, peer_ratio, goal, cpu_us / peer_cpu);
      figure(s, "sdk_" + name + "_rate", peer_rate);
      figure(s, "sdk_" + name + "_cpu_us", peer_cpu);
      figure(s, "sdk_" + name + "_ratio", peer_ratio);
    }
  }
  std::fflush(stdout);

  // The same operations from client threads that each wait for their own (Host::execute): once,
  // against the median round.
  if (s.threads_side && s.in_flight > 0) {
    Settings threaded = closed;
    threaded.in_flight = 0;
    auto threads = bench::run_child(stepline_argv(self, threaded), "stepline-threads", dir.path());
    consumed(n);
    const double threads_rate = threads.seconds > 0 ? threads.done / threads.seconds : 0;
    std::printf(
        "  %d client threads: %.0f ops/s, %.1f us CPU per operation; Host::submit does "
        "%.2f x their rate\n",
        s.clients, threads_rate, threads.cpu * 1e6 / s.messages, rate / threads_rate);
    figure(s, "threads_rate", threads_rate);
    figure(s, "threads_cpu_us", threads.cpu * 1e6 / s.messages);
  }

  if (s.open_loop > 0) {
    Settings open = s;
    open.rate = s.rate > 0 ? s.rate : s.open_loop * rate;
    run_open_loop(self, open, dir.path(), s.rate > 0 ? "as asked" : "of the closed loop's rate",
                  [&] { consumed(n); });
  }

  // The most any host could do here with a durable job per operation in this database: the
  // cores shared by four costs the durable path cannot avoid, and nothing else: the SQLite
  // statements alone, the broker's CPU per message, the plain sender's own CPU per message and
  // writing the job's frozen context.
  const Floor floor = run_sqlite_floor(dir.path(), s.messages, commit_group(s));
  const double floor_us = floor.total_us();
  const double sender_us = base_cpu_us;
  const double cpu_serialize = bench::cpu_seconds();
  std::size_t written = 0;
  for (int i = 0; i < s.messages; ++i) written += format::json::write_context(size.frozen).size();
  const double serialize_us = (bench::cpu_seconds() - cpu_serialize) * 1e6 / s.messages;
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const double ceiling = cores * 1e6 / (floor_us + broker_us + sender_us + serialize_us);
  // The same with the job's row and its result free, as if jobs were kept outside SQLite.
  const double ceiling_records =
      cores * 1e6 / (floor.record_us + broker_us + sender_us + serialize_us);
  std::printf(
      "  ceiling on %u cores from the SQLite floor (%.1f us), the broker's CPU per message "
      "(%.1f us), the plain sender's (%.1f us) and writing the frozen context (%.1f us, %zu "
      "bytes) alone: %.0f operations/s = %.2f x the baseline; with the job's rows free (the "
      "records and contexts alone, %.1f us): %.0f operations/s = %.2f x\n",
      cores, floor_us, broker_us, sender_us, serialize_us, written / s.messages, ceiling,
      ceiling / base_rate, floor.record_us, ceiling_records, ceiling_records / base_rate);
  std::fflush(stdout);
  figure(s, "floor_us", floor_us);
  figure(s, "floor_record_us", floor.record_us);
  figure(s, "broker_us", broker_us);
  figure(s, "broker_stepline_us", broker_stepline_us);
  figure(s, "serialize_us", serialize_us);
  figure(s, "ceiling_rate", ceiling);
  figure(s, "ceiling_records_rate", ceiling_records);
}

// --- (5) `stepline run` against the Host API ---------------------------------------------------

/// The same operations as the Host API side's, as `stepline run` reads them: a Create of each
/// client's account (`creates`), then `s.messages` Updates (`updates`), operation i on account
/// i mod clients with the name "Contoso Ltd i+1" and the description's pad, as update() makes them.
void write_requests(const Settings& s, const std::filesystem::path& creates,
                    const std::filesystem::path& updates) {
  std::vector<std::string> ids;
  for (int c = 0; c < s.clients; ++c) ids.push_back(Guid::random().str());
  std::ofstream out(creates);
  for (const auto& id : ids)
    out << R"({"message":"Create","target":{"logicalName":"account","id":")" << id
        << R"(","attributes":{"name":"Contoso Ltd"}}})" << '\n';
  std::ofstream lines(updates);
  const std::string description(s.pad, 'x');
  for (int i = 0; i < s.messages; ++i) {
    lines << R"({"message":"Update","target":{"logicalName":"account","id":")"
          << ids[static_cast<std::size_t>(i) % ids.size()]
          << R"(","attributes":{"name":"Contoso Ltd )" << i + 1 << '"';
    if (s.pad > 0) lines << R"(,"description":")" << description << '"';
    lines << "}}}\n";
  }
}

/// How a command run by run_measured() ended, with its own CPU time and peak RSS (wait4's), which
/// test::run does not keep.
struct Finished {
  int status = -1;  ///< the exit status; -1 when a signal ended it
  double cpu = 0;
  long rss_kib = 0;
};

Finished run_measured(const std::vector<std::string>& argv, const std::filesystem::path& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int error = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(error));
  int status = 0;
  rusage usage{};
  while (wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
  }
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1,
          seconds(usage.ru_utime) + seconds(usage.ru_stime), usage.ru_maxrss};
}

/// Operations in flight on a side: Host::submit's window, or one per client thread.
int in_flight(const Settings& s) {
  return s.in_flight > 0 ? s.in_flight : s.clients;
}

/// `stepline run --drain --parallel C` over those lines in a fresh data folder, the accounts
/// created first by a `stepline run` of their own. Its time is the one its "drained in" line
/// gives: from the service's start, just before the first line runs, until every job succeeded,
/// which is how the Host API side (run_stepline) is timed.
bench::ChildResult run_intake(const char* self, const Settings& s, const std::filesystem::path& dir,
                              int round) {
  test::TempDir folder("stepline-bench-jobs-run-");
  const auto config = write_registration(folder.path(), s).string();
  const auto creates = folder.path() / "creates.jsonl", updates = folder.path() / "updates.jsonl";
  write_requests(s, creates, updates);
  const std::string stepline = (std::filesystem::path(self).parent_path() / "stepline").string();
  const auto log = dir / ("stepline-run-" + std::to_string(round) + ".out");
  if (test::run({stepline, "run", "-c", config, "--requests", creates.string(), "--fail-on-error"},
                {}, log) != 0)
    throw std::runtime_error("stepline run could not create the accounts:\n" + test::tail(log));
  auto finished =
      run_measured({stepline, "run", "-c", config, "--requests", updates.string(), "--drain",
                    "--parallel", std::to_string(in_flight(s)), "--fail-on-error"},
                   log);
  const std::string out = test::tail(log, 100000);
  bench::ChildResult r;
  const auto at = out.rfind("async jobs: ");
  const auto drained = out.find("drained in ", at == std::string::npos ? 0 : at);
  if (finished.status != 0 || at == std::string::npos || drained == std::string::npos ||
      std::sscanf(out.c_str() + at, "async jobs: %ld succeeded", &r.done) != 1 ||
      std::sscanf(out.c_str() + drained, "drained in %lf s", &r.seconds) != 1)
    throw std::runtime_error("stepline run failed (exit " + std::to_string(finished.status) +
                             "):\n" + test::tail(log));
  r.cpu = finished.cpu;
  r.rss_kib = finished.rss_kib;
  return r;
}

/// (5) run: `stepline run --drain` against the Host API side on the same operations and
/// registration, in turns for `s.rounds` rounds (medians).
void run_intake_against_host(const char* self, Settings s, const std::filesystem::path& dir) {
  s.rss_file.clear();
  s.rate = 0;
  BenchQueue queue(s.queue);
  s.connection_string = queue.connection_string();
  s.pad = body_pad(s);
  std::size_t posted = 0;
  std::vector<double> host_rates, run_rates, host_cpu, run_cpu;
  auto consumed = [&] {
    posted += static_cast<std::size_t>(s.messages);
    if (!queue.consumer.wait_for(posted, 120000))
      throw std::runtime_error("the queue was not drained after a side's run");
  };
  int round = 0;
  bench::Side host_api{
      s.in_flight > 0 ? "Host API, Host::submit with " + std::to_string(s.in_flight) + " in flight"
                      : "Host API, " + std::to_string(s.clients) + " client threads",
      [&] {
        auto r = bench::run_child(stepline_argv(self, s), "host-api", dir);
        consumed();
        host_rates.push_back(r.done / r.seconds);
        host_cpu.push_back(r.cpu * 1e6 / s.messages);
        return r;
      }};
  bench::Side intake{"stepline run --drain --parallel " + std::to_string(in_flight(s)), [&] {
                       auto r = run_intake(self, s, dir, ++round);
                       consumed();
                       run_rates.push_back(r.done / r.seconds);
                       run_cpu.push_back(r.cpu * 1e6 / s.messages);
                       return r;
                     }};
  std::printf(
      "`stepline run` (JSONL lines, --drain) against the Host API: %d Updates, each with one "
      "async endpoint step posting to stepline-broker (durable), %d rounds\n",
      s.messages, s.rounds);
  std::fflush(stdout);
  const double ratio = bench::compare_in_rounds(s.rounds, s.messages, host_api, intake);
  std::printf(
      "  stepline run %.0f ops/s against the Host API's %.0f ops/s: it takes %.2f x the Host "
      "API's time (goal <= 1.20)\n",
      bench::median(run_rates), bench::median(host_rates), 1 / ratio);
  std::fflush(stdout);
  figure(s, "run_rounds", s.rounds);
  figure(s, "run_in_flight", in_flight(s));
  figure(s, "run_rate", bench::median(run_rates));
  figure(s, "run_host_rate", bench::median(host_rates));
  figure(s, "run_time_ratio", 1 / ratio);
  figure(s, "run_cpu_us", bench::median(run_cpu));
  figure(s, "run_host_cpu_us", bench::median(host_cpu));
}

// --- (6) resident memory over many durable operations -------------------------------------------

/// (6) rss: the Host API side over `s.rss_operations` operations, its resident memory sampled
/// about 500 times by operations taken; after warm-up (a tenth of them) against the end and the
/// highest.
void run_rss(const char* self, Settings s, const std::filesystem::path& dir) {
  s.rate = 0;
  s.messages = static_cast<int>(s.rss_operations);
  if (s.rss_file.empty()) s.rss_file = (dir / "rss.dat").string();
  BenchQueue queue(s.queue);
  s.connection_string = queue.connection_string();
  s.pad = body_pad(s);
  auto r = bench::run_child(stepline_argv(self, s), "rss", dir);
  std::vector<std::pair<long, long>> samples;
  std::ifstream in(s.rss_file);
  for (long operations, rss; in >> operations >> rss;) samples.emplace_back(operations, rss);
  if (samples.empty()) throw std::runtime_error("the rss side wrote no samples");
  const long warm_at = s.rss_operations / 10;
  auto warm = std::find_if(samples.begin(), samples.end(),
                           [&](const auto& x) { return x.first >= warm_at; });
  if (warm == samples.end()) warm = samples.begin();
  long highest = 0;
  for (auto x = warm; x != samples.end(); ++x) highest = std::max(highest, x->second);
  const double at_warm = warm->second, at_end = samples.back().second;
  std::printf(
      "resident memory over %ld durable operations (%d client threads; %.0f ops/s; %ld of them "
      "succeeded): %.0f KiB after %ld operations, %.0f KiB at the end (%.2f x), at most %.0f KiB "
      "from then on (%.2f x; goal within 0.90-1.10 x); peak %.0f KiB (VmHWM); %zu samples in %s\n",
      s.rss_operations, s.clients, r.done / r.seconds, r.done, at_warm, warm->first, at_end,
      at_end / at_warm, static_cast<double>(highest), highest / at_warm,
      static_cast<double>(r.rss_kib), samples.size(), s.rss_file.c_str());
  std::fflush(stdout);
  figure(s, "rss_operations", static_cast<double>(s.rss_operations));
  figure(s, "rss_warm_at", static_cast<double>(warm->first));
  figure(s, "rss_warm_kib", at_warm);
  figure(s, "rss_end_kib", at_end);
  figure(s, "rss_max_kib", static_cast<double>(highest));
  figure(s, "rss_rate", r.done / r.seconds);
  if (r.done != s.rss_operations) throw std::runtime_error("not every rss job succeeded");
}

// --- (7) a restart over pending jobs -------------------------------------------------------------

/// Writes a registration into `folder` and `pending` Updates into its data folder through a host
/// with no async service, so each leaves its endpoint job Ready, as a host stopped before
/// delivering them would.
void write_pending(const Settings& s, const std::filesystem::path& folder, long pending) {
  host::ConfiguredHost configured(write_registration(folder, s));
  auto& host = configured.host();
  const auto database = host.store().location().file;
  std::vector<Guid> accounts;
  for (int c = 0; c < s.clients; ++c) accounts.push_back(create_account(host));
  std::atomic<long> next{0};
  std::atomic<bool> failed{false};
  std::vector<std::thread> clients;
  for (int c = 0; c < s.clients; ++c)
    clients.emplace_back([&, c] {
      for (long i; (i = next.fetch_add(1)) < pending && !failed;)
        if (!host.execute(update(accounts[c], static_cast<int>(i) + 1, s.pad)).ok()) failed = true;
    });
  for (auto& t : clients) t.join();
  if (failed) throw std::runtime_error("an Update failed while writing pending jobs");
  sqlite3* db = nullptr;
  sqlite3_open_v2(database.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* count = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT count(*) FROM system_jobs WHERE state_code = 0 AND status_code = 0",
                     -1, &count, nullptr);
  const long ready = sqlite3_step(count) == SQLITE_ROW ? sqlite3_column_int64(count, 0) : -1;
  sqlite3_finalize(count);
  sqlite3_close(db);
  if (ready != pending)
    throw std::runtime_error(std::to_string(ready) + " jobs Ready instead of " +
                             std::to_string(pending));
}

// The restart side: the host (ConfiguredHost and its async service) started over `s.data`,
// against the running broker. Times run from `s.started_ns`, when the driver started this
// process. Prints "result SECONDS_TO_ALL SUCCEEDED PEAK_RSS_KIB CPU FIRST_ACCEPTED_S
// SERVICE_STARTED_S".
int run_restart_side(const Settings& s) {
  const Clock::time_point started(
      std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(s.started_ns)));
  auto since_start = [&](Clock::time_point t) {
    return std::chrono::duration<double>(t - started).count();
  };
  double service_started = 0, all = 0;
  int succeeded = 0;
  std::vector<Clock::time_point> accepted;
  {
    host::ConfiguredHost configured(std::filesystem::path(s.data) / "stepline.yaml");
    auto& host = configured.host();
    TimedPoster poster(*configured.endpoint_poster(), static_cast<std::size_t>(s.pending));
    host::jobs::AsyncService service(host.pipeline(), host.store().location(), &poster, {});
    service.start();
    service_started = since_start(Clock::now());
    service.drain(0);
    all = since_start(Clock::now());
    service.stop();
    succeeded = static_cast<int>(service.store().count()[host::store::JobStatus::succeeded]);
    accepted = poster.accepted();
  }
  Clock::time_point first = Clock::time_point::max();
  for (auto t : accepted)
    if (t != Clock::time_point{}) first = std::min(first, t);
  if (first == Clock::time_point::max()) throw std::runtime_error("no post was accepted");
  bench::print_result(all, succeeded, {since_start(first), service_started});
  return succeeded == s.pending ? 0 : 1;
}

/// (7) restart: `s.pending` endpoint jobs left Ready in a data folder, then a host started over
/// it against a running broker: time to the broker's first acceptance (and to the last), against
/// the same start over a data folder with one pending job.
void run_restart(const char* self, Settings s, const std::filesystem::path& dir) {
  BenchQueue queue(s.queue);
  s.connection_string = queue.connection_string();
  s.pad = body_pad(s);
  std::size_t posted = 0;
  auto restart = [&](long pending) {
    test::TempDir folder("stepline-bench-jobs-restart-");
    auto t = Clock::now();
    write_pending(s, folder.path(), pending);
    const double writing = seconds_since(t);
    const long long started =
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
            .count();
    auto r =
        bench::run_child({self, "--mode", "restart", "--data", folder.path().string(), "--pending",
                          std::to_string(pending), "--started-ns", std::to_string(started),
                          "--tuned-allocator", s.tuned_allocator ? "true" : "false"},
                         "restart-" + std::to_string(pending), dir);
    if (r.extra.size() < 2) throw std::runtime_error("the restart side printed no times");
    posted += static_cast<std::size_t>(pending);
    queue.consumer.wait_for(posted, 120000);
    std::printf(
        "  %7ld pending job(s) (written in %.1f s): service started %.3f s after the process, "
        "first broker acceptance at %.3f s, all %ld delivered at %.2f s, CPU %.2f s, peak RSS "
        "%.1f MiB\n",
        pending, writing, r.extra[1], r.extra[0], r.done, r.seconds, r.cpu, r.rss_kib / 1024.0);
    std::fflush(stdout);
    return r;
  };
  std::printf(
      "restart over pending endpoint jobs: a host with its async service started over a data "
      "folder whose jobs a host without one queued, against a running stepline-broker\n");
  auto one = restart(1);
  auto many = restart(s.pending);
  std::printf(
      "  first acceptance with %ld pending jobs at %.3f s against %.3f s with one: %.2f x "
      "(goal <= 1 s)\n",
      s.pending, many.extra[0], one.extra[0], many.extra[0] / one.extra[0]);
  std::fflush(stdout);
  figure(s, "restart_pending", static_cast<double>(s.pending));
  figure(s, "restart_first_s", many.extra[0]);
  figure(s, "restart_one_first_s", one.extra[0]);
  figure(s, "restart_all_s", many.seconds);
  figure(s, "restart_service_started_s", many.extra[1]);
}

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  std::vector<std::string> parts{"waiting", "plugin", "floor", "endpoint", "run", "restart"};
  CLI::App app{"The async service's footprint and job throughput"};
  app.add_option("waiting,--waiting", s.waiting, "waiting jobs for the memory measurement")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--messages", s.messages, "Update operations end to end")
      ->check(CLI::PositiveNumber);
  app.add_option("--workers", s.workers, "async workers; 0 = the registration's default");
  app.add_option("--batch", s.batch, "jobs a worker takes at once")->check(CLI::PositiveNumber);
  app.add_option("--clients", s.clients, "threads issuing the end-to-end operations")
      ->check(CLI::PositiveNumber);
  app.add_option("--in-flight", s.in_flight,
                 "operations kept in flight through Host::submit; 0 = client threads instead")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--threads-side", s.threads_side,
                 "endpoint: then the same from the client threads (true/false)");
  app.add_option("--handoff", s.handoff, "the service takes jobs at their commit (true/false)");
  app.add_option("--handoff-window", s.handoff_window,
                 "jobs handed over and not yet finished, at most (0 = the service's default); a "
                 "large one keeps a run under valgrind on the hand-off path");
  app.add_option("--tuned-allocator", s.tuned_allocator,
                 "keep freed memory in malloc's arenas as the stepline executable does "
                 "(true/false)");
  app.add_option("--durability", s.durability,
                 "host.durability of the end-to-end registration: normal, or full (fsync per "
                 "commit)")
      ->check(CLI::IsMember({"normal", "full"}));
  app.add_option("--history", s.history,
                 "succeeded jobs already in the end-to-end database (a store that is not purged)");
  app.add_option("--parts", parts, "what to measure (rss only when asked: a long run)")
      ->delimiter(',')
      ->check(CLI::IsMember({"waiting", "plugin", "floor", "endpoint", "run", "rss", "restart"}));
  app.add_option("--endpoint-rounds", s.endpoint_rounds,
                 "alternating rounds of the endpoint part's closed loop (plain sender, stepline, "
                 "SDK sender), and its open loops; its figures are their medians")
      ->check(CLI::PositiveNumber);
  app.add_option("--rounds", s.rounds, "rounds of `stepline run` against the Host API (run)")
      ->check(CLI::PositiveNumber);
  app.add_option("--rss-operations", s.rss_operations,
                 "durable operations while resident memory is sampled (rss)")
      ->check(CLI::PositiveNumber);
  app.add_option("--rss-file", s.rss_file,
                 "write the rss part's samples here, OPERATIONS RSS_KIB one a line");
  app.add_option("--pending", s.pending, "endpoint jobs pending at the restart (restart)")
      ->check(CLI::PositiveNumber);
  app.add_option("--sdk-peer", s.sdk_peer,
                 "also run the official Service Bus SDK sender (bench/servicebus/send.mjs) into "
                 "the same queue (true/false)");
  app.add_option("--sdk-awaited", s.sdk_awaited,
                 "messages of the SDK peer's one-at-a-time mode (at most --messages)")
      ->check(CLI::PositiveNumber);
  app.add_option("--open-loop", s.open_loop,
                 "after the closed loop, submit operations at this fraction of its rate whatever "
                 "their completion and report latency percentiles; 0 = no open loop")
      ->check(CLI::Range(0.0, 10.0));
  app.add_option("--rate", s.rate,
                 "the open loop's rate in operations per second instead of a fraction of the "
                 "closed loop's")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--open-loop-clients", s.open_loop_clients,
                 "threads submitting the open loop's operations")
      ->check(CLI::PositiveNumber);
  app.add_option("--open-loop-submit", s.open_loop_submit,
                 "the open loop's operations through Host::submit from one thread (true/false)");
  app.add_option("--figures", s.figures,
                 "append the end-to-end figures to this file as NAME VALUE lines");
  app.add_option("--latency-file", s.latency_file,
                 "write the open loop's latencies to the broker (ms) here, one a line");
  app.add_option("--latency-parts-file", s.parts_file,
                 "write each open-loop operation's latency in parts (ms) here, one a line: "
                 "late submission, due -> returned, returned -> posted, posted -> accepted");
  app.add_option("--pad", s.pad, "bytes added to each operation's target");
  app.add_option("--keep", s.keep, "copy the stepline side's data folder here afterwards");
  // The measured side alone (also for profiling): --mode stepline --connection-string S.
  app.add_option("--mode", s.mode, "driver, or one side: stepline, waiting, restart")
      ->check(CLI::IsMember({"driver", "stepline", "waiting", "restart"}));
  app.add_option(
      "--data", s.data,
      "the folder of stepline.yaml and data/ (restart side), the database (waiting side)");
  app.add_option("--started-ns", s.started_ns,
                 "when the driver started this process, steady clock nanoseconds (restart side)");
  app.add_option("--connection-string", s.connection_string, "the broker (stepline side)");
  app.add_option("--queue", s.queue, "the queue (stepline side)");
  CLI11_PARSE(app, argc, argv);
  // The host's side of every part (and, harmlessly, the driver) runs as `stepline` would.
  if (s.tuned_allocator) host::process::tune_allocator();
  auto asked = [&](const char* part) {
    return std::find(parts.begin(), parts.end(), part) != parts.end();
  };
  try {
    if (s.mode == "stepline") return s.rate > 0 ? run_stepline_open_loop(s) : run_stepline(s);
    if (s.mode == "waiting") return run_waiting_side(s);
    if (s.mode == "restart") return run_restart_side(s);
    test::TempDir dir("stepline-bench-jobs-");
    if (asked("waiting")) run_waiting(argv[0], s, dir.path());
    if (asked("plugin")) run_plugin_throughput(dir.path());
    // The endpoint part measures the floor too, beside its baseline.
    if (asked("floor") && !asked("endpoint"))
      run_sqlite_floor(dir.path(), s.messages, commit_group(s));
    if (asked("endpoint")) run_endpoint_throughput(argv[0], s);
    if (asked("run")) run_intake_against_host(argv[0], s, dir.path());
    if (asked("rss")) run_rss(argv[0], s, dir.path());
    if (asked("restart")) run_restart(argv[0], s, dir.path());
    std::printf("peak RSS of this process (getrusage) %ld KiB\n", peak_rss_kib());
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "bench_jobs: " << e.what() << "\n";
    return 1;
  }
}
