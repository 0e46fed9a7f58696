// One system_jobs row in and out of SQL, shared by the record store (which writes new jobs in an
// operation's transaction) and the job store (which runs and administers them).
#pragma once

#include <stepline/host/store/record_store.hpp>

#include "sqlite.hpp"

namespace stepline::host::store {

// The columns read_job expects, in its order, with `context` in the context's place: from the
// context log (stepline_context(), which open_database registers) when the row says where it
// is there, else from system_job_contexts.
#define STEPLINE_JOB_COLUMNS(logged, tabled)                                             \
  "id, created_on, step_id, step_name, regarding_entity, regarding_id, message, depth, " \
  "correlation_id, state_code, status_code, retry_count, postpone_until, error_code, "   \
  "message_text, friendly_message, execution_time_ms, endpoint, CASE WHEN "              \
  "system_jobs.context_at IS NULL THEN (SELECT " tabled                                  \
  " FROM system_job_contexts c WHERE c.sequence = system_jobs.sequence) ELSE " logged    \
  " END, "                                                                               \
  "sequence, ordering_key, started_on, completed_on, lease_owner, lease_until, trace, "  \
  "crash_count"

/// Every column, the context included.
inline constexpr const char* job_columns = STEPLINE_JOB_COLUMNS(
    "stepline_context(system_jobs.id, system_jobs.context_at, system_jobs.context_size)",
    "c.context");
/// The same columns with the context's size instead of the context, for listings that must not
/// load large documents.
inline constexpr const char* job_columns_without_context =
    STEPLINE_JOB_COLUMNS("system_jobs.context_size", "length(c.context)");
#undef STEPLINE_JOB_COLUMNS

/// Reads a row selected with job_columns, or with job_columns_without_context and
/// `with_context` false (the context is then left empty).
SystemJob read_job(const Statement& s, bool with_context = true);

/// INSERT of a new job with every column but the context bound from `job`; its sequence is its
/// rowid, max + 1, read with sqlite3_last_insert_rowid (a RETURNING clause would cost an
/// ephemeral table each time, about as much as the insert). The context's place in the context
/// log is bound to ?23 and ?24 (context_at, context_size).
inline constexpr const char* insert_job_sql =
    "INSERT INTO system_jobs (id, created_on, step_id, step_name, regarding_entity, "
    "regarding_id, message, depth, correlation_id, state_code, status_code, retry_count, "
    "postpone_until, error_code, message_text, friendly_message, execution_time_ms, endpoint, "
    "ordering_key, lease_owner, lease_until, started_on, context_at, context_size) VALUES (?1, "
    "?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, "
    "?21, ?22, ?23, ?24)";
/// The text of a new job's row that is not in the SystemJob itself (its ids and times), written
/// in place rather than allocated. SQLite reads bound text at the statement's step, so this and
/// the job must outlive the step.
struct NewJobText {
  Guid::Text id, step_id, regarding_id, correlation_id;
  Iso8601Text created_on, postpone_until, lease_until, started_on;
};
void bind_new_job(Statement& s, const SystemJob& job, NewJobText& text);

}  // namespace stepline::host::store
