// The lifecycle of a system job as operators and scripts see it, and its mapping onto the
// asyncoperation state/status codes kept in the system_jobs table (docs/JOBS.md).
#pragma once

#include <optional>
#include <string_view>

#include <stepline/host/store/record_store.hpp>

namespace stepline::host::store {

enum class JobStatus {
  ready,        ///< 0/0  Ready, waiting for a worker
  waiting,      ///< 1/10 Suspended, Waiting: postponed, or a retry due at postpone_until
  in_progress,  ///< 2/20 Locked, In progress: a worker holds it under a lease
  pausing,      ///< 2/21 Locked, Pausing (read only; this host never pauses a job)
  canceling,    ///< 2/22 Locked, Canceling: canceled while in progress
  succeeded,    ///< 3/30 Completed, Succeeded
  failed,       ///< 3/31 Completed, Failed
  canceled,     ///< 3/32 Completed, Canceled
};

struct StatusCodes {
  int state_code;
  int status_code;
};

StatusCodes codes_of(JobStatus status) noexcept;
/// nullopt for a pair that is not one of the eight above.
std::optional<JobStatus> status_of(int state_code, int status_code) noexcept;
std::optional<JobStatus> status_of(const SystemJob& job) noexcept;
/// "ready", "waiting", "in-progress", "pausing", "canceling", "succeeded", "failed", "canceled".
std::string_view to_string(JobStatus status) noexcept;
/// The inverse of to_string; nullopt for anything else.
std::optional<JobStatus> parse_status(std::string_view text) noexcept;
/// Completed jobs (succeeded, failed, canceled) never run again unless an operator retries them.
inline bool is_completed(JobStatus s) noexcept {
  return s == JobStatus::succeeded || s == JobStatus::failed || s == JobStatus::canceled;
}

/// Error codes of jobs (Dataverse's values).
namespace job_error {
/// A post to a service endpoint failed (network, the service refused it, or gave up retrying).
inline constexpr int endpoint_post = -2147204346;  // 0x80044306
/// An in-process plug-in took the host down or did not return within its step's timeout: an
/// unexpected error (0x80040224), the job's message says which.
inline constexpr int plugin_lost = -2147220956;
}  // namespace job_error

}  // namespace stepline::host::store
