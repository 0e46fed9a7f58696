#include <doctest/doctest.h>

#include <proton/scalar.hpp>
#include <proton/value.hpp>

#include <stepline/azure/cbs.hpp>
#include <stepline/azure/conditions.hpp>
#include <stepline/azure/names.hpp>

using namespace stepline::azure;

TEST_CASE(
    "a put-token request carries the audience, the type and the token as the SDKs send them") {
  cbs::PutTokenRequest request;
  request.token = "SharedAccessSignature sr=x&sig=y&se=1&skn=z";
  request.audience = "sb://localhost/queue.1";
  request.message_id = std::string("6f1c2a7e-0000-4000-8000-000000000001");
  request.reply_to = "cbs-42";
  proton::message m = request.to_message();

  CHECK(m.to() == "$cbs");
  CHECK(m.reply_to() == "cbs-42");
  CHECK(m.id() == proton::message_id(std::string("6f1c2a7e-0000-4000-8000-000000000001")));
  CHECK(proton::get<std::string>(m.properties().get("operation")) == "put-token");
  CHECK(proton::get<std::string>(m.properties().get("type")) == "servicebus.windows.net:sastoken");
  CHECK(proton::get<std::string>(m.properties().get("name")) == "sb://localhost/queue.1");
  CHECK_FALSE(m.properties().exists("expiration"));
  CHECK(proton::get<std::string>(m.body()) == request.token);

  // The broker reads back the same request, including an optional expiration.
  request.expiration = proton::timestamp(1700000000000);
  auto parsed = cbs::PutTokenRequest::from_message(request.to_message());
  CHECK(parsed.audience == request.audience);
  CHECK(parsed.type == request.type);
  CHECK(parsed.token == request.token);
  CHECK(parsed.reply_to == "cbs-42");
  REQUIRE(parsed.expiration);
  CHECK(parsed.expiration->milliseconds() == 1700000000000);
}

TEST_CASE("a broker refuses a request that is not a put-token") {
  proton::message m;
  m.properties().put("operation", "get-token");
  CHECK_THROWS_WITH_AS(cbs::PutTokenRequest::from_message(m), doctest::Contains("'get-token'"),
                       std::invalid_argument);
  m.properties().put("operation", "put-token");
  CHECK_THROWS_WITH_AS(cbs::PutTokenRequest::from_message(m), doctest::Contains("no 'name'"),
                       std::invalid_argument);
}

TEST_CASE("a reply echoes the request id with its type and reads back as success or a condition") {
  proton::message request;
  request.id(std::string("abc"));
  request.reply_to("cbs-7");

  proton::message accepted = cbs::PutTokenResponse::reply(request, 202, "Accepted");
  CHECK(accepted.correlation_id() == proton::message_id(std::string("abc")));
  CHECK(accepted.correlation_id().type() == proton::STRING);
  CHECK(accepted.to() == "cbs-7");
  auto ok = cbs::PutTokenResponse::from_message(accepted);
  CHECK(ok.ok());
  CHECK(ok.status_code == 202);
  CHECK(ok.error_condition.empty());

  auto denied = cbs::PutTokenResponse::from_message(
      cbs::PutTokenResponse::reply(request, 401, "bad signature"));
  CHECK_FALSE(denied.ok());
  CHECK(denied.status_description == "bad signature");
  CHECK(denied.error_condition == condition::unauthorized_access);

  // Service Bus management spells it statusCode, and some peers send the code as text.
  proton::message camel;
  camel.properties().put("statusCode", "404");
  auto missing = cbs::PutTokenResponse::from_message(camel);
  CHECK(missing.status_code == 404);
  CHECK(missing.error_condition == condition::not_found);

  CHECK_THROWS_AS(cbs::PutTokenResponse::from_message(proton::message()), std::invalid_argument);
}

TEST_CASE("conditions are classified the way the SDKs retry them") {
  CHECK(condition::is_transient(condition::server_busy));
  CHECK(condition::is_transient(condition::detach_forced));
  CHECK(condition::is_transient(condition::connection_forced));
  CHECK_FALSE(condition::is_transient(condition::not_found));
  CHECK_FALSE(condition::is_transient(condition::message_size_exceeded));
  CHECK_FALSE(condition::is_transient(condition::unauthorized_access));
  CHECK(condition::is_unauthorized(condition::auth_failed));
  CHECK(condition::for_status(503) == condition::server_busy);
  CHECK(condition::for_status(200).empty());
  CHECK(condition::status_for(condition::not_found) == 404);
  CHECK(condition::status_for("com.example:odd") == 500);
}

TEST_CASE("entity addresses are spelled as the services spell them") {
  CHECK(partition_address("eh1", "0") == "eh1/Partitions/0");
  CHECK(consumer_address("eh1", "$Default", "3") == "eh1/ConsumerGroups/$Default/Partitions/3");
  CHECK(subscription_address("t", "s") == "t/Subscriptions/s");
  CHECK(dead_letter_address("q") == "q/$DeadLetterQueue");
  CHECK(annotation::partition_key == "x-opt-partition-key");
}
