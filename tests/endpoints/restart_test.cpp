// The broker going away under a poster and coming back: what was accepted is kept, what failed
// is transient and goes through when posted again, and a re-sent post is dropped as a duplicate.
#include <doctest/doctest.h>

#include <set>

#include <stepline/host/amqp/backend.hpp>
#include <stepline/host/endpoints/amqp_endpoint_poster.hpp>

#include "endpoints/endpoint_fixture.hpp"
#include "testkit/message_receiver.hpp"
#include "testkit/stepline_broker.hpp"

using namespace stepline;
using host::amqp::Outcome;
using host::amqp::OutcomeStatus;
using registration::Contract;
using test::SteplineBroker;

namespace {

ExecutionContext fresh_context() {
  ExecutionContext c = test::small_context();
  c.operation_id = Guid::random();
  return c;
}

}  // namespace

TEST_CASE(
    "with the broker down posts fail as transient; posted again after its restart, nothing "
    "is lost and nothing doubled") {
  SteplineBroker broker(R"(
data_dir: {dir}
sas_policies:
  - name: RootManageSharedAccessKey
    key: test-root-key
    rights: [manage, send, listen]
queues:
  - name: orders
    duplicate_detection_window: 10m
)");
  host::amqp::BackendOptions options;
  options.reconnect_delay = std::chrono::milliseconds(50);
  options.max_reconnect_delay = std::chrono::milliseconds(400);
  host::amqp::Backend backend(options);
  host::endpoints::AmqpEndpointPoster poster(backend);
  auto endpoint =
      test::make_endpoint("orders", Contract::queue, "orders", broker.connection_string());

  std::set<std::string> expected;
  std::vector<ExecutionContext> accepted;
  for (int i = 0; i < 10; ++i) {
    accepted.push_back(fresh_context());
    Outcome o = test::outcome_of(poster.post(endpoint, accepted.back()));
    REQUIRE_MESSAGE(o.ok(), o.condition << ": " << o.description);
    expected.insert(accepted.back().operation_id.str());
  }
  // A re-sent post (the async service retrying after an outcome it never saw) is accepted and
  // dropped by duplicate detection: the message id is the operation id.
  CHECK(test::outcome_of(poster.post(endpoint, accepted[3])).ok());

  broker.stop();
  endpoint.timeout = std::chrono::milliseconds(1000);
  std::vector<ExecutionContext> failed;
  for (int i = 0; i < 3; ++i) {
    failed.push_back(fresh_context());
    Outcome o = test::outcome_of(poster.post(endpoint, failed.back()));
    CHECK(o.status == OutcomeStatus::transient);
    CHECK(o.retryable());
    CHECK(o.description.find("orders") != std::string::npos);
  }
  // Posts with time to spare wait for the broker instead of failing.
  endpoint.timeout = std::chrono::seconds(30);
  std::vector<std::future<Outcome>> waiting;
  for (int i = 0; i < 3; ++i) {
    accepted.push_back(fresh_context());
    waiting.push_back(poster.post(endpoint, accepted.back()));
    expected.insert(accepted.back().operation_id.str());
  }
  broker.start();
  for (auto& f : waiting) CHECK(test::outcome_of(std::move(f)).ok());
  for (const auto& c : failed) {
    CHECK(test::outcome_of(poster.post(endpoint, c)).ok());
    expected.insert(c.operation_id.str());
  }

  test::MessageReceiver receiver(
      broker.url(), {"orders"},
      {.user = "RootManageSharedAccessKey", .password = SteplineBroker::root_key, .reply = {}});
  REQUIRE(receiver.wait_for(expected.size()));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::set<std::string> received;
  for (const auto& m : receiver.messages()) received.insert(proton::to_string(m.id()));
  CHECK(receiver.count() == expected.size());
  CHECK(received == expected);
}

TEST_CASE("after a long outage the next post reconnects without waiting out the backoff") {
  SteplineBroker broker(R"(
sas_policies:
  - name: RootManageSharedAccessKey
    key: test-root-key
    rights: [manage, send, listen]
queues:
  - name: orders
)");
  host::amqp::BackendOptions options;
  // A backoff far longer than the posts' timeout: only a reconnect on demand can deliver them.
  options.reconnect_delay = std::chrono::minutes(5);
  options.max_reconnect_delay = std::chrono::minutes(5);
  options.demand_reconnect_delay = std::chrono::milliseconds(200);
  host::amqp::Backend backend(options);
  host::endpoints::AmqpEndpointPoster poster(backend);
  auto endpoint =
      test::make_endpoint("orders", Contract::queue, "orders", broker.connection_string());
  endpoint.timeout = std::chrono::seconds(1);
  REQUIRE(test::outcome_of(poster.post(endpoint, fresh_context())).ok());

  broker.stop();
  Outcome lost = test::outcome_of(poster.post(endpoint, fresh_context()));
  CHECK(lost.status == OutcomeStatus::transient);
  broker.start();

  endpoint.timeout = std::chrono::seconds(20);
  Outcome back = test::outcome_of(poster.post(endpoint, fresh_context()));
  CHECK_MESSAGE(back.ok(), back.condition << ": " << back.description);
  CHECK(backend.stats().connections_opened == 2);
}
