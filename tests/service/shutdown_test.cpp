// SIGTERM to `stepline serve`: the listener stops taking connections, every request already
// accepted is answered (with Connection: close), the jobs they queued are kept, and the process
// exits cleanly; nothing accepted is lost.
#include <doctest/doctest.h>

#include <future>
#include <memory>

#include <stepline/host/service/running_host.hpp>

#include "service/serve_fixture.hpp"

using namespace stepline::test;

namespace {

const std::string shutdown_registration = R"(http:
  listen: 127.0.0.1:0
  workers: 4
plugins:
  - file: service_plugins.so
steps:
  - name: Sleep
    message: tests_Sleep
    stage: post-operation
    handler: {plugin: Tests.Sleep}
    configuration: "1000"
  - name: Sleep later
    message: Create
    entity: account
    stage: post-operation
    mode: async
    handler: {plugin: Tests.Sleep}
    configuration: "500"
)";

/// Scrapes of /metrics so far: each is a request the server counts as read.
int scrapes = 0;

/// A gauge's (or counter's) value from /metrics, or -1.
double gauge(const Served& s, const std::string& name) {
  ++scrapes;
  auto text = s.request("GET", "/metrics").body;
  auto at = text.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::stod(text.substr(at + name.size() + 2));
}

}  // namespace

TEST_CASE("on SIGTERM every accepted request is answered and its jobs are kept") {
  Served s(shutdown_registration);
  // Twenty connections, each taken by the server before the signal: the listener closes on it,
  // and a connection still waiting in the kernel's backlog would be refused or reset, which on a
  // busy machine happened to requests started just before.
  std::vector<std::unique_ptr<HttpConnection>> connections;
  for (int i = 0; i < 20; ++i) connections.push_back(std::make_unique<HttpConnection>(s.port()));
  // The scrape's own connection is counted too.
  REQUIRE(eventually([&] { return gauge(s, "stepline_http_connections") >= 21; }));
  const double read_before = gauge(s, "stepline_http_requests_total");
  const int scrapes_before = scrapes;
  // Twenty requests at once, half of them a second's sleep: what is not sleeping waits.
  std::vector<std::future<HttpReply>> accepted;
  for (int i = 0; i < 20; ++i)
    accepted.push_back(std::async(std::launch::async, [&, i] {
      auto& c = *connections[i];
      if (i % 2) return c.request("POST", "/api/data/v9.2/tests_Sleep", "{}");
      return c.request("POST", "/api/data/v9.2/accounts",
                       "{\"name\":\"A" + std::to_string(i) + "\"}");
    }));
  // Every request read whole before the signal: a connection whose request had not arrived yet is
  // idle, and idle connections are closed on the signal. The scrapes count as requests too.
  REQUIRE(eventually([&] {
    return gauge(s, "stepline_http_requests_total") >=
           read_before + 20 + (scrapes - scrapes_before);
  }));
  // Queued, at a worker, or waiting in the host's intake behind a Sleep: a Create that came
  // before the first Sleep may be answered already, but eight or more are not (the Sleeps take
  // a second each).
  REQUIRE(gauge(s, "stepline_http_in_flight") >= 8);

  ::kill(s.pid(), SIGTERM);
  // The listener closes at once; what was accepted is still answered.
  CHECK(eventually([&] { return !port_open(s.port()); }, std::chrono::seconds(30)));
  int answered = 0, closing = 0;
  for (auto& f : accepted) {
    auto r = f.get();
    CHECK((r.status == 204));
    answered += r.status == 204;
    closing += r.header("connection") == "close";
  }
  CHECK(answered == 20);
  // Those still waiting when the signal came (eight or more Sleeps of a second each) were
  // answered while stopping, each closing its connection.
  CHECK(closing >= 4);
  CHECK(s.stop() == 0);
  auto log = s.output();
  CHECK(log.find("SIGTERM received; stopping") != std::string::npos);
  CHECK(log.find("dropped") == std::string::npos);

  // The ten Creates committed their records and jobs: none is lost.
  auto jobs = run_stepline({"jobs", "-c", s.config().string(), "list", "--json", "--limit", "0"});
  REQUIRE(jobs.status == 0);
  std::size_t count = 0, at = 0;
  while ((at = jobs.output.find("\"step\":\"Sleep later\"", at)) != std::string::npos)
    ++count, ++at;
  CHECK(count == 10);
  CHECK(jobs.output.find("\"status\":\"in-progress\"") == std::string::npos);
}

TEST_CASE(
    "while stopping, an idle keep-alive connection is closed and a request under way answered") {
  Served s(shutdown_registration);
  HttpConnection idle(s.port());
  CHECK(idle.request("GET", "/readyz").status == 200);
  HttpConnection busy(s.port());
  busy.send(
      "POST /api/data/v9.2/tests_Sleep HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ::kill(s.pid(), SIGTERM);
  CHECK(idle.closed_by_peer(std::chrono::seconds(30)));
  auto r = busy.read_reply(std::chrono::seconds(60));
  CHECK(r.status == 204);
  CHECK(s.stop() == 0);
}

TEST_CASE("stop() turns readiness false before it stops taking requests, then waits for them") {
  TempDir folder("stepline-running-host-");
  auto config = folder.path() / "stepline.yaml";
  std::ofstream(config) << "host:\n  plugin_folder: " << SERVICE_PLUGIN_DIR
                        << "\n  data_folder: data\n  log_level: warn\n"
                        << shutdown_registration;
  stepline::host::service::RunningHost running(config);
  running.start();
  CHECK(running.readiness().ready());
  auto port = std::stoi(running.url().substr(running.url().rfind(':') + 1));
  auto slow = std::async(std::launch::async, [&] {
    return http_request(port, "POST", "/api/data/v9.2/tests_Sleep", "{}");
  });
  // The slow request is read (this scrape is the second request the server read).
  REQUIRE(eventually([&] {
    auto text = http_request(port, "GET", "/metrics").body;
    auto at = text.find("\nstepline_http_requests_total ");
    return at != std::string::npos && std::stod(text.substr(at + 30)) >= 2;
  }));
  auto stopping = std::async(std::launch::async, [&] { running.stop(std::chrono::seconds(30)); });
  REQUIRE(eventually([&] { return !running.readiness().ready(); }));
  auto readiness = running.readiness();
  REQUIRE(readiness.checks.size() == 1);
  CHECK(readiness.checks[0] == std::pair<std::string, std::string>{"intake", "stopping"});
  CHECK(slow.get().status == 204);
  stopping.get();
}
