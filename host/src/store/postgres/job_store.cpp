#include "job_store.hpp"

#include <libpq-fe.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include <stepline/host/log.hpp>
#include <stepline/text.hpp>
#include <stepline/thread_name.hpp>

#include "job_row.hpp"
#include "migrate.hpp"

namespace stepline::host::store::pg {
namespace {

using store::CrashedJob;
using store::JobFilter;
using store::JobNotFound;
using store::JobRefused;
using store::JobResult;
using store::JobStatus;
using store::status_of;

// A job with an ordering key waits for every earlier unfinished job with the same key and
// endpoint (system_jobs_ordered holds only the unfinished ones). Whether that earlier job is
// held by another host's take at this moment does not matter: it is unfinished either way.
constexpr const char* in_order =
    "(j.ordering_key IS NULL OR NOT EXISTS (SELECT 1 FROM system_jobs o WHERE o.ordering_key = "
    "j.ordering_key AND o.sequence < j.sequence AND o.state_code <> 3 AND o.endpoint IS NOT "
    "DISTINCT FROM j.endpoint))";

std::string due_ready(bool with_endpoints) {
  return std::string("SELECT j.sequence FROM system_jobs j WHERE j.state_code = 0") +
         (with_endpoints ? "" : " AND j.endpoint IS NULL") + " AND " + in_order;
}

std::string due_waiting(bool with_endpoints, const char* now) {
  return std::string(
             "SELECT j.sequence FROM system_jobs j WHERE j.state_code = 1 AND j.status_code = 10 "
             "AND j.postpone_until <= ") +
         now + (with_endpoints ? "" : " AND j.endpoint IS NULL") + " AND " + in_order;
}

// Jobs locked by another host's take are passed over (SKIP LOCKED), so hosts taking at once
// take different jobs instead of queuing behind each other.
Statement take_statement(bool with_endpoints) {
  return {with_endpoints ? "take_all" : "take_plugins",
          "WITH ready AS (" + due_ready(with_endpoints) +
              " ORDER BY j.sequence LIMIT $4::bigint FOR UPDATE SKIP LOCKED), waiting AS (" +
              due_waiting(with_endpoints, "$3::timestamptz") +
              " ORDER BY j.postpone_until LIMIT $4::bigint FOR UPDATE SKIP LOCKED), taken AS "
              "(UPDATE system_jobs s SET state_code = 2, status_code = 20, lease_owner = $1, "
              "lease_until = $2::timestamptz, started_on = $3::timestamptz WHERE s.sequence IN "
              "(SELECT sequence FROM ready UNION ALL SELECT sequence FROM waiting) RETURNING s.*) "
              "SELECT " +
              job_columns() +
              " FROM taken j LEFT JOIN system_job_contexts c ON c.sequence = j.sequence ORDER BY "
              "j.sequence"};
}

Statement has_due_statement(bool with_endpoints) {
  return {with_endpoints ? "has_due_all" : "has_due_plugins",
          "SELECT EXISTS (" + due_ready(with_endpoints) + ") OR EXISTS (" +
              due_waiting(with_endpoints, "$1::timestamptz") + ")"};
}

const Statement take_all = take_statement(true);
const Statement take_plugins = take_statement(false);
const Statement has_due_all = has_due_statement(true);
const Statement has_due_plugins = has_due_statement(false);

// Every right-hand side sees the row as it was, so status_code = 22 means the job was canceled
// while this attempt ran.
const Statement finish_job{
    "finish_job",
    "UPDATE system_jobs SET "
    "state_code = CASE WHEN status_code = 22 AND $2::integer < 3 THEN 3 ELSE $2::integer END, "
    "status_code = CASE WHEN status_code = 22 AND $2::integer < 3 THEN 32 ELSE $3::integer END, "
    "completed_on = CASE WHEN $2::integer = 3 OR status_code = 22 THEN $12::timestamptz ELSE "
    "NULL END, "
    "postpone_until = CASE WHEN status_code = 22 THEN NULL ELSE $5::timestamptz END, "
    "retry_count = $4::integer, error_code = $6::integer, message_text = $7, friendly_message = "
    "$8, execution_time_ms = $9::bigint, trace = $10, lease_owner = NULL, lease_until = NULL "
    "WHERE id = $1::uuid AND lease_owner = $11 AND state_code = 2 "
    "RETURNING state_code, status_code, ordering_key IS NOT NULL"};
const Statement remove_job{
    "remove_job",
    "WITH gone AS (DELETE FROM system_jobs WHERE id = $1::uuid AND lease_owner = $2 AND "
    "state_code = 2 RETURNING sequence, ordering_key IS NOT NULL AS ordered), contexts AS (DELETE "
    "FROM system_job_contexts WHERE sequence IN (SELECT sequence FROM gone)) SELECT ordered FROM "
    "gone"};
const Statement renew_leases{
    "renew_leases",
    "UPDATE system_jobs SET lease_until = $2::timestamptz WHERE state_code = 2 AND lease_owner = "
    "$1"};
// Hands back held jobs: Ready again, or Canceled when an operator canceled them meanwhile.
constexpr const char* release_set =
    "state_code = CASE WHEN status_code = 22 THEN 3 ELSE 0 END, status_code = CASE WHEN "
    "status_code = 22 THEN 32 ELSE 0 END, lease_owner = NULL, lease_until = NULL";
const Statement release_owner{"release_owner", std::string("UPDATE system_jobs SET ") +
                                                   release_set +
                                                   " WHERE state_code = 2 AND lease_owner = $1"};
const Statement release_expired{"release_expired",
                                std::string("UPDATE system_jobs SET ") + release_set +
                                    " WHERE state_code = 2 AND lease_until < $1::timestamptz"};
const Statement lease_owners{
    "lease_owners",
    "SELECT DISTINCT lease_owner FROM system_jobs WHERE state_code = 2 AND lease_owner IS NOT "
    "NULL"};
const Statement count_crash{
    "count_crash",
    "UPDATE system_jobs SET crash_count = crash_count + 1 WHERE id = $1::uuid AND state_code <> "
    "3 RETURNING crash_count, step_name"};
const Statement fail_crashed{
    "fail_crashed",
    "UPDATE system_jobs SET state_code = 3, status_code = 31, completed_on = $2::timestamptz, "
    "error_code = $3::integer, message_text = $4, friendly_message = $5, postpone_until = NULL, "
    "lease_owner = NULL, lease_until = NULL WHERE id = $1::uuid"};
const Statement max_sequence{"max_sequence", "SELECT COALESCE(MAX(sequence), 0) FROM system_jobs"};
const Statement unfinished{
    "unfinished_after",
    "SELECT EXISTS (SELECT 1 FROM system_jobs WHERE state_code <> 3 AND sequence > $1::bigint AND "
    "($2::boolean OR endpoint IS NULL))"};
const Statement count_jobs{
    "count_jobs",
    "SELECT state_code, status_code, count(*) FROM system_jobs WHERE sequence > $1::bigint GROUP "
    "BY state_code, status_code"};
const Statement find_job{"find_job",
                         "SELECT " + job_columns() + job_tables + " WHERE j.id = $1::uuid"};
// Reads every id: an operator's look-up by a part of an id, not the service's.
const Statement find_part{"find_part", "SELECT " + job_columns() + job_tables +
                                           " WHERE j.id::text LIKE $1 || '%' OR j.id::text LIKE "
                                           "'%' || $1 LIMIT 2"};
const Statement lock_status{
    "lock_status",
    "SELECT state_code, status_code FROM system_jobs WHERE id = $1::uuid FOR UPDATE"};
const Statement set_status{
    "set_status",
    "UPDATE system_jobs SET state_code = $2::integer, status_code = $3::integer, postpone_until = "
    "$4::timestamptz, completed_on = $5::timestamptz WHERE id = $1::uuid"};
const Statement requeue{
    "requeue",
    "UPDATE system_jobs SET state_code = 0, status_code = 0, retry_count = 0, crash_count = 0, "
    "postpone_until = NULL, error_code = NULL, message_text = NULL, friendly_message = NULL, "
    "completed_on = NULL, execution_time_ms = NULL, trace = NULL WHERE id = $1::uuid"};
const Statement purge_jobs{
    "purge_jobs",
    "WITH doomed AS (SELECT sequence FROM system_jobs WHERE state_code = 3 AND status_code = "
    "$1::integer AND completed_on < $2::timestamptz LIMIT 5000 FOR UPDATE SKIP LOCKED), gone AS "
    "(DELETE FROM system_jobs WHERE sequence IN (SELECT sequence FROM doomed) RETURNING "
    "sequence), contexts AS (DELETE FROM system_job_contexts WHERE sequence IN (SELECT sequence "
    "FROM gone)) SELECT count(*) FROM gone"};

/// Listings are read this many rows at a time.
constexpr long long list_chunk = 1000;

[[noreturn]] void refuse(const Guid& id, JobStatus current, std::string_view what) {
  throw JobRefused("system job " + id.str() + " is " + std::string(to_string(current)) + ": " +
                       std::string(what),
                   current);
}

Params status_params(const Guid& id, JobStatus status, std::optional<DateTime> postpone_until,
                     std::optional<DateTime> completed_on) {
  auto codes = codes_of(status);
  Params p;
  p.add(id).add(codes.state_code).add(codes.status_code).add(postpone_until).add(completed_on);
  return p;
}

/// Listens for announcements on a connection of its own and calls back for each; after a lost
/// connection it connects again (backing off to 5 s) and calls back once, since jobs may have
/// been announced meanwhile.
class Announcements final : public store::JobStore::Companion {
 public:
  Announcements(const Pool& pool, std::function<void()> announced)
      : pool_(pool), announced_(std::move(announced)), stop_(::eventfd(0, EFD_CLOEXEC)) {
    if (stop_ < 0) throw std::runtime_error("cannot create an eventfd");
    connection_ = listen();  // a store that cannot be listened to is reported at start
    thread_ = std::thread([this] {
      name_this_thread("sl-pg-listen");
      run();
    });
  }
  ~Announcements() override {
    std::uint64_t one = 1;
    [[maybe_unused]] auto written = ::write(stop_, &one, sizeof one);
    thread_.join();
    ::close(stop_);
  }

