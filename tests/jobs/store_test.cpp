// What is SQLite's own in the job store (the behaviour every store shares is in tests/store):
// the migration of a version-1 database, workers waiting at the write gate for an operation's
// commit, contexts in a table of their own; and the retry schedule.
#include <doctest/doctest.h>

#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <thread>

#include <stepline/host/jobs/retry_schedule.hpp>
#include <stepline/host/store/job_store.hpp>
#include <stepline/host/store/sqlite_job_store.hpp>
#include <stepline/host/store/sqlite_record_store.hpp>

#include "jobs/fixture.hpp"

using namespace stepline;
using namespace stepline::test;
using namespace std::chrono_literals;
using host::jobs::AsyncService;
using host::store::JobResult;
using host::store::JobStatus;
using host::store::status_of;
using host::store::SystemJob;

namespace {

SystemJob new_job(int n, std::string ordering_key = {},
                  std::optional<std::string> endpoint = std::string("orders")) {
  SystemJob j;
  j.id = Guid::random();
  j.created_on = now_utc();
  j.step_id = fixed_guid(100);
  j.step_name = "publish";
  j.regarding_entity = "account";
  j.regarding_id = fixed_guid(n);
  j.message = "Update";
  j.correlation_id = Guid::random();
  j.endpoint = std::move(endpoint);
  j.ordering_key = std::move(ordering_key);
  j.context = "{}";
  return j;
}

/// A database with a record store (which writes jobs, as the pipeline does) and a job store.
struct Stores {
  TempFolder data;
  host::store::SqliteRecordStore records{data.path() / "stepline.db"};
  host::store::SqliteJobStore jobs{data.path() / "stepline.db"};

  Guid add(SystemJob j) {
    records.add_system_job(j);
    return j.id;
  }
  JobStatus status(const Guid& id) { return *status_of(jobs.find(id.str())); }
};

}  // namespace

TEST_CASE("starting the service hands back at once the jobs of a host process that died") {
  Stores s;
  auto id = s.add(new_job(1, {}, std::nullopt));
  pid_t child = fork();
  if (child == 0) _exit(0);
  waitpid(child, nullptr, 0);  // a pid that no longer exists
  auto dead = AsyncService::process_owner_prefix();
  dead = dead.substr(0, dead.rfind(':', dead.size() - 2) + 1) + std::to_string(child) + ":dead";
  auto now = now_utc();
  s.jobs.take(dead, now, now + 1h, 10, true);
  CHECK(AsyncService::owner_is_dead(dead));
  CHECK_FALSE(AsyncService::owner_is_dead(AsyncService::process_owner_prefix() + "other"));
  CHECK_FALSE(AsyncService::owner_is_dead("another-machine:" + std::to_string(child) + ":x"));

  registration::Registration r = make_registration({});
  TestFactory factory;
  host::pipeline::Pipeline pipeline(r, factory, s.records);
  AsyncService service(pipeline, s.records.location(), nullptr, test_options());
  // Its lease runs for another hour, but its owner is gone: recovered before any worker runs.
  CHECK(s.jobs.recover(now, {}) == 0);
  CHECK(s.jobs.find(id.str()).lease_owner == dead);
  CHECK(service.start() == 1);
  service.stop();
}

TEST_CASE("the retry schedule doubles from the base delay up to the cap") {
  registration::RetryPolicy p;
  p.max_attempts = 10;
  p.base_delay = 5s;
  p.max_delay = 15min;
  p.jitter = 0;
  std::mt19937_64 random(1);
  std::vector<long long> seconds;
  for (int retry = 1; retry <= 9; ++retry)
    seconds.push_back(
        std::chrono::duration_cast<std::chrono::seconds>(host::jobs::retry_delay(p, retry, random))
            .count());
  CHECK(seconds == std::vector<long long>{5, 10, 20, 40, 80, 160, 320, 640, 900});
  CHECK(host::jobs::retry_delay(p, 1000, random) == 15min);
  CHECK(host::jobs::may_retry(p, 9));
  CHECK_FALSE(host::jobs::may_retry(p, 10));
}

