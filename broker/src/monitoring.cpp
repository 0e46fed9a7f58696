#include "monitoring.hpp"

#include <chrono>
#include <future>
#include <map>
#include <stdexcept>
#include <vector>

#include <stepline/http/server.hpp>
#include <stepline/prometheus/process.hpp>
#include <stepline/prometheus/registry.hpp>

#include "broker.hpp"

namespace stepline::broker {
namespace {

using http::Request;
using http::Response;

/// How long a scrape or a health check waits for the AMQP thread.
constexpr auto loop_patience = std::chrono::seconds(5);

/// One entity's messages as the AMQP thread saw them.
struct EntityCounts {
  std::string entity;
  std::size_t active = 0;  ///< available or locked, not deferred
  std::size_t deferred = 0;
  std::size_t dead_lettered = 0;
};

struct Snapshot {
  std::vector<EntityCounts> entities;
  std::map<std::string, Broker::Traffic> traffic;
};

/// Runs on the AMQP thread.
Snapshot take_snapshot(const Broker& broker) {
  Snapshot s;
  for (Queue* q : broker.entities().all_queues()) {
    if (!q->dead_letter_queue()) continue;  // a dead-letter queue counts for its entity
    EntityCounts c;
    c.entity = q->path();
    for (const auto& [sequence, m] : q->messages()) (m.deferred ? c.deferred : c.active)++;
    c.dead_lettered = q->dead_letter_queue()->message_count();
    s.entities.push_back(std::move(c));
  }
  for (const auto& [key, hub] : broker.entities().hubs()) {
    EntityCounts c;
    c.entity = hub->name();
    for (const auto& p : hub->partitions()) c.active += p.events.size();
    s.entities.push_back(std::move(c));
  }
  s.traffic = broker.traffic();
  return s;
}

/// `work` run on the broker's AMQP thread; nullopt when that thread did not get to it in time.
template <class Work>
auto on_loop(Broker& broker, Work work) -> std::optional<decltype(work())> {
  using Result = decltype(work());
  auto promise = std::make_shared<std::promise<Result>>();
  auto future = promise->get_future();
  broker.run_on_loop([promise, work] { promise->set_value(work()); });
  if (future.wait_for(loop_patience) != std::future_status::ready) return std::nullopt;
  return future.get();
}

std::pair<std::string, unsigned short> split_address(const std::string& address) {
  std::string host;
  std::string port;
  if (!address.empty() && address.front() == '[') {
    auto close = address.find(']');
    if (close != std::string::npos && close + 1 < address.size() && address[close + 1] == ':') {
      host = address.substr(1, close - 1);
      port = address.substr(close + 2);
    }
  } else if (auto colon = address.rfind(':'); colon != std::string::npos) {
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  }
  if (host == "localhost") host = "127.0.0.1";
  try {
    std::size_t used = 0;
    unsigned long n = std::stoul(port, &used);
    if (!host.empty() && used == port.size() && n <= 65535)
      return {host, static_cast<unsigned short>(n)};
  } catch (const std::exception&) {
  }
  throw std::runtime_error("http_listen: '" + address +
                           "' is not an address to listen on; write HOST:PORT, e.g. "
                           "127.0.0.1:9090");
}

}  // namespace

class Monitoring::Routes final : public http::Handler {
 public:
  explicit Routes(Broker& broker)
      : broker_(broker),
        messages_(registry_.gauge(
            "stepline_broker_messages",
            "Messages each queue and subscription holds by state (active: available or locked; "
            "deferred; dead_lettered: in its dead-letter queue; scheduled: the broker schedules "
            "none), and the events each event hub retains (active).",
            {"entity", "state"})),
        in_(registry_.counter("stepline_broker_messages_in_total",
                              "Messages published to each queue, topic and event hub.",
                              {"entity"})),
        out_(registry_.counter("stepline_broker_messages_out_total",
                               "Messages delivered to consumers of each queue, subscription and "
                               "event hub (a redelivery counts again).",
                               {"entity"})),
        connections_(registry_.gauge("stepline_broker_connections", "AMQP connections open now.")),
        accepted_(registry_.counter("stepline_broker_connections_accepted_total",
                                    "AMQP connections accepted.")),
        refused_(registry_.counter("stepline_broker_connections_refused_total",
                                   "AMQP connections refused, by reason.", {"reason"})),
        closed_(registry_.counter("stepline_broker_connections_closed_total",
                                  "AMQP connections the broker closed, by reason.", {"reason"})),
        store_failures_(registry_.counter("stepline_broker_store_write_failures_total",
                                          "Group commits of the message store that failed.")) {
    prometheus::add_process_metrics(registry_);
    prometheus::add_thread_cpu_metrics(
        registry_, "stepline_broker_thread_cpu_seconds_total",
        "CPU time, user and system, of the broker's threads by name.");
  }