 private:
  std::unique_ptr<Connection> listen() {
    auto c = pool_.connect(false);
    c->run_script(std::string("LISTEN ") + announce_channel);
    return c;
  }

  void run() {
    auto backoff = std::chrono::milliseconds(100);
    for (;;) {
      if (!connection_) {
        if (wait(-1, backoff)) return;
        try {
          connection_ = listen();
          backoff = std::chrono::milliseconds(100);
          log::info("async service: listening for jobs again on {}", pool_.store());
          announced_();
        } catch (const std::exception& e) {
          log::debug("async service: cannot listen for jobs yet: {}", e.what());
          backoff = std::min<std::chrono::milliseconds>(backoff * 2, std::chrono::seconds(5));
        }
        continue;
      }
      PGconn* conn = connection_->native();
      if (wait(PQsocket(conn), std::chrono::milliseconds(-1))) return;
      bool any = false;
      if (PQconsumeInput(conn) == 1) {
        while (PGnotify* n = PQnotifies(conn)) {
          any = true;
          PQfreemem(n);
        }
      }
      if (any) announced_();
      if (!connection_->usable()) {
        log::warn(
            "async service: the connection that listens for jobs on {} was lost; "
            "connecting again",
            pool_.store());
        connection_.reset();
      }
    }
  }