TEST_CASE("jitter spreads each delay within its fraction, the same way for the same seed") {
  registration::RetryPolicy p;
  p.base_delay = 1s;
  p.max_delay = 1min;
  p.jitter = 0.2;
  std::mt19937_64 a(7), b(7);
  bool varied = false;
  for (int retry = 1; retry <= 6; ++retry) {
    auto nominal = std::min<std::chrono::milliseconds>(1min, 1s * (1 << (retry - 1)));
    auto da = host::jobs::retry_delay(p, retry, a);
    CHECK(da == host::jobs::retry_delay(p, retry, b));
    CHECK(da >= nominal * 0.8);
    CHECK(da <= nominal * 1.2);
    varied = varied || da != nominal;
  }
  CHECK(varied);
}

TEST_CASE("the host's plug-in retry policy allows four attempts, as Dataverse does") {
  auto p = host::jobs::default_plugin_retry();
  CHECK(p.max_attempts == 4);
  CHECK(host::jobs::may_retry(p, 3));
  CHECK_FALSE(host::jobs::may_retry(p, 4));
}

TEST_CASE("a version-1 database gains the job columns and keeps its jobs in their order") {
  TempFolder data;
  auto file = data.path() / "stepline.db";
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
    const char* v1 =
        "CREATE TABLE system_jobs (id TEXT PRIMARY KEY, created_on TEXT NOT NULL, step_id TEXT NOT "
        "NULL, step_name TEXT NOT NULL, regarding_entity TEXT, regarding_id TEXT, message TEXT "
        "NOT NULL, depth INTEGER NOT NULL, correlation_id TEXT NOT NULL, state_code INTEGER NOT "
        "NULL DEFAULT 0, status_code INTEGER NOT NULL DEFAULT 0, retry_count INTEGER NOT NULL "
        "DEFAULT 0, postpone_until TEXT, error_code INTEGER, message_text TEXT, friendly_message "
        "TEXT, execution_time_ms INTEGER, endpoint TEXT, context TEXT NOT NULL);"
        "CREATE INDEX system_jobs_due ON system_jobs (state_code, postpone_until, created_on);"
        "INSERT INTO system_jobs (id, created_on, step_id, step_name, message, depth, "
        "correlation_id, context) VALUES "
        "('00000000-0000-0000-0000-000000000002', '2026-01-01T00:00:00.000Z', "
        "'00000000-0000-0000-0000-000000000009', 'old', 'Update', 1, "
        "'00000000-0000-0000-0000-000000000001', '{}'),"
        "('00000000-0000-0000-0000-000000000001', '2026-01-01T00:00:00.000Z', "
        "'00000000-0000-0000-0000-000000000009', 'old', 'Update', 1, "
        "'00000000-0000-0000-0000-000000000001', '{}');"
        "PRAGMA user_version=1;";
    REQUIRE(sqlite3_exec(db, v1, nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  host::store::SqliteJobStore jobs(file);
  auto now = now_utc();
  auto taken = jobs.take("w:1:x", now, now + 1min, 10, true);
  REQUIRE(taken.size() == 2);
  CHECK(taken[0].id == fixed_guid(2));  // inserted first
  CHECK(taken[0].sequence == 1);
  CHECK(taken[1].sequence == 2);
  CHECK(taken[0].context == "{}");  // moved to the contexts table
  host::store::SqliteRecordStore records(file);
  CHECK(records.schema_version() == 6);
  records.add_system_job(new_job(5));
  CHECK(jobs.last_sequence() == 3);
}

TEST_CASE(
    "a version-4 database keeps its jobs, contexts and order when the sequence becomes the rowid") {
  TempFolder data;
  auto file = data.path() / "stepline.db";
  auto query = [&](const std::string& sql) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
    std::string out;
    auto row = [](void* into, int n, char** values, char**) {
      auto& text = *static_cast<std::string*>(into);
      for (int i = 0; i < n; ++i)
        text += std::string(values[i] ? values[i] : "NULL") + (i + 1 < n ? "|" : "\n");
      return 0;
    };
    char* error = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), row, &out, &error);
    INFO(sql << ": " << (error ? error : ""));
    sqlite3_free(error);
    sqlite3_close(db);
    REQUIRE(rc == SQLITE_OK);
    return out;
  };
  // The version-4 schema as it was, with jobs in three states out of their id order.
  query(
      "CREATE TABLE system_jobs (id TEXT PRIMARY KEY, created_on TEXT NOT NULL, step_id TEXT NOT "
      "NULL, step_name TEXT NOT NULL, regarding_entity TEXT, regarding_id TEXT, message TEXT NOT "
      "NULL, depth INTEGER NOT NULL, correlation_id TEXT NOT NULL, state_code INTEGER NOT NULL "
      "DEFAULT 0, status_code INTEGER NOT NULL DEFAULT 0, retry_count INTEGER NOT NULL DEFAULT 0, "
      "postpone_until TEXT, error_code INTEGER, message_text TEXT, friendly_message TEXT, "
      "execution_time_ms INTEGER, endpoint TEXT, sequence INTEGER NOT NULL DEFAULT 0, "
      "ordering_key TEXT, started_on TEXT, completed_on TEXT, lease_owner TEXT, lease_until TEXT, "
      "trace TEXT, crash_count INTEGER NOT NULL DEFAULT 0);"
      "CREATE INDEX system_jobs_sequence ON system_jobs (sequence);"
      "CREATE INDEX system_jobs_state ON system_jobs (state_code, sequence);"
      "CREATE INDEX system_jobs_postponed ON system_jobs (postpone_until) WHERE state_code = 1;"
      "CREATE INDEX system_jobs_ordered ON system_jobs (ordering_key, sequence) WHERE "
      "ordering_key IS NOT NULL;"
      "CREATE TABLE system_job_contexts (sequence INTEGER PRIMARY KEY, context TEXT NOT NULL);"
      "CREATE TRIGGER system_jobs_context_gone AFTER DELETE ON system_jobs BEGIN DELETE FROM "
      "system_job_contexts WHERE sequence = old.sequence; END;"
      "INSERT INTO system_jobs (id, created_on, step_id, step_name, message, depth, "
      "correlation_id, state_code, status_code, completed_on, sequence, message_text, "
      "crash_count) VALUES "
      "('00000000-0000-0000-0000-000000000003', '2026-01-01T00:00:00.000Z', "
      "'00000000-0000-0000-0000-000000000009', 'done', 'Update', 1, "
      "'00000000-0000-0000-0000-000000000001', 3, 30, '2026-01-01T00:00:01.000Z', 7, NULL, 0),"
      "('00000000-0000-0000-0000-000000000001', '2026-01-01T00:00:00.000Z', "
      "'00000000-0000-0000-0000-000000000009', 'broken', 'Update', 1, "
      "'00000000-0000-0000-0000-000000000001', 3, 31, '2026-01-01T00:00:02.000Z', 8, 'it broke', "
      "1),"
      "('00000000-0000-0000-0000-000000000002', '2026-01-01T00:00:00.000Z', "
      "'00000000-0000-0000-0000-000000000009', 'waiting', 'Update', 1, "
      "'00000000-0000-0000-0000-000000000001', 0, 0, NULL, 9, NULL, 0);"
      "INSERT INTO system_job_contexts VALUES (7, '{\"n\":7}'), (8, '{\"n\":8}'), (9, "
      "'{\"n\":9}');"
      "PRAGMA user_version=4;");

  host::store::SqliteRecordStore records(file);
  CHECK(records.schema_version() == 6);
  CHECK(query("PRAGMA user_version") == "6\n");
  // Every job is there with its columns, in its order, the sequence now the rowid.
  CHECK(query("SELECT rowid, sequence, id, step_name, state_code, status_code, message_text, "
              "crash_count FROM system_jobs ORDER BY rowid") ==
        "7|7|00000000-0000-0000-0000-000000000003|done|3|30|NULL|0\n"
        "8|8|00000000-0000-0000-0000-000000000001|broken|3|31|it broke|1\n"
        "9|9|00000000-0000-0000-0000-000000000002|waiting|0|0|NULL|0\n");
  // The state index holds every job but the succeeded one; the sequence index is gone.
  CHECK(query("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'system_jobs' "
              "AND name NOT LIKE 'sqlite_autoindex%' ORDER BY name") ==
        "system_jobs_context_at\nsystem_jobs_ordered\nsystem_jobs_postponed\nsystem_jobs_state\n");
  CHECK(query("SELECT count(*) FROM system_jobs INDEXED BY system_jobs_state WHERE state_code "
              ">= 0 AND status_code <> 30") == "2\n");

  host::store::SqliteJobStore jobs(file);
  auto failed = jobs.find("00000000-0000-0000-0000-000000000001");
  CHECK(failed.context == R"({"n":8})");
  CHECK(failed.status_code == 31);
  auto now = now_utc();
  auto taken = jobs.take("w:1:x", now, now + 1min, 10, true);
  REQUIRE(taken.size() == 1);
  CHECK(taken[0].sequence == 9);
  CHECK(taken[0].context == R"({"n":9})");
  // New jobs append after the highest sequence, their contexts to the context log; the old
  // contexts still go with their jobs.
  auto added = new_job(5);
  added.context = R"({"n":10})";
  records.add_system_job(added);
  CHECK(jobs.last_sequence() == 10);
  CHECK(jobs.find(added.id.str()).context == R"({"n":10})");
  CHECK(query("SELECT sequence, context_at IS NOT NULL, context_size FROM system_jobs WHERE "
              "sequence >= 9 ORDER BY sequence") == "9|0|NULL\n10|1|8\n");
  CHECK(jobs.purge(JobStatus::succeeded, now) == 1);
  CHECK(jobs.purge(JobStatus::failed, now) == 1);
  CHECK(query("SELECT sequence FROM system_job_contexts ORDER BY sequence") == "9\n");
}

