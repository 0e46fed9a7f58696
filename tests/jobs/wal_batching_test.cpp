// The batching VFS under the stores' connections (stepline/host/store/wal_batching_vfs.hpp): a
// commit reaches the write-ahead log in one write, and at every commit the files hold what
// SQLite's own VFS would have left there, so a process killed after it loses nothing and a reader
// sees it at once.
#include <doctest/doctest.h>

#include <sqlite3.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>

#include <stepline/host/store/wal_batching_vfs.hpp>

#include "jobs/raw_sqlite.hpp"
#include "pipeline/fixture.hpp"

using namespace stepline;

namespace {

// The platform VFS's writes, counted by what file they go to: its system calls can be replaced
// (sqlite3_vfs::xSetSystemCall), which is how SQLite's own tests count them.
int wal_writes = 0;
long long wal_bytes = 0;

bool is_wal(int fd) {
  char link[64];
  char target[4096];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const auto n = readlink(link, target, sizeof target - 1);
  if (n <= 0) return false;
  target[n] = 0;
  return std::string_view(target).ends_with("-wal");
}

ssize_t counted_pwrite(int fd, const void* data, size_t n, off_t offset) {
  if (is_wal(fd)) ++wal_writes, wal_bytes += static_cast<long long>(n);
  return pwrite(fd, data, n, offset);
}
ssize_t counted_pwrite64(int fd, const void* data, size_t n, off64_t offset) {
  if (is_wal(fd)) ++wal_writes, wal_bytes += static_cast<long long>(n);
  return pwrite64(fd, data, n, offset);
}
ssize_t counted_write(int fd, const void* data, size_t n) {
  if (is_wal(fd)) ++wal_writes, wal_bytes += static_cast<long long>(n);
  return write(fd, data, n);
}

/// Counts the platform VFS's writes to write-ahead logs while it lives.
struct CountWrites {
  sqlite3_vfs* unix_vfs = sqlite3_vfs_find(nullptr);
  CountWrites() {
    set("pwrite", reinterpret_cast<sqlite3_syscall_ptr>(counted_pwrite));
    set("pwrite64", reinterpret_cast<sqlite3_syscall_ptr>(counted_pwrite64));
    set("write", reinterpret_cast<sqlite3_syscall_ptr>(counted_write));
  }
  ~CountWrites() {
    for (const char* name : {"pwrite", "pwrite64", "write"})
      unix_vfs->xSetSystemCall(unix_vfs, name, nullptr);
  }
  void set(const char* name, sqlite3_syscall_ptr call) {
    REQUIRE(unix_vfs->xSetSystemCall(unix_vfs, name, call) == SQLITE_OK);
  }
};

using test::raw_sqlite::exec;
using test::raw_sqlite::open;
using test::raw_sqlite::scalar;

/// A writer with the stores' settings: WAL, synchronous=NORMAL, no automatic checkpoint.
sqlite3* writer(const std::filesystem::path& file, const char* vfs) {
  sqlite3* db = open(file, vfs);
  exec(db,
       "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0;"
       "CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v TEXT NOT NULL);"
       "CREATE INDEX IF NOT EXISTS t_v ON t (v)");
  return db;
}

/// Inserts rows k in [from, to) of `table` with 3 KiB values that start with k: about one page
/// each (plus the index's, in t).
void insert(sqlite3* db, int from, int to, const std::string& table = "t") {
  exec(db, "WITH RECURSIVE n(k) AS (SELECT " + std::to_string(from) +
               " UNION ALL SELECT k + 1 FROM n WHERE k + 1 < " + std::to_string(to) +
               ") INSERT INTO " + table +
               " (k, v) SELECT k, printf('%05d', k) || hex(randomblob(1500)) FROM n");
}

/// The rows of `table` whose value starts with their key, as insert() wrote them.
std::string whole_rows(sqlite3* db, const std::string& table = "t") {
  return scalar(db, "SELECT count(*) FROM " + table + " WHERE v LIKE printf('%05d', k) || '%'");
}

}  // namespace

TEST_CASE(
    "a commit reaches the write-ahead log in one write, where SQLite's own VFS makes two "
    "a page") {
  test::TempFolder data;
  const char* batching = host::store::wal_batching_vfs();
  auto commit_writes = [&](const char* vfs, const std::filesystem::path& file) {
    sqlite3* db = writer(file, vfs);
    insert(db, 0, 10);  // the log exists and has frames
    CountWrites counting;
    wal_writes = 0;
    wal_bytes = 0;
    exec(db, "BEGIN");
    insert(db, 10, 20);
    exec(db, "COMMIT");
    const int writes = wal_writes;
    const long long bytes = wal_bytes;
    sqlite3_close(db);
    return std::pair{writes, bytes};
  };
  auto [plain_writes, plain_bytes] = commit_writes(nullptr, data.path() / "plain.db");
  auto [batched_writes, batched_bytes] = commit_writes(batching, data.path() / "batched.db");
  INFO("plain " << plain_writes << " writes, " << plain_bytes << " bytes; batched "
                << batched_writes << " writes, " << batched_bytes << " bytes");
  CHECK(plain_writes >= 20);  // 10 rows of a page each, and the index: a header and a page each
  CHECK(batched_writes == 1);
  CHECK(batched_bytes == plain_bytes);
}

