// The system_jobs table seen from the async service and the operator: taking due jobs under a
// lease, writing back what their attempts came to (many in one transaction), handing back the
// jobs of a process that stopped or died, and the operator's commands (list, show, cancel,
// resume, retry, postpone, purge). It has its own connection to the record store's database
// (WAL), so job bookkeeping never waits on the pipeline's lock, only on SQLite's write lock.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <stepline/host/store/job_status.hpp>
#include <stepline/host/store/record_store.hpp>

struct sqlite3;

namespace stepline::host::store {

class WriteGate;

/// What an attempt came to, written back by JobStore::finish.
struct JobResult {
  Guid id;
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
  /// Opens the database (creating it and bringing its schema up to date like RecordStore).
  /// Throws std::runtime_error naming the file.
  explicit JobStore(const std::filesystem::path& database,
                    Durability durability = Durability::normal);
  ~JobStore();
  JobStore(const JobStore&) = delete;
  JobStore& operator=(const JobStore&) = delete;

  // --- the async service ------------------------------------------------------------------

  /// Atomically moves up to `limit` due jobs (Ready, or Waiting whose postpone_until has passed)
  /// to In progress under `owner`'s lease until `lease_until`, and returns them in creation
  /// order. A job with an ordering key is due only when no earlier job with the same key and
  /// endpoint is unfinished, so at most one per key is ever in flight. Without `with_endpoints`
  /// only plug-in jobs are taken.
  std::vector<SystemJob> take(std::string_view owner, DateTime now, DateTime lease_until,
                              std::size_t limit, bool with_endpoints);
  /// A cheap read-only check whether take() would find anything.
  bool has_due(DateTime now, bool with_endpoints);
  /// Writes the results in one transaction. Only jobs `owner` still holds are changed (a job
  /// whose lease was lost is left to its new holder). A job canceled while in progress becomes
  /// Canceled unless the attempt succeeded or failed for good. Returns, for each result, the
  /// status written, or nullopt where the job was no longer held.
  std::vector<std::optional<JobStatus>> finish(std::span<const JobResult> results,
                                               std::string_view owner, DateTime now);
  /// Extends the lease of every job `owner` holds.
  std::size_t renew(std::string_view owner, DateTime lease_until);
  /// Hands back every job `owner` holds: Ready again (Canceled if it was being canceled).
  std::size_t release(std::string_view owner);
  /// Hands back jobs whose lease expired before `now`, and all jobs of owners for which
  /// `owner_gone` is true (a process known to be dead). Returns how many.
  std::size_t recover(DateTime now, const std::function<bool(std::string_view owner)>& owner_gone);
  /// Counts an attempt that never returned for each job of `ids` not completed yet, and fails
  /// those whose count reaches `limit` with "the host died while running this step". One
  /// transaction; returns the jobs counted.
  std::vector<CrashedJob> count_crashes(std::span<const Guid> ids, int limit, DateTime now);

  /// The highest sequence written so far (0 for none): jobs created later have a higher one.
  long long last_sequence();
  /// True while any job created after `sequence` is not completed (only plug-in jobs are
  /// looked at without `with_endpoints`).
  bool unfinished_after(long long sequence, bool with_endpoints = true);
  /// Jobs by status, only those created after `sequence`.
  std::map<JobStatus, std::size_t> count(long long after_sequence = 0);

  // --- the operator -----------------------------------------------------------------------

  /// The job with this id, or the only one whose id starts or ends with it (at least 4
  /// characters; a time-ordered id's start is its creation time, shared by the jobs of the same
  /// minute, and its end is random). Throws JobNotFound when none or several match.
  SystemJob find(std::string_view id_or_part);
  /// Jobs matching the filter in creation order (or newest first), one at a time and without
  /// their contexts (the listing never holds more than one row in memory).
  void list(const JobFilter& filter, const std::function<void(const SystemJob&)>& each);

  /// Ready or Waiting → Canceled; In progress → Canceling (the worker stops after its attempt).
  /// Returns the new status. Throws JobNotFound, or JobRefused for a completed job.
  JobStatus cancel(const Guid& id, DateTime now);
  /// Waiting → Ready now. Throws JobRefused in any other status.
  JobStatus resume(const Guid& id);
  /// Failed or Canceled → Ready with the retry and crash counts and the error cleared. Throws
  /// JobRefused
  /// otherwise (a succeeded job is never run twice by accident).
  JobStatus retry(const Guid& id);
  /// Ready or Waiting → Waiting until `until`. Throws JobRefused otherwise.
  JobStatus postpone(const Guid& id, DateTime until);
  /// Deletes completed jobs of status `status` completed before `before`, in chunks so a
  /// running service is never held up for long. Returns how many.
  std::size_t purge(JobStatus status, DateTime before);

  const std::filesystem::path& file() const noexcept { return file_; }
  Durability durability() const noexcept { return durability_; }

 private:
  struct Statements;
  class WriteTransaction;
  JobStatus current_status(const Guid& id);

  std::filesystem::path file_;
  Durability durability_;
  sqlite3* db_ = nullptr;
  std::shared_ptr<store::WriteGate> gate_;  ///< shared with the record store of the same file
  std::unique_ptr<Statements> statements_;
  std::mutex mutex_;
};

}  // namespace stepline::host::store
