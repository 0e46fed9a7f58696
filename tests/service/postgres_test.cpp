// `stepline serve` on a PostgreSQL store shared by two hosts: the System Jobs API, /metrics and
// `stepline jobs` of either host see the jobs of both, an operator's retry on one host is run by
// whichever host takes it, and /readyz reports the database while it is down, with /metrics
// still answering.
#include <doctest/doctest.h>

#include <rapidjson/document.h>

#include <fstream>

#include "service/serve_fixture.hpp"
#include "testkit/postgres.hpp"

using namespace stepline::test;

namespace {

/// The host section's store and the rest of the registration: a gate plug-in step on Create of
/// account (its jobs fail while the gate file exists).
std::string two_host_registration(const std::filesystem::path& gate) {
  return "  store: {postgresql: \"${env:STEPLINE_DATABASE_URL}\"}\n" + std::string(R"(http:
  listen: 127.0.0.1:0
plugins:
  - file: service_plugins.so
steps:
  - name: Gate
    message: Create
    entity: account
    stage: post-operation
    mode: async
    handler: {plugin: Tests.Gate}
    configuration: )") +
         gate.string() + "\n";
}

rapidjson::Document shared_parsed(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str());
  REQUIRE_MESSAGE(!d.HasParseError(), text);
  return d;
}

/// The ids the jobs API of `s` lists for `query`.
std::vector<std::string> shared_listed(const Served& s, const std::string& query) {
  auto r = s.request("GET", "/stepline/v1/jobs" + query);
  REQUIRE_MESSAGE(r.status == 200, r.body);
  auto d = shared_parsed(r.body);
  std::vector<std::string> ids;
  for (const auto& j : d["jobs"].GetArray()) ids.emplace_back(j["id"].GetString());
  return ids;
}

std::string shared_status_of(const Served& s, const std::string& id) {
  auto r = s.request("GET", "/stepline/v1/jobs/" + id);
  REQUIRE_MESSAGE(r.status == 200, r.body);
  return shared_parsed(r.body)["status"].GetString();
}

/// The value of the series `series` (name and labels) in a /metrics text; -1 when absent.
double shared_metric(const std::string& text, const std::string& series) {
  auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

}  // namespace

TEST_CASE("two hosts on one PostgreSQL store share the jobs page, metrics and stepline jobs") {
  auto& server = shared_postgres();
  const std::map<std::string, std::string> env{
      {"STEPLINE_DATABASE_URL", server.create_database("serve_shared")}};
  TempDir folder("stepline-shared-gate-");
  auto gate = folder.path() / "gate";
  std::ofstream(gate) << "closed\n";
  Served a(two_host_registration(gate), env);
  Served b(two_host_registration(gate), env);

  for (int i = 0; i < 3; ++i)
    REQUIRE(
        a.request("POST", "/api/data/v9.2/accounts", "{\"name\":\"A" + std::to_string(i) + "\"}")
            .status == 204);
  for (int i = 0; i < 2; ++i)
    REQUIRE(
        b.request("POST", "/api/data/v9.2/accounts", "{\"name\":\"B" + std::to_string(i) + "\"}")
            .status == 204);
  // Text PostgreSQL cannot keep is the request's fault, named, and nothing is written.
  auto nul = a.request("POST", "/api/data/v9.2/accounts", R"({"name":"A\u0000NUL"})");
  CHECK(nul.status == 400);
  CHECK_MESSAGE(
      nul.body.find("account attribute 'name' holds a NUL character") != std::string::npos,
      nul.body);
  // Each host's page lists all five, newest first, whichever host queued them.
  REQUIRE(eventually([&] { return shared_listed(b, "?status=failed").size() == 5; }));
  auto on_a = shared_listed(a, "");
  CHECK(on_a == shared_listed(b, ""));
  CHECK(shared_listed(a, "?limit=2").size() == 2);

  // `stepline jobs` from a third place with the same registration sees them too.
  auto cli = capture({"/usr/bin/env", "STEPLINE_DATABASE_URL=" + env.at("STEPLINE_DATABASE_URL"),
                      stepline_executable(), "jobs", "list", "-c", a.config().string(), "--json",
                      "--status", "failed"});
  REQUIRE_MESSAGE(cli.status == 0, cli.output);
  for (const auto& id : on_a) CHECK_MESSAGE(cli.output.find(id) != std::string::npos, id);

  // A retry asked of one host is run by any: the job of host b succeeds once the gate is open.
  std::filesystem::remove(gate);
  const auto& id = on_a.back();  // the oldest: one of a's
  auto retried = b.request("POST", "/stepline/v1/jobs/" + id + "/retry", "{}",
                           {{"Content-Type", "application/json"}});
  REQUIRE_MESSAGE(retried.status == 200, retried.body);
  CHECK(eventually([&] { return shared_status_of(a, id) == "succeeded"; }));

  // The counts are the store's: every host reports all five jobs (counted beside the network
  // thread, so a scrape shows them once a count it asked for is done).
  auto scraped_jobs = [&](const Served& s, const char* status) {
    auto scraped = s.request("GET", "/metrics");
    REQUIRE(scraped.status == 200);
    return shared_metric(scraped.body, std::string("stepline_jobs{status=\"") + status + "\"}");
  };
  for (const Served* s : {&a, &b})
    CHECK(eventually(
        [&] { return scraped_jobs(*s, "failed") == 4 && scraped_jobs(*s, "succeeded") == 1; }));
  CHECK(eventually([&] { return a.request("GET", "/readyz").status == 200; }));
  CHECK(a.request("GET", "/readyz").body.find("\"store\":\"ok\"") != std::string::npos);

  // The database down: readiness says so, naming the store without its password, and a scrape
  // still answers at once with the last counts.
  server.stop();
  CHECK(eventually([&] { return a.request("GET", "/readyz").status == 503; }));
  auto down = a.request("GET", "/readyz");
  CHECK_MESSAGE(down.body.find("the database does not answer") != std::string::npos, down.body);
  CHECK(down.body.find(PostgresServer::password) == std::string::npos);
  CHECK(scraped_jobs(a, "failed") == 4);
  server.start();
  CHECK(eventually([&] { return a.request("GET", "/readyz").status == 200; }));
  CHECK(shared_listed(a, "?status=failed").size() == 4);
  CHECK(a.output().find(PostgresServer::password) == std::string::npos);
  CHECK(b.stop() == 0);
  CHECK(a.stop() == 0);
}
