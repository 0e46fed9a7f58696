#include <stepline/host/store/sqlite_job_store.hpp>

#include <algorithm>

#include <stepline/text.hpp>

#include "job_row.hpp"
#include "sqlite.hpp"
#include "wal_checkpointer.hpp"

namespace stepline::host::store {
namespace {

// As long as SQLite's busy timeout on the job store's connection.
constexpr std::chrono::milliseconds job_write_wait{30000};

std::string iso(DateTime t) {
  return to_iso8601(t);
}

// A job with an ordering key waits for every earlier unfinished job with the same key and
// endpoint (the partial index system_jobs_ordered serves the lookup).
constexpr const char* in_order =
    "(j.ordering_key IS NULL OR NOT EXISTS (SELECT 1 FROM system_jobs o WHERE o.ordering_key = "
    "j.ordering_key AND o.sequence < j.sequence AND o.state_code <> 3 AND o.endpoint IS "
    "j.endpoint))";

std::string due_ready(bool with_endpoints) {
  // The planner is told the index: with a million waiting jobs a scan of the state index would
  // cost seconds per poll. `status_code <> 30` is the index's own condition (it leaves succeeded
  // jobs out), which SQLite must see in the query to use it.
  return std::string(
             "SELECT j.rowid AS r FROM system_jobs j INDEXED BY system_jobs_state WHERE "
             "j.state_code = 0 AND j.status_code <> 30") +
         (with_endpoints ? "" : " AND j.endpoint IS NULL") + " AND " + in_order +
         " ORDER BY j.state_code, j.sequence LIMIT ?4";
}

std::string due_waiting(bool with_endpoints) {
  return std::string(
             "SELECT j.rowid AS r FROM system_jobs j INDEXED BY system_jobs_postponed WHERE "
             "j.state_code = 1 AND j.status_code = 10 AND j.postpone_until <= ?3") +
         (with_endpoints ? "" : " AND j.endpoint IS NULL") + " AND " + in_order +
         " ORDER BY j.postpone_until LIMIT ?4";
}

std::string take_sql(bool with_endpoints) {
  return "UPDATE system_jobs SET state_code = 2, status_code = 20, lease_owner = ?1, lease_until "
         "= ?2, started_on = ?3 WHERE rowid IN (SELECT r FROM (" +
         due_ready(with_endpoints) + ") UNION ALL SELECT r FROM (" + due_waiting(with_endpoints) +
         ")) RETURNING " + job_columns;
}

std::string has_due_sql(bool with_endpoints) {
  return "SELECT EXISTS (" + due_ready(with_endpoints) + ") OR EXISTS (" +
         due_waiting(with_endpoints) + ")";
}

/// Records an attempt's result on the job `where` finds (by id, or by its sequence, which is the
/// rowid, and id: no look-up in the id index), unless an operator is canceling it. Says nothing
/// back: the result is what was written when a row changed (a RETURNING clause would cost an
/// ephemeral table each time, about as much as the update). finish_sql takes the other cases.
std::string finish_plain_sql(const char* where) {
  return std::string(
             "UPDATE system_jobs SET state_code = ?2, status_code = ?3, "
             "completed_on = CASE WHEN ?2 = 3 THEN ?12 ELSE NULL END, postpone_until = ?5, "
             "retry_count = ?4, error_code = ?6, message_text = ?7, friendly_message = ?8, "
             "execution_time_ms = ?9, trace = ?10, lease_owner = NULL, lease_until = NULL "
             "WHERE ") +
         where + " AND lease_owner = ?11 AND state_code = 2 AND status_code <> 22";
}

/// The same for any job the owner holds, a canceling one included, saying what it now is.
std::string finish_sql(const char* where) {
  // Every right-hand side sees the row as it was, so status_code = 22 means the job was canceled
  // while this attempt ran.
  return std::string(
             "UPDATE system_jobs SET "
             "state_code = CASE WHEN status_code = 22 AND ?2 < 3 THEN 3 ELSE ?2 END, "
             "status_code = CASE WHEN status_code = 22 AND ?2 < 3 THEN 32 ELSE ?3 END, "
             "completed_on = CASE WHEN ?2 = 3 OR status_code = 22 THEN ?12 ELSE NULL END, "
             "postpone_until = CASE WHEN status_code = 22 THEN NULL ELSE ?5 END, "
             "retry_count = ?4, error_code = ?6, message_text = ?7, friendly_message = ?8, "
             "execution_time_ms = ?9, trace = ?10, lease_owner = NULL, lease_until = NULL "
             "WHERE ") +
         where + " AND lease_owner = ?11 AND state_code = 2 RETURNING state_code, status_code";
}

// Hands back held jobs: Ready again, or Canceled when an operator canceled them meanwhile.
constexpr const char* release_set =
    "state_code = CASE WHEN status_code = 22 THEN 3 ELSE 0 END, status_code = CASE WHEN "
    "status_code = 22 THEN 32 ELSE 0 END, lease_owner = NULL, lease_until = NULL";

}  // namespace

// Every statement that looks jobs up by state says `status_code <> 30`, the state index's own
// condition (it leaves succeeded jobs out): without it SQLite cannot use the index and reads the
// whole table, every succeeded job of the history included.
struct SqliteJobStore::Statements {
  explicit Statements(sqlite3* db)
      : take_all(db, take_sql(true)),
        take_plugins(db, take_sql(false)),
        has_due_all(db, has_due_sql(true)),
        has_due_plugins(db, has_due_sql(false)),
        finish(db, finish_sql("id = ?1")),
        finish_at(db, finish_sql("rowid = ?13 AND id = ?1")),
        finish_plain(db, finish_plain_sql("id = ?1")),
        finish_plain_at(db, finish_plain_sql("rowid = ?13 AND id = ?1")),
        remove(db, "DELETE FROM system_jobs WHERE id = ?1 AND lease_owner = ?2 AND state_code = 2"),
        remove_at(db,
                  "DELETE FROM system_jobs WHERE rowid = ?3 AND id = ?1 AND lease_owner = ?2 AND "
                  "state_code = 2"),
        renew(db,
              "UPDATE system_jobs SET lease_until = ?2 WHERE state_code = 2 AND status_code <> 30 "
              "AND lease_owner = ?1"),
        release(db, std::string("UPDATE system_jobs SET ") + release_set +
                        " WHERE state_code = 2 AND status_code <> 30 AND lease_owner = ?1"),
        release_expired(db, std::string("UPDATE system_jobs SET ") + release_set +
                                " WHERE state_code = 2 AND status_code <> 30 AND lease_until < ?1"),
        owners(db,
               "SELECT DISTINCT lease_owner FROM system_jobs WHERE state_code = 2 AND status_code "
               "<> 30 AND lease_owner IS NOT NULL"),
        last_sequence(db, "SELECT COALESCE(MAX(sequence), 0) FROM system_jobs"),
        // Through the state index, unfinished states only: drain() asks every few
        // milliseconds, and walking the completed jobs after `sequence` would cost more with
        // every job done.
        unfinished_after(db,
                         "SELECT EXISTS (SELECT 1 FROM system_jobs INDEXED BY system_jobs_state "
                         "WHERE state_code IN (0, 1, 2) AND status_code <> 30 AND sequence > ?1 "
                         "AND (?2 OR endpoint IS NULL))"),
        count(db,
              "SELECT state_code, status_code, COUNT(*) FROM system_jobs WHERE sequence > ?1 "
              "GROUP BY state_code, status_code"),
        find(db, std::string("SELECT ") + job_columns + " FROM system_jobs WHERE id = ?1"),
        // Reads every id: an operator's look-up by a part of an id, not the service's.
        find_part(db, std::string("SELECT ") + job_columns +
                          " FROM system_jobs WHERE (id >= ?1 AND id < ?1 || '~') OR "
                          "substr(id, -length(?1)) = ?1 LIMIT 2"),
        status(db, "SELECT state_code, status_code FROM system_jobs WHERE id = ?1"),
        set_status(db,
                   "UPDATE system_jobs SET state_code = ?2, status_code = ?3, postpone_until = ?4, "
                   "completed_on = ?5 WHERE id = ?1"),
        requeue(db,
                "UPDATE system_jobs SET state_code = 0, status_code = 0, retry_count = 0, "
                "crash_count = 0, "
                "postpone_until = NULL, error_code = NULL, message_text = NULL, friendly_message "
                "= NULL, completed_on = NULL, execution_time_ms = NULL, trace = NULL WHERE id = "
                "?1"),
        // Succeeded jobs are the oldest rows, found from the start of the table; failed and
        // canceled ones through the state index.
        purge_succeeded(db,
                        "DELETE FROM system_jobs WHERE rowid IN (SELECT rowid FROM system_jobs "
                        "WHERE state_code = 3 AND status_code = 30 AND completed_on < ?2 LIMIT "
                        "5000)"),
        purge(db,
              "DELETE FROM system_jobs WHERE rowid IN (SELECT rowid FROM system_jobs WHERE "
              "state_code = 3 AND status_code = ?1 AND status_code <> 30 AND completed_on < ?2 "
              "LIMIT 5000)"),
        crash(db,
              "UPDATE system_jobs SET crash_count = crash_count + 1 WHERE id = ?1 AND state_code "
              "<> 3 RETURNING crash_count, step_name"),
        fail_crashed(db,
                     "UPDATE system_jobs SET state_code = 3, status_code = 31, completed_on = ?2, "
                     "error_code = ?3, message_text = ?4, friendly_message = ?5, postpone_until = "
                     "NULL, lease_owner = NULL, lease_until = NULL WHERE id = ?1"),
        begin(db, "BEGIN IMMEDIATE"),
        commit(db, "COMMIT") {}

