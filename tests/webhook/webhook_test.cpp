// Webhook posts through the host's HTTP client to a real receiver: the auth types, Dataverse's
// headers, what each status class becomes, Retry-After, timeouts, TLS, connection reuse and the
// signature the receiver verifies.
#include <doctest/doctest.h>

#include <regex>

#include <stepline/azure/digest.hpp>
#include <stepline/format/format.hpp>
#include <stepline/host/http_client/client.hpp>
#include <stepline/host/webhook/webhook_poster.hpp>
#include <stepline/host/webhook/webhook_request.hpp>

#include "endpoints/endpoint_fixture.hpp"
#include "testkit/webhook_receiver.hpp"

namespace stepline::test {
namespace {

using host::amqp::OutcomeStatus;
using registration::WebhookAuth;

registration::ServiceEndpoint webhook_endpoint(const std::string& url) {
  registration::ServiceEndpoint e;
  e.name = "orders-hook";
  e.contract = registration::Contract::webhook;
  e.webhook = registration::Webhook{url, WebhookAuth::none, {}, {}};
  e.where = {"stepline.yaml", 7, 5};
  e.timeout = std::chrono::seconds(10);
  return e;
}

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c == '\n' ? std::string("\\n") : std::string(1, c);
  }
  return out + "\"";
}

/// A client and poster for one receiver.
struct Rig {
  explicit Rig(WebhookReceiver::Options options = {}, bool trust = true)
      : receiver(options),
        client([&] {
          host::http_client::ClientOptions o;
          if (trust) o.ca_file = receiver.ca_file();
          return o;
        }()),
        poster(client),
        endpoint(webhook_endpoint(receiver.url())) {}

  host::amqp::Outcome post(const ExecutionContext& context = small_context()) {
    return outcome_of(poster.post(endpoint, context));
  }

  WebhookReceiver receiver;
  host::http_client::Client client;
  host::webhook::WebhookPoster poster;
  registration::ServiceEndpoint endpoint;
};

}  // namespace

TEST_CASE("a webhook post carries the context and Dataverse's headers") {
  Rig rig;
  ExecutionContext context = small_context();
  REQUIRE(rig.post(context).ok());
  auto requests = rig.receiver.wait_for(1);
  REQUIRE(requests.size() == 1);
  const auto& r = requests[0];
  CHECK(r.method == "POST");
  CHECK(r.path == "/hook");
  CHECK(r.header("content-type") == "application/json");
  CHECK(r.header("x-ms-dynamics-organization") == context.organization_name);
  CHECK(r.header("x-ms-dynamics-entity-name") == "account");
  CHECK(r.header("x-ms-dynamics-request-name") == context.message_name);
  CHECK(r.header("x-ms-correlation-request-id") == context.correlation_id.str());
  CHECK(r.header("x-ms-dynamics-msg-size-exceeded").empty());
  CHECK(r.header("webhook-id") == context.operation_id.str());  // an async context: the job id
  CHECK(r.header("webhook-signature").empty());
  CHECK(r.header("user-agent").starts_with("stepline"));
  // One trace per request: the correlation id's 32 hex digits, a new span per post.
  std::string trace = context.correlation_id.str();
  trace.erase(std::remove(trace.begin(), trace.end(), '-'), trace.end());
  CHECK(std::regex_match(r.header("traceparent"), std::regex("00-" + trace + "-[0-9a-f]{16}-01")));
  CHECK(format::parse(r.body, "dataverse-json") ==
        format::parse(format::serialize(context, "dataverse-json"), "dataverse-json"));
}

TEST_CASE("an operation's own traceparent is carried on") {
  Rig rig;
  ExecutionContext context = small_context();
  const std::string parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  context.shared_variables.insert_or_assign("traceparent", Value(parent));
  REQUIRE(rig.post(context).ok());
  CHECK(rig.receiver.wait_for(1).at(0).header("traceparent") == parent);
}

TEST_CASE("each auth type reaches the receiver the way Dataverse sends it") {
  Rig rig;
  SUBCASE("WebhookKey: ?code=") {
    rig.endpoint.webhook->auth = WebhookAuth::webhook_key;
    rig.endpoint.webhook->auth_values = {{"code", "function key/+="}};
    REQUIRE(rig.post().ok());
    auto r = rig.receiver.wait_for(1).at(0);
    CHECK(r.query == std::map<std::string, std::string>{{"code", "function key/+="}});
  }
  SUBCASE("HttpQueryString: every pair, after the url's own query") {
    rig.endpoint.webhook->url = rig.receiver.url("/hook?tenant=north");
    rig.endpoint.webhook->auth = WebhookAuth::http_query_string;
    rig.endpoint.webhook->auth_values = {{"sig", "a&b"}, {"sv", "2024"}};
    REQUIRE(rig.post().ok());
    auto r = rig.receiver.wait_for(1).at(0);
    CHECK(r.query ==
          std::map<std::string, std::string>{{"sig", "a&b"}, {"sv", "2024"}, {"tenant", "north"}});
  }
  SUBCASE("HttpHeader: every header") {
    rig.endpoint.webhook->auth = WebhookAuth::http_header;
    rig.endpoint.webhook->auth_values = {{"Authorization", "Bearer t0ken"}, {"x-api-key", "k"}};
    REQUIRE(rig.post().ok());
    auto r = rig.receiver.wait_for(1).at(0);
    CHECK(r.header("authorization") == "Bearer t0ken");
    CHECK(r.header("x-api-key") == "k");
    CHECK(r.query.empty());
  }
}

