// The HTTP intake of `stepline serve`: the routes a client, an operator and a monitoring system
// use (docs/HTTP.md) on the shared HTTP server. Operations go through the Dataverse-shaped Web
// API (/api/data/v9.2/…) or as batches of requests (/stepline/v1/requests); operators see and
// act on system jobs (/jobs, /stepline/v1/jobs); /healthz, /readyz and /metrics serve
// monitoring. Every request reads the host's current registration (API keys, tables, custom
// messages), so a registration swapped into the pipeline applies from the next request on.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <stepline/http/server.hpp>

namespace stepline::prometheus {
class Registry;
class Counter;
template <class Metric>
class Family;
}  // namespace stepline::prometheus

namespace stepline::host {
class Host;
namespace store {
class JobStore;
}
}  // namespace stepline::host

namespace stepline::host::http {

struct Caller;

/// What /readyz answers: ready when every check is "ok".
struct Readiness {
  /// (check, "ok" or what is wrong), e.g. ("store", "ok"), ("endpoint orders", "…").
  std::vector<std::pair<std::string, std::string>> checks;
  bool ready() const;
};

struct IntakeServices {
  Host& host;
  /// Runs the readiness checks; called for each /readyz.
  std::function<Readiness()> readiness;
  /// What /metrics exposes; null = no metrics route.
  prometheus::Registry* metrics = nullptr;
  /// The job store the jobs page and API read and change; null = no jobs routes.
  store::JobStore* jobs = nullptr;
  /// More members for /healthz's JSON object (`"registration":{…}`); null = none.
  std::function<std::string()> health;
};

class Intake final : public ::stepline::http::Handler {
 public:
  explicit Intake(IntakeServices services);
  ~Intake() override;

  std::optional<::stepline::http::Response> screen(const ::stepline::http::Request& head) override;
  std::optional<::stepline::http::Response> answer_now(
      const ::stepline::http::Request& request) override;
  ::stepline::http::Response handle(const ::stepline::http::Request& request) override;
  /// A Web API request's operation goes to Host::submit on SQLite, so that the requests of many
  /// connections share commits without a worker each: from the network thread (take_now) while
  /// the host's intake keeps up, else from a worker (handle_async). The rest, and every request
  /// on PostgreSQL (where submit runs one operation at a time), as handle().
  bool take_now(const std::shared_ptr<const ::stepline::http::Request>& request,
                const std::function<::stepline::http::Reply()>& reply) override;
  void handle_async(std::shared_ptr<const ::stepline::http::Request> request,
                    ::stepline::http::Reply reply) override;
  ::stepline::http::Response error(int status, const std::string& message) override;

  class View;

 private:
  std::shared_ptr<const View> view();

  ::stepline::http::Response counted(std::string_view route, ::stepline::http::Response r);
  /// Whether `request`'s operation goes to Host::submit now.
  bool submits(const ::stepline::http::Request& request);
  /// Routes a Web API request and submits its operation; `reply` gives the Reply, once.
  void submit(std::shared_ptr<const ::stepline::http::Request> request,
              const std::function<::stepline::http::Reply()>& reply);
  /// The same for POST /stepline/v1/requests: its lines' operations, answered once all are.
  void submit_requests(const ::stepline::http::Request& request, const Caller& caller,
                       const std::function<::stepline::http::Reply()>& reply);

  IntakeServices services_;
  prometheus::Family<prometheus::Counter>* responses_ = nullptr;
  std::shared_ptr<const View> view_;
  std::mutex view_mutex_;
  /// Counts a submission until the last copy of what it returns is gone (its completion
  /// handler, answered or never queued).
  std::shared_ptr<void> submitted();

  // Operations submitted and not yet answered: the destructor waits for them, whose answers
  // use this intake.
  std::mutex submitted_mutex_;
  std::condition_variable submitted_done_;
  std::size_t submitted_ = 0;
};

}  // namespace stepline::host::http
