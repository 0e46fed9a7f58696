// Webhook endpoints and claim checks in the registration: the three auth types with their
// secrets from the environment, the signing secret, the claim_check block, and every mistake at
// its line and column without ever echoing a secret.
#include <doctest/doctest.h>

#include <algorithm>

#include <stepline/registration/describe.hpp>

#include "scratch.hpp"

namespace stepline::registration {
namespace {

using testing::errors_of;
using testing::problems_of;
using testing::ScopedEnv;
using testing::Scratch;

std::string webhook(std::string_view more) {
  return R"(endpoints:
  - name: orders-hook
    contract: webhook
    url: https://orders.example/api/orders
)" + std::string(more);
}

bool mentions(const std::vector<Problem>& problems, std::string_view text) {
  return std::any_of(problems.begin(), problems.end(),
                     [&](const Problem& p) { return p.message.find(text) != std::string::npos; });
}

}  // namespace

TEST_CASE("a webhook with a function key from the environment posts to its url with ?code=") {
  Scratch scratch;
  ScopedEnv key("STEPLINE_TEST_FUNCTION_KEY", "function-key-value");
  auto r = load(scratch.write(
      "stepline.yaml",
      webhook(R"(    auth: {type: webhook-key, key: "${env:STEPLINE_TEST_FUNCTION_KEY}"}
    timeout: 60s
)")));
  REQUIRE(r.endpoints.size() == 1);
  const auto& e = r.endpoints[0];
  CHECK(e.contract == Contract::webhook);
  REQUIRE(e.webhook);
  CHECK(e.webhook->url == "https://orders.example/api/orders");
  CHECK(e.webhook->auth == WebhookAuth::webhook_key);
  CHECK(e.webhook->auth_values ==
        std::vector<std::pair<std::string, std::string>>{{"code", "function-key-value"}});
  CHECK(e.connection == azure::ConnectionString{});
  CHECK(e.timeout == std::chrono::seconds(60));
  CHECK(to_yaml(r).find("function-key-value") == std::string::npos);
  CHECK(to_json(r).find("function-key-value") == std::string::npos);
}

TEST_CASE("HttpHeader and HttpQueryString take key/value pairs, in Dataverse's spelling too") {
  Scratch scratch;
  ScopedEnv token("STEPLINE_TEST_TOKEN", "Bearer abc");
  auto headers = load(scratch.write("stepline.yaml", webhook(R"(    auth:
      type: HttpHeader
      headers: {Authorization: "${env:STEPLINE_TEST_TOKEN}", x-tenant: "${env:STEPLINE_TEST_TOKEN}"}
)")));
  REQUIRE(headers.endpoints[0].webhook);
  CHECK(headers.endpoints[0].webhook->auth == WebhookAuth::http_header);
  CHECK(headers.endpoints[0].webhook->auth_values.size() == 2);
  CHECK(headers.endpoints[0].webhook->auth_values[0].first == "Authorization");
  CHECK(headers.endpoints[0].webhook->auth_values[0].second == "Bearer abc");

  auto query = load(scratch.write("stepline.yaml", webhook(R"(    auth:
      type: http-query-string
      query: {sig: "${env:STEPLINE_TEST_TOKEN}", sv: "${env:STEPLINE_TEST_TOKEN}"}
)")));
  CHECK(query.endpoints[0].webhook->auth == WebhookAuth::http_query_string);
  CHECK(query.endpoints[0].webhook->auth_values.size() == 2);
  CHECK(to_yaml(query).find("Bearer abc") == std::string::npos);
}

TEST_CASE("the signing secret is read once into the key's bytes") {
  Scratch scratch;
  ScopedEnv standard("STEPLINE_TEST_SECRET", "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=");
  auto r = load(scratch.write(
      "stepline.yaml", webhook("    signature: {secret: \"${env:STEPLINE_TEST_SECRET}\"}\n")));
  REQUIRE(r.endpoints[0].webhook);
  CHECK(r.endpoints[0].webhook->signing_key == "0123456789abcdef0123456789abcdef");
  ScopedEnv typed("STEPLINE_TEST_SECRET", "a passphrase of some length");
  r = load(scratch.write(
      "stepline.yaml", webhook("    signature: {secret: \"${env:STEPLINE_TEST_SECRET}\"}\n")));
  CHECK(r.endpoints[0].webhook->signing_key == "a passphrase of some length");
  CHECK(to_yaml(r).find("passphrase") == std::string::npos);
}

TEST_CASE("webhook mistakes are reported at their line and column") {
  Scratch scratch;
  SUBCASE("no url") {
    auto errors = errors_of(scratch, R"(endpoints:
  - name: hook
    contract: webhook
)");
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].where.line == 2);
    CHECK(errors[0].message.find("needs 'url'") != std::string::npos);
  }
  SUBCASE("a url that is not http(s)") {
    auto errors = errors_of(scratch, R"(endpoints:
  - name: hook
    contract: webhook
    url: ftp://files.example/in
)");
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].where.line == 4);
    CHECK(errors[0].where.column == 10);
    CHECK(errors[0].message.starts_with("url: must start with https://"));
  }
  SUBCASE("credentials in the url") {
    auto errors =
        errors_of(scratch, webhook("").replace(webhook("").find("https://"), 8, "https://u:p@"));
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].message.find("user and password") != std::string::npos);
    CHECK(errors[0].message.find("u:p") == std::string::npos);
  }
  SUBCASE("a header Stepline sets itself") {
    auto errors = errors_of(scratch, webhook(R"(    auth:
      type: http-header
      headers: {x-ms-dynamics-organization: "${env:HOME}"}
)"));
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].where.line == 7);
    CHECK(errors[0].message ==
          "auth.headers.x-ms-dynamics-organization: Stepline sets the "
          "x-ms-dynamics-organization header itself; choose another header name");
  }
  SUBCASE("a key given for the wrong type, and a missing one") {
    auto errors = errors_of(scratch, webhook(R"(    auth:
      type: webhook-key
      headers: {a: b}
)"));
    REQUIRE(errors.size() == 2);
    CHECK(mentions(errors, "auth.headers: type webhook-key takes 'key'"));
    CHECK(mentions(errors, "needs 'auth.key'"));
  }
  SUBCASE("an unknown auth type lists the known ones") {
    auto errors = errors_of(scratch, webhook("    auth: {type: oauth}\n"));
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].message.find("http-header") != std::string::npos);
  }
  SUBCASE("AMQP keys on a webhook, and webhook keys on a queue") {
    auto errors = errors_of(scratch, webhook("    path: orders\n    connection: x\n"));
    CHECK(errors.size() == 2);
    CHECK(mentions(errors, "path: webhook endpoints POST to their url: and take no path"));
    auto queue = errors_of(scratch, R"(endpoints:
  - name: q
    contract: queue
    path: orders
    connection: Endpoint=sb://localhost/;UseDevelopmentEmulator=true
    url: https://x.example/
)");
    REQUIRE(queue.size() == 1);
    CHECK(queue[0].message.starts_with("url: only webhook endpoints"));
  }
  SUBCASE("a short signing secret") {
    ScopedEnv secret("STEPLINE_TEST_SECRET", "short");
    auto errors =
        errors_of(scratch, webhook("    signature: {secret: \"${env:STEPLINE_TEST_SECRET}\"}\n"));
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].message.find("has 5 bytes; use at least 16") != std::string::npos);
    CHECK(errors[0].message.find("short") == std::string::npos);
  }
}