TEST_CASE("processes sharing a data folder append their jobs' contexts to one log, each intact") {
  TempFolder data;
  const auto file = data.path() / "stepline.db";
  // The schema first, so the processes do not race to create it; then nothing of SQLite is
  // open in this process while they run.
  { host::store::SqliteRecordStore(file).create(Entity("account", Guid::random())); }
  constexpr int processes = 3, jobs_each = 600;
  auto context_of = [](int p, int n) {
    return "{\"process\":" + std::to_string(p) + ",\"n\":" + std::to_string(n) + ",\"pad\":\"" +
           std::string(static_cast<std::size_t>(100 + 37 * n), 'p') + "\"}";
  };
  // The children start together once the pipe closes, and pause between jobs, so that their
  // transactions alternate.
  int start[2];
  REQUIRE(pipe(start) == 0);
  std::vector<pid_t> children;
  for (int p = 0; p < processes; ++p) {
    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      close(start[1]);
      char byte;
      (void)!read(start[0], &byte, 1);
      int status = 0;
      try {
        host::store::SqliteRecordStore records(file);
        for (int n = 0; n < jobs_each; ++n) {
          auto job = new_job(n);
          job.id = fixed_guid(1000 * (p + 1) + n);  // forked: the children's generators agree
          job.context = context_of(p, n);
          if (n % 3 == 0) {
            records.add_system_job(job);  // a transaction of its own
          } else {
            host::store::RecordStore::Transaction operation(records);  // in a commit group
            records.add_system_job(job);
            operation.commit();
          }
          std::this_thread::sleep_for(std::chrono::microseconds(300));
        }
      } catch (const std::exception& e) {
        std::fprintf(stderr, "process %d: %s\n", p, e.what());
        status = 1;
      }
      _exit(status);
    }
    children.push_back(child);
  }
  close(start[0]);
  close(start[1]);
  for (pid_t child : children) {
    int status = -1;
    waitpid(child, &status, 0);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  }
  host::store::SqliteJobStore jobs(file);
  std::vector<std::string> ids;
  host::store::JobFilter every;
  every.limit = 0;
  jobs.list(every, [&](const SystemJob& listed) { ids.push_back(listed.id.str()); });
  CHECK(ids.size() == static_cast<std::size_t>(processes * jobs_each));
  std::map<int, int> seen;
  int last = -1, switches = 0;
  for (const auto& id : ids) {
    auto job = jobs.find(id);
    int p = -1, n = -1;
    REQUIRE(std::sscanf(job.context.c_str(), "{\"process\":%d,\"n\":%d", &p, &n) == 2);
    CHECK(job.context == context_of(p, n));
    ++seen[p];
    if (p != last) ++switches;
    last = p;
  }
  CHECK(seen.size() == static_cast<std::size_t>(processes));
  for (const auto& [process, count] : seen) CHECK(count == jobs_each);
  // The log holds the processes' records one after another as their transactions took turns.
  INFO("runs of one process's jobs in the log: " << switches);
  CHECK(switches > processes);
}

