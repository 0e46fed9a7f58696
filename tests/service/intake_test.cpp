// The HTTP intake's routes and statuses as a Dataverse Web API client meets them: Create,
// Retrieve, Update, Delete and custom messages, the MSCRM headers, errors in Dataverse's shape,
// batches of requests, and malformed input.
#include <doctest/doctest.h>

#include <set>

#include <rapidjson/document.h>

#include "service/serve_fixture.hpp"
#include "testkit/tls_files.hpp"

using namespace stepline::test;

namespace {

const std::string intake_registration = R"(http:
  listen: 127.0.0.1:0
  body_limit: 64KiB
  tables:
    - name: account
      columns: {revenue: money, industrycode: optionset, founded: datetime}
plugins:
  - file: service_plugins.so
steps:
  - name: Require a name
    message: Create
    entity: account
    stage: pre-validation
    handler: {plugin: Tests.RequireName}
  - name: Mark retrieved
    id: 6f1c0000-0000-0000-0000-000000000001
    message: Retrieve
    entity: account
    stage: post-operation
    handler: {plugin: Tests.MarkRetrieved}
  - name: Mark listed
    message: RetrieveMultiple
    entity: account
    stage: post-operation
    handler: {plugin: Tests.MarkRetrieved}
  - name: Echo
    message: tests_Echo
    stage: post-operation
    handler: {plugin: Tests.Echo}
)";

rapidjson::Document json_of(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str());
  REQUIRE_MESSAGE(!d.HasParseError(), text);
  return d;
}

std::string id_from(const HttpReply& r) {
  auto location = r.header("odata-entityid");
  auto open = location.rfind('('), close = location.rfind(')');
  REQUIRE_MESSAGE(open != std::string::npos, location);
  return location.substr(open + 1, close - open - 1);
}

std::string error_code(const HttpReply& r) {
  auto d = json_of(r.body);
  REQUIRE_MESSAGE(d.HasMember("error"), r.body);
  return d["error"]["code"].GetString();
}

std::string error_message(const HttpReply& r) {
  return json_of(r.body)["error"]["message"].GetString();
}

}  // namespace

TEST_CASE("Create: 204 with OData-EntityId, or 201 with the record on return=representation") {
  Served s(intake_registration);
  auto created = s.request("POST", "/api/data/v9.2/accounts",
                           R"({"name":"Contoso","revenue":2000000.50,"industrycode":7})",
                           {{"Content-Type", "application/json"}});
  REQUIRE_MESSAGE(created.status == 204, created.body);
  auto id = id_from(created);
  CHECK(created.header("odata-entityid") ==
        "http://127.0.0.1:" + std::to_string(s.port()) + "/api/data/v9.2/accounts(" + id + ")");
  CHECK(created.header("odata-version") == "4.0");
  CHECK(created.body.empty());

  auto shown = s.request("POST", "/api/data/v9.2/accounts",
                         R"({"name":"Fabrikam","revenue":250000.00,"founded":"2001-02-03T04:05:06Z",
                             "accountid":"a0000000-0000-0000-0000-0000000000f1"})",
                         {{"Prefer", "return=representation"}});
  REQUIRE_MESSAGE(shown.status == 201, shown.body);
  CHECK(shown.header("preference-applied") == "return=representation");
  CHECK(id_from(shown) == "a0000000-0000-0000-0000-0000000000f1");
  auto d = json_of(shown.body);
  CHECK(std::string(d["accountid"].GetString()) == "a0000000-0000-0000-0000-0000000000f1");
  CHECK(std::string(d["name"].GetString()) == "Fabrikam");
  CHECK(shown.body.find("\"revenue\":250000.00") != std::string::npos);  // the digits sent
  CHECK(std::string(d["founded"].GetString()) == "2001-02-03T04:05:06.000Z");
  CHECK(std::string(d["@odata.context"].GetString()).ends_with("$metadata#accounts/$entity"));
}

