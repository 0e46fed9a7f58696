// Queue posts in every format into RabbitMQ 3.10 (a real AMQP 1.0 peer that knows nothing of
// Azure), received by a plain Proton C++ receiver: what any AMQP listener sees.
#include <doctest/doctest.h>

#include <stepline/host/amqp/backend.hpp>
#include <stepline/host/endpoints/amqp_endpoint_poster.hpp>
#include <stepline/host/endpoints/message_properties.hpp>

#include "endpoints/endpoint_fixture.hpp"
#include "testkit/message_receiver.hpp"
#include "testkit/rabbitmq.hpp"

using namespace stepline;
using host::amqp::Outcome;
using registration::Contract;

TEST_CASE("queue posts in every format reach a plain AMQP receiver on RabbitMQ intact") {
  test::RabbitMq rabbit;
  // Attaching to /queue/<name> declares the queue the posts go to.
  test::MessageReceiver receiver(rabbit.url(), {"/queue/stepline-endpoints"},
                                 {.user = "guest", .password = "guest", .reply = {}});
  host::amqp::BackendOptions options;
  options.allow_plain_amqp = true;
  host::amqp::Backend backend(options);
  host::endpoints::AmqpEndpointPoster poster(backend);

  std::vector<ExecutionContext> sent;
  for (const std::string& f : test::every_format()) {
    auto endpoint = test::make_endpoint("rabbit", Contract::queue, "/amq/queue/stepline-endpoints",
                                        rabbit.connection_string(), f);
    endpoint.auth = registration::AuthMechanism::plain;
    sent.push_back(samples::full_context());
    sent.back().operation_id = Guid::random();
    auto f_outcome = poster.post(endpoint, sent.back());
    REQUIRE(f_outcome.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
    Outcome o = f_outcome.get();
    CHECK_MESSAGE(o.ok(), o.condition << ": " << o.description);
  }
  REQUIRE(receiver.wait_for(sent.size(), 20000));
  auto messages = receiver.messages();
  for (std::size_t i = 0; i < sent.size(); ++i) {
    const std::string f = test::every_format()[i];
    CAPTURE(f);
    const proton::message& m = messages[i];
    CHECK(proton::to_string(m.id()) == sent[i].operation_id.str());
    CHECK(m.content_type() == format::format_named(f).content_type);
    CHECK(test::property(m, host::endpoints::claim::entity_logical_name) == "account");
    CHECK(test::property(m, host::endpoints::twin::message) == "Update");
    ExecutionContext back = test::read_body(m, f);
    if (f == "dataverse-json") {
      CHECK(back.operation_id == sent[i].operation_id);
      CHECK(back.parent_context->input_parameters == sent[i].parent_context->input_parameters);
    } else {
      CHECK(back == sent[i]);
    }
  }
}
