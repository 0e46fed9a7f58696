#include "jobs_api.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <stepline/duration.hpp>
#include <stepline/host/jobs/job_json.hpp>
#include <stepline/host/jobs/retry_schedule.hpp>
#include <stepline/host/log.hpp>
#include <stepline/host/store/job_status.hpp>
#include <stepline/text.hpp>

#include "odata.hpp"
#include "web_api.hpp"

namespace stepline::host::http {
namespace {

using store::JobStatus;
using text::lower;
using Json = rapidjson::Value;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr std::string_view prefix = "/stepline/v1/jobs";
constexpr std::size_t default_page = 50, largest_page = 500;
constexpr std::string_view masked = "***";

bool secret_name(std::string_view name) {
  static constexpr std::array parts = {"password",
                                       "passwd",
                                       "secret",
                                       "token",
                                       "apikey",
                                       "api_key",
                                       "credential",
                                       "privatekey",
                                       "private_key",
                                       "connectionstring",
                                       "connection_string",
                                       "sharedaccesskey",
                                       "sharedaccesssignature",
                                       "accountkey"};
  auto n = lower(name);
  return std::any_of(parts.begin(), parts.end(),
                     [&](const char* p) { return n.find(p) != std::string::npos; });
}

/// "Endpoint=…;SharedAccessKey=abc" → "Endpoint=…;SharedAccessKey=***".
std::string mask_inline_keys(std::string text) {
  for (std::string_view key :
       {"SharedAccessKey=", "SharedAccessSignature=", "AccountKey=", "Password=", "password="}) {
    for (auto at = text.find(key); at != std::string::npos; at = text.find(key, at + 1)) {
      auto start = at + key.size();
      auto end = text.find(';', start);
      if (end == std::string::npos) end = text.size();
      text.replace(start, end - start, masked);
    }
  }
  return text;
}

void mask(Json& v, rapidjson::Document::AllocatorType& a, int depth) {
  if (depth > 500) return;
  if (v.IsObject()) {
    for (auto& m : v.GetObject()) {
      std::string_view name(m.name.GetString(), m.name.GetStringLength());
      if (secret_name(name) && !m.value.IsNull() && !m.value.IsObject() && !m.value.IsArray())
        m.value.SetString(masked.data(), static_cast<rapidjson::SizeType>(masked.size()), a);
      else
        mask(m.value, a, depth + 1);
    }
    // A value written as {"key":"password","value":"…"} (dataverse-json style pairs).
    auto key = v.FindMember("key");
    auto value = v.FindMember("value");
    if (key != v.MemberEnd() && value != v.MemberEnd() && key->value.IsString() &&
        secret_name(key->value.GetString()) && !value->value.IsObject())
      value->value.SetString(masked.data(), static_cast<rapidjson::SizeType>(masked.size()), a);
  } else if (v.IsArray()) {
    for (auto& item : v.GetArray()) mask(item, a, depth + 1);
  } else if (v.IsString()) {
    std::string text(v.GetString(), v.GetStringLength());
    if (text.find('=') != std::string::npos) {
      auto masked_text = mask_inline_keys(text);
      if (masked_text != text)
        v.SetString(masked_text.data(), static_cast<rapidjson::SizeType>(masked_text.size()), a);
    }
  }
}

::stepline::http::Response json(int status, std::string body) {
  auto r = ::stepline::http::Response::json(status, std::move(body));
  r.header("Cache-Control", "no-store");
  return r;
}

::stepline::http::Response refusal(int status, const std::string& message) {
  auto r = error_response(status, status == 404 ? web_code::no_segment : web_code::invalid_argument,
                          message);
  r.header("Cache-Control", "no-store");
  return r;
}

std::optional<DateTime> time_parameter(const std::string& name, const std::string& text) {
  if (text.empty()) return std::nullopt;
  if (auto t = parse_iso8601(text)) return t;
  throw WebApiError(400, web_code::invalid_argument,
                    name + ": '" + text + "' is not a time like 2026-05-01T08:00:00Z");
}

::stepline::http::Response list(const ::stepline::http::Request& r, store::JobStore& store) {
  auto q = ::stepline::http::parse_query(r.query);
  auto get = [&](const char* name) {
    auto it = q.find(name);
    return it == q.end() ? std::string() : it->second;
  };
  store::JobFilter filter;
  filter.newest_first = true;
  if (auto status = get("status"); !status.empty() && status != "any") {
    filter.status = store::parse_status(lower(status));
    if (!filter.status)
      throw WebApiError(400, web_code::invalid_argument,
                        "status: '" + status +
                            "' is not a job status; use ready, waiting, in-progress, pausing, "
                            "canceling, succeeded, failed or canceled");
  }
  // Names hold no control characters (PostgreSQL would end one at a NUL and list another's jobs).
  auto name = [&](const char* parameter) {
    std::string value = get(parameter);
    if (text::has_control(value))
      throw WebApiError(400, web_code::invalid_argument,
                        std::string(parameter) + ": '" + text::printable(value) +
                            "' holds a control character, which no step or table name has");
    return value;
  };
  filter.step = name("step");
  filter.entity = name("entity");
  filter.created_from = time_parameter("from", get("from"));
  filter.created_until = time_parameter("until", get("until"));
  filter.limit = default_page;
  if (auto limit = get("limit"); !limit.empty()) {
    try {
      filter.limit = std::clamp<std::size_t>(std::stoul(limit), 1, largest_page);
    } catch (const std::exception&) {
      throw WebApiError(400, web_code::invalid_argument, "limit: '" + limit + "' is not a number");
    }
  }
  if (auto after = get("after"); !after.empty()) {
    try {
      filter.after_sequence = std::stoll(after);
    } catch (const std::exception&) {
      throw WebApiError(400, web_code::invalid_argument,
                        "after: '" + after + "' is not a page cursor");
    }
  }
  std::string body = "{\"jobs\":[";
  std::size_t shown = 0;
  long long last = 0;
  store.list(filter, [&](const store::SystemJob& j) {
    body += (shown++ ? "," : "") + jobs::job_json(j);
    last = j.sequence;
  });
  body += "],\"next\":";
  body += shown == filter.limit ? "\"" + std::to_string(last) + "\"" : "null";
  body += "}";
  return json(200, std::move(body));
}

std::vector<std::string_view> allowed_actions(std::optional<store::JobStatus> s) {
  if (!s) return {};
  switch (*s) {
    case store::JobStatus::failed:
    case store::JobStatus::canceled:
      return {"retry"};
    case store::JobStatus::ready:
      return {"cancel", "postpone"};
    case store::JobStatus::waiting:
      return {"resume", "postpone", "cancel"};
    case store::JobStatus::in_progress:
      return {"cancel"};
    default:
      return {};
  }
}

/// When the job runs again under its policy: the endpoint's, or the host's for plug-in steps.
std::string retry_schedule(const store::SystemJob& j, const registration::Registration& r) {
  registration::RetryPolicy policy = jobs::default_plugin_retry();
  std::string source = "the host's policy for plug-in steps";
  if (j.endpoint) {
    if (const auto* e = r.find_endpoint(*j.endpoint)) {
      policy = e->retry;
      source = "endpoint '" + e->name + "'";
    } else {
      source = "endpoint '" + *j.endpoint + "' (no longer registered)";
    }
  }
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("source");
  w.String(source.c_str());
  w.Key("maxAttempts");
  w.Int(policy.max_attempts);
  w.Key("baseDelay");
  w.String(stepline::format_duration(policy.base_delay).c_str());
  w.Key("maxDelay");
  w.String(stepline::format_duration(policy.max_delay).c_str());
  w.Key("jitter");
  w.Double(policy.jitter);
  w.Key("retriesSoFar");
  w.Int(j.retry_count);
  w.Key("nextAttemptAt");
  auto status = store::status_of(j);
  if (status == store::JobStatus::waiting && j.postpone_until)
    w.String(to_iso8601(*j.postpone_until).c_str());
  else
    w.Null();
  // The waits still possible, before jitter: what the schedule holds if the failures go on.
  w.Key("upcoming");
  w.StartArray();
  if (status && !store::is_completed(*status)) {
    registration::RetryPolicy exact = policy;
    exact.jitter = 0;
    std::mt19937_64 unused;
    for (int retry = j.retry_count + 1; retry < policy.max_attempts; ++retry) {
      w.StartObject();
      w.Key("retry");
      w.Int(retry);
      w.Key("wait");
      w.String(stepline::format_duration(jobs::retry_delay(exact, retry, unused)).c_str());
      w.EndObject();
    }
  }
  w.EndArray();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

::stepline::http::Response show(const std::string& id, store::JobStore& store,
                                const registration::Registration& r) {
  store::SystemJob j = store.find(id);
  std::string context = mask_secrets(j.context);
  std::string body = jobs::job_json(j, &context);
  body.pop_back();  // the closing brace: more fields follow
  body += ",\"retrySchedule\":" + retry_schedule(j, r) + ",\"actions\":[";
  bool first = true;
  for (auto action : allowed_actions(store::status_of(j))) {
    body += std::string(first ? "" : ",") + "\"" + std::string(action) + "\"";
    first = false;
  }
  body += "]}";
  return json(200, std::move(body));
}

::stepline::http::Response act(const std::string& id, const std::string& action,
                               const ::stepline::http::Request& request, store::JobStore& store) {
  store::SystemJob j = store.find(id);
  store::JobStatus status;
  if (action == "retry") {
    status = store.retry(j.id);
  } else if (action == "cancel") {
    status = store.cancel(j.id, now_utc());
  } else if (action == "resume") {
    status = store.resume(j.id);
  } else if (action == "postpone") {
    rapidjson::Document d;
    d.Parse(request.body.data(), request.body.size());
    if (d.HasParseError() || !d.IsObject() || !d.HasMember("until") || !d["until"].IsString())
      throw WebApiError(400, web_code::bad_payload,
                        "postpone needs a body like {\"until\":\"2026-05-01T08:00:00Z\"} or "
                        "{\"until\":\"30m\"} (from now)");
    std::string text = d["until"].GetString();
    std::optional<DateTime> until = parse_iso8601(text);
    if (!until)
      if (auto d2 = stepline::parse_duration(text)) until = now_utc() + *d2;
    if (!until)
      throw WebApiError(400, web_code::invalid_argument,
                        "until: '" + text +
                            "' is neither a time (2026-05-01T08:00:00Z) nor a "
                            "duration from now (30m, 2h)");
    status = store.postpone(j.id, *until);
  } else {
    return refusal(404, "no action '" + action + "'; use retry, cancel, resume or postpone");
  }
  log::info("jobs: {} of system job {} ({}) by an operator over HTTP: now {}", action, j.id.str(),
            j.step_name, store::to_string(status));
  return json(200, "{\"id\":\"" + j.id.str() + "\",\"status\":\"" +
                       std::string(store::to_string(status)) + "\"}");
}

}  // namespace

std::string mask_secrets(std::string_view context_json) {
  rapidjson::Document d;
  d.Parse<rapidjson::kParseIterativeFlag>(context_json.data(), context_json.size());
  if (d.HasParseError()) return "{}";
  mask(d, d.GetAllocator(), 0);
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  d.Accept(w);
  return std::string(buffer.GetString(), buffer.GetSize());
}

::stepline::http::Response jobs_api(const ::stepline::http::Request& r, store::JobStore& store,
                                    const registration::Registration& registration) {
  std::string_view rest = std::string_view(r.path).substr(prefix.size());
  if (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
  auto slash = rest.find('/');
  std::string id(rest.substr(0, slash));
  std::string action(slash == std::string_view::npos ? "" : rest.substr(slash + 1));
  try {
    if (id.empty()) {
      if (r.method != "GET" && r.method != "HEAD") return refusal(405, "GET lists jobs");
      return list(r, store);
    }
    if (action.empty()) {
      if (r.method != "GET" && r.method != "HEAD") return refusal(405, "GET shows a job");
      return show(id, store, registration);
    }
    if (r.method != "POST") return refusal(405, "actions are POSTed");
    return act(id, action, r, store);
  } catch (const store::JobNotFound& e) {
    return refusal(404, e.what());
  } catch (const store::JobRefused& e) {
    return refusal(409, e.what());
  } catch (const WebApiError& e) {
    auto answer = error_response(e.status(), e.code(), e.what());
    answer.header("Cache-Control", "no-store");
    return answer;
  }
}

}  // namespace stepline::host::http
