#include <stepline/host/http/intake.hpp>

#include <algorithm>
#include <atomic>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <stepline/host/host.hpp>
#include <stepline/host/log.hpp>
#include <stepline/prometheus/registry.hpp>
#include <stepline/registration/values.hpp>
#include <stepline/text.hpp>

#include "auth.hpp"
#include "jobs_api.hpp"
#include "jobs_page.hpp"
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
  if (path == "/jobs" || path.starts_with("/jobs/")) return Route::jobs_page;
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
    auto item = text::trim_start(allowed.substr(0, comma));
    if (item == method) return true;
    if (comma == std::string_view::npos) break;
    allowed.remove_prefix(comma + 1);
  }
  return false;
}

bool needs_key(Route route) {
  return route != Route::healthz && route != Route::readyz && route != Route::jobs_page;
}

/// Why a browser request made on another site's behalf is refused, or empty. The intake never
/// answers CORS preflights, so another site's page can reach it only with what a form or a
/// simple fetch sends: such a request names its origin, or says it is cross-site.
std::string cross_site(const Request& r, Route route) {
  if (r.method == "GET" || r.method == "HEAD") return {};
  auto origin = r.header("Origin");
  std::string own = std::string(r.tls ? "https://" : "http://") + std::string(r.header("Host"));
  if (!origin.empty() && origin != own)
    return "a request from the page of " + std::string(origin) + " is refused: only " + own +
           " itself, or a client that is not a browser, may change anything here";
  auto site = r.header("Sec-Fetch-Site");
  if (site == "cross-site" || site == "same-site")
    return "a request another site made the browser send is refused";
  if (route == Route::jobs_api && !r.header("Content-Type").starts_with("application/json"))
    return "job actions take Content-Type: application/json (what a cross-site form cannot send)";
  return {};
}

/// Without API keys the intake listens on loopback only; a Host header naming anything else is
/// a page that rebound its own name to this machine.
bool loopback_host(std::string_view host) {
  if (host.empty()) return true;
  std::string_view name = host;
  if (name.front() == '[') {
    name = name.substr(
        1, name.find(']') == std::string_view::npos ? name.size() - 1 : name.find(']') - 1);
  } else if (auto colon = name.rfind(':'); colon != std::string_view::npos) {
    name = name.substr(0, colon);
  }
  return name == "localhost" || registration::is_loopback(name);
}

Response unauthenticated() {
  auto r = error_response(401, web_code::unauthenticated,
                          "the request is not authenticated; send Authorization: Bearer <API key>");
  r.header("WWW-Authenticate", "Bearer realm=\"stepline\"");
  return r;
}

