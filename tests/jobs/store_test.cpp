// The job store on its own: taking due jobs under a lease, recovering abandoned leases, the
// operator's status changes, the retry schedule, and the migration of a version-1 database.
#include <doctest/doctest.h>

#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <future>
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
using host::store::JobRefused;
using host::store::JobResult;
using host::store::JobStatus;
using host::store::JobStore;
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

std::vector<Guid> ids(const std::vector<SystemJob>& jobs) {
  std::vector<Guid> out;
  for (auto& j : jobs) out.push_back(j.id);
  return out;
}

}  // namespace

TEST_CASE("take leases due jobs in creation order, and never the same job twice") {
  Stores s;
  std::vector<Guid> created;
  for (int i = 0; i < 5; ++i) created.push_back(s.add(new_job(i)));
  auto now = now_utc();
  auto first = s.jobs.take("a:1:x", now, now + 60s, 3, true);
  CHECK(ids(first) == std::vector<Guid>(created.begin(), created.begin() + 3));
  for (auto& j : first) {
    CHECK(status_of(j) == JobStatus::in_progress);
    CHECK(j.lease_owner == "a:1:x");
    CHECK(j.lease_until == now + 60s);
  }
  auto second = s.jobs.take("b:2:y", now, now + 60s, 10, true);
  CHECK(ids(second) == std::vector<Guid>(created.begin() + 3, created.end()));
  CHECK(s.jobs.take("c:3:z", now, now + 60s, 10, true).empty());
  CHECK_FALSE(s.jobs.has_due(now, true));
}

TEST_CASE("a waiting job is due only once its postpone-until has passed") {
  Stores s;
  auto id = s.add(new_job(1));
  auto now = now_utc();
  s.jobs.postpone(id, now + 1h);
  CHECK_FALSE(s.jobs.has_due(now, true));
  CHECK(s.jobs.take("a:1:x", now, now + 1min, 10, true).empty());
  CHECK(s.jobs.has_due(now + 2h, true));
  auto taken = s.jobs.take("a:1:x", now + 2h, now + 3h, 10, true);
  REQUIRE(taken.size() == 1);
  CHECK(taken[0].id == id);
}

TEST_CASE("without endpoints only plug-in jobs are taken") {
  Stores s;
  s.add(new_job(1));
  auto plugin = s.add(new_job(2, {}, std::nullopt));
  auto now = now_utc();
  auto taken = s.jobs.take("a:1:x", now, now + 1min, 10, false);
  CHECK(ids(taken) == std::vector<Guid>{plugin});
}

TEST_CASE("jobs sharing an ordering key are taken one at a time, in creation order") {
  Stores s;
  auto a1 = s.add(new_job(1, "account:1"));
  auto b1 = s.add(new_job(2, "account:2"));
  auto a2 = s.add(new_job(1, "account:1"));
  auto plain = s.add(new_job(1));
  auto now = now_utc();
  auto first = s.jobs.take("w:1:x", now, now + 1min, 10, true);
  CHECK(ids(first) == std::vector<Guid>{a1, b1, plain});
  CHECK(s.jobs.take("w:1:x", now, now + 1min, 10, true).empty());  // a2 waits for a1

  JobResult done{.id = a1};
  s.jobs.finish(std::span(&done, 1), "w:1:x", now);
  CHECK(ids(s.jobs.take("w:1:x", now, now + 1min, 10, true)) == std::vector<Guid>{a2});
}

TEST_CASE("a failed job no longer holds back the later jobs of its record") {
  Stores s;
  auto a1 = s.add(new_job(1, "account:1"));
  auto a2 = s.add(new_job(1, "account:1"));
  auto now = now_utc();
  s.jobs.take("w:1:x", now, now + 1min, 10, true);
  JobResult failed{.id = a1, .status = JobStatus::failed, .error_code = 1, .message = "no"};
  auto written = s.jobs.finish(std::span(&failed, 1), "w:1:x", now);
  CHECK(written[0] == JobStatus::failed);
  CHECK(ids(s.jobs.take("w:1:x", now, now + 1min, 10, true)) == std::vector<Guid>{a2});
}

