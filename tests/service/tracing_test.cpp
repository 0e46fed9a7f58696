// Tracing across the hop: an operation that comes in with a W3C traceparent keeps its trace id in
// the context, and every post carries it as the Diagnostic-Id and traceparent properties the
// Azure SDKs read, so a listener continues the trace; without one, the host starts a trace.
#include <doctest/doctest.h>

#include <proton/scalar.hpp>

#include <rapidjson/document.h>

#include "service/serve_fixture.hpp"
#include "testkit/message_receiver.hpp"
#include "testkit/stepline_broker.hpp"

using namespace stepline::test;

namespace {

const std::string tracing_broker = R"(
sas_policies:
  - name: RootManageSharedAccessKey
    key: test-root-key
    rights: [manage, send, listen]
queues:
  - name: traced
)";

const std::string tracing_registration = R"(http:
  listen: 127.0.0.1:0
plugins:
  - file: service_plugins.so
endpoints:
  - name: traced
    contract: queue
    path: traced
    connection: ${env:TEST_CONNECTION}
steps:
  - name: Post new accounts
    message: Create
    entity: account
    stage: post-operation
    mode: async
    handler: {endpoint: traced}
  - name: Echo
    message: tests_Echo
    stage: post-operation
    handler: {plugin: Tests.Echo}
)";

std::string text_property(const proton::message& m, const std::string& name) {
  REQUIRE_MESSAGE(m.properties().exists(name), name);
  return proton::get<std::string>(m.properties().get(name));
}

/// "00-<trace>-<span>-<flags>" split at its dashes.
std::vector<std::string> fields_of(const std::string& traceparent) {
  std::vector<std::string> out;
  std::size_t at = 0;
  for (std::size_t dash; (dash = traceparent.find('-', at)) != std::string::npos; at = dash + 1)
    out.push_back(traceparent.substr(at, dash - at));
  out.push_back(traceparent.substr(at));
  return out;
}

}  // namespace

TEST_CASE("a listener sees the caller's trace as Diagnostic-Id and traceparent") {
  SteplineBroker broker(tracing_broker);
  MessageReceiver listener(
      broker.url(), {"traced"},
      {.user = "RootManageSharedAccessKey", .password = SteplineBroker::root_key, .reply = {}});
  Served s(tracing_registration, {{"TEST_CONNECTION", broker.connection_string()}});
  const std::string caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  REQUIRE(s.request("POST", "/api/data/v9.2/accounts", R"({"name":"Traced"})",
                    {{"traceparent", caller}})
              .status == 204);
  REQUIRE(s.request("POST", "/api/data/v9.2/accounts", R"({"name":"Untraced"})").status == 204);
  REQUIRE(listener.wait_for(2, 60000));
  auto messages = listener.messages();
  std::string traced, started;
  for (const auto& m : messages) {
    auto id = text_property(m, "Diagnostic-Id");
    CHECK(text_property(m, "traceparent") == id);
    (id.find("0af7651916cd43dd8448eb211c80319c") != std::string::npos ? traced : started) = id;
  }
  REQUIRE_FALSE(traced.empty());
  auto f = fields_of(traced);
  REQUIRE(f.size() == 4);
  CHECK(f[0] == "00");
  CHECK(f[1] == "0af7651916cd43dd8448eb211c80319c");
  CHECK(f[2].size() == 16);
  CHECK(f[2] != "b7ad6b7169203331");  // the host's own span, a child of the caller's
  CHECK(f[3] == "01");
  // Without a traceparent the host starts a trace of its own.
  REQUIRE_FALSE(started.empty());
  auto g = fields_of(started);
  REQUIRE(g.size() == 4);
  CHECK(g[1].size() == 32);
  CHECK(g[1] != f[1]);
  // The body (dataverse-json) carries it as the shared variable too.
  bool in_body = false;
  for (const auto& body : listener.bodies())
    in_body = in_body || body.find(traced) != std::string::npos;
  CHECK(in_body);
}

TEST_CASE("the trace is a read-only shared variable; a malformed traceparent starts a new trace") {
  Served s(tracing_registration,
           {{"TEST_CONNECTION",
             "Endpoint=sb://127.0.0.1:1/;SharedAccessKeyName=k;SharedAccessKey=a2V5;"
             "UseDevelopmentEmulator=true"}});
  auto echo = [&](const std::string& traceparent) {
    auto r = s.request("POST", "/api/data/v9.2/tests_Echo", "{}", {{"traceparent", traceparent}});
    REQUIRE(r.status == 200);
    rapidjson::Document d;
    d.Parse(r.body.c_str());
    return std::string(d["shared.traceparent"].GetString());
  };
  auto kept = echo("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  CHECK(kept.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
  CHECK(kept.ends_with("-00"));
  for (const char* bad : {"garbage", "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                          "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
                          "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                          "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"}) {
    auto fresh = echo(bad);
    CHECK(fresh.size() == 55);
    CHECK(fresh.find("4bf92f3577b34da6a3ce929d0e0e4736") == std::string::npos);
    CHECK(fresh.find("4BF92F") == std::string::npos);
  }
  // A later version's extra fields are allowed; the trace is continued as version 00.
  auto future = echo("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-ever");
  CHECK(future.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
}
