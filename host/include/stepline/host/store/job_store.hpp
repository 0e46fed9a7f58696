// The system jobs seen from the async service and the operator: taking due jobs under a lease,
// writing back what their attempts came to (many in one transaction), handing back the jobs of a
// process that stopped or died, and the operator's commands (list, show, cancel, resume, retry,
// postpone, purge). store::open_jobs() opens the implementation of the registration's store; it
// has connections of its own to the record store's database, so job bookkeeping never waits on
// the pipeline's operations, only on the database.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <stepline/host/store/job_status.hpp>
#include <stepline/host/store/record_store.hpp>

namespace stepline::host::store {

/// What an attempt came to, written back by JobStore::finish.
struct JobResult {
  Guid id;
  /// The job's sequence (SystemJob::sequence) when known, 0 when not: a store may find the job's
  /// row by it, and checks the id all the same.
  long long sequence = 0;
  /// succeeded, failed, waiting (a retry at postpone_until), or ready (handed back without an
  /// attempt, e.g. on shutdown).
  JobStatus status = JobStatus::succeeded;
  int retry_count = 0;
  std::optional<DateTime> postpone_until;
  std::optional<int> error_code;
  std::string message;           ///< technical detail (condition, description, trace id)
  std::string friendly_message;  ///< what happened and what to do, in one or two sentences
  std::optional<long long> execution_time_ms;
  std::string trace;    ///< the plug-in's trace lines, one per line
  bool remove = false;  ///< delete the row instead (a succeeded job of an auto_delete step)
};

/// A job one of whose attempts never returned: the host process died while it ran.
struct CrashedJob {
  Guid id;
  std::string step_name;
  int crash_count = 0;  ///< with this one
  bool failed = false;  ///< it reached the limit and is Failed now
};

struct JobFilter {
  std::optional<JobStatus> status;
  std::string step;                       ///< step name; empty = any
  std::string entity;                     ///< regarding entity; empty = any
  std::size_t limit = 100;                ///< 0 = no limit
  std::optional<DateTime> created_from;   ///< created at or after; nullopt = any
  std::optional<DateTime> created_until;  ///< created before; nullopt = any
  bool newest_first = false;
  /// Where the previous page ended: only jobs created after the job with this sequence (before
  /// it when newest_first); 0 = from the first (or the newest).
  long long after_sequence = 0;
};

/// An operator's request could not be applied to the job in its current status.
class JobRefused : public std::runtime_error {
 public:
  JobRefused(const std::string& message, JobStatus status)
      : std::runtime_error(message), status_(status) {}
  JobStatus status() const noexcept { return status_; }

 private:
  JobStatus status_;
};

/// No job has that id (or an id prefix matches several jobs).
class JobNotFound : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class JobStore {
 public:
  virtual ~JobStore() = default;
  JobStore(const JobStore&) = delete;
  JobStore& operator=(const JobStore&) = delete;

  // --- the async service ------------------------------------------------------------------

  /// Atomically moves up to `limit` due jobs (Ready, or Waiting whose postpone_until has passed)
  /// to In progress under `owner`'s lease until `lease_until`, and returns them in creation
  /// order. A job with an ordering key is due only when no earlier job with the same key and
  /// endpoint is unfinished, so at most one per key is ever in flight. Without `with_endpoints`
  /// only plug-in jobs are taken.
  virtual std::vector<SystemJob> take(std::string_view owner, DateTime now, DateTime lease_until,
                                      std::size_t limit, bool with_endpoints) = 0;
  /// A cheap read-only check whether take() would find anything.
  virtual bool has_due(DateTime now, bool with_endpoints) = 0;
  /// Writes the results in one transaction. Only jobs `owner` still holds are changed (a job
  /// whose lease was lost is left to its new holder). A job canceled while in progress becomes
  /// Canceled unless the attempt succeeded or failed for good. Returns, for each result, the
  /// status written, or nullopt where the job was no longer held.
  virtual std::vector<std::optional<JobStatus>> finish(std::span<const JobResult> results,
                                                       std::string_view owner, DateTime now) = 0;
  /// Extends the lease of every job `owner` holds.
  virtual std::size_t renew(std::string_view owner, DateTime lease_until) = 0;
  /// Hands back every job `owner` holds: Ready again (Canceled if it was being canceled).
  virtual std::size_t release(std::string_view owner) = 0;
  /// Hands back jobs whose lease expired before `now`, and all jobs of owners for which
  /// `owner_gone` is true (a process known to be dead). Returns how many.
  virtual std::size_t recover(DateTime now,
                              const std::function<bool(std::string_view owner)>& owner_gone) = 0;
  /// Counts an attempt that never returned for each job of `ids` not completed yet, and fails
  /// those whose count reaches `limit` with "the host died while running this step". One
  /// transaction; returns the jobs counted.
  virtual std::vector<CrashedJob> count_crashes(std::span<const Guid> ids, int limit,
                                                DateTime now) = 0;