TEST_CASE("results are written only for jobs the owner still holds") {
  Stores s;
  auto id = s.add(new_job(1));
  auto now = now_utc();
  s.jobs.take("old:1:x", now, now + 1s, 10, true);
  CHECK(s.jobs.recover(now + 2s, {}) == 1);  // the lease expired
  s.jobs.take("new:2:y", now + 2s, now + 1min, 10, true);
  JobResult late{.id = id};
  auto written = s.jobs.finish(std::span(&late, 1), "old:1:x", now + 3s);
  CHECK_FALSE(written[0].has_value());
  CHECK(s.status(id) == JobStatus::in_progress);
  CHECK(s.jobs.find(id.str()).lease_owner == "new:2:y");
}

TEST_CASE("an expired lease returns the job to Ready; a renewed one does not") {
  Stores s;
  auto a = s.add(new_job(1));
  auto b = s.add(new_job(2));
  auto now = now_utc();
  s.jobs.take("gone:1:x", now, now + 10s, 1, true);
  s.jobs.take("alive:2:y", now, now + 10s, 1, true);
  s.jobs.renew("alive:2:y", now + 60s);
  CHECK(s.jobs.recover(now + 30s, {}) == 1);
  CHECK(s.status(a) == JobStatus::ready);
  CHECK(s.jobs.find(a.str()).lease_owner.empty());
  CHECK(s.status(b) == JobStatus::in_progress);
}

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

TEST_CASE("cancel: ready and waiting jobs end Canceled, in-progress ones go Canceling") {
  Stores s;
  auto ready = s.add(new_job(1));
  auto waiting = s.add(new_job(2));
  auto running = s.add(new_job(3));
  auto now = now_utc();
  s.jobs.postpone(waiting, now + 1h);
  // take the third only
  s.jobs.postpone(ready, now + 1h);
  s.jobs.take("w:1:x", now, now + 1min, 10, true);
  s.jobs.resume(ready);
  CHECK(s.status(running) == JobStatus::in_progress);

  CHECK(s.jobs.cancel(ready, now) == JobStatus::canceled);
  CHECK(s.jobs.cancel(waiting, now) == JobStatus::canceled);
  CHECK(s.jobs.find(waiting.str()).completed_on == now);
  CHECK(s.jobs.cancel(running, now) == JobStatus::canceling);
  CHECK_THROWS_AS(s.jobs.cancel(running, now), JobRefused);
  CHECK_THROWS_AS(s.jobs.cancel(ready, now), JobRefused);
  // the worker hands it back: it ends Canceled
  CHECK(s.jobs.release("w:1:x") == 1);
  CHECK(s.status(running) == JobStatus::canceled);
}

TEST_CASE("resume, retry and postpone accept only the statuses they make sense for") {
  Stores s;
  auto id = s.add(new_job(1));
  auto now = now_utc();
  CHECK_THROWS_AS(s.jobs.resume(id), JobRefused);  // ready
  CHECK_THROWS_AS(s.jobs.retry(id), JobRefused);   // ready
  CHECK(s.jobs.postpone(id, now + 1h) == JobStatus::waiting);
  CHECK(s.jobs.find(id.str()).postpone_until == now + 1h);
  CHECK(s.jobs.resume(id) == JobStatus::ready);
  CHECK_FALSE(s.jobs.find(id.str()).postpone_until.has_value());

  s.jobs.take("w:1:x", now, now + 1min, 1, true);
  CHECK_THROWS_AS(s.jobs.postpone(id, now + 1h), JobRefused);  // in progress
  JobResult failed{.id = id,
                   .status = JobStatus::failed,
                   .retry_count = 9,
                   .error_code = 7,
                   .message = "gave up"};
  s.jobs.finish(std::span(&failed, 1), "w:1:x", now);
  CHECK(s.jobs.retry(id) == JobStatus::ready);
  auto again = s.jobs.find(id.str());
  CHECK(again.retry_count == 0);
  CHECK_FALSE(again.error_code.has_value());
  CHECK(again.message_text.empty());
  CHECK_FALSE(again.completed_on.has_value());

  s.jobs.take("w:1:x", now, now + 1min, 1, true);
  JobResult ok{.id = id};
  s.jobs.finish(std::span(&ok, 1), "w:1:x", now);
  try {
    s.jobs.retry(id);
    FAIL("retry of a succeeded job was accepted");
  } catch (const JobRefused& e) {
    CHECK(e.status() == JobStatus::succeeded);
    CHECK(std::string(e.what()).find("a second time") != std::string::npos);
  }
  CHECK_THROWS_AS(s.jobs.resume(Guid::random()), host::store::JobNotFound);
}

