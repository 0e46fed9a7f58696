#include "job_row.hpp"

namespace stepline::host::store::pg {

std::string job_columns(bool with_context) {
  return std::string(
             "j.id, j.created_on, j.step_id, j.step_name, j.regarding_entity, j.regarding_id, "
             "j.message, j.depth, j.correlation_id, j.state_code, j.status_code, j.retry_count, "
             "j.postpone_until, j.error_code, j.message_text, j.friendly_message, "
             "j.execution_time_ms, j.endpoint, ") +
         (with_context ? "c.context" : "length(c.context)") +
         ", j.sequence, j.ordering_key, j.started_on, j.completed_on, j.lease_owner, "
         "j.lease_until, j.trace, j.crash_count";
}

SystemJob read_job(const Result& r, int row, bool with_context) {
  SystemJob j;
  j.id = Guid::parse(r.text(row, 0));
  j.created_on = r.time(row, 1).value_or(DateTime{});
  j.step_id = Guid::parse(r.text(row, 2));
  j.step_name = r.text(row, 3);
  j.regarding_entity = r.text(row, 4);
  if (auto g = Guid::try_parse(r.text(row, 5))) j.regarding_id = *g;
  j.message = r.text(row, 6);
  j.depth = static_cast<int>(r.integer(row, 7));
  j.correlation_id = Guid::parse(r.text(row, 8));
  j.state_code = static_cast<int>(r.integer(row, 9));
  j.status_code = static_cast<int>(r.integer(row, 10));
  j.retry_count = static_cast<int>(r.integer(row, 11));
  j.postpone_until = r.time(row, 12);
  if (!r.is_null(row, 13)) j.error_code = static_cast<int>(r.integer(row, 13));
  j.message_text = r.text(row, 14);
  j.friendly_message = r.text(row, 15);
  if (!r.is_null(row, 16)) j.execution_time_ms = r.integer(row, 16);
  if (!r.is_null(row, 17)) j.endpoint = std::string(r.text(row, 17));
  if (with_context) j.context = r.text(row, 18);
  j.sequence = r.integer(row, 19);
  j.ordering_key = r.text(row, 20);
  j.started_on = r.time(row, 21);
  j.completed_on = r.time(row, 22);
  j.lease_owner = r.text(row, 23);
  j.lease_until = r.time(row, 24);
  j.trace = r.text(row, 25);
  j.crash_count = static_cast<int>(r.integer(row, 26));
  return j;
}

const Statement& insert_job() {
  static const Statement statement{
      "insert_job",
      "WITH job AS (INSERT INTO system_jobs (id, created_on, step_id, step_name, "
      "regarding_entity, regarding_id, message, depth, correlation_id, state_code, status_code, "
      "retry_count, postpone_until, error_code, message_text, friendly_message, "
      "execution_time_ms, endpoint, ordering_key, lease_owner, lease_until, started_on) VALUES "
      "($1::uuid, $2::timestamptz, $3::uuid, $4, $5, $6::uuid, $7, $8::integer, $9::uuid, "
      "$10::integer, $11::integer, $12::integer, $13::timestamptz, $14::integer, $15, $16, "
      "$17::bigint, $18, $19, $20, $21::timestamptz, $22::timestamptz) RETURNING sequence) "
      "INSERT INTO system_job_contexts (sequence, context) SELECT sequence, $23 FROM job "
      "RETURNING sequence"};
  return statement;
}

Params insert_job_params(const SystemJob& job) {
  Params p;
  p.add(job.id).add(job.created_on).add(job.step_id).add(job.step_name);
  p.add(job.regarding_entity).add(job.regarding_id).add(job.message).add(job.depth);
  p.add(job.correlation_id).add(job.state_code).add(job.status_code).add(job.retry_count);
  p.add(job.postpone_until).add(job.error_code);
  p.text_or_null(job.message_text).text_or_null(job.friendly_message);
  p.add(job.execution_time_ms).add(job.endpoint).text_or_null(job.ordering_key);
  p.text_or_null(job.lease_owner).add(job.lease_until).add(job.started_on);
  p.add(job.context);
  return p;
}

}  // namespace stepline::host::store::pg