TEST_CASE("GET with $select runs the Retrieve pipeline; PATCH updates; DELETE deletes; 404 after") {
  Served s(intake_registration);
  auto id = id_from(s.request("POST", "/api/data/v9.2/accounts",
                              R"({"name":"Northwind","revenue":10,"telephone1":"555"})"));
  auto url = "/api/data/v9.2/accounts(" + id + ")";
  auto got = s.request("GET", url + "?$select=name,revenue");
  REQUIRE_MESSAGE(got.status == 200, got.body);
  auto d = json_of(got.body);
  CHECK(std::string(d["name"].GetString()) == "Northwind");
  CHECK_FALSE(d.HasMember("telephone1"));
  CHECK(std::string(d["retrieved_by"].GetString()) == "Tests.MarkRetrieved");
  CHECK(std::string(d["@odata.context"].GetString()).ends_with("#accounts(name,revenue)/$entity"));

  auto patched = s.request("PATCH", url, R"({"telephone1":"556","revenue":11.25})");
  CHECK(patched.status == 204);
  auto after = json_of(s.request("GET", url).body);
  CHECK(std::string(after["telephone1"].GetString()) == "556");
  CHECK(after["revenue"].GetDouble() == 11.25);

  auto represented =
      s.request("PATCH", url, R"({"telephone1":"557"})", {{"Prefer", "return=representation"}});
  CHECK(represented.status == 200);
  CHECK(represented.body.find("\"telephone1\":\"557\"") != std::string::npos);

  CHECK(s.request("DELETE", url).status == 204);
  auto gone = s.request("GET", url);
  CHECK(gone.status == 404);
  CHECK(error_code(gone) == "0x80040217");
  auto patch_gone = s.request("PATCH", url, R"({"name":"x"})");
  CHECK(patch_gone.status == 404);
  CHECK(s.request("DELETE", url).status == 404);
}

TEST_CASE("a plug-in's InvalidPluginExecution is 400 with its message and code kept") {
  Served s(intake_registration);
  auto r = s.request("POST", "/api/data/v9.2/accounts", R"({"revenue":1})");
  CHECK(r.status == 400);
  CHECK(error_code(r) == "0x80040265");
  CHECK(error_message(r) == "A record needs a name.");
  CHECK_FALSE(r.header("x-ms-service-request-id").empty());
}

TEST_CASE("a custom message takes its inputs from the body and answers with its outputs") {
  Served s(intake_registration);
  auto r = s.request("POST", "/api/data/v9.2/tests_Echo",
                     R"({"Text":"hello","Count":3,"Amount":{"@type":"money","value":"1.50"}})");
  REQUIRE_MESSAGE(r.status == 200, r.body);
  auto d = json_of(r.body);
  CHECK(std::string(d["Text"].GetString()) == "hello");
  CHECK(d["Count"].GetInt() == 3);
  CHECK(r.body.find("\"Amount\":1.50") != std::string::npos);
  CHECK(std::string(d["@odata.context"].GetString())
            .ends_with("$metadata#Microsoft.Dynamics.CRM.tests_EchoResponse"));
  // Bound to a record: the record is the Target.
  auto bound = s.request("POST",
                         "/api/data/v9.2/accounts(a0000000-0000-0000-0000-000000000001)/"
                         "Microsoft.Dynamics.CRM.tests_Echo",
                         "{}");
  REQUIRE_MESSAGE(bound.status == 200, bound.body);
  CHECK(bound.body.find("\"accountid\":\"a0000000-0000-0000-0000-000000000001\"") !=
        std::string::npos);
}

TEST_CASE("unknown entity sets and routes are 404 in Dataverse's shape; wrong methods 405") {
  Served s(intake_registration);
  auto r = s.request("POST", "/api/data/v9.2/Account", "{}");
  CHECK(r.status == 404);
  CHECK(error_code(r) == "0x8006088a");
  CHECK(error_message(r) == "Resource not found for the segment 'Account'.");
  CHECK(s.request("GET", "/nowhere").status == 404);
  auto put =
      s.request("PUT", "/api/data/v9.2/accounts(a0000000-0000-0000-0000-000000000001)", "{}");
  CHECK(put.status == 405);
  CHECK(put.header("allow") == "GET, PATCH, DELETE");
  CHECK(s.request("GET", "/stepline/v1/requests").status == 405);
  auto alternate = s.request("GET", "/api/data/v9.2/accounts(name='x')");
  CHECK(alternate.status == 400);
  auto post_list = s.request("PUT", "/api/data/v9.2/accounts", "{}");
  CHECK(post_list.status == 405);
  CHECK(post_list.header("allow") == "GET, POST");
}

