#include "sqlite.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include <stepline/host/store/wal_batching_vfs.hpp>

#include "context_log.hpp"
#include "one_per_file.hpp"
#include "schema.hpp"

namespace stepline::host::store {

std::shared_ptr<WriteGate> WriteGate::of(const std::filesystem::path& file) {
  return one_per_file<WriteGate>(
      file, [](const std::filesystem::path&) { return std::make_shared<WriteGate>(); });
}

bool WriteGate::enter(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  if (!held_ && queue_.empty()) {
    held_ = true;
    return true;
  }
  const auto ticket = next_ticket_++;
  queue_.push_back(ticket);
  auto my_turn = [&] { return !held_ && queue_.front() == ticket; };
  if (!turn_.wait_for(lock, timeout, my_turn)) {
    queue_.erase(std::find(queue_.begin(), queue_.end(), ticket));
    turn_.notify_all();  // the next in line may be the front now
    return false;
  }
  queue_.pop_front();
  held_ = true;
  return true;
}

void WriteGate::leave() {
  {
    std::lock_guard lock(mutex_);
    held_ = false;
  }
  turn_.notify_all();
}

void WriteGate::enter_or_throw(std::chrono::milliseconds timeout,
                               const std::filesystem::path& file) {
  if (!enter(timeout))
    throw std::runtime_error("record store " + file.string() +
                             ": database is locked: another writer of this process held it for " +
                             std::to_string(timeout.count() / 1000) +
                             " s (a long-running plug-in inside an operation?); try again");
}

void exec(sqlite3* db, const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    std::string msg = error ? error : "unknown error";
    sqlite3_free(error);
    if (disk_full(db)) throw StorageFull("record store: " + disk_full_message(db));
    throw std::runtime_error("record store: " + msg);
  }
}

std::string disk_full_message(sqlite3* db) {
  const char* file = sqlite3_db_filename(db, "main");
  std::filesystem::path path = file && *file ? file : "the database";
  return "the disk holding " + path.string() + " is full: free space in " +
         path.parent_path().string() +
         "; nothing of this write was applied, and the store works again once there is room";
}

void throw_error(sqlite3* db) {
  throw_error(db, sqlite3_extended_errcode(db), sqlite3_errmsg(db));
}

void throw_error(sqlite3* db, int code, const std::string& message) {
  if ((code & 0xff) == SQLITE_FULL) throw StorageFull("record store: " + disk_full_message(db));
  throw std::runtime_error("record store: " + message);
}

namespace {

constexpr std::chrono::milliseconds busy_timeout{5000};

int user_version(sqlite3* db) {
  Statement version(db, "PRAGMA user_version");
  version.step();
  int found = static_cast<int>(version.integer(0));
  version.done();
  return found;
}

/// Puts the database in WAL mode. Hosts opening a new database together find it in rollback mode,
/// where switching returns SQLITE_BUSY at once without waiting in the busy handler: the switch is
/// tried again for as long as the busy timeout would have waited.
void use_wal(sqlite3* db) {
  const auto give_up = std::chrono::steady_clock::now() + busy_timeout;
  for (;;) {
    const int rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
    if (rc == SQLITE_OK) return;
    if ((rc & 0xff) != SQLITE_BUSY || std::chrono::steady_clock::now() > give_up)
      throw_error(db, rc, std::string("PRAGMA journal_mode=WAL: ") + sqlite3_errmsg(db));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

/// Returns the version found.
int bring_up_to_date(sqlite3* db) {
  if (const int found = user_version(db); found == schema::version) return found;
  exec(db, "BEGIN IMMEDIATE");
  try {
    int found = user_version(db);
    if (found > schema::version)
      throw std::runtime_error("schema version " + std::to_string(found) +
                               " is newer than this build's " + std::to_string(schema::version) +
                               "; use a newer stepline");
    // A database at version 0 is new: `sql` creates everything.
    for (int v = found; v > 0 && v < schema::version; ++v) exec(db, schema::migrations[v - 1]);
    exec(db, schema::sql);
    exec(db, ("PRAGMA user_version=" + std::to_string(schema::version)).c_str());
    exec(db, "COMMIT");
    return found;
  } catch (...) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

/// stepline_context(id, context_at, context_size): the frozen context of the job `id` from the
/// context log (job_row.hpp). The connection owns a reference to the log.
void context_function(sqlite3_context* call, int, sqlite3_value** args) {
  if (sqlite3_value_type(args[1]) == SQLITE_NULL) {
    sqlite3_result_null(call);
    return;
  }
  auto& log = *static_cast<std::shared_ptr<ContextLog>*>(sqlite3_user_data(call));
  const auto* id = reinterpret_cast<const char*>(sqlite3_value_text(args[0]));
  const auto id_size = static_cast<std::size_t>(sqlite3_value_bytes(args[0]));
  try {
    auto context = log->read(std::string_view(id ? id : "", id_size),
                             {sqlite3_value_int64(args[1]), sqlite3_value_int64(args[2])});
    sqlite3_result_text64(call, context.data(), context.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  } catch (const std::exception& e) {
    // Not an SQL error: that would fail the whole statement (a worker's take of every job
    // due) for one job.
    const auto problem = SystemJob::unreadable_context_mark + std::string(e.what());
    sqlite3_result_text64(call, problem.data(), problem.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  }
}

}  // namespace

sqlite3* open_database(const std::filesystem::path& file, Durability durability,
                       int* found_version) {
  // SQLite counts every allocation under a global mutex for sqlite3_memory_used(), which the
  // host never asks: about 24,000 instructions of a durable operation (callgrind). Only
  // before SQLite starts (the first connection); a process that used it first keeps counting.
  static const int unused = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)unused;
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path());
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(file.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      wal_batching_vfs()) != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    throw std::runtime_error("record store " + file.string() + ": cannot open: " + msg +
                             " (check that the data folder exists and is writable)");
  }
  try {
    sqlite3_busy_timeout(db, static_cast<int>(busy_timeout.count()));
    use_wal(db);
    exec(db,
         durability == Durability::full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    // SQLite's default (1000 pages, 4 MiB) would checkpoint every few dozen operations inside a
    // commit; a running async service checkpoints from its own thread well before this limit,
    // which only matters when nothing else does (docs/JOBS.md "Throughput").
    exec(db, "PRAGMA wal_autocheckpoint=8192");
    auto* log = new std::shared_ptr<ContextLog>(ContextLog::of(file));
    sqlite3_create_function_v2(
        db, "stepline_context", 3, SQLITE_UTF8, log, context_function, nullptr, nullptr,
        [](void* p) { delete static_cast<std::shared_ptr<ContextLog>*>(p); });
    const int found = bring_up_to_date(db);
    if (found_version) *found_version = found;
  } catch (const std::exception& e) {
    sqlite3_close(db);
    throw std::runtime_error("record store " + file.string() + ": " + e.what());
  }
  return db;
}

}  // namespace stepline::host::store
