// The System Jobs API and page: jobs newest first with filters and paging, a job's fields with
// its retry schedule and its context with secrets masked, the operator's actions and their
// refusals, protection against cross-site requests, and the page's own files.
#include <doctest/doctest.h>

#include <rapidjson/document.h>

#include "service/serve_fixture.hpp"

using namespace stepline::test;

namespace {

std::string jobs_registration(const std::filesystem::path& gate) {
  return R"(http:
  listen: 127.0.0.1:0
plugins:
  - file: service_plugins.so
endpoints:
  - name: down
    contract: queue
    path: contacts
    connection: Endpoint=sb://127.0.0.1:1/;SharedAccessKeyName=k;SharedAccessKey=a2V5;UseDevelopmentEmulator=true
    retry: {max_attempts: 5, base_delay: 1h, max_delay: 10h, jitter: 0}
    timeout: 1s
steps:
  - name: Gate
    message: Create
    entity: account
    stage: post-operation
    mode: async
    handler: {plugin: Tests.Gate}
    configuration: )" +
         gate.string() + R"(
  - name: Post contacts
    message: Create
    entity: contact
    stage: post-operation
    mode: async
    handler: {endpoint: down}
)";
}

rapidjson::Document parsed(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str());
  REQUIRE_MESSAGE((!d.HasParseError() && d.IsObject()), text);
  return d;
}

const std::vector<std::pair<std::string, std::string>> json_type = {
    {"Content-Type", "application/json"}};

/// The jobs a list query returns, as parsed JSON.
struct Listing {
  rapidjson::Document d;
  std::size_t size() const { return d["jobs"].Size(); }
  std::string id(std::size_t i) const {
    return d["jobs"][static_cast<unsigned>(i)]["id"].GetString();
  }
  std::string status(std::size_t i) const {
    return d["jobs"][static_cast<unsigned>(i)]["status"].GetString();
  }
  std::string next() const { return d["next"].IsNull() ? "" : d["next"].GetString(); }
};

Listing list(const Served& s, const std::string& query) {
  auto r = s.request("GET", "/stepline/v1/jobs" + query);
  REQUIRE_MESSAGE(r.status == 200, r.body);
  return {parsed(r.body)};
}

std::string status_of(const Served& s, const std::string& id) {
  return parsed(s.request("GET", "/stepline/v1/jobs/" + id).body)["status"].GetString();
}

struct Jobs {
  Jobs() : gate(folder.path() / "gate"), served(jobs_registration(gate)) {}
  TempDir folder{"stepline-jobs-gate-"};
  std::filesystem::path gate;
  Served served;

  /// Three failed account jobs (the gate is closed) and two contact jobs waiting for a retry.
  void queue() {
    std::ofstream(gate) << "closed\n";
    for (int i = 0; i < 3; ++i)
      REQUIRE(served
                  .request("POST", "/api/data/v9.2/accounts",
                           "{\"name\":\"A" + std::to_string(i) + "\"}")
                  .status == 204);
    for (int i = 0; i < 2; ++i)
      REQUIRE(
          served
              .request(
                  "POST", "/api/data/v9.2/contacts",
                  R"({"lastname":"C","password":"pw-SECRET-1","note":"Endpoint=sb://x/;SharedAccessKeyName=n;SharedAccessKey=key-SECRET-2"})")
              .status == 204);
    REQUIRE(eventually([&] {
      return list(served, "?status=failed").size() == 3 &&
             list(served, "?status=waiting").size() == 2;
    }));
  }
};

}  // namespace