  /// Waits until `socket` is readable (or `timeout` passes, when no socket); true when stopping.
  bool wait(int socket, std::chrono::milliseconds timeout) {
    pollfd fds[2] = {{stop_, POLLIN, 0}, {socket, POLLIN, 0}};
    const int n = socket >= 0 ? 2 : 1;
    int ready = ::poll(fds, n, socket >= 0 ? -1 : static_cast<int>(timeout.count()));
    return ready > 0 && (fds[0].revents & POLLIN);
  }

  const Pool& pool_;
  std::function<void()> announced_;
  int stop_;
  std::unique_ptr<Connection> connection_;
  std::thread thread_;
};

}  // namespace

PostgresJobStore::PostgresJobStore(const Location& where, Durability durability)
    : location_(where),
      durability_(durability),
      pool_(where.url, "job store " + where.describe(), where.setting, durability, 16) {
  auto connection = pool_.connect(false);
  bring_up_to_date(*connection);
}

PostgresJobStore::~PostgresJobStore() = default;

Result PostgresJobStore::run(const Statement& statement, const Params& params) {
  auto c = pool_.take();
  c->queue(statement, params);
  return std::move(c->sync().back());
}

std::vector<SystemJob> PostgresJobStore::take(std::string_view owner, DateTime now,
                                              DateTime lease_until, std::size_t limit,
                                              bool with_endpoints) {
  auto r = run(with_endpoints ? take_all : take_plugins,
               Params().add(owner).add(lease_until).add(now).add(static_cast<long long>(limit)));
  std::vector<SystemJob> jobs;
  jobs.reserve(static_cast<std::size_t>(r.rows()));
  for (int row = 0; row < r.rows(); ++row) jobs.push_back(read_job(r, row));
  return jobs;
}

bool PostgresJobStore::has_due(DateTime now, bool with_endpoints) {
  auto r = run(with_endpoints ? has_due_all : has_due_plugins, Params().add(now));
  return r.boolean(0, 0);
}

std::vector<std::optional<JobStatus>> PostgresJobStore::finish(std::span<const JobResult> results,
                                                               std::string_view owner,
                                                               DateTime now) {
  std::vector<std::optional<JobStatus>> written(results.size());
  if (results.empty()) return written;
  auto c = pool_.take();
  c->queue("BEGIN");
  for (const auto& r : results) {
    if (r.remove) {
      c->queue(remove_job, Params().add(r.id).add(owner));
      continue;
    }
    auto codes = codes_of(r.status);
    Params p;
    p.add(r.id).add(codes.state_code).add(codes.status_code).add(r.retry_count);
    p.add(r.postpone_until).add(r.error_code).text_or_null(r.message);
    p.text_or_null(r.friendly_message).add(r.execution_time_ms).text_or_null(r.trace);
    p.add(owner).add(now);
    c->queue(finish_job, p);
  }
  c->queue("COMMIT");
  auto rows = c->sync();
  // A job that another one of its record waited for is done, or one is Ready again: other
  // hosts may take what became due.
  bool announce = false;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& r = rows[i + 1];
    if (r.rows() == 0) continue;
    if (results[i].remove) {
      written[i] = JobStatus::succeeded;
      announce = announce || r.boolean(0, 0);
      continue;
    }
    written[i] = status_of(static_cast<int>(r.integer(0, 0)), static_cast<int>(r.integer(0, 1)));
    announce = announce || *written[i] == JobStatus::ready ||
               (r.boolean(0, 2) && written[i] && is_completed(*written[i]));
  }
  if (announce) {
    c->queue(announce_sql);
    c->sync();
  }
  return written;
}