TEST_CASE("a worker taking jobs waits for an operation's open transaction, then gets its jobs") {
  Stores s;
  std::atomic<bool> taken{false};
  std::future<std::vector<SystemJob>> worker;
  {
    host::store::RecordStore::Transaction operation(s.records);
    s.add(new_job(1));
    worker = std::async(std::launch::async, [&] {
      auto now = now_utc();
      auto jobs = s.jobs.take("w:1:x", now, now + 60s, 10, true);
      taken = true;
      return jobs;
    });
    // The operation holds the write lock: the worker waits its turn rather than failing as busy.
    std::this_thread::sleep_for(300ms);
    CHECK_FALSE(taken.load());
    operation.commit();
  }
  REQUIRE(worker.wait_for(10s) == std::future_status::ready);
  auto jobs = worker.get();
  REQUIRE(jobs.size() == 1);  // committed before the worker's turn came, so it sees the job
  CHECK(jobs[0].lease_owner == "w:1:x");
}

TEST_CASE("a job's context goes to the context log beside the database and comes back checked") {
  Stores s;
  auto job = new_job(1);
  job.context = R"({"MessageName":"Update"})";
  auto id = s.add(job);
  CHECK(s.jobs.find(id.str()).context == job.context);
  const auto file = s.records.location().file;
  auto count = [&](const char* sql) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
    sqlite3_stmt* q = nullptr;
    sqlite3_prepare_v2(db, sql, -1, &q, nullptr);
    sqlite3_step(q);
    auto n = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return n;
  };
  // Not in the database: in the log's first segment, once.
  CHECK(count("SELECT COUNT(*) FROM system_job_contexts") == 0);
  CHECK(count("SELECT COUNT(*) FROM system_jobs WHERE context_at IS NOT NULL") == 1);
  const auto segment = std::filesystem::path(file.string() + "-contexts") / "00000001.log";
  std::string bytes;
  {
    std::ifstream in(segment, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  REQUIRE(bytes.find(job.context) != std::string::npos);
  CHECK(bytes.find(job.context, bytes.find(job.context) + 1) == std::string::npos);

  // A second job's record follows the first; the listing gives sizes without reading either.
  auto second = new_job(2);
  second.context = R"({"MessageName":"Create"})";
  auto second_id = s.add(second);
  CHECK(s.jobs.find(second_id.str()).context == second.context);

  // A byte changed on the disk: the read names the job and the file instead of returning it.
  {
    std::fstream io(segment, std::ios::binary | std::ios::in | std::ios::out);
    io.seekp(static_cast<std::streamoff>(bytes.find("Update")));
    io.put('X');
  }
  // The job read back says what is wrong in place of its context (the async service fails it
  // with that); the other job reads as before, and taking both does not fail.
  const auto unreadable = std::string(1, SystemJob::unreadable_context_mark) +
                          "the frozen context of system job " + id.str() + " (" + segment.string() +
                          ", byte 0) cannot be read: ";
  CHECK(s.jobs.find(id.str()).context ==
        unreadable +
            "its bytes do not match their hash (damaged); restore the data folder from "
            "a backup, or cancel the job");
  CHECK(s.jobs.find(second_id.str()).context == second.context);
  // Cut short: the file ends before the record does.
  std::filesystem::resize_file(segment, std::filesystem::file_size(segment) - 3);
  CHECK(s.jobs.find(second_id.str()).context.find("the file ends before the record does") !=
        std::string::npos);
  auto now = now_utc();
  auto taken = s.jobs.take("w:1:x", now, now + 1min, 10, true);
  REQUIRE(taken.size() == 2);
  CHECK(taken[0].context.rfind(unreadable, 0) == 0);

  // A row whose size was changed says so, and nothing of that size is allocated.
  auto set = [&](const std::string& sql) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  };
  set("UPDATE system_jobs SET context_size = 3000000000 WHERE id = '" + second_id.str() + "'");
  CHECK(s.jobs.find(second_id.str()).context.find("the file ends before the record does") !=
        std::string::npos);
  set("UPDATE system_jobs SET context_size = -5 WHERE id = '" + second_id.str() + "'");
  CHECK(s.jobs.find(second_id.str()).context.find("its row gives an impossible place") !=
        std::string::npos);
}

