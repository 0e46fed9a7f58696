#include <stepline/host/jobs/job_json.hpp>

#include <optional>
#include <string_view>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <stepline/host/store/job_status.hpp>

namespace stepline::host::jobs {
namespace {

/// The status's name, or "state/status" for codes no status has.
std::string status_text(const store::SystemJob& j) {
  auto s = store::status_of(j);
  return s ? std::string(to_string(*s))
           : std::to_string(j.state_code) + "/" + std::to_string(j.status_code);
}

}  // namespace

std::string job_json(const store::SystemJob& j, const std::string* context_json) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  auto text = [&](const char* key, std::string_view value) {
    w.Key(key);
    w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
  };
  auto time = [&](const char* key, const std::optional<DateTime>& t) {
    w.Key(key);
    if (t) {
      auto s = to_iso8601(*t);
      w.String(s.c_str());
    } else {
      w.Null();
    }
  };
  w.StartObject();
  text("id", j.id.str());
  text("status", status_text(j));
  w.Key("stateCode");
  w.Int(j.state_code);
  w.Key("statusCode");
  w.Int(j.status_code);
  text("step", j.step_name);
  text("stepId", j.step_id.str());
  text("message", j.message);
  text("entity", j.regarding_entity);
  text("recordId", j.regarding_id.str());
  w.Key("endpoint");
  if (j.endpoint)
    w.String(j.endpoint->c_str());
  else
    w.Null();
  text("correlationId", j.correlation_id.str());
  w.Key("depth");
  w.Int(j.depth);
  w.Key("sequence");
  w.Int64(j.sequence);
  w.Key("orderingKey");
  if (j.ordering_key.empty())
    w.Null();
  else
    w.String(j.ordering_key.c_str());
  time("createdOn", j.created_on);
  time("startedOn", j.started_on);
  time("completedOn", j.completed_on);
  time("postponeUntil", j.postpone_until);
  w.Key("retryCount");
  w.Int(j.retry_count);
  w.Key("crashCount");
  w.Int(j.crash_count);
  w.Key("errorCode");
  if (j.error_code)
    w.Int(*j.error_code);
  else
    w.Null();
  text("errorMessage", j.message_text);
  text("friendlyMessage", j.friendly_message);
  w.Key("executionTimeMs");
  if (j.execution_time_ms)
    w.Int64(*j.execution_time_ms);
  else
    w.Null();
  w.Key("leaseOwner");
  if (j.lease_owner.empty())
    w.Null();
  else
    w.String(j.lease_owner.c_str());
  time("leaseUntil", j.lease_until);
  text("trace", j.trace);
  if (context_json) {
    w.Key("contextSize");
    w.Uint64(j.context.size());
    w.Key("context");
    if (auto problem = j.context_problem(); !problem.empty()) {
      // The stored context could not be read: null, and what is wrong.
      w.Null();
      text("contextProblem", problem);
    } else {
      w.RawValue(context_json->data(), context_json->size(), rapidjson::kObjectType);
    }
  }
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace stepline::host::jobs