std::size_t PostgresJobStore::renew(std::string_view owner, DateTime lease_until) {
  return static_cast<std::size_t>(
      run(renew_leases, Params().add(owner).add(lease_until)).affected());
}

std::size_t PostgresJobStore::release(std::string_view owner) {
  auto c = pool_.take();
  c->queue(release_owner, Params().add(owner));
  c->queue(announce_sql);
  return static_cast<std::size_t>(c->sync().front().affected());
}

std::size_t PostgresJobStore::recover(
    DateTime now, const std::function<bool(std::string_view owner)>& owner_gone) {
  std::size_t recovered = 0;
  auto owners = run(lease_owners, {});
  for (int row = 0; row < owners.rows(); ++row) {
    std::string owner(owners.text(row, 0));
    if (owner_gone && owner_gone(owner)) recovered += release(owner);
  }
  auto c = pool_.take();
  c->queue(release_expired, Params().add(now));
  const auto expired = static_cast<std::size_t>(c->sync().front().affected());
  if (expired) {
    c->queue(announce_sql);
    c->sync();
  }
  return recovered + expired;
}

std::vector<CrashedJob> PostgresJobStore::count_crashes(std::span<const Guid> ids, int limit,
                                                        DateTime now) {
  std::vector<CrashedJob> counted;
  if (ids.empty()) return counted;
  auto c = pool_.take();
  c->queue("BEGIN");
  for (const auto& id : ids) c->queue(count_crash, Params().add(id));
  auto rows = c->sync();
  try {
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const auto& r = rows[i + 1];
      if (r.rows() == 0) continue;  // completed meanwhile, or gone
      CrashedJob job{ids[i], std::string(r.text(0, 1)), static_cast<int>(r.integer(0, 0))};
      if (job.crash_count >= limit) {
        const auto count = std::to_string(job.crash_count);
        c->queue(fail_crashed,
                 Params()
                     .add(ids[i])
                     .add(now)
                     .add(store::job_error::plugin_lost)
                     .add("the host died while running this step: " + count +
                          " attempts never returned (host.async_crash_limit " +
                          std::to_string(limit) + ")")
                     .add("The host died while running this step (" + count +
                          " times): its plug-in takes the process down. Register step '" +
                          job.step_name +
                          "' with `isolation: process`, so that a crash fails only the step, "
                          "then run `stepline jobs retry " +
                          ids[i].str() + "`"));
        job.failed = true;
      }
      counted.push_back(std::move(job));
    }
    c->queue("COMMIT");
    c->sync();
  } catch (...) {
    try {
      c->queue("ROLLBACK");
      c->sync();
    } catch (...) {
      // The connection failed: the server rolled back.
    }
    throw;
  }
  return counted;
}