namespace {

// The connections SQLite opens in this process while `watching` is set (an auto extension is
// called for each), so that a test can see the statements a store prepared on its own.
std::vector<sqlite3*> opened_connections;
int note_connection(sqlite3* db, char**, const void*) {
  opened_connections.push_back(db);
  return SQLITE_OK;
}

/// The query plan's lines of `sql`, explained on `db`.
std::vector<std::string> plan_of(sqlite3* db, const char* sql) {
  std::vector<std::string> lines;
  sqlite3_stmt* explain = nullptr;
  if (sqlite3_prepare_v2(db, (std::string("EXPLAIN QUERY PLAN ") + sql).c_str(), -1, &explain,
                         nullptr) != SQLITE_OK)
    return {std::string("cannot explain: ") + sqlite3_errmsg(db)};
  while (sqlite3_step(explain) == SQLITE_ROW)
    lines.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(explain, 3)));
  sqlite3_finalize(explain);
  return lines;
}

}  // namespace

TEST_CASE(
    "no statement the stores prepare reads the whole jobs table, but an operator's look-ups") {
  opened_connections.clear();
  using Entry = void (*)();
  REQUIRE(sqlite3_auto_extension(reinterpret_cast<Entry>(&note_connection)) == SQLITE_OK);
  std::optional<Stores> s;
  s.emplace();
  sqlite3_cancel_auto_extension(reinterpret_cast<Entry>(&note_connection));
  REQUIRE(opened_connections.size() >= 2);
  // A history of succeeded jobs is the table's bulk: a statement that scans it costs a read of
  // every job ever run (as the lease statements once did, when they could not use the state
  // index that leaves succeeded jobs out).
  std::vector<std::string> scanning;
  std::size_t statements = 0;
  for (sqlite3* db : opened_connections) {
    for (sqlite3_stmt* st = sqlite3_next_stmt(db, nullptr); st; st = sqlite3_next_stmt(db, st)) {
      const char* sql = sqlite3_sql(st);
      if (!sql || std::string_view(sql).find("system_jobs") == std::string_view::npos) continue;
      ++statements;
      for (const auto& line : plan_of(db, sql))
        // A table read from its start ("SCAN system_jobs", "SCAN j"), not a subquery's rows.
        if (line.rfind("SCAN ", 0) == 0 && line != "SCAN CONSTANT ROW" &&
            line.rfind("SCAN (", 0) != 0) {
          scanning.push_back(std::string(sql) + "  <- " + line);
          break;
        }
    }
  }
  CHECK(statements > 20);
  // Allowed: finding a job by a part of its id (an operator's command), and purging succeeded
  // jobs, the oldest rows, from the table's start.
  std::vector<std::string> unexpected;
  for (const auto& line : scanning)
    if (line.find("substr(id") == std::string::npos &&
        line.find("status_code = 30 AND completed_on") == std::string::npos)
      unexpected.push_back(line);
  std::string listed;
  for (const auto& line : unexpected) listed += line + "\n";
  INFO(listed);
  CHECK(unexpected.empty());
}
