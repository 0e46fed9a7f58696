// The checkpointer beside a running service (SqliteJobStore::accompany): while commits go on,
// it copies the write-ahead log back into the database and starts it over, so the log stays
// short however much is written, and nothing written is lost on the way.
#include <doctest/doctest.h>

#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <stepline/host/store/sqlite_job_store.hpp>
#include <stepline/host/store/sqlite_record_store.hpp>
#include <stepline/host/store/wal_batching_vfs.hpp>

#include "jobs/raw_sqlite.hpp"
#include "pipeline/fixture.hpp"

using namespace stepline;

namespace {
using test::raw_sqlite::exec;
using test::raw_sqlite::scalar;

/// An endpoint job `id` with `context`, ready to be written.
host::store::SystemJob endpoint_job(const Guid& id, std::string context) {
  host::store::SystemJob job;
  job.id = id;
  job.created_on = now_utc();
  job.step_id = test::fixed_guid(100);
  job.step_name = "publish";
  job.message = "Update";
  job.correlation_id = test::fixed_guid(101);
  job.endpoint = "orders";
  job.context = std::move(context);
  return job;
}
}  // namespace

TEST_CASE(
    "while a service runs, the write-ahead log is copied back and started over: it stays short "
    "under a stream of commits, and every row is there") {
  test::TempFolder data;
  const auto file = data.path() / "records.db";
  host::store::SqliteJobStore store(file);  // creates the database with the stores' settings
  auto checkpointer = store.accompany({});

  // A writer with the stores' settings and no checkpoints of its own. Like any writer outside
  // the stores' write gate (another process's), it waits out the log's restart.
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE,
                          host::store::wal_batching_vfs()) == SQLITE_OK);
  sqlite3_busy_timeout(db, 10000);
  exec(db,
       "PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0;"
       "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)");
  // 12,000 commits of a 3 KiB row, several times the 4,096 frames after which the checkpointer
  // starts the log over. A pause now and then lets a slow machine's checkpointer keep up;
  // without a checkpointer the log holds every commit (about 150 MB).
  constexpr int rows = 12000;
  for (int k = 0; k < rows; ++k) {
    exec(db, "INSERT INTO t (k, v) VALUES (" + std::to_string(k) + ", hex(randomblob(1500)))");
    if (k % 200 == 199) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const auto log_bytes = std::filesystem::file_size(file.string() + "-wal");
  INFO("the log's file: " << log_bytes << " bytes");
  // Started over at 4,096 frames of 4 KiB and some, never at its full length.
  CHECK(log_bytes < 32ull * 1024 * 1024);
  CHECK(scalar(db, "SELECT count(*) FROM t") == std::to_string(rows));
  sqlite3_close(db);
  checkpointer.reset();  // a last checkpoint

  // Everything reached the database file: a fresh connection reads it all.
  sqlite3* reader = nullptr;
  REQUIRE(sqlite3_open_v2(file.c_str(), &reader, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  CHECK(scalar(reader, "SELECT count(*) FROM t") == std::to_string(rows));
  CHECK(scalar(reader, "PRAGMA integrity_check") == "ok");
  sqlite3_close(reader);
}

TEST_CASE(
    "while a service runs, a segment of the context log that jobs hardly use any more has their "
    "contexts moved into the database and is deleted; the newest segment stays") {
  test::TempFolder data;
  const auto file = data.path() / "stepline.db";
  host::store::SqliteRecordStore records(file);
  host::store::SqliteJobStore jobs(file);
  const auto folder = std::filesystem::path(file.string() + "-contexts");
  const auto segment = [&](int n) {
    return folder / (std::string(7, '0') + std::to_string(n) + ".log");
  };

  // 1 MiB contexts: the 65th job starts the second 64 MiB segment.
  std::vector<Guid> ids;
  std::vector<std::string> contexts;
  for (int n = 0; n < 66; ++n) {
    auto job = endpoint_job(
        Guid::random(), std::string(1 << 20, static_cast<char>('a' + n % 26)) + std::to_string(n));
    records.add_system_job(job);
    ids.push_back(job.id);
    contexts.push_back(job.context);
  }
  REQUIRE(std::filesystem::exists(segment(1)));
  REQUIRE(std::filesystem::exists(segment(2)));
  CHECK_FALSE(std::filesystem::exists(segment(3)));

  // Every job of the first segment but two succeeds and is deleted (auto_delete), and so do the
  // jobs of the second.
  auto now = now_utc();
  auto taken = jobs.take("w:1:x", now, now + std::chrono::minutes(1), 100, true);
  REQUIRE(taken.size() == 66);
  std::vector<host::store::JobResult> results;
  for (const auto& job : taken) {
    if (job.id == ids[3] || job.id == ids[40]) continue;
    host::store::JobResult done;
    done.id = job.id;
    done.sequence = job.sequence;
    done.remove = true;
    results.push_back(done);
  }
  jobs.finish(results, "w:1:x", now_utc());

  {
    auto checkpointer = jobs.accompany({});
    // A round moves the two contexts out of the first segment, a later one deletes it.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::filesystem::exists(segment(1)) && std::chrono::steady_clock::now() < give_up)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK_FALSE(std::filesystem::exists(segment(1)));
  CHECK(std::filesystem::exists(segment(2)));  // the newest, which new jobs go on filling
  CHECK(jobs.find(ids[3].str()).context == contexts[3]);
  CHECK(jobs.find(ids[40].str()).context == contexts[40]);
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  CHECK(scalar(db, "SELECT count(*) FROM system_job_contexts") == "2");
  CHECK(scalar(db, "SELECT count(*) FROM system_jobs WHERE context_at IS NOT NULL") == "0");
  sqlite3_close(db);

  // New jobs go on appending to the second segment, and read back.
  auto later = endpoint_job(Guid::random(), R"({"later":true})");
  records.add_system_job(later);
  CHECK(jobs.find(later.id.str()).context == later.context);
  CHECK_FALSE(std::filesystem::exists(segment(3)));
}

TEST_CASE(
    "a segment another process may still append to is not deleted, though no job refers to it; "
    "once that process moved on to the newest, it is") {
  test::TempFolder data;
  const auto file = data.path() / "stepline.db";
  const auto folder = std::filesystem::path(file.string() + "-contexts");
  // The schema first; nothing of SQLite stays open in this process across the fork.
  { host::store::SqliteRecordStore(file).create(Entity("account", Guid::random())); }
  int to_child[2], to_parent[2];
  REQUIRE(pipe(to_child) == 0);
  REQUIRE(pipe(to_parent) == 0);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The other process: writes a job, stays idle (its segment still its own), writes another.
    int status = 0;
    char byte = 0;
    try {
      host::store::SqliteRecordStore records(file);
      records.add_system_job(endpoint_job(fixed_guid(1), R"({"first":true})"));
      (void)!write(to_parent[1], "1", 1);
      (void)!read(to_child[0], &byte, 1);
      records.add_system_job(endpoint_job(fixed_guid(2), R"({"second":true})"));
    } catch (...) {
      status = 1;
    }
    _exit(status);
  }
  char byte = 0;
  REQUIRE(read(to_parent[0], &byte, 1) == 1);
  REQUIRE(std::filesystem::exists(folder / "00000001.log"));
  {
    host::store::SqliteJobStore jobs(file);
    // The job succeeds and is deleted; a third process starts a newer segment meanwhile.
    auto now = now_utc();
    auto taken = jobs.take("w:1:x", now, now + std::chrono::minutes(1), 10, true);
    REQUIRE(taken.size() == 1);
    host::store::JobResult done;
    done.id = taken[0].id;
    done.sequence = taken[0].sequence;
    done.remove = true;
    jobs.finish(std::span<const host::store::JobResult>(&done, 1), "w:1:x", now_utc());
    { std::ofstream(folder / "00000002.log", std::ios::binary); }

    auto checkpointer = jobs.accompany({});
    // Rounds a second apart: two would delete an unreferenced segment nobody holds.
    std::this_thread::sleep_for(std::chrono::milliseconds(2600));
    CHECK(std::filesystem::exists(folder / "00000001.log"));  // the other process may append

    (void)!write(to_child[1], "2", 1);  // its next job goes to the newest segment
    int status = -1;
    waitpid(child, &status, 0);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    CHECK(std::filesystem::file_size(folder / "00000002.log") > 0);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::filesystem::exists(folder / "00000001.log") &&
           std::chrono::steady_clock::now() < give_up)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK_FALSE(std::filesystem::exists(folder / "00000001.log"));
    CHECK(jobs.find(fixed_guid(2).str()).context == R"({"second":true})");
  }
  for (int fd : {to_child[0], to_child[1], to_parent[0], to_parent[1]}) close(fd);
}