TEST_CASE("find takes an id, or a unique start or end of one") {
  Stores s;
  auto id = s.add(new_job(1));
  CHECK(s.jobs.find(id.str().substr(0, 8)).id == id);
  CHECK(s.jobs.find(id.str()).context == "{}");
  CHECK_THROWS_AS(s.jobs.find("abc"), host::store::JobNotFound);
  CHECK_THROWS_AS(s.jobs.find("ffffffff-ffff"), host::store::JobNotFound);

  // Time-ordered ids made in the same minute share their start; their random end tells them apart.
  SystemJob a = new_job(2), b = new_job(3);
  a.id = host::store::time_ordered_guid();
  auto bytes = a.id.bytes();
  bytes[15] ^= 0x5a;  // the same millisecond, another random end
  b.id = Guid(bytes);
  s.add(a);
  s.add(b);
  const std::string start = a.id.str().substr(0, 8);
  CHECK_THROWS_WITH_AS(s.jobs.find(start),
                       doctest::Contains("several system jobs have ids starting or ending with"),
                       host::store::JobNotFound);
  std::string end = a.id.str().substr(24);
  CHECK(s.jobs.find(end).id == a.id);
  for (char& c : end) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  CHECK(s.jobs.find(end).id == a.id);
  CHECK(s.jobs.find(b.id.str().substr(30)).id == b.id);
  CHECK_THROWS_AS(s.jobs.find(a.id.str().substr(10, 12)), host::store::JobNotFound);  // a middle
}

TEST_CASE("purge removes completed jobs of one status older than the cut-off") {
  Stores s;
  std::vector<Guid> all;
  for (int i = 0; i < 6; ++i) all.push_back(s.add(new_job(i)));
  auto now = now_utc();
  s.jobs.take("w:1:x", now, now + 1min, 6, true);
  std::vector<JobResult> results;
  for (int i = 0; i < 6; ++i)
    results.push_back({.id = all[i], .status = i < 4 ? JobStatus::succeeded : JobStatus::failed});
  s.jobs.finish(results, "w:1:x", now - 2h);
  CHECK(s.jobs.purge(JobStatus::succeeded, now - 3h) == 0);
  CHECK(s.jobs.purge(JobStatus::succeeded, now - 1h) == 4);
  auto counts = s.jobs.count();
  CHECK(counts[JobStatus::failed] == 2);
  CHECK(counts.count(JobStatus::succeeded) == 0);
}

