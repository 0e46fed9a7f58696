// bench_jobs [WAITING]: (1) resident memory of a running async service over a database holding
// WAITING jobs postponed into the future (inserted directly), against the same process before the
// service started; (2) plug-in jobs worked off per second by the service (no-op plug-in, default
// batch) against the rate at which the pipeline queues them (the same operations with the step
// synchronous and nothing queued) in the same run.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include <sqlite3.h>

#include <stepline/host/jobs/async_service.hpp>
#include <stepline/plugin.hpp>

using namespace stepline;
using Clock = std::chrono::steady_clock;

namespace {

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

class Noop : public Plugin {
 public:
  using Plugin::Plugin;
  void execute(ExecutionContext&, Services&) override {}
};

class Factory : public host::PluginFactory {
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

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

void insert_waiting(const std::filesystem::path& db_file, long count) {
  host::RecordStore store(db_file);  // creates the schema
  sqlite3* db = nullptr;
  sqlite3_open(db_file.c_str(), &db);
  sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db,
                     "INSERT INTO system_jobs (id, created_on, step_id, step_name, "
                     "regarding_entity, regarding_id, message, depth, correlation_id, state_code, "
                     "status_code, postpone_until, endpoint, context, sequence) VALUES (?1, "
                     "'2026-01-01T00:00:00.000Z', ?2, 'publish', 'account', ?3, 'Update', 1, ?2, "
                     "1, 10, '2099-01-01T00:00:00.000Z', 'orders', ?4, ?5)",
                     -1, &s, nullptr);
  const std::string context(200, 'x');
  auto step = Guid::random().str();
  for (long i = 1; i <= count; ++i) {
    auto id = Guid::random().str();
    sqlite3_bind_text(s, 1, id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, step.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 4, context.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, i);
    sqlite3_step(s);
    sqlite3_reset(s);
  }
  sqlite3_finalize(s);
  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_close(db);
}

}  // namespace

int main(int argc, char** argv) {
  const long waiting = argc > 1 ? std::stol(argv[1]) : 1'000'000;
  char pattern[] = "/tmp/stepline-bench-jobs-XXXXXX";
  std::filesystem::path dir = mkdtemp(pattern);

  // (1) memory with many waiting jobs
  {
    auto file = dir / "waiting.db";
    auto t = Clock::now();
    insert_waiting(file, waiting);
    std::printf("inserted %ld waiting jobs in %.1f s (%.0f MiB on disk)\n", waiting,
                seconds_since(t), std::filesystem::file_size(file) / 1048576.0);
    Factory factory;
    host::RecordStore store(file);
    host::Pipeline pipeline(registration_with(Mode::asynchronous), factory, store);
    long before = rss_kib();
    host::jobs::AsyncService service(pipeline, file, nullptr, {});
    service.start();
    std::this_thread::sleep_for(std::chrono::seconds(3));
    long during = rss_kib();
    auto q = Clock::now();
    bool due = service.store().has_due(now_utc(), true);
    double has_due_ms = seconds_since(q) * 1000;
    service.stop();
    std::printf(
        "RSS with %ld waiting jobs: %ld KiB before the service, %ld KiB after 3 s of polling "
        "(+%ld KiB); due check %.3f ms (due=%d)\n",
        waiting, before, during, during - before, has_due_ms, due ? 1 : 0);
  }

  // (2) throughput of plug-in jobs vs the operations that queue them
  {
    constexpr int operations = 20000;
    Factory factory;
    auto run = [&](Mode mode, const char* name) {
      auto file = dir / (std::string(name) + ".db");
      host::RecordStore store(file);
      host::Pipeline pipeline(registration_with(mode), factory, store);
      Entity record("account");
      record.set("name", Value(std::string("x")));
      auto id = store.create(record);
      auto t = Clock::now();
      for (int i = 0; i < operations; ++i) {
        Entity change("account", id);
        change.set("name", Value(std::to_string(i)));
        pipeline.execute({.message = "Update", .parameters = {{"Target", Value(change)}}});
      }
      double queue_s = seconds_since(t);
      double drain_s = 0;
      if (mode == Mode::asynchronous) {
        host::jobs::AsyncService service(pipeline, file, nullptr, {});
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
  }
  std::printf("peak RSS %ld KiB\n", peak_rss_kib());
  std::filesystem::remove_all(dir);
  return 0;
}