TEST_CASE(
    "at every commit through the batching VFS the files hold the committed database: a "
    "reader sees it, and a copy of the files as a killed process leaves them opens whole") {
  test::TempFolder data;
  const auto file = data.path() / "live.db";
  sqlite3* db = writer(file, host::store::wal_batching_vfs());
  sqlite3* reader = open(file, nullptr);
  int committed = 0;
  int snapshot = 0;
  auto check = [&](const std::string& step) {
    INFO(step);
    CHECK(scalar(reader, "SELECT count(*) FROM t") == std::to_string(committed));
    // The database and its log as the disk would hold them if the process died now (no shared
    // memory: opening them recovers the log from its frames and their checksums).
    const auto copy = data.path() / ("copy" + std::to_string(++snapshot) + ".db");
    std::filesystem::copy_file(file, copy);
    if (std::filesystem::exists(file.string() + "-wal"))
      std::filesystem::copy_file(file.string() + "-wal", copy.string() + "-wal");
    sqlite3* copied = open(copy, nullptr);
    CHECK(scalar(copied, "PRAGMA integrity_check") == "ok");
    CHECK(scalar(copied, "SELECT count(*) FROM t") == std::to_string(committed));
    CHECK(scalar(copied, "SELECT count(*) FROM t WHERE v NOT LIKE printf('%05d', k) || '%'") ==
          "0");
    sqlite3_close(copied);
  };

  insert(db, 0, 1);
  committed = 1;
  check("a first commit, the log's header with it");

  exec(db, "BEGIN");
  insert(db, 1, 40);
  exec(db, "COMMIT");
  committed = 40;
  check("a commit of many pages");

  // A page cache of 8 pages: the transaction spills frames to the log before its commit, and
  // writes pages it already spilled again in place, which makes SQLite rewrite the checksums
  // of the frames after them once the commit frame is written.
  exec(db, "PRAGMA cache_size=8");
  exec(db, "BEGIN");
  insert(db, 40, 140);
  for (int round = 0; round < 3; ++round)
    exec(db, "UPDATE t SET v = printf('%05d', k) || hex(randomblob(1500)) WHERE k % 7 = " +
                 std::to_string(round));
  exec(db, "COMMIT");
  committed = 140;
  check("a transaction that spilled and rewrote its frames");

  exec(db, "BEGIN");
  insert(db, 140, 240);
  exec(db, "ROLLBACK");
  check("a spilled transaction rolled back");
  exec(db, "PRAGMA cache_size=-2000");

  insert(db, 140, 141);
  committed = 141;
  check("a commit after the rolled-back frames");

  REQUIRE(scalar(db, "PRAGMA wal_checkpoint(RESTART)") == "0");
  insert(db, 141, 150);
  committed = 150;
  check("the first commit of a restarted log");
  insert(db, 150, 151);
  committed = 151;
  check("the next one");

  REQUIRE(scalar(db, "PRAGMA wal_checkpoint(TRUNCATE)") == "0");
  insert(db, 151, 160);
  committed = 160;
  check("the first commit of a truncated log");

  sqlite3_close(reader);
  sqlite3_close(db);
}

TEST_CASE("a connection's commits stay one write after another connection restarted the log") {
  // Each connection has its own handle on the log; the store's operations and its workers write
  // through two of them, and whichever writes first after a restart starts the log over.
  test::TempFolder data;
  const auto file = data.path() / "two.db";
  const char* batching = host::store::wal_batching_vfs();
  sqlite3* a = writer(file, batching);
  sqlite3* b = writer(file, batching);
  insert(a, 0, 40);
  insert(b, 40, 80);  // b's handle has written far into the log
  REQUIRE(scalar(a, "PRAGMA wal_checkpoint(RESTART)") == "0");
  insert(a, 80, 81);  // a starts the log over, from its beginning
  CountWrites counting;
  wal_writes = 0;
  exec(b, "BEGIN");
  insert(b, 81, 91);
  exec(b, "COMMIT");
  CHECK(wal_writes == 1);
  CHECK(whole_rows(a) == "91");
  sqlite3_close(b);
  sqlite3_close(a);
}

TEST_CASE("a value of megabytes written through the batching VFS reads back whole") {
  test::TempFolder data;
  const auto file = data.path() / "big.db";
  sqlite3* db = writer(file, host::store::wal_batching_vfs());
  exec(db, "CREATE TABLE big (v TEXT NOT NULL)");
  exec(db, "INSERT INTO big (v) SELECT '\"' || hex(randomblob(1048576)) || '\"'");
  const std::string written = scalar(db, "SELECT v FROM big");
  sqlite3* reader = open(file, nullptr);
  CHECK(scalar(reader, "SELECT length(v) FROM big") == "2097154");
  CHECK(scalar(reader, "SELECT v FROM big") == written);
  sqlite3_close(reader);
  sqlite3_close(db);
}

TEST_CASE("commits of every size up to several writes' worth are whole at once") {
  // A commit frame at any place in what is held, its page ending the commit, even where that is
  // the write that overflows what one write may hold: rows of a page each and no index, so a
  // commit of N rows is about N + 1 frames, and N runs through every count up to 100.
  test::TempFolder data;
  const auto file = data.path() / "sizes.db";
  sqlite3* db = writer(file, host::store::wal_batching_vfs());
  exec(db, "CREATE TABLE p (k INTEGER PRIMARY KEY, v TEXT NOT NULL)");
  sqlite3* reader = open(file, nullptr);
  int committed = 0;
  for (int rows = 1; rows <= 100; ++rows) {
    CAPTURE(rows);
    insert(db, committed, committed + rows, "p");
    committed += rows;
    REQUIRE(whole_rows(reader, "p") == std::to_string(committed));
    if (rows % 40 == 0) REQUIRE(scalar(db, "PRAGMA wal_checkpoint(RESTART)") == "0");
  }
  sqlite3_close(reader);
  sqlite3_close(db);
}