TEST_CASE("the jobs API lists newest first, filters by status, step, table and time, and pages") {
  Jobs j;
  j.queue();
  auto& s = j.served;
  auto all = list(s, "");
  REQUIRE(all.size() == 5);
  long long previous = std::numeric_limits<long long>::max();
  for (unsigned i = 0; i < 5; ++i) {
    long long sequence = all.d["jobs"][i]["sequence"].GetInt64();
    CHECK(sequence < previous);
    previous = sequence;
  }
  CHECK(all.next().empty());
  CHECK(list(s, "?status=failed").size() == 3);
  CHECK(list(s, "?status=waiting&entity=contact").size() == 2);
  CHECK(list(s, "?step=Gate").size() == 3);
  CHECK(list(s, "?step=Post%20contacts").size() == 2);
  CHECK(list(s, "?entity=order").size() == 0);
  CHECK(list(s, "?from=2000-01-01T00:00:00Z&until=2999-01-01T00:00:00Z").size() == 5);
  CHECK(list(s, "?from=2999-01-01T00:00:00Z").size() == 0);
  CHECK(list(s, "?until=2000-01-01T00:00:00Z").size() == 0);

  auto first = list(s, "?limit=2");
  REQUIRE(first.size() == 2);
  REQUIRE_FALSE(first.next().empty());
  auto second = list(s, "?limit=2&after=" + first.next());
  REQUIRE(second.size() == 2);
  auto third = list(s, "?limit=2&after=" + second.next());
  CHECK(third.size() == 1);
  CHECK(third.next().empty());
  CHECK(second.id(0) == all.id(2));
  CHECK(third.id(0) == all.id(4));

  CHECK(s.request("GET", "/stepline/v1/jobs?status=lost").status == 400);
  CHECK(s.request("GET", "/stepline/v1/jobs?from=yesterday").status == 400);
  auto control = s.request("GET", "/stepline/v1/jobs?step=Gate%00x");
  CHECK(control.status == 400);
  CHECK_MESSAGE(control.body.find("step: 'Gate\\\\u0000x' holds a control character") !=
                    std::string::npos,
                control.body);
}

TEST_CASE("a job shows every field, its retry schedule, its actions and its context masked") {
  Jobs j;
  j.queue();
  auto& s = j.served;
  auto waiting = list(s, "?status=waiting").id(0);
  auto r = s.request("GET", "/stepline/v1/jobs/" + waiting);
  REQUIRE(r.status == 200);
  auto d = parsed(r.body);
  for (const char* name :
       {"id",         "status",    "step",          "stepId",          "message",
        "entity",     "recordId",  "endpoint",      "correlationId",   "depth",
        "sequence",   "createdOn", "startedOn",     "completedOn",     "postponeUntil",
        "retryCount", "errorCode", "errorMessage",  "friendlyMessage", "executionTimeMs",
        "trace",      "context",   "retrySchedule", "actions"})
    CHECK_MESSAGE(d.HasMember(name), name);
  CHECK(std::string(d["endpoint"].GetString()) == "down");
  CHECK(d["retryCount"].GetInt() == 1);
  CHECK(std::string(d["friendlyMessage"].GetString()).size() > 0);
  const auto& schedule = d["retrySchedule"];
  CHECK(std::string(schedule["source"].GetString()) == "endpoint 'down'");
  CHECK(schedule["maxAttempts"].GetInt() == 5);
  CHECK(schedule["nextAttemptAt"].IsString());
  REQUIRE(schedule["upcoming"].Size() == 3);
  CHECK(std::string(schedule["upcoming"][0]["wait"].GetString()) == "2h");
  CHECK(std::string(schedule["upcoming"][2]["wait"].GetString()) == "8h");
  CHECK(d["actions"].Size() == 3);

  CHECK(r.body.find("pw-SECRET-1") == std::string::npos);
  CHECK(r.body.find("key-SECRET-2") == std::string::npos);
  const auto& attributes = d["context"]["inputParameters"]["Target"]["attributes"];
  CHECK(std::string(attributes["password"].GetString()) == "***");
  CHECK(std::string(attributes["note"].GetString()).ends_with("SharedAccessKey=***"));
  CHECK(std::string(attributes["lastname"].GetString()) == "C");

  CHECK(s.request("GET", "/stepline/v1/jobs/00000000-0000-0000-0000-000000000000").status == 404);
}

