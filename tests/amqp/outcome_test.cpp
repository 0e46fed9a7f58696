#include <doctest/doctest.h>

#include <stepline/host/amqp/outcome.hpp>

using namespace stepline::host::amqp;

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
