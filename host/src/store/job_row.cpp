#include "job_row.hpp"

namespace stepline::host::store {
namespace {

std::optional<DateTime> time_or_null(const Statement& s, int col) {
  if (s.is_null(col)) return std::nullopt;
  return parse_iso8601(s.text(col));
}

}  // namespace

SystemJob read_job(const Statement& s, bool with_context) {
  SystemJob j;
  j.id = Guid::parse(s.text(0));
  j.created_on = parse_iso8601(s.text(1)).value_or(DateTime{});
  j.step_id = Guid::parse(s.text(2));
  j.step_name = s.text(3);
  j.regarding_entity = s.text(4);
  if (auto g = Guid::try_parse(s.text(5))) j.regarding_id = *g;
  j.message = s.text(6);
  j.depth = static_cast<int>(s.integer(7));
  j.correlation_id = Guid::parse(s.text(8));
  j.state_code = static_cast<int>(s.integer(9));
  j.status_code = static_cast<int>(s.integer(10));
  j.retry_count = static_cast<int>(s.integer(11));
  j.postpone_until = time_or_null(s, 12);
  if (!s.is_null(13)) j.error_code = static_cast<int>(s.integer(13));
  j.message_text = s.text(14);
  j.friendly_message = s.text(15);
  if (!s.is_null(16)) j.execution_time_ms = s.integer(16);
  if (!s.is_null(17)) j.endpoint = std::string(s.text(17));
  if (with_context) j.context = s.text(18);
  j.sequence = s.integer(19);
  j.ordering_key = s.text(20);
  j.started_on = time_or_null(s, 21);
  j.completed_on = time_or_null(s, 22);
  j.lease_owner = s.text(23);
  j.lease_until = time_or_null(s, 24);
  j.trace = s.text(25);
  j.crash_count = static_cast<int>(s.integer(26));
  return j;
}

void bind_new_job(Statement& s, const SystemJob& job, NewJobText& text) {
  text.id = job.id.text();
  text.created_on = iso8601_text(job.created_on);
  text.step_id = job.step_id.text();
  text.regarding_id = job.regarding_id.text();
  text.correlation_id = job.correlation_id.text();
  s.bind_static(1, text.id).bind_static(2, text.created_on).bind_static(3, text.step_id);
  s.bind_static(4, job.step_name).bind_static(5, job.regarding_entity);
  s.bind_static(6, text.regarding_id).bind_static(7, job.message);
  s.bind(8, static_cast<long long>(job.depth)).bind_static(9, text.correlation_id);
  s.bind(10, static_cast<long long>(job.state_code))
      .bind(11, static_cast<long long>(job.status_code));
  s.bind(12, static_cast<long long>(job.retry_count));
  if (job.postpone_until) {
    text.postpone_until = iso8601_text(*job.postpone_until);
    s.bind_static(13, text.postpone_until);
  }
  if (job.error_code) s.bind(14, static_cast<long long>(*job.error_code));
  if (!job.message_text.empty()) s.bind_static(15, job.message_text);
  if (!job.friendly_message.empty()) s.bind_static(16, job.friendly_message);
  if (job.execution_time_ms) s.bind(17, *job.execution_time_ms);
  if (job.endpoint) s.bind_static(18, *job.endpoint);
  if (!job.ordering_key.empty()) s.bind_static(19, job.ordering_key);
  if (!job.lease_owner.empty()) s.bind_static(20, job.lease_owner);
  if (job.lease_until) {
    text.lease_until = iso8601_text(*job.lease_until);
    s.bind_static(21, text.lease_until);
  }
  if (job.started_on) {
    text.started_on = iso8601_text(*job.started_on);
    s.bind_static(22, text.started_on);
  }
}

}  // namespace stepline::host::store