long long PostgresJobStore::last_sequence() {
  return run(max_sequence, {}).integer(0, 0);
}

bool PostgresJobStore::unfinished_after(long long sequence, bool with_endpoints) {
  return run(unfinished, Params().add(sequence).add(with_endpoints)).boolean(0, 0);
}

std::map<JobStatus, std::size_t> PostgresJobStore::count(long long after_sequence) {
  auto r = run(count_jobs, Params().add(after_sequence));
  std::map<JobStatus, std::size_t> out;
  for (int row = 0; row < r.rows(); ++row)
    if (auto status =
            status_of(static_cast<int>(r.integer(row, 0)), static_cast<int>(r.integer(row, 1))))
      out[*status] += static_cast<std::size_t>(r.integer(row, 2));
  return out;
}

std::unique_ptr<store::JobStore::Companion> PostgresJobStore::accompany(
    std::function<void()> jobs_queued) {
  return std::make_unique<Announcements>(pool_, std::move(jobs_queued));
}

SystemJob PostgresJobStore::find(std::string_view id_or_part) {
  const std::string key = text::lower(id_or_part);
  if (key.size() < 4)
    throw JobNotFound("'" + std::string(id_or_part) +
                      "' is too short to name a job: give its id or at least 4 characters of it");
  // Only what a job id is made of: anything else names no job (and is no LIKE pattern).
  if (key.find_first_not_of("0123456789abcdef-") != std::string::npos)
    throw JobNotFound("no system job has the id " + std::string(id_or_part));
  auto r = key.size() == 36 && Guid::try_parse(key) ? run(find_job, Params().add(key))
                                                    : run(find_part, Params().add(key));
  if (r.rows() == 0) throw JobNotFound("no system job has the id " + std::string(id_or_part));
  if (r.rows() > 1)
    throw JobNotFound("several system jobs have ids starting or ending with " +
                      std::string(id_or_part) +
                      "; give more of it, or its last 12 characters, which are random");
  return read_job(r, 0);
}

void PostgresJobStore::list(const JobFilter& filter,
                            const std::function<void(const SystemJob&)>& each) {
  // $1 is where the previous chunk ended (0: from the first, or the newest).
  const char* order = filter.newest_first ? " DESC" : "";
  std::string sql = "SELECT " + job_columns(false) + job_tables + " WHERE ($1::bigint = 0 OR " +
                    (filter.newest_first ? "j.sequence < $1::bigint)" : "j.sequence > $1::bigint)");
  Params base;
  int next = 2;
  auto param = [&] { return "$" + std::to_string(next++); };
  if (filter.status) {
    auto codes = codes_of(*filter.status);
    sql += " AND j.state_code = " + param() + "::integer";
    sql += " AND j.status_code = " + param() + "::integer";
    base.add(codes.state_code).add(codes.status_code);
  }
  if (!filter.step.empty()) {
    sql += " AND j.step_name = " + param();
    base.add(filter.step);
  }
  if (!filter.entity.empty()) {
    sql += " AND j.regarding_entity = " + param();
    base.add(filter.entity);
  }
  if (filter.created_from) {
    sql += " AND j.created_on >= " + param() + "::timestamptz";
    base.add(*filter.created_from);
  }
  if (filter.created_until) {
    sql += " AND j.created_on < " + param() + "::timestamptz";
    base.add(*filter.created_until);
  }
  sql += std::string(" ORDER BY j.sequence") + order + " LIMIT " + param() + "::bigint";
  // A chunk at a time, so a million jobs never sit in memory at once.
  std::size_t listed = 0;
  long long after = filter.after_sequence;
  auto c = pool_.take();
  for (;;) {
    long long chunk = list_chunk;
    if (filter.limit)
      chunk = std::min<long long>(chunk, static_cast<long long>(filter.limit - listed));
    if (chunk <= 0) return;
    Params p;
    p.add(after);
    for (const auto& v : base.values()) p.add(*v);
    p.add(chunk);
    c->queue_once(sql, p);
    auto r = std::move(c->sync().back());
    for (int row = 0; row < r.rows(); ++row) {
      auto job = read_job(r, row, false);
      after = job.sequence;
      each(job);
      ++listed;
    }
    if (r.rows() < chunk) return;
  }
}

