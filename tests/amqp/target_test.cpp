#include <doctest/doctest.h>

#include <stepline/host/amqp/outcome.hpp>
#include <stepline/host/amqp/target.hpp>

using namespace stepline;
using namespace stepline::host::amqp;

TEST_CASE("a target takes its entity from the endpoint path or from EntityPath") {
  registration::ServiceEndpoint e;
  e.name = "orders-queue";
  e.connection_string =
      "Endpoint=sb://ns.example/;SharedAccessKeyName=send;SharedAccessKey=k;EntityPath=orders";
  e.where = {"endpoints.yaml", 12, 3};
  CHECK(Target::from_endpoint(e).entity == "orders");
  e.path = "orders";
  CHECK(Target::from_endpoint(e).entity == "orders");
  e.contract = registration::Contract::eventhub;
  e.connection_string =
      "Endpoint=sb://ns.example/;SharedAccessKeyName=send;SharedAccessKey=k;EntityPath=eh1";
  e.path = "eh1/Partitions/2";
  CHECK(Target::from_endpoint(e).entity == "eh1/Partitions/2");
  e.path = "other";
  CHECK_THROWS_WITH_AS(Target::from_endpoint(e), doctest::Contains("endpoints.yaml:12"),
                       std::invalid_argument);
}

TEST_CASE("a bad connection string names the endpoint, the file and the key, not the secret") {
  registration::ServiceEndpoint e;
  e.name = "orders-queue";
  e.where = {"endpoints.yaml", 7, 5};
  e.connection_string = "Endpoint=sb://ns.example/;SharedAccessKey=hunter2";
  try {
    Target::from_endpoint(e);
    FAIL("expected an exception");
  } catch (const std::invalid_argument& error) {
    std::string text = error.what();
    CHECK(text.find("endpoint 'orders-queue' (endpoints.yaml:7)") != std::string::npos);
    CHECK(text.find("SharedAccessKeyName is missing") != std::string::npos);
    CHECK(text.find("hunter2") == std::string::npos);
  }
}

TEST_CASE("outcomes are transient for conditions worth retrying and permanent otherwise") {
  CHECK(Outcome::failure("com.microsoft:server-busy", "").retryable());
  CHECK(Outcome::failure("amqp:link:detach-forced", "").retryable());
  CHECK(Outcome::failure(local_condition::network, "").retryable());
  CHECK(Outcome::failure(local_condition::released, "").retryable());
  CHECK(Outcome::failure(local_condition::modified, "").retryable());
  CHECK(Outcome::failure("amqp:not-found", "").status == OutcomeStatus::permanent);
  CHECK(Outcome::failure("amqp:resource-limit-exceeded", "").status == OutcomeStatus::permanent);
  CHECK(Outcome::failure("amqp:not-allowed", "").status == OutcomeStatus::permanent);
  CHECK(Outcome::failure("amqp:unauthorized-access", "").status == OutcomeStatus::permanent);
  CHECK(Outcome::accepted("r").ok());
  CHECK(to_string(OutcomeStatus::shutdown) == "shutdown");
}
