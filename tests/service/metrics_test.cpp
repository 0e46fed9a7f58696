// /metrics as Prometheus scrapes it (checked by promtool): operations, steps, posts, jobs,
// AMQP connections, plug-in loads; and /readyz turning 503 when an endpoint's last post failed.
#include <doctest/doctest.h>

#include <cstring>

#include "service/serve_fixture.hpp"
#include "testkit/message_receiver.hpp"
#include "testkit/promtool.hpp"
#include "testkit/stepline_broker.hpp"

using namespace stepline::test;

namespace {

const std::string metrics_broker = R"(
sas_policies:
  - name: RootManageSharedAccessKey
    key: test-root-key
    rights: [manage, send, listen]
queues:
  - name: orders
)";

std::string metrics_registration(const SteplineBroker& broker) {
  return R"(http:
  listen: 127.0.0.1:0
plugins:
  - file: service_plugins.so
endpoints:
  - name: orders
    contract: queue
    path: orders
    connection: ${env:TEST_CONNECTION}
  - name: nowhere
    contract: queue
    path: no-such-queue
    connection: ${env:TEST_CONNECTION}
    retry: {max_attempts: 1}
steps:
  - name: Require a name
    message: Create
    entity: account
    stage: pre-validation
    handler: {plugin: Tests.RequireName}
  - name: Queue updates
    message: Update
    entity: account
    stage: post-operation
    mode: async
    handler: {endpoint: orders}
  - name: Lose deletions
    message: Delete
    entity: account
    stage: post-operation
    mode: async
    handler: {endpoint: nowhere}
)";
}

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("/metrics counts operations, steps, posts, jobs and connections, and promtool agrees") {
  SteplineBroker broker(metrics_broker);
  MessageReceiver receiver(
      broker.url(), {"orders"},
      {.user = "RootManageSharedAccessKey", .password = SteplineBroker::root_key, .reply = {}});
  Served s(metrics_registration(broker), {{"TEST_CONNECTION", broker.connection_string()}});
  auto created = s.request("POST", "/api/data/v9.2/accounts", R"({"name":"Contoso"})");
  REQUIRE(created.status == 204);
  CHECK(s.request("POST", "/api/data/v9.2/accounts", R"({"revenue":1})").status == 400);
  auto location = created.header("odata-entityid");
  auto id = location.substr(location.rfind('(') + 1, 36);
  CHECK(s.request("PATCH", "/api/data/v9.2/accounts(" + id + ")", R"({"name":"C2"})").status ==
        204);
  REQUIRE(receiver.wait_for(1, 60000));

  std::string text;
  REQUIRE(eventually([&] {
    auto r = s.request("GET", "/metrics");
    text = r.body;
    return r.status == 200 && has_line(text, "stepline_job_attempts_total{result=\"succeeded\"} 1");
  }));
  auto r = s.request("GET", "/metrics");
  CHECK(r.header("content-type") == "text/plain; version=0.0.4; charset=utf-8");
  text = r.body;
  CHECK(has_line(
      text,
      R"(stepline_operations_total{message="Create",entity="account",outcome="succeeded"} 1)"));
  CHECK(has_line(
      text,
      R"(stepline_operations_total{message="Create",entity="account",outcome="rejected"} 1)"));
  CHECK(has_line(
      text,
      R"(stepline_operations_total{message="Update",entity="account",outcome="succeeded"} 1)"));
  CHECK(has_line(
      text, R"(stepline_operation_duration_seconds_count{message="Create",entity="account"} 2)"));
  CHECK(has_line(text, R"(stepline_step_duration_seconds_count{step="Require a name"} 2)"));
  CHECK(has_line(text, R"(stepline_step_failures_total{step="Require a name"} 1)"));
  CHECK(has_line(text, R"(stepline_posts_total{endpoint="orders",outcome="accepted"} 1)"));
  CHECK(has_line(text, R"(stepline_post_duration_seconds_count{endpoint="orders"} 1)"));
  CHECK(has_line(text, R"(stepline_jobs{status="succeeded"} 1)"));
  CHECK(has_line(text, R"(stepline_jobs{status="failed"} 0)"));
  CHECK(has_line(text, "stepline_job_retries_total 0"));
  CHECK(has_line(text, "stepline_amqp_connections 1"));
  CHECK(has_line(text, "stepline_amqp_connections_opened_total 1"));
  CHECK(has_line(text,
                 R"(stepline_plugin_loads_total{library="service_plugins.so",result="loaded"} 1)"));
  CHECK(has_line(text, R"(stepline_registration_reloads_total{result="failed"} 0)"));
  CHECK(has_line(text, R"(stepline_http_responses_total{route="web_api",code="204"} 2)"));
  CHECK(has_line(text, R"(stepline_http_responses_total{route="web_api",code="400"} 1)"));
  CHECK(text.find("stepline_http_connections ") != std::string::npos);
  // The one job's context, in the context log's first segment after its 24-byte header.
  CHECK(has_line(text, "stepline_context_log_segments 1"));
  const auto log_bytes = text.find("\nstepline_context_log_bytes ");
  REQUIRE(log_bytes != std::string::npos);
  CHECK(std::stod(text.substr(log_bytes + 28)) > 24 + 100);
  // The process's own figures, and its threads' CPU by name: the intake ran the operations.
  for (const char* series : {"process_cpu_seconds_total", "process_resident_memory_bytes",
                             "process_open_fds", "process_start_time_seconds", "process_threads"}) {
    const auto at = text.find("\n" + std::string(series) + " ");
    REQUIRE_MESSAGE(at != std::string::npos, series);
    CHECK_MESSAGE(std::stod(text.substr(at + std::strlen(series) + 2)) > 0, series);
  }
  CHECK(text.find("\nstepline_thread_cpu_seconds_total{thread=\"sl-intake\"} ") !=
        std::string::npos);
  CHECK(text.find("\nstepline_thread_cpu_seconds_total{thread=\"sl-amqp\"} ") != std::string::npos);

  auto check = promtool_check(text);
  CHECK_MESSAGE(check.status == 0, check.output);
}

TEST_CASE("/readyz answers 503 naming the endpoint whose last post failed") {
  SteplineBroker broker(metrics_broker);
  Served s(metrics_registration(broker), {{"TEST_CONNECTION", broker.connection_string()}});
  auto ready = s.request("GET", "/readyz");
  CHECK(ready.status == 200);
  CHECK(ready.body.find("\"endpoint nowhere\":\"ok\"") != std::string::npos);

  auto created = s.request("POST", "/api/data/v9.2/accounts", R"({"name":"Doomed"})");
  auto location = created.header("odata-entityid");
  auto id = location.substr(location.rfind('(') + 1, 36);
  CHECK(s.request("DELETE", "/api/data/v9.2/accounts(" + id + ")").status == 204);
  HttpReply r;
  REQUIRE(eventually([&] {
    r = s.request("GET", "/readyz");
    return r.status == 503;
  }));
  CHECK(r.body.find("\"status\":\"not ready\"") != std::string::npos);
  CHECK(r.body.find("\"endpoint nowhere\":\"the last post failed at ") != std::string::npos);
  CHECK(r.body.find("\"endpoint orders\":\"ok\"") != std::string::npos);
  CHECK(r.body.find(broker.connection_string()) == std::string::npos);
  CHECK(r.body.find("test-root-key") == std::string::npos);
}