  Statement take_all, take_plugins, has_due_all, has_due_plugins, finish, finish_at, finish_plain,
      finish_plain_at, remove, remove_at, renew, release, release_expired, owners, last_sequence,
      unfinished_after, count, find, find_part, status, set_status, requeue, purge_succeeded, purge,
      crash, fail_crashed, begin, commit;
};

/// BEGIN IMMEDIATE … COMMIT on the job store's connection, in the file's write gate; rolled back
/// unless committed.
class SqliteJobStore::WriteTransaction {
 public:
  explicit WriteTransaction(SqliteJobStore& store)
      : turn_(*store.gate_, job_write_wait, store.file_),
        db_(store.db_),
        commit_(store.statements_->commit) {
    store.statements_->begin.run();
  }
  ~WriteTransaction() {
    if (!done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void commit() {
    commit_.run();
    done_ = true;
  }

 private:
  GateTurn turn_;
  sqlite3* db_;
  Statement& commit_;
  bool done_ = false;
};

SqliteJobStore::SqliteJobStore(const std::filesystem::path& database, Durability durability)
    : file_(database),
      location_(Location::sqlite(database)),
      durability_(durability),
      db_(open_database(database, durability)),
      gate_(WriteGate::of(database)) {
  try {
    // Workers wait for the pipeline's commits rather than fail: a long synchronous plug-in may
    // hold the write lock for seconds.
    sqlite3_busy_timeout(db_, 30000);
    statements_ = std::make_unique<Statements>(db_);
  } catch (const std::exception& e) {
    sqlite3_close(db_);
    throw std::runtime_error("job store " + database.string() + ": " + e.what());
  }
}

SqliteJobStore::~SqliteJobStore() {
  statements_.reset();
  sqlite3_close(db_);
}

std::vector<SystemJob> SqliteJobStore::take(std::string_view owner, DateTime now,
                                            DateTime lease_until, std::size_t limit,
                                            bool with_endpoints) {
  std::lock_guard lock(mutex_);
  GateTurn turn(*gate_, job_write_wait, file_);
  auto& s = (with_endpoints ? statements_->take_all : statements_->take_plugins).start();
  s.bind(1, owner).bind(2, iso(lease_until)).bind(3, iso(now));
  s.bind(4, static_cast<long long>(limit));
  std::vector<SystemJob> jobs;
  // One statement is one (implicit) transaction: the rows are leased when step() is done.
  while (s.step()) jobs.push_back(read_job(s));
  s.done();
  std::sort(jobs.begin(), jobs.end(),
            [](const SystemJob& a, const SystemJob& b) { return a.sequence < b.sequence; });
  return jobs;
}

bool SqliteJobStore::has_due(DateTime now, bool with_endpoints) {
  std::lock_guard lock(mutex_);
  auto& s = (with_endpoints ? statements_->has_due_all : statements_->has_due_plugins).start();
  s.bind(3, iso(now)).bind(4, 1LL);
  bool due = s.step() && s.integer(0) != 0;
  s.done();
  return due;
}

std::vector<std::optional<JobStatus>> SqliteJobStore::finish(std::span<const JobResult> results,
                                                             std::string_view owner, DateTime now) {
  std::vector<std::optional<JobStatus>> written(results.size());
  if (results.empty()) return written;
  std::lock_guard lock(mutex_);
  WriteTransaction transaction(*this);
  const auto now_text = iso(now);
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    const auto id = r.id.text();
    if (r.remove) {
      auto& s = (r.sequence > 0 ? statements_->remove_at : statements_->remove).start();
      s.bind_static(1, id).bind_static(2, owner);
      if (r.sequence > 0) s.bind(3, r.sequence);
      s.step();
      s.done();
      if (sqlite3_changes(db_) > 0) written[i] = JobStatus::succeeded;
      continue;
    }
    const auto codes = codes_of(r.status);
    const auto postpone_until = r.postpone_until ? iso(*r.postpone_until) : std::string();
    auto start = [&](Statement& s) -> Statement& {
      s.start().bind_static(1, id);
      if (r.sequence > 0) s.bind(13, r.sequence);
      s.bind(2, static_cast<long long>(codes.state_code));
      s.bind(3, static_cast<long long>(codes.status_code));
      s.bind(4, static_cast<long long>(r.retry_count));
      if (r.postpone_until) s.bind_static(5, postpone_until);
      if (r.error_code) s.bind(6, static_cast<long long>(*r.error_code));
      if (!r.message.empty()) s.bind_static(7, r.message);
      if (!r.friendly_message.empty()) s.bind_static(8, r.friendly_message);
      if (r.execution_time_ms) s.bind(9, *r.execution_time_ms);
      if (!r.trace.empty()) s.bind_static(10, r.trace);
      s.bind_static(11, owner).bind_static(12, now_text);
      return s;
    };
    auto& plain = start(r.sequence > 0 ? statements_->finish_plain_at : statements_->finish_plain);
    plain.step();
    plain.done();
    if (sqlite3_changes(db_) > 0) {
      written[i] = r.status;
      continue;
    }
    // Canceling, or no longer this owner's: the statement that says what the job is now.
    auto& s = start(r.sequence > 0 ? statements_->finish_at : statements_->finish);
    if (s.step())
      written[i] = status_of(static_cast<int>(s.integer(0)), static_cast<int>(s.integer(1)));
    s.done();
  }
  transaction.commit();
  return written;
}

std::size_t SqliteJobStore::renew(std::string_view owner, DateTime lease_until) {
  std::lock_guard lock(mutex_);
  GateTurn turn(*gate_, job_write_wait, file_);
  auto& s = statements_->renew.start();
  s.bind(1, owner).bind(2, iso(lease_until));
  s.step();
  s.done();
  return static_cast<std::size_t>(sqlite3_changes(db_));
}

std::size_t SqliteJobStore::release(std::string_view owner) {
  std::lock_guard lock(mutex_);
  GateTurn turn(*gate_, job_write_wait, file_);
  auto& s = statements_->release.start();
  s.bind(1, owner);
  s.step();
  s.done();
  return static_cast<std::size_t>(sqlite3_changes(db_));
}

std::size_t SqliteJobStore::recover(DateTime now,
                                    const std::function<bool(std::string_view owner)>& owner_gone) {
  std::vector<std::string> owners;
  {
    std::lock_guard lock(mutex_);
    auto& s = statements_->owners.start();
    while (s.step()) owners.emplace_back(s.text(0));
    s.done();
  }
  std::size_t recovered = 0;
  for (const auto& owner : owners)
    if (owner_gone && owner_gone(owner)) recovered += release(owner);
  std::lock_guard lock(mutex_);
  GateTurn turn(*gate_, job_write_wait, file_);
  auto& s = statements_->release_expired.start();
  s.bind(1, iso(now));
  s.step();
  s.done();
  return recovered + static_cast<std::size_t>(sqlite3_changes(db_));
}

std::vector<CrashedJob> SqliteJobStore::count_crashes(std::span<const Guid> ids, int limit,
                                                      DateTime now) {
  std::vector<CrashedJob> counted;
  if (ids.empty()) return counted;
  std::lock_guard lock(mutex_);
  WriteTransaction transaction(*this);
  const auto now_text = iso(now);
  for (const auto& id : ids) {
    auto& s = statements_->crash.start();
    s.bind(1, id.str());
    if (!s.step()) {
      s.done();
      continue;  // completed meanwhile, or gone
    }
    CrashedJob job{id, std::string(s.text(1)), static_cast<int>(s.integer(0))};
    s.done();
    if (job.crash_count >= limit) {
      const auto count = std::to_string(job.crash_count);
      auto& f = statements_->fail_crashed.start();
      f.bind(1, id.str()).bind(2, now_text).bind(3, static_cast<long long>(job_error::plugin_lost));
      f.bind(4, "the host died while running this step: " + count +
                    " attempts never returned (host.async_crash_limit " + std::to_string(limit) +
                    ")");
      f.bind(5, "The host died while running this step (" + count +
                    " times): its plug-in takes the process down. Register step '" + job.step_name +
                    "' with `isolation: process`, so that a crash fails only the step, then "
                    "run `stepline jobs retry " +
                    id.str() + "`");
      f.step();
      f.done();
      job.failed = true;
    }
    counted.push_back(std::move(job));
  }
  transaction.commit();
  return counted;
}

std::unique_ptr<JobStore::Companion> SqliteJobStore::accompany(std::function<void()>) {
  // Other processes' jobs are found by polling: SQLite has no way to announce them.
  // Often, while operations commit: a round copies each page written since the last one, so
  // every 50 ms at 6,000 operations a second made bursts of several milliseconds of copying
  // that the operations queued behind (the open loop's p99). Every 10 ms the same copying
  // comes in small pieces, for the price of a few pages rewritten between rounds.
  return std::make_unique<WalCheckpointer>(file_, durability_, std::chrono::milliseconds(10),
                                           std::chrono::milliseconds(100));
}

long long SqliteJobStore::last_sequence() {
  std::lock_guard lock(mutex_);
  auto& s = statements_->last_sequence.start();
  s.step();
  long long n = s.integer(0);
  s.done();
  return n;
}

bool SqliteJobStore::unfinished_after(long long sequence, bool with_endpoints) {
  std::lock_guard lock(mutex_);
  auto& s = statements_->unfinished_after.start();
  s.bind(1, sequence).bind(2, with_endpoints ? 1LL : 0LL);
  bool found = s.step() && s.integer(0) != 0;
  s.done();
  return found;
}

std::map<JobStatus, std::size_t> SqliteJobStore::count(long long after_sequence) {
  std::lock_guard lock(mutex_);
  auto& s = statements_->count.start();
  s.bind(1, after_sequence);
  std::map<JobStatus, std::size_t> out;
  while (s.step())
    if (auto status = status_of(static_cast<int>(s.integer(0)), static_cast<int>(s.integer(1))))
      out[*status] += static_cast<std::size_t>(s.integer(2));
  s.done();
  return out;
}

SystemJob SqliteJobStore::find(std::string_view id_or_part) {
  const std::string key = text::lower(id_or_part);
  if (key.size() < 4)
    throw JobNotFound("'" + std::string(id_or_part) +
                      "' is too short to name a job: give its id or at least 4 characters of it");
  std::lock_guard lock(mutex_);
  auto& s = (key.size() == 36 ? statements_->find : statements_->find_part).start();
  s.bind(1, key);
  std::vector<SystemJob> found;
  while (s.step()) found.push_back(read_job(s));
  s.done();
  if (found.empty()) throw JobNotFound("no system job has the id " + std::string(id_or_part));
  if (found.size() > 1)
    throw JobNotFound("several system jobs have ids starting or ending with " +
                      std::string(id_or_part) +
                      "; give more of it, or its last 12 characters, which are random");
  return std::move(found.front());
}

void SqliteJobStore::list(const JobFilter& filter,
                          const std::function<void(const SystemJob&)>& each) {
  std::string sql =
      std::string("SELECT ") + job_columns_without_context + " FROM system_jobs WHERE 1 = 1";
  if (filter.status) sql += " AND state_code = ?1 AND status_code = ?2";
  // Any other status is in the state index, which leaves succeeded jobs out.
  if (filter.status && *filter.status != JobStatus::succeeded) sql += " AND status_code <> 30";
  if (!filter.step.empty()) sql += " AND step_name = ?3";
  if (!filter.entity.empty()) sql += " AND regarding_entity = ?4";
  if (filter.created_from) sql += " AND created_on >= ?6";
  if (filter.created_until) sql += " AND created_on < ?7";
  if (filter.after_sequence)
    sql += filter.newest_first ? " AND sequence < ?8" : " AND sequence > ?8";
  const char* order = filter.newest_first ? " DESC" : "";
  sql += filter.status ? std::string(" ORDER BY state_code") + order + ", sequence" + order
                       : std::string(" ORDER BY sequence") + order;
  if (filter.limit) sql += " LIMIT ?5";
  std::lock_guard lock(mutex_);
  Statement s(db_, sql);
  s.start();
  if (filter.status) {
    auto codes = codes_of(*filter.status);
    s.bind(1, static_cast<long long>(codes.state_code));
    s.bind(2, static_cast<long long>(codes.status_code));
  }
  if (!filter.step.empty()) s.bind(3, filter.step);
  if (!filter.entity.empty()) s.bind(4, filter.entity);
  if (filter.limit) s.bind(5, static_cast<long long>(filter.limit));
  if (filter.created_from) s.bind(6, to_iso8601(*filter.created_from));
  if (filter.created_until) s.bind(7, to_iso8601(*filter.created_until));
  if (filter.after_sequence) s.bind(8, filter.after_sequence);
  while (s.step()) each(read_job(s, false));
  s.done();
}

JobStatus SqliteJobStore::current_status(const Guid& id) {
  auto& s = statements_->status.start();
  s.bind(1, id.str());
  if (!s.step()) {
    s.done();
    throw JobNotFound("no system job has the id " + id.str());
  }
  auto status = status_of(static_cast<int>(s.integer(0)), static_cast<int>(s.integer(1)));
  s.done();
  if (!status) throw std::runtime_error("system job " + id.str() + " has unknown status codes");
  return *status;
}

namespace {

[[noreturn]] void refuse(const Guid& id, JobStatus current, std::string_view what) {
  throw JobRefused("system job " + id.str() + " is " + std::string(to_string(current)) + ": " +
                       std::string(what),
                   current);
}

void set_status(Statement& s, const Guid& id, JobStatus status,
                std::optional<DateTime> postpone_until, std::optional<DateTime> completed_on) {
  auto codes = codes_of(status);
  s.start().bind(1, id.str());
  s.bind(2, static_cast<long long>(codes.state_code));
  s.bind(3, static_cast<long long>(codes.status_code));
  if (postpone_until) s.bind(4, to_iso8601(*postpone_until));
  if (completed_on) s.bind(5, to_iso8601(*completed_on));
  s.step();
  s.done();
}

}  // namespace

JobStatus SqliteJobStore::cancel(const Guid& id, DateTime now) {
  std::lock_guard lock(mutex_);
  WriteTransaction transaction(*this);
  auto current = current_status(id);
  JobStatus next;
  switch (current) {
    case JobStatus::ready:
    case JobStatus::waiting:
      next = JobStatus::canceled;
      set_status(statements_->set_status, id, next, std::nullopt, now);
      break;
    case JobStatus::in_progress:
    case JobStatus::pausing:
      next = JobStatus::canceling;
      set_status(statements_->set_status, id, next, std::nullopt, std::nullopt);
      break;
    case JobStatus::canceling:
      refuse(id, current, "it is already being canceled");
    default:
      refuse(id, current, "a completed job cannot be canceled");
  }
  transaction.commit();
  return next;
}

JobStatus SqliteJobStore::resume(const Guid& id) {
  std::lock_guard lock(mutex_);
  WriteTransaction transaction(*this);
  auto current = current_status(id);
  if (current != JobStatus::waiting) refuse(id, current, "only a waiting job can be resumed");
  set_status(statements_->set_status, id, JobStatus::ready, std::nullopt, std::nullopt);
  transaction.commit();
  return JobStatus::ready;
}

JobStatus SqliteJobStore::retry(const Guid& id) {
  std::lock_guard lock(mutex_);
  WriteTransaction transaction(*this);
  auto current = current_status(id);
  if (current != JobStatus::failed && current != JobStatus::canceled)
    refuse(id, current,
           current == JobStatus::succeeded
               ? "it succeeded, and retrying would run it a second time"
               : "only a failed or canceled job can be retried (resume a waiting one)");
  auto& s = statements_->requeue.start();
  s.bind(1, id.str());
  s.step();
  s.done();
  transaction.commit();
  return JobStatus::ready;
}

JobStatus SqliteJobStore::postpone(const Guid& id, DateTime until) {
  std::lock_guard lock(mutex_);
  WriteTransaction transaction(*this);
  auto current = current_status(id);
  if (current != JobStatus::ready && current != JobStatus::waiting)
    refuse(id, current, "only a ready or waiting job can be postponed");
  set_status(statements_->set_status, id, JobStatus::waiting, until, std::nullopt);
  transaction.commit();
  return JobStatus::waiting;
}

std::size_t SqliteJobStore::purge(JobStatus status, DateTime before) {
  if (!is_completed(status))
    throw std::invalid_argument("only succeeded, failed or canceled jobs can be purged");
  std::size_t removed = 0;
  for (;;) {
    std::lock_guard lock(mutex_);
    GateTurn turn(*gate_, job_write_wait, file_);
    auto& s = (status == JobStatus::succeeded ? statements_->purge_succeeded : statements_->purge)
                  .start();
    s.bind(1, static_cast<long long>(codes_of(status).status_code)).bind(2, iso(before));
    s.step();
    s.done();
    auto n = static_cast<std::size_t>(sqlite3_changes(db_));
    removed += n;
    if (n == 0) break;
  }
  return removed;
}

}  // namespace stepline::host::store