TEST_CASE("a column whose name holds a NUL comes back whole, escaped") {
  Served s(intake_registration);
  auto id =
      id_from(s.request("POST", "/api/data/v9.2/accounts", R"({"name":"N","a\u0000b":"kept"})"));
  auto got = s.request("GET", "/api/data/v9.2/accounts(" + id + ")");
  REQUIRE(got.status == 200);
  CHECK_MESSAGE(got.body.find(R"("a\u0000b":"kept")") != std::string::npos, got.body);
  CHECK(got.body.find(R"("a":)") == std::string::npos);
}

TEST_CASE("GET on a set lists its records: $filter with eq and and, $select, pages with nextLink") {
  Served s(intake_registration);
  const std::vector<std::string> bodies = {
      R"({"name":"Contoso","revenue":12.50,"city":"Oslo","employees":7})",
      R"({"name":"Fabrikam","revenue":99,"city":"Oslo","employees":7})",
      R"({"name":"O'Neil","revenue":12.5,"city":"Bergen","employees":8})",
      R"({"name":"Litware","revenue":12.50,"city":"Oslo","employees":9,"active":true})",
      R"({"name":"Northwind","revenue":1,"city":"Oslo","employees":9})"};
  for (const auto& body : bodies)
    REQUIRE(s.request("POST", "/api/data/v9.2/accounts", body).status == 204);
  auto names = [](const HttpReply& r) {
    std::vector<std::string> out;
    auto d = json_of(r.body);
    for (const auto& record : d["value"].GetArray()) out.emplace_back(record["name"].GetString());
    return out;
  };

  // Money compares as a number whatever its text (12.5 and 12.50); strings with '' quoted.
  auto oslo = s.request("GET",
                        "/api/data/v9.2/accounts?$select=name,revenue&$filter=city%20eq%20'Oslo'"
                        "%20and%20revenue%20eq%2012.5");
  REQUIRE_MESSAGE(oslo.status == 200, oslo.body);
  CHECK(names(oslo) == std::vector<std::string>{"Contoso", "Litware"});
  auto d = json_of(oslo.body);
  CHECK(std::string(d["@odata.context"].GetString()).ends_with("$metadata#accounts(name,revenue)"));
  CHECK_FALSE(d["value"][0].HasMember("city"));
  // The RetrieveMultiple pipeline ran: its post-operation step marked what it answers.
  CHECK(std::string(d["value"][1]["retrieved_by"].GetString()) == "Tests.MarkRetrieved");
  CHECK(d["value"][0].HasMember("accountid"));
  CHECK_FALSE(d.HasMember("@odata.nextLink"));
  CHECK(names(s.request("GET", "/api/data/v9.2/accounts?$filter=name%20eq%20'O''Neil'")) ==
        std::vector<std::string>{"O'Neil"});
  CHECK(names(s.request("GET", "/api/data/v9.2/accounts?$filter=active%20eq%20true")) ==
        std::vector<std::string>{"Litware"});
  CHECK(names(s.request("GET", "/api/data/v9.2/accounts?$filter=city%20eq%20'Paris'")).empty());

  // Pages: odata.maxpagesize, followed by @odata.nextLink until there is none.
  std::vector<std::string> all;
  std::string target = "/api/data/v9.2/accounts?$select=name&$filter=employees%20eq%207%20or";
  auto refused = s.request("GET", target);
  CHECK(refused.status == 400);
  CHECK(error_message(refused).find("$filter: expected `and` or the end of the filter (at "
                                    "character 16 of 'employees eq 7 or')") != std::string::npos);
  target = "/api/data/v9.2/accounts?$select=name";
  int pages = 0;
  while (!target.empty()) {
    auto page = s.request("GET", target, {}, {{"Prefer", "odata.maxpagesize=2"}});
    REQUIRE_MESSAGE(page.status == 200, page.body);
    CHECK(page.header("preference-applied") == "odata.maxpagesize=2");
    auto got = names(page);
    CHECK(got.size() <= 2);
    all.insert(all.end(), got.begin(), got.end());
    auto p = json_of(page.body);
    target.clear();
    if (p.HasMember("@odata.nextLink")) {
      std::string next = p["@odata.nextLink"].GetString();
      auto path = next.find("/api/");
      REQUIRE(path != std::string::npos);
      target = next.substr(path);
      CHECK(target.find("$select=name") != std::string::npos);
    }
    REQUIRE(++pages <= 3);
  }
  CHECK(pages == 3);
  CHECK(all == std::vector<std::string>{"Contoso", "Fabrikam", "O'Neil", "Litware", "Northwind"});
  auto top =
      s.request("GET", "/api/data/v9.2/accounts?$top=2", {}, {{"Prefer", "odata.maxpagesize=1"}});
  CHECK(names(top) == std::vector<std::string>{"Contoso", "Fabrikam"});
  CHECK_FALSE(json_of(top.body).HasMember("@odata.nextLink"));

  // What it cannot take is refused, naming it.
  auto refuse = [&](const std::string& query, const std::string& says) {
    auto r = s.request("GET", "/api/data/v9.2/accounts?" + query);
    CHECK_MESSAGE(r.status == 400, query);
    CHECK_MESSAGE(error_message(r).find(says) != std::string::npos, error_message(r));
  };
  refuse("$filter=name%20ne%20'x'", "only `column eq value` conditions joined by `and`");
  refuse("$filter=revenue%20eq%20'lots'", "$filter: revenue: must be a number");
  refuse("$filter=_primarycontactid_value%20eq%20a0000000-0000-0000-0000-000000000001",
         "a filter on a lookup (_primarycontactid_value) is not supported");
  refuse("$filter=accountid%20eq%20a0000000-0000-0000-0000-000000000001",
         "retrieve the record as accounts(ID)");
  refuse("$filter=name%20eq%20'a'%20and%20name%20eq%20'b'", "name is in the filter twice");
  refuse("$filter=name%20eq%20'open", "a string is not closed");
  refuse("$orderby=name", "the query option $orderby is not supported by this host");
  refuse("$top=0", "$top: '0' is not a whole number from 1 to 5000");
  refuse("$skiptoken=x", "$skiptoken: 'x' is not a whole number");
  auto big =
      s.request("GET", "/api/data/v9.2/accounts", {}, {{"Prefer", "odata.maxpagesize=9999"}});
  CHECK(big.status == 400);
}

