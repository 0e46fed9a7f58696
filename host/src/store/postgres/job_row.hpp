// One system_jobs row in and out of PostgreSQL, shared by the record store (which writes new jobs
// in an operation's transaction) and the job store (which runs and administers them).
#pragma once

#include <string>

#include <stepline/host/store/record_store.hpp>

#include "connection.hpp"

namespace stepline::host::store::pg {

/// The select list read_job expects, from system_jobs `j` joined to system_job_contexts `c`
/// (with the context's size instead of the context when `with_context` is false).
std::string job_columns(bool with_context = true);
/// "FROM system_jobs j LEFT JOIN system_job_contexts c ON …", to follow job_columns().
inline constexpr const char* job_tables =
    " FROM system_jobs j LEFT JOIN system_job_contexts c ON c.sequence = j.sequence";

/// Reads row `row` of a result selected with job_columns(with_context).
SystemJob read_job(const Result& result, int row, bool with_context = true);

/// Inserts a new job and its context in one statement; returns its sequence.
const Statement& insert_job();
Params insert_job_params(const SystemJob& job);

/// Announces to every listening host that jobs became due (delivered at commit).
inline constexpr const char* announce_sql = "SELECT pg_notify('stepline_jobs', '')";
/// The channel announce_sql notifies.
inline constexpr const char* announce_channel = "stepline_jobs";

}  // namespace stepline::host::store::pg
