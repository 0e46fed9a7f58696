// The sample listeners log in the two ways a connection string allows: with a key (SASL PLAIN,
// which the demo uses) and with only a SharedAccessSignature, which goes to $cbs as a put-token.
#include <doctest/doctest.h>

#include <stepline/azure/sas_token.hpp>
#include <stepline/host/amqp/backend.hpp>
#include <stepline/host/endpoints/amqp_endpoint_poster.hpp>

#include "endpoints/endpoint_fixture.hpp"
#include "testkit/process.hpp"
#include "testkit/stepline_broker.hpp"

using namespace stepline;
using test::SteplineBroker;

namespace {

std::string queue_listener() {
  return (std::filesystem::path(STEPLINE_BINARY_DIR) / "bin" / "queue_listener").string();
}

// A broker whose `orders` queue holds one posted Update of an account.
struct OneContextQueued {
  SteplineBroker broker{R"(
sas_policies:
  - name: RootManageSharedAccessKey
    key: test-root-key
    rights: [manage, send, listen]
queues:
  - name: orders
)"};

  OneContextQueued() {
    host::amqp::Backend backend;
    host::endpoints::AmqpEndpointPoster poster(backend);
    auto endpoint = test::make_endpoint("orders", registration::Contract::queue, "orders",
                                        broker.connection_string());
    REQUIRE(test::outcome_of(poster.post(endpoint, test::small_context())).ok());
  }

  std::string signature_connection(const std::string& key) const {
    const std::string ns = "sb://127.0.0.1:" + std::to_string(broker.port()) + "/";
    return "Endpoint=" + ns + ";SharedAccessSignature=" +
           azure::create_sas_token(ns + "orders", "RootManageSharedAccessKey", key) +
           ";UseDevelopmentEmulator=true";
  }
};

}  // namespace

TEST_CASE("a listener given only a SharedAccessSignature logs in through $cbs and reads") {
  OneContextQueued q;
  auto run = test::capture({queue_listener(), "orders", "--connection",
                            q.signature_connection(SteplineBroker::root_key), "--count", "1",
                            "--timeout", "20"});
  CHECK_MESSAGE(run.status == 0, run.output << "\n" << q.broker.log());
  CHECK(run.output.find("orders: Update account") != std::string::npos);
}

TEST_CASE("a signature made with the wrong key is refused by $cbs, and the listener says so") {
  OneContextQueued q;
  auto run = test::capture({queue_listener(), "orders", "--connection",
                            q.signature_connection("not-the-key"), "--count", "1", "--timeout",
                            "20"});
  CHECK(run.status == 1);
  CHECK_MESSAGE(run.output.find("$cbs refused the token for sb://127.0.0.1") != std::string::npos,
                run.output);
  CHECK(run.output.find("not-the-key") == std::string::npos);
}
