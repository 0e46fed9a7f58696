// API keys: a missing or wrong key gets the same 401, the right one runs as the key's user,
// impersonation (MSCRMCallerID, a batch line's userId) only for a key allowed to, health stays
// open, and no key reaches the log.
#include <doctest/doctest.h>

#include <rapidjson/document.h>

#include "service/serve_fixture.hpp"

using namespace stepline::test;

namespace {

const std::string integration_key = "it-0123456789abcdef0123456789abcdef";
const std::string admin_key = "ad-fedcba9876543210fedcba9876543210";
const std::string integration_user = "00000000-0000-0000-0000-0000000000a1";
const std::string admin_user = "00000000-0000-0000-0000-0000000000a2";
const std::string other_user = "00000000-0000-0000-0000-0000000000b7";

const std::string auth_registration = R"(http:
  listen: 127.0.0.1:0
  api_keys:
    - name: integration
      key: ${env:TEST_INTEGRATION_KEY}
      user: 00000000-0000-0000-0000-0000000000a1
    - name: admin
      key: ${env:TEST_ADMIN_KEY}
      user: 00000000-0000-0000-0000-0000000000a2
      may_impersonate: true
plugins:
  - file: service_plugins.so
steps:
  - name: Echo
    message: tests_Echo
    stage: post-operation
    handler: {plugin: Tests.Echo}
)";

std::map<std::string, std::string> keys() {
  return {{"TEST_INTEGRATION_KEY", integration_key}, {"TEST_ADMIN_KEY", admin_key}};
}

std::pair<std::string, std::string> bearer(const std::string& key) {
  return {"Authorization", "Bearer " + key};
}

std::string field(const std::string& body, const char* name) {
  rapidjson::Document d;
  d.Parse(body.c_str());
  REQUIRE_MESSAGE((!d.HasParseError() && d.IsObject() && d.HasMember(name)), body);
  return d[name].GetString();
}

}  // namespace

TEST_CASE("no key and a wrong key get the same 401, with no hint which") {
  Served s(auth_registration, keys());
  auto none = s.request("POST", "/api/data/v9.2/tests_Echo", "{}");
  auto wrong =
      s.request("POST", "/api/data/v9.2/tests_Echo", "{}", {bearer("nope-0123456789abcdef")});
  auto almost = s.request("POST", "/api/data/v9.2/tests_Echo", "{}",
                          {bearer(integration_key.substr(0, integration_key.size() - 1) + "x")});
  auto scheme = s.request("POST", "/api/data/v9.2/tests_Echo", "{}",
                          {{"Authorization", "Basic " + integration_key}});
  for (const auto* r : {&none, &wrong, &almost, &scheme}) {
    CHECK(r->status == 401);
    CHECK(r->body == none.body);
    CHECK(r->header("www-authenticate") == "Bearer realm=\"stepline\"");
  }
  CHECK(s.request("POST", "/stepline/v1/requests", "{}").status == 401);
  CHECK(s.request("GET", "/stepline/v1/jobs").status == 401);
  CHECK(s.request("GET", "/metrics").status == 401);
}

TEST_CASE("the right key runs as its user; health needs no key") {
  Served s(auth_registration, keys());
  auto r = s.request("POST", "/api/data/v9.2/tests_Echo", "{}", {bearer(integration_key)});
  REQUIRE_MESSAGE(r.status == 200, r.body);
  CHECK(field(r.body, "UserId") == integration_user);
  CHECK(field(r.body, "InitiatingUserId") == integration_user);
  auto lower = s.request("POST", "/api/data/v9.2/tests_Echo", "{}",
                         {{"authorization", "bearer " + admin_key}});
  CHECK(field(lower.body, "UserId") == admin_user);
  CHECK(s.request("GET", "/healthz").status == 200);
  CHECK(s.request("GET", "/readyz").status == 200);
}

TEST_CASE("impersonation is refused with 403 for a key not allowed to, done for one that is") {
  Served s(auth_registration, keys());
  auto refused = s.request("POST", "/api/data/v9.2/tests_Echo", "{}",
                           {bearer(integration_key), {"MSCRMCallerID", other_user}});
  CHECK(refused.status == 403);
  CHECK(refused.body.find("0x80040220") != std::string::npos);
  CHECK(refused.body.find("may_impersonate") != std::string::npos);
  // Naming oneself is no impersonation.
  auto self = s.request("POST", "/api/data/v9.2/tests_Echo", "{}",
                        {bearer(integration_key), {"MSCRMCallerID", integration_user}});
  CHECK(self.status == 200);

  auto allowed = s.request("POST", "/api/data/v9.2/tests_Echo", "{}",
                           {bearer(admin_key), {"MSCRMCallerID", other_user}});
  REQUIRE_MESSAGE(allowed.status == 200, allowed.body);
  CHECK(field(allowed.body, "UserId") == other_user);

  std::string line = R"({"message":"tests_Echo","userId":")" + other_user + R"("})";
  auto batch = s.request("POST", "/stepline/v1/requests", line, {bearer(integration_key)});
  CHECK(batch.status == 200);
  CHECK(batch.body.find("\"outcome\":\"failed\"") != std::string::npos);
  CHECK(batch.body.find("may_impersonate") != std::string::npos);
  auto batch_admin = s.request("POST", "/stepline/v1/requests", line, {bearer(admin_key)});
  CHECK(batch_admin.body.find(other_user) != std::string::npos);
  CHECK(batch_admin.body.find("\"outcome\":\"succeeded\"") != std::string::npos);
}

TEST_CASE("keys never reach the log, the metrics or the registration shown") {
  Served s(auth_registration, keys());
  s.request("POST", "/api/data/v9.2/tests_Echo", "{}", {bearer(integration_key)});
  s.request("POST", "/api/data/v9.2/tests_Echo", "{}", {bearer(admin_key + "x")});
  auto metrics = s.request("GET", "/metrics", {}, {bearer(admin_key)});
  CHECK(metrics.status == 200);
  CHECK(metrics.body.find(integration_key) == std::string::npos);
  CHECK(metrics.body.find(admin_key) == std::string::npos);
  s.stop();
  auto log = s.output();
  CHECK(log.find(integration_key) == std::string::npos);
  CHECK(log.find(admin_key) == std::string::npos);
  auto shown = run_stepline({"auth_registration", "show", "-c", s.config().string()});
  CHECK(shown.output.find(integration_key) == std::string::npos);
}

TEST_CASE("without API keys the intake refuses to listen beyond this machine") {
  TempDir folder("stepline-serve-");
  auto config = folder.path() / "stepline.yaml";
  std::filesystem::create_directories(folder.path() / "plugins");
  std::ofstream(config) << "http:\n  listen: 0.0.0.0:0\n";
  auto r = run_stepline({"serve", "-c", config.string()});
  CHECK(r.status == 2);
  CHECK(r.output.find("no http.api_keys are set") != std::string::npos);
  std::ofstream(config) << "http: {}\n";
  auto flag = run_stepline({"serve", "-c", config.string(), "--listen", "0.0.0.0:0"});
  CHECK(flag.status == 2);
  CHECK(flag.output.find("--listen: 0.0.0.0 can be reached from other machines") !=
        std::string::npos);
}