TEST_CASE("each status class becomes its outcome, with the receiver's message") {
  Rig rig;
  struct Case {
    int status;
    OutcomeStatus outcome;
    std::string body;
    std::string said;
  };
  const std::vector<Case> cases = {
      {200, OutcomeStatus::accepted, R"({"ok":true})", ""},
      {202, OutcomeStatus::accepted, "", ""},
      {408, OutcomeStatus::transient, "", "answered HTTP 408"},
      {429, OutcomeStatus::transient, R"({"error":{"message":"slow down"}})", "slow down"},
      {500, OutcomeStatus::transient, "boom\nstack trace", "answered HTTP 500: boom"},
      {503, OutcomeStatus::transient, "", "answered HTTP 503"},
      {400, OutcomeStatus::permanent, R"({"message":"amount too large"})",
       "answered HTTP 400: amount too large"},
      {404, OutcomeStatus::permanent, R"({"title":"Not Found","detail":"no such function"})",
       "Not Found: no such function"},
      {401, OutcomeStatus::permanent, "", "(unauthorized: the receiver refused"},
      {403, OutcomeStatus::permanent, "", "(unauthorized: the receiver refused"},
      {301, OutcomeStatus::permanent, "", "a redirect, which is not followed"}};
  for (const auto& c : cases) {
    CAPTURE(c.status);
    rig.receiver.script("[{\"status\":" + std::to_string(c.status) +
                        ",\"body\":" + json_string(c.body) + "}]");
    auto outcome = rig.post();
    CHECK(outcome.status == c.outcome);
    if (c.outcome == OutcomeStatus::accepted) {
      CHECK(outcome.reply == c.body);
      continue;
    }
    CHECK(outcome.condition == "http:" + std::to_string(c.status));
    CHECK(outcome.description.starts_with("endpoint 'orders-hook' (stepline.yaml:7): POST " +
                                          rig.receiver.url()));
    CHECK(outcome.description.find(c.said) != std::string::npos);
  }
}

TEST_CASE("a receiver's message is read as untrusted text: bounded, one line, UTF-8") {
  host::http_client::Response r;
  r.status = 500;
  // Nested deeper than any error document: not parsed, the first line shown, cut.
  r.body = "{\"message\":" + std::string(60000, '[');
  const std::string deep = host::webhook::response_message(r);
  CHECK(deep.starts_with("{\"message\":[[["));
  CHECK(deep.size() <= 503);
  // A byte that is not UTF-8 ends the message.
  r.body = "{\"message\":\"bad \xff byte\"}";
  CHECK(host::webhook::response_message(r) == "{\"message\":\"bad");
  // Cut at a character's start, never inside one.
  std::string accents;
  for (int i = 0; i < 400; ++i) accents += "\xc3\xa9";
  r.body = "{\"message\":\"" + accents + "\"}";
  const std::string cut = host::webhook::response_message(r);
  CHECK(cut.ends_with("…"));
  CHECK(cut.size() == 500 + std::string("…").size());
  CHECK(cut.substr(0, 500) == accents.substr(0, 500));
}

TEST_CASE("Retry-After is kept on the outcome, in seconds or as a date") {
  Rig rig;
  rig.receiver.script(R"([{"status":429,"headers":{"Retry-After":"7"}},
                          {"status":503,"headers":{"Retry-After":"Wed, 21 Oct 2099 07:28:00 GMT"}},
                          {"status":503}])");
  auto seconds = rig.post();
  CHECK(seconds.retryable());
  CHECK(seconds.retry_after == std::chrono::seconds(7));
  auto date = rig.post();
  REQUIRE(date.retry_after);
  CHECK(*date.retry_after > std::chrono::hours(24 * 365));
  CHECK_FALSE(rig.post().retry_after);
}

TEST_CASE("a receiver slower than the endpoint's timeout is a transient timeout") {
  Rig rig;
  rig.endpoint.timeout = std::chrono::milliseconds(500);
  rig.receiver.script(R"([{"status":200,"delayMs":5000}])");
  auto outcome = rig.post();
  CHECK(outcome.status == OutcomeStatus::transient);
  CHECK(outcome.condition == "stepline:timeout");
}