  std::optional<Response> screen(const Request& head) override {
    if (head.path != "/healthz" && head.path != "/metrics")
      return Response::text(404, "stepline-broker serves /healthz and /metrics\n");
    if (head.method != "GET" && head.method != "HEAD") {
      auto r = Response::text(405, "GET only\n");
      r.header("Allow", "GET, HEAD");
      return r;
    }
    return std::nullopt;
  }

  // Both routes wait for the AMQP thread, so they run on the server's workers.
  Response handle(const Request& r) override {
    if (r.path == "/healthz") {
      if (on_loop(broker_, [] { return true; }))
        return Response::json(200, "{\"status\":\"alive\"}");
      return Response::json(503, "{\"status\":\"the AMQP thread did not answer within 5 s\"}");
    }
    auto snapshot = on_loop(broker_, [this] { return take_snapshot(broker_); });
    if (!snapshot)
      return Response::text(503, "the broker's AMQP thread did not answer within 5 s\n");
    return Response::text(200, exposition(*snapshot), std::string(prometheus::content_type));
  }

 private:
  std::string exposition(const Snapshot& s) {
    std::lock_guard lock(mutex_);  // one scrape fills the families at a time
    messages_.clear();
    for (const auto& e : s.entities) {
      messages_.labels({e.entity, "active"}).set(double(e.active));
      messages_.labels({e.entity, "deferred"}).set(double(e.deferred));
      messages_.labels({e.entity, "dead_lettered"}).set(double(e.dead_lettered));
      messages_.labels({e.entity, "scheduled"}).set(0);
    }
    for (const auto& [entity, t] : s.traffic) {
      in_.labels({entity}).advance_to(double(t.in));
      out_.labels({entity}).advance_to(double(t.out));
    }
    const Counters& c = broker_.counters();
    connections_.get().set(double(c.connections_open.load()));
    accepted_.get().advance_to(double(c.connections_accepted.load()));
    refused_.labels({"per_address_limit"})
        .advance_to(double(c.connections_refused_per_address.load()));
    refused_.labels({"unauthenticated_limit"})
        .advance_to(double(c.connections_refused_unauthenticated.load()));
    closed_.labels({"protocol_error"})
        .advance_to(double(c.connections_closed_protocol_error.load()));
    closed_.labels({"authentication_timeout"})
        .advance_to(double(c.connections_closed_authentication_timeout.load()));
    closed_.labels({"too_many_links"})
        .advance_to(double(c.connections_closed_too_many_links.load()));
    store_failures_.get().advance_to(double(c.store_write_failures.load()));
    return registry_.text();
  }

  Broker& broker_;
  std::mutex mutex_;
  prometheus::Registry registry_;
  prometheus::Family<prometheus::Gauge>& messages_;
  prometheus::Family<prometheus::Counter>& in_;
  prometheus::Family<prometheus::Counter>& out_;
  prometheus::Family<prometheus::Gauge>& connections_;
  prometheus::Family<prometheus::Counter>& accepted_;
  prometheus::Family<prometheus::Counter>& refused_;
  prometheus::Family<prometheus::Counter>& closed_;
  prometheus::Family<prometheus::Counter>& store_failures_;

 public:
  std::unique_ptr<http::Server> server;
};

Monitoring::Monitoring(Broker& broker, const std::string& address)
    : routes_(std::make_unique<Routes>(broker)) {
  auto [host, port] = split_address(address);
  http::ServerOptions options;
  options.address = host;
  options.port = port;
  options.workers = 2;
  options.queue_limit = 16;
  options.max_connections = 64;
  options.body_limit = 1024;
  options.server_name = "stepline-broker";
  routes_->server = std::make_unique<http::Server>(options, *routes_);
  routes_->server->start();
}

Monitoring::~Monitoring() {
  if (routes_ && routes_->server) routes_->server->stop();
}

std::string Monitoring::url() const {
  return routes_->server->url();
}

}  // namespace stepline::broker
