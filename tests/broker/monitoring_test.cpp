// stepline-broker's /healthz and /metrics: each entity's messages by state, messages in and out,
// connections, in the Prometheus text format that promtool accepts.
#include <doctest/doctest.h>

#include "amqp_client.hpp"
#include "broker_process.hpp"
#include "testkit/http_client.hpp"
#include "testkit/process.hpp"
#include "testkit/promtool.hpp"

using namespace stepline::broker::testing;

namespace {

std::string monitored_config(int http_port) {
  return R"(
http_listen: 127.0.0.1:)" +
         std::to_string(http_port) + R"(
sas_policies:
  - name: RootManageSharedAccessKey
    key: test-key
    rights: [manage, send, listen]
queues:
  - name: orders
topics:
  - name: account-events
    subscriptions:
      - name: all
event_hubs:
  - name: telemetry
    partitions: 2
)";
}

const Login monitor_login{"RootManageSharedAccessKey", "test-key"};

proton::message body(const std::string& text) {
  proton::message m;
  m.body(text);
  return m;
}

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("the broker's /metrics counts each entity's messages by state, in and out") {
  int http_port = free_port();
  BrokerProcess broker(monitored_config(http_port));
  auto health = stepline::test::http_request(http_port, "GET", "/healthz");
  CHECK(health.status == 200);
  CHECK(health.body == "{\"status\":\"alive\"}");

  CHECK(send(broker.url(), "orders", {body("1"), body("2"), body("3")}, monitor_login).accepted ==
        3);
  CHECK(receive(broker.url(), "orders", 1, Settle::dead_letter, monitor_login).messages.size() ==
        1);
  CHECK(receive(broker.url(), "orders", 1, Settle::defer, monitor_login).messages.size() == 1);
  CHECK(send(broker.url(), "account-events", {body("a"), body("b")}, monitor_login).accepted == 2);
  CHECK(send(broker.url(), "telemetry", {body("e1"), body("e2")}, monitor_login).accepted == 2);

  auto r = stepline::test::http_request(http_port, "GET", "/metrics");
  REQUIRE(r.status == 200);
  CHECK(r.header("content-type") == "text/plain; version=0.0.4; charset=utf-8");
  const auto& text = r.body;
  CHECK(has_line(text, R"(stepline_broker_messages{entity="orders",state="active"} 1)"));
  CHECK(has_line(text, R"(stepline_broker_messages{entity="orders",state="deferred"} 1)"));
  CHECK(has_line(text, R"(stepline_broker_messages{entity="orders",state="dead_lettered"} 1)"));
  CHECK(has_line(text, R"(stepline_broker_messages{entity="orders",state="scheduled"} 0)"));
  CHECK(has_line(
      text,
      R"(stepline_broker_messages{entity="account-events/Subscriptions/all",state="active"} 2)"));
  CHECK(has_line(text, R"(stepline_broker_messages{entity="telemetry",state="active"} 2)"));
  CHECK(has_line(text, R"(stepline_broker_messages_in_total{entity="orders"} 3)"));
  CHECK(has_line(text, R"(stepline_broker_messages_in_total{entity="account-events"} 2)"));
  CHECK(has_line(text, R"(stepline_broker_messages_in_total{entity="telemetry"} 2)"));
  CHECK(has_line(text, R"(stepline_broker_messages_out_total{entity="orders"} 2)"));
  // Five clients above, and the fixture's checks that the port was open.
  auto accepted = text.find("\nstepline_broker_connections_accepted_total ");
  REQUIRE(accepted != std::string::npos);
  CHECK(std::stod(text.substr(accepted + 44)) >= 5);
  CHECK(has_line(text, "stepline_broker_connections 0"));
  CHECK(
      has_line(text, R"(stepline_broker_connections_refused_total{reason="per_address_limit"} 0)"));

  CHECK(text.find("\nprocess_cpu_seconds_total ") != std::string::npos);
  CHECK(text.find("\nprocess_resident_memory_bytes ") != std::string::npos);
  // Its AMQP thread is the process's own.
  CHECK(text.find("\nstepline_broker_thread_cpu_seconds_total{thread=\"stepline-broker\"} ") !=
        std::string::npos);
  auto check = stepline::test::promtool_check(text);
  CHECK_MESSAGE(check.status == 0, check.output);

  CHECK(stepline::test::http_request(http_port, "GET", "/other").status == 404);
  CHECK(stepline::test::http_request(http_port, "POST", "/metrics", "x").status == 405);
  CHECK(broker.log().find("health and metrics on http://127.0.0.1:" + std::to_string(http_port)) !=
        std::string::npos);
}

TEST_CASE("without http_listen the broker serves no HTTP") {
  int http_port = free_port();
  std::string config = monitored_config(http_port);
  config.erase(0, config.find("sas_policies"));
  BrokerProcess broker(config);
  CHECK_FALSE(port_open(http_port));
}
