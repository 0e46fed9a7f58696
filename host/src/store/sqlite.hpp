// What the record store and the job store share about the database file: opening it (WAL, the
// durability setting, the schema brought up to date) and prepared statements.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>

#include <sqlite3.h>

#include <stepline/host/store/record_store.hpp>

namespace stepline::host::store {

/// Opens (creating when absent) `file` in WAL mode with the durability's sync setting and brings
/// its schema up to date (inside a write transaction, so two processes opening a database at
/// once migrate it once), noting the version it found in `found_version` when given. Throws
/// std::runtime_error naming the file.
sqlite3* open_database(const std::filesystem::path& file, Durability durability,
                       int* found_version = nullptr);

/// The writers of one database file in this process, let in one at a time in arrival order.
/// SQLite's own busy handler makes a connection that finds the write lock taken sleep 1, 2, 5,
/// 10 ms… and retry, so two connections of one process taking turns (the pipeline queuing jobs,
/// the async service taking and finishing them) would spend most of their time asleep; a writer
/// waiting here is woken the moment the previous one commits. Other processes still meet at
/// SQLite's lock.
class WriteGate {
 public:
  /// The gate of `file` (one per file per process, shared by every store that opens it).
  static std::shared_ptr<WriteGate> of(const std::filesystem::path& file);

  /// Waits for this writer's turn; false when `timeout` passed first (the caller reports the
  /// database as busy, as SQLite would have).
  bool enter(std::chrono::milliseconds timeout);
  /// enter(), throwing std::runtime_error naming `file` when the wait times out.
  void enter_or_throw(std::chrono::milliseconds timeout, const std::filesystem::path& file);
  void leave();

 private:
  std::mutex mutex_;
  std::condition_variable turn_;
  bool held_ = false;
  std::uint64_t next_ticket_ = 0;
  std::deque<std::uint64_t> queue_;
};

/// Holds a WriteGate for a scope; throws std::runtime_error naming `file` when it times out.
class GateTurn {
 public:
  GateTurn(WriteGate& gate, std::chrono::milliseconds timeout, const std::filesystem::path& file)
      : gate_(gate) {
    gate_.enter_or_throw(timeout, file);
  }
  ~GateTurn() { gate_.leave(); }
  GateTurn(const GateTurn&) = delete;
  GateTurn& operator=(const GateTurn&) = delete;

 private:
  WriteGate& gate_;
};

/// Runs SQL text (one or more statements). Throws std::runtime_error with SQLite's message
/// (StorageFull when the disk is full).
void exec(sqlite3* db, const char* sql);

/// True when the last error on `db` was a full disk (SQLITE_FULL).
inline bool disk_full(sqlite3* db) {
  return (sqlite3_extended_errcode(db) & 0xff) == SQLITE_FULL;
}
/// What a write refused for a full disk says: the file, and what to do.
std::string disk_full_message(sqlite3* db);
/// Throws the error of the last failed call on `db`: StorageFull for a full disk, else
/// std::runtime_error with SQLite's message.
[[noreturn]] void throw_error(sqlite3* db);
/// The same for an error read from `db` before the statement that caused it was reset.
[[noreturn]] void throw_error(sqlite3* db, int code, const std::string& message);

class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql) : db_(db) {
    if (sqlite3_prepare_v3(db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr) !=
        SQLITE_OK)
      throw std::runtime_error(std::string("record store: cannot prepare statement: ") +
                               sqlite3_errmsg(db));
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  /// Resets and clears bindings; returns *this for chaining binds.
  Statement& start() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    return *this;
  }
  Statement& bind(int i, std::string_view text) {
    sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
  }
  /// Binds text SQLite does not copy: it must stay unchanged until the statement is reset.
  Statement& bind_static(int i, std::string_view text) {
    sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
    return *this;
  }
  Statement& bind(int i, long long n) {
    sqlite3_bind_int64(stmt_, i, n);
    return *this;
  }
  Statement& bind_null(int i) {
    sqlite3_bind_null(stmt_, i);
    return *this;
  }
  /// True while a row is available.
  bool step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    const int code = sqlite3_extended_errcode(db_);
    std::string message = sqlite3_errmsg(db_);
    sqlite3_reset(stmt_);
    throw_error(db_, code, message);
  }
  std::string_view text(int col) const {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string_view(p, sqlite3_column_bytes(stmt_, col)) : std::string_view();
  }
  long long integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  void done() { sqlite3_reset(stmt_); }
  /// Runs a statement that takes no parameters and returns no rows (BEGIN, COMMIT, SAVEPOINT):
  /// prepared once, it costs no parsing each time as exec() does.
  void run() {
    sqlite3_reset(stmt_);
    step();
    sqlite3_reset(stmt_);
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace stepline::host::store