TEST_CASE("nobody listening is a transient network failure") {
  Rig rig;
  rig.endpoint.webhook->url = "http://127.0.0.1:" + std::to_string(free_port()) + "/hook";
  auto outcome = rig.post();
  CHECK(outcome.status == OutcomeStatus::transient);
  CHECK(outcome.condition == "stepline:network");
}

TEST_CASE("TLS: an untrusted certificate fails permanently; a given CA is trusted, over HTTP/2") {
  SUBCASE("not trusted") {
    Rig rig({.tls = true}, false);
    auto outcome = rig.post();
    CHECK(outcome.status == OutcomeStatus::permanent);
    CHECK(outcome.condition == "stepline:tls");
    CHECK(outcome.description.find("host.tls_ca_file") != std::string::npos);
    CHECK(rig.receiver.received().empty());
  }
  SUBCASE("trusted") {
    Rig rig({.tls = true});
    for (int i = 0; i < 5; ++i) REQUIRE(rig.post().ok());
    auto requests = rig.receiver.wait_for(5);
    REQUIRE(requests.size() == 5);
    for (const auto& r : requests) {
      CHECK(r.http_version == "2.0");
      CHECK(r.connection == requests[0].connection);  // one HTTP/2 connection, reused
    }
    CHECK(rig.client.stats().connections_opened == 1);
  }
}

TEST_CASE("plain HTTP/1.1 keeps its connection alive between posts") {
  Rig rig;
  for (int i = 0; i < 10; ++i) REQUIRE(rig.post().ok());
  auto requests = rig.receiver.wait_for(10);
  REQUIRE(requests.size() == 10);
  for (const auto& r : requests) {
    CHECK(r.http_version == "1.1");
    CHECK(r.connection == requests[0].connection);
  }
  CHECK(rig.client.stats().connections_opened == 1);
}

TEST_CASE("the receiver verifies the signature over the exact bytes it got") {
  // The receiver takes the secret as written; the endpoint holds the key the registration
  // decoded from it.
  const std::string secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const std::string key = *azure::base64_decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  Rig rig({.secret = secret});
  SUBCASE("the shared secret") {
    rig.endpoint.webhook->signing_key = key;
    REQUIRE(rig.post().ok());
    auto r = rig.receiver.wait_for(1).at(0);
    CHECK(r.signature == "valid");
    CHECK(std::regex_match(r.header("webhook-signature"), std::regex("v1,[A-Za-z0-9+/]{43}=")));
    CHECK(std::abs(std::stoll(r.header("webhook-timestamp")) * 1000 - r.at_ms) < 60'000);
  }
  SUBCASE("another secret") {
    rig.endpoint.webhook->signing_key = "some other secret key bytes";
    REQUIRE(rig.post().ok());
    CHECK(rig.receiver.wait_for(1).at(0).signature == "invalid");
  }
  SUBCASE("a retried job is the same message: same id, a fresh timestamp and signature") {
    rig.endpoint.webhook->signing_key = key;
    ExecutionContext context = small_context();
    REQUIRE(rig.post(context).ok());
    REQUIRE(rig.post(context).ok());
    auto requests = rig.receiver.wait_for(2);
    REQUIRE(requests.size() == 2);
    CHECK(requests[1].header("webhook-id") == requests[0].header("webhook-id"));
    CHECK(requests[1].duplicate);  // what a receiver keeps to drop the retry of a delivered job
    CHECK(requests[1].signature == "valid");
  }
}

TEST_CASE("the signature is Standard Webhooks' HMAC-SHA256 of id.timestamp.body") {
  // The example of the Standard Webhooks specification.
  CHECK(host::webhook::sign(*azure::base64_decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
                            "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330",
                            R"({"test": 2432232314})") ==
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST_CASE("a context over the limit is cut and flagged, or refused") {
  Rig rig;
  ExecutionContext context = samples::full_context();
  ExecutionContext slim = context;
  slim.parent_context.reset();
  slim.input_parameters.clear();
  slim.pre_entity_images.clear();
  slim.post_entity_images.clear();
  // Between the two sizes: too large whole, small enough cut.
  rig.endpoint.max_message_size = format::serialize(slim, "dataverse-json").size() + 10;
  REQUIRE(format::serialize(context, "dataverse-json").size() > rig.endpoint.max_message_size);
  SUBCASE("truncate") {
    REQUIRE(rig.post(context).ok());
    auto r = rig.receiver.wait_for(1).at(0);
    CHECK(r.header("x-ms-dynamics-msg-size-exceeded") == "true");
    auto received = format::parse(r.body, "dataverse-json");
    CHECK(received.input_parameters.empty());
    CHECK(received.primary_entity_id == context.primary_entity_id);
  }
  SUBCASE("fail") {
    rig.endpoint.size_policy = registration::SizePolicy::fail;
    auto outcome = rig.post(context);
    CHECK(outcome.status == OutcomeStatus::permanent);
    CHECK(outcome.condition == "amqp:link:message-size-exceeded");
    CHECK(rig.receiver.received().empty());
  }
}

}  // namespace stepline::test