TEST_CASE("list filters by status, step and entity and stops at the limit") {
  Stores s;
  for (int i = 0; i < 5; ++i) s.add(new_job(i));
  auto other = new_job(9);
  other.step_name = "audit";
  other.regarding_entity = "contact";
  s.add(other);
  auto count = [&](host::store::JobFilter f) {
    std::size_t n = 0;
    s.jobs.list(f, [&](const SystemJob& j) {
      CHECK(j.context.empty());  // listings never load contexts
      ++n;
    });
    return n;
  };
  CHECK(count({}) == 6);
  CHECK(count({.limit = 2}) == 2);
  CHECK(count({.status = JobStatus::ready}) == 6);
  CHECK(count({.status = JobStatus::failed}) == 0);
  CHECK(count({.step = "audit"}) == 1);
  CHECK(count({.entity = "account"}) == 5);
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
  CHECK(records.schema_version() == 4);
  records.add_system_job(new_job(5));
  CHECK(jobs.last_sequence() == 3);
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

namespace {

/// Takes every job offered (or none), as the async service does, and remembers what came back.
class RecordingHandoff : public host::store::JobHandoff {
 public:
  bool take = true;
  std::vector<SystemJob> handed;
  std::size_t claimed = 0, abandoned_count = 0;

  bool claim(SystemJob& job) override {
    if (!take) return false;
    ++claimed;
    job.state_code = 2;
    job.status_code = 20;
    job.lease_owner = "here:1:handoff";
    job.lease_until = now_utc() + 60s;
    job.started_on = now_utc();
    return true;
  }
  void committed(std::vector<SystemJob> jobs) override {
    for (auto& j : jobs) handed.push_back(std::move(j));
  }
  void abandoned(std::size_t count) override { abandoned_count += count; }
};

/// Stores whose record store offers its jobs to a RecordingHandoff for the test's length.
struct HandoffStores : Stores {
  HandoffStores() { REQUIRE(records.attach_handoff(handoff)); }
  ~HandoffStores() { records.detach_handoff(handoff); }
  /// Adds `job` in an operation of its own, committed.
  Guid add_committed(SystemJob job) {
    host::store::RecordStore::Transaction operation(records);
    auto id = add(std::move(job));
    operation.commit();
    return id;
  }
  RecordingHandoff handoff;
};

}  // namespace

TEST_CASE("jobs of a committed operation are handed over In progress under the taker's lease") {
  HandoffStores s;
  auto& handoff = s.handoff;
  Guid id;
  {
    host::store::RecordStore::Transaction operation(s.records);
    id = s.add(new_job(1));
    CHECK(handoff.handed.empty());  // not before the commit
    operation.commit();
  }
  REQUIRE(handoff.handed.size() == 1);
  CHECK(handoff.handed[0].id == id);
  auto row = s.jobs.find(id.str());
  CHECK(status_of(row) == JobStatus::in_progress);
  CHECK(row.lease_owner == "here:1:handoff");
  CHECK(handoff.handed[0].sequence == row.sequence);  // as a job read back would carry
  CHECK(row.started_on.has_value());
  CHECK(handoff.abandoned_count == 0);
}

TEST_CASE("jobs of a rolled-back operation or savepoint are never handed over") {
  HandoffStores s;
  auto& handoff = s.handoff;
  Guid rolled_back, inner_rolled_back, kept;
  {
    host::store::RecordStore::Transaction operation(s.records);
    rolled_back = s.add(new_job(1));
  }
  CHECK(handoff.abandoned_count == 1);
  {
    host::store::RecordStore::Transaction operation(s.records);
    {
      host::store::RecordStore::Transaction nested(s.records);
      inner_rolled_back = s.add(new_job(2));
    }
    CHECK(handoff.abandoned_count == 2);
    {
      host::store::RecordStore::Transaction nested(s.records);
      kept = s.add(new_job(3));
      nested.commit();
    }
    operation.commit();
  }
  REQUIRE(handoff.handed.size() == 1);
  CHECK(handoff.handed[0].id == kept);
  CHECK_THROWS(s.jobs.find(rolled_back.str()));
  CHECK_THROWS(s.jobs.find(inner_rolled_back.str()));
  CHECK(handoff.claimed == 3);
}

TEST_CASE(
    "a job the taker declines, or written outside an operation, waits Ready in the database") {
  HandoffStores s;
  auto outside = s.add(new_job(1));  // no transaction: not offered
  s.handoff.take = false;
  auto declined = s.add_committed(new_job(2));
  CHECK(s.handoff.claimed == 0);
  CHECK(s.handoff.handed.empty());
  CHECK(s.status(outside) == JobStatus::ready);
  CHECK(s.status(declined) == JobStatus::ready);
}

TEST_CASE("a job's context lives beside it and goes with it") {
  Stores s;
  auto job = new_job(1);
  job.context = R"({"MessageName":"Update"})";
  auto id = s.add(job);
  CHECK(s.jobs.find(id.str()).context == job.context);
  auto contexts = [&] {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(s.records.location().file.c_str(), &db) == SQLITE_OK);
    sqlite3_stmt* q = nullptr;
    sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM system_job_contexts", -1, &q, nullptr);
    sqlite3_step(q);
    auto n = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return n;
  };
  CHECK(contexts() == 1);
  auto now = now_utc();
  REQUIRE(s.jobs.take("w:1:x", now, now + 1min, 10, true).size() == 1);
  JobResult done;
  done.id = id;
  done.remove = true;  // a succeeded job of an auto_delete step
  s.jobs.finish(std::span<const JobResult>(&done, 1), "w:1:x", now_utc());
  CHECK_THROWS(s.jobs.find(id.str()));
  CHECK(contexts() == 0);
}

TEST_CASE("one taker per store: a second is refused, and detaching another changes nothing") {
  HandoffStores s;
  auto& first = s.handoff;
  RecordingHandoff second;
  CHECK_FALSE(s.records.attach_handoff(second));
  s.records.detach_handoff(second);  // not attached: the first stays
  s.add_committed(new_job(1));
  CHECK(first.handed.size() == 1);
  CHECK(second.handed.empty());
  s.records.detach_handoff(first);
  CHECK(s.records.attach_handoff(second));
  s.records.detach_handoff(second);
}