JobStatus PostgresJobStore::change(const Guid& id,
                                   const std::function<JobStatus(Connection&, JobStatus)>& apply) {
  auto c = pool_.take();
  c->queue("BEGIN");
  c->queue(lock_status, Params().add(id));
  try {
    auto rows = c->sync();
    const auto& r = rows.back();
    if (r.rows() == 0) throw JobNotFound("no system job has the id " + id.str());
    auto current = status_of(static_cast<int>(r.integer(0, 0)), static_cast<int>(r.integer(0, 1)));
    if (!current) throw std::runtime_error("system job " + id.str() + " has unknown status codes");
    JobStatus next = apply(*c, *current);
    if (next == JobStatus::ready) c->queue(announce_sql);
    c->queue("COMMIT");
    c->sync();
    return next;
  } catch (...) {
    try {
      c->queue("ROLLBACK");
      c->sync();
    } catch (...) {
      // The connection failed: the server rolled back.
    }
    throw;
  }
}

JobStatus PostgresJobStore::cancel(const Guid& id, DateTime now) {
  return change(id, [&](Connection& c, JobStatus current) {
    switch (current) {
      case JobStatus::ready:
      case JobStatus::waiting:
        c.queue(set_status, status_params(id, JobStatus::canceled, std::nullopt, now));
        return JobStatus::canceled;
      case JobStatus::in_progress:
      case JobStatus::pausing:
        c.queue(set_status, status_params(id, JobStatus::canceling, std::nullopt, std::nullopt));
        return JobStatus::canceling;
      case JobStatus::canceling:
        refuse(id, current, "it is already being canceled");
      default:
        refuse(id, current, "a completed job cannot be canceled");
    }
  });
}

JobStatus PostgresJobStore::resume(const Guid& id) {
  return change(id, [&](Connection& c, JobStatus current) {
    if (current != JobStatus::waiting) refuse(id, current, "only a waiting job can be resumed");
    c.queue(set_status, status_params(id, JobStatus::ready, std::nullopt, std::nullopt));
    return JobStatus::ready;
  });
}

JobStatus PostgresJobStore::retry(const Guid& id) {
  return change(id, [&](Connection& c, JobStatus current) {
    if (current != JobStatus::failed && current != JobStatus::canceled)
      refuse(id, current,
             current == JobStatus::succeeded
                 ? "it succeeded, and retrying would run it a second time"
                 : "only a failed or canceled job can be retried (resume a waiting one)");
    c.queue(requeue, Params().add(id));
    return JobStatus::ready;
  });
}

JobStatus PostgresJobStore::postpone(const Guid& id, DateTime until) {
  return change(id, [&](Connection& c, JobStatus current) {
    if (current != JobStatus::ready && current != JobStatus::waiting)
      refuse(id, current, "only a ready or waiting job can be postponed");
    c.queue(set_status, status_params(id, JobStatus::waiting, until, std::nullopt));
    return JobStatus::waiting;
  });
}

std::size_t PostgresJobStore::purge(JobStatus status, DateTime before) {
  if (!is_completed(status))
    throw std::invalid_argument("only succeeded, failed or canceled jobs can be purged");
  std::size_t removed = 0;
  for (;;) {
    auto n = static_cast<std::size_t>(
        run(purge_jobs, Params().add(codes_of(status).status_code).add(before)).integer(0, 0));
    removed += n;
    if (n == 0) return removed;
  }
}

}  // namespace stepline::host::store::pg