TEST_CASE("secrets written into the file are warned about") {
  Scratch scratch;
  auto problems =
      problems_of(scratch, webhook(R"(    auth: {type: webhook-key, key: plain-key-in-file}
    signature: {secret: whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=}
)"));
  CHECK(problems.size() == 2);
  for (const auto& p : problems) {
    CHECK(p.severity == Severity::warning);
    CHECK(p.message.find("written in the registration file") != std::string::npos);
    CHECK(p.message.find("plain-key-in-file") == std::string::npos);
  }
  auto in_url = problems_of(scratch, R"(endpoints:
  - name: hook
    contract: webhook
    url: https://fn.example/api/x?code=abc
)");
  REQUIRE(in_url.size() == 1);
  CHECK(in_url[0].message.find("move it under auth:") != std::string::npos);
  auto plain = problems_of(scratch, R"(endpoints:
  - name: hook
    contract: webhook
    url: http://receiver.example/hook
)");
  REQUIRE(plain.size() == 1);
  CHECK(plain[0].message.find("unencrypted") != std::string::npos);
}

TEST_CASE("size_policy claim-check reads its storage account and container") {
  Scratch scratch;
  ScopedEnv storage("STEPLINE_TEST_STORAGE", "UseDevelopmentStorage=true");
  auto r = load(scratch.write("stepline.yaml", R"(endpoints:
  - name: orders
    contract: queue
    path: orders
    connection: Endpoint=sb://localhost/;UseDevelopmentEmulator=true
    size_policy: claim-check
    claim_check:
      connection: ${env:STEPLINE_TEST_STORAGE}
      container: order-claims
      delete: after-confirm
)"));
  REQUIRE(r.endpoints[0].claim_check);
  CHECK(r.endpoints[0].size_policy == SizePolicy::claim_check);
  // Parsed once: Azurite's development account at its default address.
  CHECK(r.endpoints[0].claim_check->account ==
        azure::StorageConnectionString::parse("UseDevelopmentStorage=true"));
  CHECK(r.endpoints[0].claim_check->account.blob_endpoint ==
        "http://127.0.0.1:10000/devstoreaccount1");
  CHECK(r.endpoints[0].claim_check->container == "order-claims");
  CHECK(r.endpoints[0].claim_check->deletion == ClaimCheckDeletion::after_confirm);
}

TEST_CASE("claim-check mistakes are reported at their line and column") {
  Scratch scratch;
  const std::string head = R"(endpoints:
  - name: events
    contract: topic
    path: events
    connection: Endpoint=sb://localhost/;UseDevelopmentEmulator=true
    size_policy: claim-check
)";
  SUBCASE("no claim_check block") {
    auto errors = errors_of(scratch, head);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].where.line == 6);
    CHECK(errors[0].message.find("needs a claim_check: block") != std::string::npos);
  }
  SUBCASE("a bad connection string, container and deletion on a topic") {
    ScopedEnv storage("STEPLINE_TEST_STORAGE", "AccountName=a;AccountKey=secret!!");
    auto errors = errors_of(scratch, head + R"(    claim_check:
      connection: ${env:STEPLINE_TEST_STORAGE}
      container: Bad_Name
      delete: after-confirm
)");
    REQUIRE(errors.size() == 3);
    CHECK(errors[0].where.line == 8);
    CHECK(errors[0].message.find("AccountKey is not base64") != std::string::npos);
    CHECK(errors[1].where.line == 9);
    CHECK(errors[1].message.find("is not a container name") != std::string::npos);
    CHECK(errors[2].where.line == 10);
    CHECK(errors[2].message.find("a topic has many") != std::string::npos);
    for (const auto& e : errors) CHECK(e.message.find("secret!!") == std::string::npos);
  }
}

}  // namespace stepline::registration