  /// The highest sequence written so far (0 for none): jobs created later have a higher one.
  virtual long long last_sequence() = 0;
  /// True while any job created after `sequence` is not completed (only plug-in jobs are
  /// looked at without `with_endpoints`).
  virtual bool unfinished_after(long long sequence, bool with_endpoints = true) = 0;
  /// Jobs by status, only those created after `sequence`.
  virtual std::map<JobStatus, std::size_t> count(long long after_sequence = 0) = 0;

  /// What runs beside a service working on this store, for as long as it lives.
  class Companion {
   public:
    virtual ~Companion() = default;
  };
  /// Starts the store's own work beside an async service (SQLite checkpoints its write-ahead
  /// log from a thread of its own); when the store announces jobs queued by other processes
  /// (announces_jobs()), `jobs_queued` is called from a thread of the companion for each
  /// announcement. Null when there is nothing to run.
  virtual std::unique_ptr<Companion> accompany(std::function<void()> jobs_queued) = 0;
  /// True when jobs made due by other processes are announced through accompany()'s callback:
  /// idle workers then wait for the announcement instead of polling for them.
  virtual bool announces_jobs() const noexcept = 0;

  // --- the operator -----------------------------------------------------------------------

  /// The job with this id, or the only one whose id starts or ends with it (at least 4
  /// characters; a time-ordered id's start is its creation time, shared by the jobs of the same
  /// minute, and its end is random). Throws JobNotFound when none or several match.
  virtual SystemJob find(std::string_view id_or_part) = 0;
  /// Jobs matching the filter in creation order (or newest first), one at a time and without
  /// their contexts (the listing never holds more than one row in memory).
  virtual void list(const JobFilter& filter, const std::function<void(const SystemJob&)>& each) = 0;

  /// Ready or Waiting → Canceled; In progress → Canceling (the worker stops after its attempt).
  /// Returns the new status. Throws JobNotFound, or JobRefused for a completed job.
  virtual JobStatus cancel(const Guid& id, DateTime now) = 0;
  /// Waiting → Ready now. Throws JobRefused in any other status.
  virtual JobStatus resume(const Guid& id) = 0;
  /// Failed or Canceled → Ready with the retry and crash counts and the error cleared. Throws
  /// JobRefused otherwise (a succeeded job is never run twice by accident).
  virtual JobStatus retry(const Guid& id) = 0;
  /// Ready or Waiting → Waiting until `until`. Throws JobRefused otherwise.
  virtual JobStatus postpone(const Guid& id, DateTime until) = 0;
  /// Deletes completed jobs of status `status` completed before `before`, in chunks so a
  /// running service is never held up for long. Returns how many.
  virtual std::size_t purge(JobStatus status, DateTime before) = 0;

  /// Where the store is (store/store.hpp).
  virtual const Location& location() const noexcept = 0;
  /// What its commits survive.
  virtual Durability durability() const noexcept = 0;
  /// Requests to a database server that waited for its answer, so far (0 for SQLite).
  virtual std::uint64_t round_trips() const { return 0; }

 protected:
  JobStore() = default;
};

}  // namespace stepline::host::store
