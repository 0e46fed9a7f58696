// The `http:` section: its settings and defaults, API keys read from the environment and never
// shown, the tables the Web API names, and each mistake at its line and column.
#include <doctest/doctest.h>

#include <algorithm>

#include <stepline/registration/describe.hpp>
#include <stepline/registration/values.hpp>

#include "scratch.hpp"

namespace stepline::registration {
namespace {

using testing::errors_of;
using testing::problems_of;
using testing::ScopedEnv;
using testing::Scratch;

const Problem* find_problem(const std::vector<Problem>& problems, std::string_view text) {
  for (const auto& p : problems)
    if (p.message.find(text) != std::string::npos) return &p;
  return nullptr;
}

}  // namespace

TEST_CASE("an http section with every key is read into HttpSettings") {
  Scratch scratch;
  ScopedEnv key("STEPLINE_TEST_API_KEY", "0123456789abcdef0123456789abcdef");
  scratch.write("server.crt", "cert");
  scratch.write("server.key", "key");
  auto path = scratch.write("stepline.yaml", R"(http:
  listen: 0.0.0.0:8443
  body_limit: 256KiB
  workers: 4
  queue: 64
  max_connections: 100
  request_timeout: 5s
  idle_timeout: 2m
  tls:
    certificate: server.crt
    key: server.key
  api_keys:
    - name: integration
      key: ${env:STEPLINE_TEST_API_KEY}
      user: 00000000-0000-0000-0000-0000000000aa
      may_impersonate: true
  tables:
    - name: account
      set: accounts
      columns: {revenue: money, industrycode: optionset, sic: bigint}
)");
  auto r = load(path);
  const auto& h = r.http;
  CHECK(h.enabled);
  CHECK(h.address == "0.0.0.0");
  CHECK(h.port == 8443);
  CHECK(h.body_limit == 256 * 1024);
  CHECK(h.workers == 4);
  CHECK(h.queue == 64);
  CHECK(h.max_connections == 100);
  CHECK(h.request_timeout == std::chrono::seconds(5));
  CHECK(h.idle_timeout == std::chrono::minutes(2));
  CHECK(h.tls_certificate == scratch.folder() / "server.crt");
  CHECK(h.tls_key == scratch.folder() / "server.key");
  REQUIRE(h.api_keys.size() == 1);
  CHECK(h.api_keys[0].name == "integration");
  CHECK(h.api_keys[0].key == "0123456789abcdef0123456789abcdef");
  CHECK(h.api_keys[0].user.str() == "00000000-0000-0000-0000-0000000000aa");
  CHECK(h.api_keys[0].may_impersonate);
  REQUIRE(h.tables.size() == 1);
  CHECK(h.tables[0].set == "accounts");
  REQUIRE(h.tables[0].columns.size() == 3);
  CHECK(h.tables[0].columns[0] == std::pair<std::string, ValueKind>{"revenue", ValueKind::money});
  CHECK(h.tables[0].columns[2].second == ValueKind::big_integer);
  CHECK(r.warnings.empty());

  auto shown = to_yaml(r);
  CHECK(shown.find("0123456789abcdef") == std::string::npos);
  CHECK(shown.find("key: '***'") != std::string::npos);
  CHECK(shown.find("listen: 0.0.0.0:8443") != std::string::npos);
}

TEST_CASE("an empty http section takes the defaults: loopback, 1 MiB, 8 workers") {
  Scratch scratch;
  auto r = load(scratch.write("stepline.yaml", "http: {}\n"));
  CHECK(r.http.enabled);
  CHECK(r.http.address == "127.0.0.1");
  CHECK(r.http.port == 8080);
  CHECK(r.http.body_limit == 1024 * 1024);
  CHECK(r.http.workers == 8);
  CHECK(r.http.api_keys.empty());
  CHECK_FALSE(load(scratch.write("none.yaml", "host: {}\n")).http.enabled);
}

TEST_CASE("an API key without a user acts as host.default_user_id") {
  Scratch scratch;
  ScopedEnv key("STEPLINE_TEST_API_KEY", "0123456789abcdef0123456789abcdef");
  auto r = load(scratch.write("stepline.yaml", R"(host:
  default_user_id: 00000000-0000-0000-0000-0000000000bb
http:
  api_keys: [{name: ops, key: "${env:STEPLINE_TEST_API_KEY}"}]
)"));
  CHECK(r.http.api_keys.at(0).user.str() == "00000000-0000-0000-0000-0000000000bb");
  CHECK_FALSE(r.http.api_keys.at(0).may_impersonate);
}

TEST_CASE("listening beyond this machine without API keys is an error at listen") {
  Scratch scratch;
  auto errors = errors_of(scratch, "http:\n  listen: 0.0.0.0:8080\n");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].where.line == 2);
  CHECK(errors[0].where.column == 11);
  CHECK(errors[0].message ==
        "http.listen: 0.0.0.0 can be reached from other machines and no http.api_keys are set; "
        "add api_keys, or listen on 127.0.0.1");
  CHECK(errors_of(scratch, "http:\n  listen: \"[::1]:0\"\n").empty());
  CHECK(errors_of(scratch, "http:\n  listen: localhost:9000\n").empty());
}