TEST_CASE("MSCRM headers: tag, bypass of custom sync logic and of steps by id") {
  Served s(intake_registration);
  auto tagged = s.request("POST", "/api/data/v9.2/tests_Echo", "{}", {{"MSCRM.tag", "nightly"}});
  CHECK(json_of(tagged.body)["shared.tag"].GetString() == std::string("nightly"));

  auto bypassed = s.request("POST", "/api/data/v9.2/accounts", R"({"revenue":1})",
                            {{"MSCRM.BypassBusinessLogicExecution", "CustomSync"}});
  CHECK(bypassed.status == 204);
  auto legacy = s.request("POST", "/api/data/v9.2/accounts", R"({"revenue":1})",
                          {{"MSCRM.BypassCustomPluginExecution", "true"}});
  CHECK(legacy.status == 204);

  auto id = id_from(s.request("POST", "/api/data/v9.2/accounts", R"({"name":"b"})"));
  auto unmarked = s.request(
      "GET", "/api/data/v9.2/accounts(" + id + ")", {},
      {{"MSCRM.BypassBusinessLogicExecutionStepIds", "6f1c0000-0000-0000-0000-000000000001"}});
  CHECK(unmarked.status == 200);
  CHECK(unmarked.body.find("retrieved_by") == std::string::npos);

  auto bad = s.request("POST", "/api/data/v9.2/accounts", R"({"name":"x"})",
                       {{"MSCRM.BypassBusinessLogicExecution", "Everything"}});
  CHECK(bad.status == 400);
  CHECK(error_message(bad).find("Everything") != std::string::npos);
  auto bad_caller = s.request("POST", "/api/data/v9.2/tests_Echo", "{}", {{"MSCRMCallerID", "me"}});
  CHECK(bad_caller.status == 400);
}

