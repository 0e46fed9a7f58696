// The checkpointer beside a running service (SqliteJobStore::accompany): while commits go on,
// it copies the write-ahead log back into the database and starts it over, so the log stays
// short however much is written, and nothing written is lost on the way.
#include <doctest/doctest.h>

#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include <stepline/host/store/sqlite_job_store.hpp>
#include <stepline/host/store/wal_batching_vfs.hpp>

#include "jobs/raw_sqlite.hpp"
#include "pipeline/fixture.hpp"

using namespace stepline;

namespace {
using test::raw_sqlite::exec;
using test::raw_sqlite::scalar;
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