TEST_CASE("a listen address that is not ADDRESS:PORT is reported with an example") {
  Scratch scratch;
  for (const char* bad : {"8080", "example.com:80", "127.0.0.1:70000", "127.0.0.1:x"}) {
    auto errors = errors_of(scratch, std::string("http:\n  listen: \"") + bad + "\"\n");
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].where.line == 2);
    CHECK(errors[0].message.starts_with(std::string("http.listen: '") + bad +
                                        "' is not an address to listen on"));
  }
}

TEST_CASE("API key mistakes: too short, unset variable, written in the file, repeated") {
  Scratch scratch;
  ScopedEnv short_key("STEPLINE_TEST_SHORT", "abc");
  ScopedEnv missing("STEPLINE_TEST_UNSET", nullptr);
  auto problems = problems_of(scratch, R"(http:
  api_keys:
    - name: a
      key: ${env:STEPLINE_TEST_SHORT}
    - name: b
      key: ${env:STEPLINE_TEST_UNSET}
    - name: c
      key: written-in-the-file-0123456789
    - name: c
      key: written-in-the-file-0123456789
)");
  auto* too_short = find_problem(problems, "at least 16 characters");
  REQUIRE(too_short);
  CHECK(too_short->where.line == 4);
  CHECK(too_short->message.starts_with("http.api_keys[0].key:"));
  auto* unset = find_problem(problems, "STEPLINE_TEST_UNSET");
  REQUIRE(unset);
  CHECK(unset->where.line == 6);
  auto* written = find_problem(problems, "written in the registration file");
  REQUIRE(written);
  CHECK(written->severity == Severity::warning);
  auto* same = find_problem(problems, "the same key as API key 'c'");
  REQUIRE(same);
  CHECK(same->where.line == 10);
  CHECK(find_problem(problems, "there is already an API key named 'c'"));
  for (const auto& p : problems) CHECK(p.message.find("written-in-the-file") == std::string::npos);
}

TEST_CASE("a repeated API key name or key is reported once per repeat, at the first's place") {
  Scratch scratch;
  ScopedEnv key("STEPLINE_TEST_API_KEY", "0123456789abcdef0123456789abcdef");
  auto errors = errors_of(scratch, R"(http:
  api_keys:
    - {name: ops, key: "${env:STEPLINE_TEST_API_KEY}"}
    - {name: ci, key: "${env:STEPLINE_TEST_API_KEY}"}
    - {name: ops, key: "${env:STEPLINE_TEST_API_KEY}"}
)");
  const std::string file = (scratch.folder() / "stepline.yaml").string();
  std::vector<std::string> messages;
  for (const auto& e : errors) messages.push_back(std::to_string(e.where.line) + " " + e.message);
  std::sort(messages.begin(), messages.end());
  CHECK(messages ==
        std::vector<std::string>{"4 http.api_keys[1].key: the same key as API key 'ops' at " +
                                     file + ":3:7; give each client its own key",
                                 "5 http.api_keys[2].key: the same key as API key 'ops' at " +
                                     file + ":3:7; give each client its own key",
                                 "5 name: there is already an API key named 'ops' at " + file +
                                     ":3:14; give each API key its own name"});
}

TEST_CASE("api_keys and tables must be lists") {
  Scratch scratch;
  auto errors = errors_of(scratch, "http:\n  api_keys: {name: ops}\n  tables: account\n");
  REQUIRE(errors.size() == 2);
  CHECK(errors[0].where.line == 2);
  CHECK(errors[0].where.column == 13);
  CHECK(errors[0].message == "http.api_keys: expected a list of items, each starting with '- '");
  CHECK(errors[1].where.line == 3);
  CHECK(errors[1].message == "http.tables: expected a list of items, each starting with '- '");
}

TEST_CASE("table and TLS mistakes are reported at their values") {
  Scratch scratch;
  auto errors = errors_of(scratch, R"(http:
  tls:
    certificate: missing.crt
  tables:
    - name: account
      columns: {revenue: currency}
    - name: account
)");
  auto* cert = find_problem(errors, "http.tls.certificate: no file");
  REQUIRE(cert);
  CHECK(cert->where.line == 3);
  auto* key = find_problem(errors, "add key:");
  REQUIRE(key);
  auto* type = find_problem(errors, "'currency' is not a column type");
  REQUIRE(type);
  CHECK(type->where.line == 6);
  CHECK(type->where.column == 26);
  CHECK(find_problem(errors, "'account' is already listed"));
}

TEST_CASE("listen addresses and loopback") {
  CHECK(parse_listen_address("127.0.0.1:80") == std::pair<std::string, int>{"127.0.0.1", 80});
  CHECK(parse_listen_address("[::1]:0") == std::pair<std::string, int>{"::1", 0});
  CHECK(parse_listen_address("localhost:1") == std::pair<std::string, int>{"127.0.0.1", 1});
  CHECK_FALSE(parse_listen_address("::1:80"));
  CHECK(is_loopback("127.0.0.1"));
  CHECK(is_loopback("127.12.0.9"));
  CHECK(is_loopback("::1"));
  CHECK_FALSE(is_loopback("0.0.0.0"));
  CHECK_FALSE(is_loopback("::"));
  CHECK_FALSE(is_loopback("10.0.0.1"));
}

}  // namespace stepline::registration