TEST_CASE("malformed bodies are 400 naming the problem; bodies over the limit are 413") {
  Served s(intake_registration);
  for (const std::string& body :
       {std::string("{\"name\":"), std::string("[1,2]"), std::string("not json"),
        std::string("{\"name\":\"\xff\xfe\"}"), std::string(100000 / 2, '[')}) {
    auto r = s.request("POST", "/api/data/v9.2/accounts",
                       body.size() > 65536 ? body.substr(0, 60000) : body);
    CHECK(r.status == 400);
    CHECK(error_code(r) == "0x80048d19");
  }
  auto deep = s.request(
      "POST", "/api/data/v9.2/accounts",
      "{\"name\":\"x\",\"deep\":" + std::string(20000, '[') + std::string(20000, ']') + "}");
  CHECK(deep.status == 400);
  CHECK(error_message(deep) == "deep: nested more than 64 levels");
  auto typed = s.request("POST", "/api/data/v9.2/accounts", R"({"name":"x","revenue":"lots"})");
  CHECK(typed.status == 400);
  CHECK(error_message(typed) == "revenue: must be a number like 2500.00");
  auto nested = s.request("POST", "/api/data/v9.2/accounts", R"({"name":"x","contact":{"a":1}})");
  CHECK(nested.status == 400);
  auto lookup =
      s.request("POST", "/api/data/v9.2/accounts",
                R"json({"name":"x","primarycontactid@odata.bind":"/contacts(nope)"})json");
  CHECK(lookup.status == 400);

  auto big = s.request("POST", "/api/data/v9.2/accounts",
                       "{\"name\":\"" + std::string(70000, 'x') + "\"}");
  CHECK(big.status == 413);
  CHECK(error_message(big).find("limit of 65536 bytes") != std::string::npos);
  CHECK(s.request("GET", "/healthz").status == 200);  // and the host is fine
}

TEST_CASE("a lookup is bound with @odata.bind and returned as _name_value") {
  Served s(intake_registration);
  auto r = s.request(
      "POST", "/api/data/v9.2/accounts",
      R"json({"name":"x","primarycontactid@odata.bind":"/contacts(c0000000-0000-0000-0000-000000000001)"})json",
      {{"Prefer", "return=representation,odata.include-annotations=\"*\""}});
  REQUIRE_MESSAGE(r.status == 201, r.body);
  auto d = json_of(r.body);
  CHECK(std::string(d["_primarycontactid_value"].GetString()) ==
        "c0000000-0000-0000-0000-000000000001");
  CHECK(std::string(
            d["_primarycontactid_value@Microsoft.Dynamics.CRM.lookuplogicalname"].GetString()) ==
        "contact");
}

TEST_CASE("/stepline/v1/requests runs one request or NDJSON of many, one result line each") {
  Served s(intake_registration);
  std::string body =
      R"({"message":"Create","target":{"logicalName":"account","attributes":{"name":"one"}}})"
      "\n"
      R"({"message":"Create","target":{"logicalName":"account","attributes":{}}})"
      "\n\n"
      R"({"message":"Create","target":"oops"})"
      "\n";
  auto r = s.request("POST", "/stepline/v1/requests", body);
  REQUIRE(r.status == 200);
  CHECK(r.header("content-type") == "application/x-ndjson");
  std::vector<std::string> lines;
  for (std::size_t at = 0, end; (end = r.body.find('\n', at)) != std::string::npos; at = end + 1)
    lines.push_back(r.body.substr(at, end - at));
  REQUIRE(lines.size() == 3);
  CHECK(std::string(json_of(lines[0])["outcome"].GetString()) == "succeeded");
  CHECK(std::string(json_of(lines[1])["outcome"].GetString()) == "rejected");
  CHECK(std::string(json_of(lines[1])["error"]["message"].GetString()) == "A record needs a name.");
  CHECK(std::string(json_of(lines[2])["outcome"].GetString()) == "invalid-request");

  auto single = s.request("POST", "/stepline/v1/requests",
                          "{\n  \"message\": \"tests_Echo\",\n  \"parameters\": {\"X\": 1}\n}\n");
  REQUIRE(single.status == 200);
  CHECK(single.body.find("\"X\":1") != std::string::npos);
  CHECK(std::count(single.body.begin(), single.body.end(), '\n') == 1);
  CHECK(s.request("POST", "/stepline/v1/requests", "").status == 400);
}

TEST_CASE("the service document and WhoAmI answer as Dataverse's do") {
  Served s(intake_registration);
  auto doc = json_of(s.request("GET", "/api/data/v9.2/").body);
  CHECK(std::string(doc["value"][0]["name"].GetString()) == "accounts");
  auto who = json_of(s.request("GET", "/api/data/v9.2/WhoAmI").body);
  CHECK(who.HasMember("UserId"));
  CHECK(who.HasMember("OrganizationId"));
}