/// The page's HTML for /jobs and /jobs/{id}, its script and style under /jobs/assets/.
Response jobs_page_file(std::string_view path) {
  Response r;
  if (path == "/jobs/assets/jobs.js") {
    r = Response::text(200, std::string(jobs_js), "text/javascript; charset=utf-8");
  } else if (path == "/jobs/assets/jobs.css") {
    r = Response::text(200, std::string(jobs_css), "text/css; charset=utf-8");
  } else if (path.starts_with("/jobs/assets/")) {
    return error_response(404, web_code::no_segment, "no such file");
  } else {
    r = Response::text(200, std::string(jobs_html), "text/html; charset=utf-8");
  }
  // Only its own files, no framing, no referrer: the page shows job data.
  r.header("Content-Security-Policy",
           "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
           "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
  r.header("X-Content-Type-Options", "nosniff");
  r.header("Referrer-Policy", "no-referrer");
  r.header("Cache-Control", "no-cache");
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

Intake::~Intake() {
  std::unique_lock lock(submitted_mutex_);
  submitted_done_.wait(lock, [&] { return submitted_ == 0; });
}

std::shared_ptr<void> Intake::submitted() {
  {
    std::lock_guard lock(submitted_mutex_);
    ++submitted_;
  }
  return std::shared_ptr<void>(nullptr, [this](void*) {
    std::lock_guard lock(submitted_mutex_);
    if (--submitted_ == 0) submitted_done_.notify_all();
  });
}

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
  auto v = view();
  if (!v->keys.required() && route != Route::healthz && route != Route::readyz &&
      !loopback_host(head.header("Host")))
    return counted(name, error_response(403, web_code::privilege,
                                        "this intake answers to its loopback address only (it "
                                        "has no API keys); the Host header names another"));
  if (auto refusal = cross_site(head, route); !refusal.empty())
    return counted(name, error_response(403, web_code::privilege, refusal));
  if (needs_key(route) && !v->keys.authenticate(head.header("Authorization")))
    return counted(name, unauthenticated());
  if (route == Route::metrics && !services_.metrics)
    return counted(name, error_response(404, web_code::no_segment, "metrics are off"));
  return std::nullopt;
}

std::optional<Response> Intake::answer_now(const Request& r) {
  Route route = route_of(r.path);
  switch (route) {
    case Route::healthz:
      return counted(
          name_of(route),
          Response::json(200, "{\"status\":\"alive\"" +
                                  (services_.health ? "," + services_.health() : "") + "}"));
    case Route::readyz: {
      auto readiness = services_.readiness ? services_.readiness() : Readiness{};
      auto answer = Response::json(readiness.ready() ? 200 : 503, readiness_json(readiness));
      answer.header("Cache-Control", "no-store");
      return counted(name_of(route), std::move(answer));
    }
    case Route::jobs_page:
      return counted(name_of(route), jobs_page_file(r.path));
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
    case Route::jobs_api:
      if (!services_.jobs)
        return counted(name_of(route), error_response(404, web_code::no_segment, "no job store"));
      return counted(name_of(route), jobs_api(r, *services_.jobs, v->tables.registration()));
    default:
      return counted(name_of(route),
                     error_response(404, web_code::no_segment,
                                    "No HTTP resource was found that matches the request URI '" +
                                        r.path + "'."));
  }
}

bool Intake::submits(const Request& r) {
  // A request waits in no queue of the host's behind an operation that takes its time: while
  // the intake thread is on one batch for over 10 ms, or 256 wait for it, the worker runs the
  // operation itself, so that a slow plug-in holds up only the workers, as without submit, and
  // the server's own queue and its 503s stand between the clients and the host.
  constexpr std::chrono::milliseconds patience{10};
  constexpr std::size_t waiting = 256;
  const auto route = route_of(r.path);
  return (route == Route::web_api || route == Route::requests) &&
         services_.host.store().location().kind == store::Location::Kind::sqlite &&
         services_.host.submit_is_prompt(patience, waiting);
}

bool Intake::take_now(const std::shared_ptr<const Request>& request,
                      const std::function<::stepline::http::Reply()>& reply) {
  // Reading a body is the network thread's time, which every connection waits for: a big one
  // (a batch of many requests) is read on a worker instead. And the network thread must not
  // wait for room in the host's queue: 8 KiB holds 512 requests at most (16 bytes the least
  // one), which with the 256 already queued stay under its 1,024.
  constexpr std::size_t read_now = 8 * 1024;
  if (request->body.size() > read_now || !submits(*request)) return false;
  submit(request, reply);
  return true;
}

void Intake::handle_async(std::shared_ptr<const Request> request, ::stepline::http::Reply reply) {
  if (!submits(*request)) return reply(handle(*request));
  submit(std::move(request), [&] { return reply; });
}

void Intake::submit(std::shared_ptr<const Request> request,
                    const std::function<::stepline::http::Reply()>& make_reply) {
  const auto& r = *request;
  const auto route = route_of(r.path);
  auto v = view();
  auto caller = v->keys.authenticate(r.header("Authorization"));
  if (!caller) return make_reply()(counted(name_of(route), unauthenticated()));
  if (route == Route::requests) return submit_requests(r, *caller, make_reply);
  std::string resource =
      r.path.size() > web_api_prefix.size() ? r.path.substr(web_api_prefix.size()) : "";
  auto routed = route_web_api(r, resource, services_.host, v->tables, *caller);
  if (auto* answer = std::get_if<Response>(&routed))
    return make_reply()(counted(name_of(route), std::move(*answer)));
  // The answer reads the request and the view's tables: the callback keeps both.
  auto operation = std::make_shared<WebApiOperation>(std::move(std::get<WebApiOperation>(routed)));
  auto op = std::move(operation->operation);
  auto answered = [this, request, v, operation, reply = make_reply(), name = name_of(route),
                   pending = submitted()](pipeline::OperationResponse result) {
    Response answer;
    try {
      answer = answer_web_api(*operation, result);
    } catch (const std::exception& e) {
      answer = error(500, std::string("the request failed: ") + e.what());
    }
    try {
      reply(counted(name, std::move(answer)));
    } catch (...) {  // the Reply, dropped, answers 500
    }
  };
  services_.host.submit(std::move(op), std::move(answered));
}

void Intake::submit_requests(const Request& r, const Caller& caller,
                             const std::function<::stepline::http::Reply()>& make_reply) {
  auto read = read_requests(r, caller);
  const auto name = name_of(Route::requests);
  if (read.refused) return make_reply()(counted(name, std::move(*read.refused)));
  // The lines' results, filled in by the intake thread as each operation is committed; the
  // last one answers. Operations run in the order of their lines, as run_requests() runs them.
  struct Gathered {
    Gathered(std::vector<pipeline::OperationResponse> r, std::size_t n, ::stepline::http::Reply a,
             std::shared_ptr<void> p)
        : results(std::move(r)), left(n), reply(std::move(a)), pending(std::move(p)) {}
    std::vector<pipeline::OperationResponse> results;
    std::atomic<std::size_t> left;
    ::stepline::http::Reply reply;
    std::shared_ptr<void> pending;
  };
  std::vector<std::pair<std::size_t, pipeline::OperationRequest>> operations;
  std::vector<pipeline::OperationResponse> results(read.lines.size());
  for (std::size_t i = 0; i < read.lines.size(); ++i) {
    if (auto* op = std::get_if<pipeline::OperationRequest>(&read.lines[i]))
      operations.emplace_back(i, std::move(*op));
    else
      results[i] = std::move(std::get<pipeline::OperationResponse>(read.lines[i]));
  }
  if (operations.empty()) return make_reply()(counted(name, requests_answer(results)));
  auto gathered =
      std::make_shared<Gathered>(std::move(results), operations.size(), make_reply(), submitted());
  auto finished = [this, gathered, name](std::size_t lines) {
    if (gathered->left.fetch_sub(lines, std::memory_order_acq_rel) != lines) return;
    try {
      gathered->reply(counted(name, requests_answer(gathered->results)));
    } catch (...) {  // the Reply, dropped, answers 500
    }
  };
  for (std::size_t k = 0; k < operations.size(); ++k) {
    const std::size_t line = operations[k].first;
    try {
      services_.host.submit(std::move(operations[k].second),
                            [gathered, finished, line](pipeline::OperationResponse result) {
                              gathered->results[line] = std::move(result);
                              finished(1);
                            });
    } catch (const std::exception& e) {
      // Not queued: this line and the ones after it fail; those queued before still run.
      for (std::size_t rest = k; rest < operations.size(); ++rest) {
        auto& failed = gathered->results[operations[rest].first];
        failed.outcome = pipeline::Outcome::failed;
        failed.error_message = std::string("the operation was not run: ") + e.what();
        failed.error_code = pipeline::error_code::unexpected;
      }
      finished(operations.size() - k);
      return;
    }
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