TEST_CASE("actions: postpone, resume, cancel and retry; refusals are 409 and say why") {
  Jobs j;
  j.queue();
  auto& s = j.served;
  auto waiting = list(s, "?status=waiting");
  auto a = waiting.id(0), b = waiting.id(1);
  auto url = [](const std::string& id, const char* action) {
    return "/stepline/v1/jobs/" + id + "/" + action;
  };

  auto postponed = s.request("POST", url(a, "postpone"), R"({"until":"2h"})", json_type);
  REQUIRE_MESSAGE(postponed.status == 200, postponed.body);
  CHECK(parsed(postponed.body)["status"].GetString() == std::string("waiting"));
  CHECK(s.request("POST", url(a, "postpone"), R"({"until":"soon"})", json_type).status == 400);
  CHECK(s.request("POST", url(a, "postpone"), "{}", json_type).status == 400);

  auto canceled = s.request("POST", url(b, "cancel"), "{}", json_type);
  CHECK(parsed(canceled.body)["status"].GetString() == std::string("canceled"));
  auto refused = s.request("POST", url(b, "resume"), "{}", json_type);
  CHECK(refused.status == 409);
  CHECK(refused.body.find("canceled") != std::string::npos);
  CHECK(s.request("POST", url(b, "retry"), "{}", json_type).status == 200);
  CHECK(s.request("POST", url(b, "fly"), "{}", json_type).status == 404);

  // The failed ones run again once the cause is gone.
  auto failed = list(s, "?status=failed").id(0);
  std::filesystem::remove(j.gate);
  auto retried = s.request("POST", url(failed, "retry"), "{}", json_type);
  CHECK(parsed(retried.body)["status"].GetString() == std::string("ready"));
  CHECK(eventually([&] { return status_of(s, failed) == "succeeded"; }));
  CHECK(s.request("POST", url(failed, "retry"), "{}", json_type).status == 409);

  auto resumed = s.request("POST", url(a, "resume"), "{}", json_type);
  CHECK(resumed.status == 200);
  CHECK(s.output().find("by an operator over HTTP") != std::string::npos);
}

TEST_CASE("actions are refused when a browser sends them for another site") {
  Jobs j;
  j.queue();
  auto& s = j.served;
  auto id = list(s, "?status=failed").id(0);
  auto url = "/stepline/v1/jobs/" + id + "/retry";
  auto from_elsewhere =
      s.request("POST", url, "{}",
                {{"Content-Type", "application/json"}, {"Origin", "http://attacker.example"}});
  CHECK(from_elsewhere.status == 403);
  auto cross = s.request("POST", url, "{}",
                         {{"Content-Type", "application/json"}, {"Sec-Fetch-Site", "cross-site"}});
  CHECK(cross.status == 403);
  auto form =
      s.request("POST", url, "x=1", {{"Content-Type", "application/x-www-form-urlencoded"}});
  CHECK(form.status == 403);
  // A page that rebinds its own name to this machine: the Host header names it.
  HttpConnection rebinding(s.port());
  rebinding.send("GET /stepline/v1/jobs HTTP/1.1\r\nHost: attacker.example:80\r\n\r\n");
  CHECK(rebinding.read_reply().status == 403);
  CHECK(s.request("GET", "/stepline/v1/jobs", {}, {{"Host", "attacker.example"}}).status == 400);
  CHECK(status_of(s, id) == "failed");
  auto own = "http://127.0.0.1:" + std::to_string(s.port());
  CHECK(s.request("POST", url, "{}",
                  {{"Content-Type", "application/json"},
                   {"Origin", own},
                   {"Sec-Fetch-Site", "same-origin"}})
            .status == 200);
}

TEST_CASE("the page and its files are served with a strict content security policy") {
  Jobs j;
  auto& s = j.served;
  for (const char* path : {"/jobs", "/jobs/", "/jobs/01a248ee-d606-77b4-8ec8-f0638be3c89e"}) {
    auto page = s.request("GET", path);
    CHECK(page.status == 200);
    CHECK(page.header("content-type") == "text/html; charset=utf-8");
    CHECK(page.body.find("<script src=\"/jobs/assets/jobs.js\">") != std::string::npos);
    CHECK(page.header("content-security-policy").find("script-src 'self'") != std::string::npos);
    CHECK(page.header("x-content-type-options") == "nosniff");
  }
  auto script = s.request("GET", "/jobs/assets/jobs.js");
  CHECK(script.status == 200);
  CHECK(script.header("content-type") == "text/javascript; charset=utf-8");
  CHECK(script.body.find("/stepline/v1/jobs") != std::string::npos);
  CHECK(s.request("GET", "/jobs/assets/jobs.css").status == 200);
  CHECK(s.request("GET", "/jobs/assets/other.js").status == 404);
  CHECK(s.request("POST", "/jobs", "{}", json_type).status == 405);
}