TEST_CASE("over TLS with the registration's certificate and key") {
  TempDir certs("stepline-serve-tls-");
  auto files = make_tls_files(certs.path());
  Served s("http:\n  listen: 127.0.0.1:0\n  tls:\n    certificate: " + files.server_cert +
           "\n    key: " + files.server_key + "\n");
  CHECK(s.output().find("listening on https://127.0.0.1:") != std::string::npos);
  auto out = capture({"curl", "-sS", "--max-time", "30", "--cacert", files.ca_cert,
                      "https://localhost:" + std::to_string(s.port()) + "/healthz"});
  CHECK_MESSAGE(out.status == 0, out.output);
  CHECK(out.output.rfind("{\"status\":\"alive\",\"registration\":{\"generation\":1,", 0) == 0);
}

TEST_CASE("/readyz reports each check as JSON") {
  Served s(intake_registration);
  auto r = s.request("GET", "/readyz");
  CHECK(r.status == 200);
  auto d = json_of(r.body);
  CHECK(std::string(d["status"].GetString()) == "ready");
  CHECK(std::string(d["checks"]["store"].GetString()) == "ok");
  CHECK(std::string(d["checks"]["registration"].GetString()) == "ok");
}

TEST_CASE("the Web API's operations from many connections share commits, whatever the workers") {
  Served s(R"(http:
  listen: 127.0.0.1:0
  workers: 1
)");
  auto commits = [&] {
    auto text = s.request("GET", "/metrics").body;
    const std::string name = "\nstepline_store_commits_total ";
    auto at = text.find(name);
    REQUIRE_MESSAGE(at != std::string::npos, text);
    return std::stod(text.substr(at + name.size()));
  };
  const double before = commits();
  // Sixty-four Creates sent at once over their own connections, for one worker: each worker
  // hands its operation to the host's intake and takes the next request, and the intake runs
  // what has gathered into one commit.
  constexpr int n = 64;
  std::vector<std::unique_ptr<HttpConnection>> connections;
  for (int i = 0; i < n; ++i) connections.push_back(std::make_unique<HttpConnection>(s.port()));
  for (int i = 0; i < n; ++i) {
    std::string body = "{\"name\":\"A" + std::to_string(i) + "\"}";
    connections[i]->send(
        "POST /api/data/v9.2/accounts HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/json\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body);
  }
  std::set<std::string> ids;
  for (int i = 0; i < n; ++i) {
    auto r = connections[i]->read_reply();
    CHECK(r.status == 204);
    ids.insert(id_from(r));
  }
  CHECK(ids.size() == std::size_t(n));
  const double shared = commits() - before;
  CHECK(shared >= 1);
  CHECK(shared < n);
  // Each record is there, and reads back through the Retrieve pipeline.
  for (const auto& id : ids)
    CHECK(s.request("GET", "/api/data/v9.2/accounts(" + id + ")").status == 200);

  // A batch of requests runs in the order of its lines, each seeing what the lines before it
  // wrote, in a few commits rather than one a line.
  std::string batch;
  const std::string id = "7d9f0000-0000-0000-0000-000000000001";
  batch += R"({"message":"Create","target":{"logicalName":"account","id":")" + id +
           R"(","attributes":{"name":"v0"}}})"
           "\n";
  for (int i = 1; i < 50; ++i)
    batch += R"({"message":"Update","target":{"logicalName":"account","id":")" + id +
             R"(","attributes":{"name":"v)" + std::to_string(i) +
             R"("}}})"
             "\n";
  batch += R"({"message":"Create","target":{"logicalName":"account","id":")" + id +
           R"(","attributes":{"name":"again"}}})"
           "\n";
  const double before_batch = commits();
  auto answered = s.request("POST", "/stepline/v1/requests", batch);
  REQUIRE(answered.status == 200);
  std::vector<std::string> lines;
  for (std::size_t at = 0, end; (end = answered.body.find('\n', at)) != std::string::npos;
       at = end + 1)
    lines.push_back(answered.body.substr(at, end - at));
  REQUIRE(lines.size() == 51);
  for (int i = 0; i < 50; ++i)
    CHECK(lines[i].find("\"outcome\":\"succeeded\"") != std::string::npos);
  CHECK(lines[50].find("\"outcome\":\"succeeded\"") == std::string::npos);  // a duplicate
  CHECK(commits() - before_batch < 25);
  CHECK(s.request("GET", "/api/data/v9.2/accounts(" + id + ")").body.find("\"name\":\"v49\"") !=
        std::string::npos);
}
