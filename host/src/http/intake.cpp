#include <stepline/host/http/intake.hpp>

#include <algorithm>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <stepline/host/host.hpp>
#include <stepline/host/log.hpp>
#include <stepline/prometheus/registry.hpp>

#include "auth.hpp"
#include "odata.hpp"
#include "tables.hpp"
#include "web_api.hpp"

namespace stepline::host::http {
namespace {

constexpr std::string_view web_api_prefix = "/api/data/v9.2/";

enum class Route { healthz, readyz, metrics, web_api, requests, jobs_api, jobs_page, unknown };

std::string_view name_of(Route route) {
  switch (route) {
    case Route::healthz:
      return "healthz";
    case Route::readyz:
      return "readyz";
    case Route::metrics:
      return "metrics";
    case Route::web_api:
      return "web_api";
    case Route::requests:
      return "requests";
    case Route::jobs_api:
      return "jobs_api";
    case Route::jobs_page:
      return "jobs_page";
    case Route::unknown:
      break;
  }
  return "unknown";
}

Route route_of(std::string_view path) {
  if (path == "/healthz") return Route::healthz;
  if (path == "/readyz") return Route::readyz;
  if (path == "/metrics") return Route::metrics;
  if (path.starts_with(web_api_prefix) || path == "/api/data/v9.2") return Route::web_api;
  if (path == "/stepline/v1/requests") return Route::requests;
  if (path == "/stepline/v1/jobs" || path.starts_with("/stepline/v1/jobs/")) return Route::jobs_api;
  if (path == "/jobs" || path == "/jobs/") return Route::jobs_page;
  return Route::unknown;
}

/// What a route may be asked with; empty = any method (the route decides).
std::string_view methods_of(Route route) {
  switch (route) {
    case Route::healthz:
    case Route::readyz:
    case Route::metrics:
    case Route::jobs_page:
      return "GET, HEAD";
    case Route::requests:
      return "POST";
    default:
      return {};
  }
}

bool method_allowed(std::string_view allowed, std::string_view method) {
  if (allowed.empty()) return true;
  while (!allowed.empty()) {
    auto comma = allowed.find(',');
    auto item = allowed.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    if (item == method) return true;
    if (comma == std::string_view::npos) break;
    allowed.remove_prefix(comma + 1);
  }
  return false;
}

bool needs_key(Route route) {
  return route != Route::healthz && route != Route::readyz && route != Route::jobs_page;
}

Response unauthenticated() {
  auto r = error_response(401, web_code::unauthenticated,
                          "the request is not authenticated; send Authorization: Bearer <API key>");
  r.header("WWW-Authenticate", "Bearer realm=\"stepline\"");
  return r;
}

std::string readiness_json(const Readiness& readiness) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("status");
  w.String(readiness.ready() ? "ready" : "not ready");
  w.Key("checks");
  w.StartObject();
  for (const auto& [name, state] : readiness.checks) {
    w.Key(name.c_str(), static_cast<rapidjson::SizeType>(name.size()));
    w.String(state.c_str(), static_cast<rapidjson::SizeType>(state.size()));
  }
  w.EndObject();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace

bool Readiness::ready() const {
  return std::all_of(checks.begin(), checks.end(), [](const auto& c) { return c.second == "ok"; });
}

/// The registration in use and what the routes derive from it, rebuilt when it changes.
class Intake::View {
 public:
  explicit View(std::shared_ptr<const registration::Registration> r)
      : tables(std::move(r)), keys(tables.registration()) {}
  Tables tables;
  ApiKeys keys;
};

Intake::Intake(IntakeServices services) : services_(std::move(services)) {
  if (services_.metrics)
    responses_ = &services_.metrics->counter(
        "stepline_http_responses_total",
        "HTTP answers by route and status code (route \"server\": refused by the server "
        "itself: malformed, too large, too slow or saturated).",
        {"route", "code"});
}

Intake::~Intake() = default;

Response Intake::counted(std::string_view route, Response r) {
  if (responses_) responses_->labels({route, std::to_string(r.status)}).inc();
  return r;
}

std::shared_ptr<const Intake::View> Intake::view() {
  auto current = services_.host.pipeline().registration();
  std::lock_guard lock(view_mutex_);
  if (!view_ || view_->tables.shared() != current) view_ = std::make_shared<const View>(current);
  return view_;
}

std::optional<Response> Intake::screen(const Request& head) {
  Route route = route_of(head.path);
  auto name = name_of(route);
  if (route == Route::unknown)
    return counted(name, error_response(404, web_code::no_segment,
                                        "No HTTP resource was found that matches the request "
                                        "URI '" +
                                            head.path + "'."));
  if (auto allowed = methods_of(route); !method_allowed(allowed, head.method)) {
    auto r = error_response(405, web_code::invalid_argument,
                            head.path + " takes " + std::string(allowed) + " only");
    r.header("Allow", std::string(allowed));
    return counted(name, std::move(r));
  }
  if (needs_key(route) && !view()->keys.authenticate(head.header("Authorization")))
    return counted(name, unauthenticated());
  if (route == Route::metrics && !services_.metrics)
    return counted(name, error_response(404, web_code::no_segment, "metrics are off"));
  return std::nullopt;
}

std::optional<Response> Intake::answer_now(const Request& r) {
  Route route = route_of(r.path);
  switch (route) {
    case Route::healthz:
      return counted(name_of(route), Response::json(200, "{\"status\":\"alive\"}"));
    case Route::readyz: {
      auto readiness = services_.readiness ? services_.readiness() : Readiness{};
      auto answer = Response::json(readiness.ready() ? 200 : 503, readiness_json(readiness));
      answer.header("Cache-Control", "no-store");
      return counted(name_of(route), std::move(answer));
    }
    case Route::metrics:
      // Counted first, so that a scrape already shows itself.
      if (responses_) responses_->labels({name_of(route), "200"}).inc();
      return Response::text(200, services_.metrics->text(), std::string(prometheus::content_type));
    default:
      return std::nullopt;
  }
}

Response Intake::handle(const Request& r) {
  auto route = route_of(r.path);
  auto v = view();
  auto caller = v->keys.authenticate(r.header("Authorization"));
  if (!caller) return counted(name_of(route), unauthenticated());
  switch (route) {
    case Route::web_api: {
      std::string resource =
          r.path.size() > web_api_prefix.size() ? r.path.substr(web_api_prefix.size()) : "";
      return counted(name_of(route), web_api(r, resource, services_.host, v->tables, *caller));
    }
    case Route::requests:
      return counted(name_of(route), run_requests(r, services_.host, *caller));
    default:
      return counted(name_of(route),
                     error_response(404, web_code::no_segment,
                                    "No HTTP resource was found that matches the request URI '" +
                                        r.path + "'."));
  }
}

Response Intake::error(int status, const std::string& message) {
  std::string_view code = status == 503   ? web_code::concurrency
                          : status >= 500 ? web_code::unexpected
                          : status == 404 ? web_code::no_segment
                          : status == 413 ? web_code::bad_payload
                                          : web_code::invalid_argument;
  if (status >= 500 && status != 503) log::warn("HTTP intake: {} {}", status, message);
  return counted("server", error_response(status, code, message));
}

}  // namespace stepline::host::http
