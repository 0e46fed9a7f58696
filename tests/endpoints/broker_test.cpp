// Posting end to end into stepline-broker: every contract and format received by a plain Proton
// C++ receiver and read back with the SDK's parsers, both auth mechanisms, a wrong key, the
// broker going away and coming back, two-way replies and timeouts, and the size policy.
#include <doctest/doctest.h>

#include <set>

#include <proton/symbol.hpp>

#include <stepline/azure/names.hpp>
#include <stepline/format/format.hpp>
#include <stepline/host/amqp/backend.hpp>
#include <stepline/host/endpoints/amqp_endpoint_poster.hpp>
#include <stepline/host/endpoints/message_properties.hpp>

#include "endpoints/endpoint_fixture.hpp"
#include "testkit/message_receiver.hpp"
#include "testkit/stepline_broker.hpp"

using namespace stepline;
using namespace stepline::host::endpoints;
using host::amqp::Outcome;
using host::amqp::OutcomeStatus;
using registration::AuthMechanism;
using registration::Contract;
using test::MessageReceiver;
using test::SteplineBroker;

namespace {

const std::string broker_config = R"(
sas_policies:
  - name: RootManageSharedAccessKey
    key: test-root-key
    rights: [manage, send, listen]
  - name: sender
    key: sender-key
    rights: [send]
queues:
  - name: orders
  - name: plain-orders
  - name: big
  - name: credit-check
  - name: credit-check-replies
  - name: nobody-answers
  - name: nobody-answers-replies
topics:
  - name: account-events
    subscriptions:
      - name: accounts
        filter: >-
          "http://schemas.microsoft.com/xrm/2011/Claims/EntityLogicalName" = 'account'
      - name: contacts
        filter: >-
          "http://schemas.microsoft.com/xrm/2011/Claims/EntityLogicalName" = 'contact'
event_hubs:
  - name: telemetry
    partitions: 2
)";

// One broker for the suite; tests use their own entities.
SteplineBroker& broker() {
  static SteplineBroker b(broker_config);
  return b;
}

test::ReceiverOptions root_login() {
  return {.user = "RootManageSharedAccessKey", .password = SteplineBroker::root_key, .reply = {}};
}

registration::ServiceEndpoint endpoint(const std::string& name, Contract contract,
                                       const std::string& path, const std::string& format,
                                       AuthMechanism auth = AuthMechanism::cbs) {
  auto e = test::make_endpoint(name, contract, path,
                               broker().connection_string("sender", "sender-key"), format);
  e.auth = auth;
  return e;
}

// A distinct record per post, so each received message can be matched to what was sent.
ExecutionContext numbered_context(int n) {
  ExecutionContext c = test::small_context();
  char id[40];
  std::snprintf(id, sizeof id, "aaaaaaaa-0000-0000-0000-%012d", n);
  c.primary_entity_id = Guid::parse(id);
  c.target()->id = c.primary_entity_id;
  c.operation_id = Guid::random();
  return c;
}

void check_received(const proton::message& m, const ExecutionContext& sent, const std::string& f) {
  CAPTURE(f);
  CHECK(m.content_type() == format::format_named(f).content_type);
  CHECK(test::property(m, claim::entity_logical_name) == "account");
  CHECK(test::property(m, claim::request_name) == "Update");
  CHECK(test::property(m, claim::user) == sent.user_id.str());
  CHECK(test::property(m, twin::initiating_user) == sent.initiating_user_id.str());
  CHECK(m.subject() == "Update:account");
  ExecutionContext back = test::read_body(m, f);
  if (f == "dataverse-json") {
    CHECK(back.operation_id == sent.operation_id);
    CHECK(back.primary_entity_id == sent.primary_entity_id);
    CHECK(back.target()->get("revenue") == sent.target()->get("revenue"));
  } else {
    CHECK(back == sent);
  }
}

}  // namespace

TEST_CASE("every contract and format arrives as posted and reads back with the SDK parsers") {
  MessageReceiver receiver(
      broker().url(),
      {"orders", "account-events/Subscriptions/accounts", "account-events/Subscriptions/contacts",
       "telemetry/ConsumerGroups/$Default/Partitions/0",
       "telemetry/ConsumerGroups/$Default/Partitions/1"},
      root_login());
  host::amqp::Backend backend;
  AmqpEndpointPoster poster(backend);
  std::map<std::string, std::pair<ExecutionContext, std::string>> sent;  // by record id
  std::map<std::string, Contract> contract_of;
  int n = 0;
  for (const std::string& f : test::every_format()) {
    for (auto [contract, path] :
         {std::pair{Contract::queue, "orders"}, std::pair{Contract::topic, "account-events"},
          std::pair{Contract::eventhub, "telemetry"}}) {
      ExecutionContext c = numbered_context(++n);
      Outcome o = test::outcome_of(poster.post(endpoint("e", contract, path, f), c));
      CHECK_MESSAGE(o.ok(), o.condition << ": " << o.description);
      sent.emplace(c.primary_entity_id.str(), std::pair{c, f});
      contract_of.emplace(c.primary_entity_id.str(), contract);
    }
  }
  REQUIRE(receiver.wait_for(sent.size()));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // nothing more may arrive
  auto messages = receiver.messages();
  CHECK(messages.size() == sent.size());  // the contacts subscription took none
  std::set<Contract> seen;
  for (const auto& m : messages) {
    // The partition key (event hubs) or the message id (Service Bus) leads back to the post.
    proton::value key =
        m.message_annotations().get(proton::symbol(std::string(azure::annotation::partition_key)));
    std::string record;
    if (!key.empty()) {
      record = proton::get<std::string>(key);
    } else {
      for (const auto& [id, entry] : sent)
        if (proton::to_string(m.id()) == entry.first.operation_id.str()) record = id;
    }
    REQUIRE_MESSAGE(sent.count(record), "a message nobody sent: " << proton::to_string(m.id()));
    const auto& [context, f] = sent.at(record);
    check_received(m, context, f);
    CHECK(proton::to_string(m.id()) == context.operation_id.str());
    seen.insert(contract_of.at(record));
  }
  CHECK(seen.size() == 3);
}

TEST_CASE("CBS and PLAIN both authenticate the sender policy") {
  MessageReceiver receiver(broker().url(), {"plain-orders"}, root_login());
  host::amqp::Backend backend;
  AmqpEndpointPoster poster(backend);
  ExecutionContext over_cbs = numbered_context(101), over_plain = numbered_context(102);
  Outcome cbs = test::outcome_of(poster.post(
      endpoint("cbs", Contract::queue, "plain-orders", "json", AuthMechanism::cbs), over_cbs));
  CHECK_MESSAGE(cbs.ok(), cbs.condition << ": " << cbs.description);
  CHECK(backend.stats().tokens_put >= 1);
  Outcome plain = test::outcome_of(
      poster.post(endpoint("plain", Contract::queue, "plain-orders", "json", AuthMechanism::plain),
                  over_plain));
  CHECK_MESSAGE(plain.ok(), plain.condition << ": " << plain.description);
  REQUIRE(receiver.wait_for(2));
  auto messages = receiver.messages();
  CHECK(proton::to_string(messages[0].id()) == over_cbs.operation_id.str());
  CHECK(proton::to_string(messages[1].id()) == over_plain.operation_id.str());
}

TEST_CASE("a wrong key is a permanent unauthorized failure, over CBS and over PLAIN") {
  host::amqp::Backend backend;
  AmqpEndpointPoster poster(backend);
  for (AuthMechanism auth : {AuthMechanism::cbs, AuthMechanism::plain}) {
    CAPTURE(registration::to_string(auth));
    auto e = test::make_endpoint("wrong-key", Contract::queue, "orders",
                                 broker().connection_string("sender", "not-the-key"));
    e.auth = auth;
    Outcome o = test::outcome_of(poster.post(e, numbered_context(110)));
    CHECK(o.status == OutcomeStatus::permanent);
    CHECK(o.condition == "amqp:unauthorized-access");
    CHECK(o.description.find("not-the-key") == std::string::npos);
    CHECK(o.description.find("wrong-key") != std::string::npos);
  }
}

TEST_CASE("a two-way endpoint returns the listener's reply, and times out without a listener") {
  MessageReceiver listener(broker().url(), {"credit-check"},
                           {.user = "RootManageSharedAccessKey",
                            .password = SteplineBroker::root_key,
                            .reply = [](const proton::message& m) {
                              return "approved " + test::property(m, twin::entity);
                            }});
  auto e = test::make_endpoint("credit", Contract::twoway, "credit-check",
                               broker().connection_string(), "json");
  e.reply_to = "credit-check-replies";
  ExecutionContext c = numbered_context(120);
  // Over CBS the fixed reply queue needs a token of its own; over PLAIN the policy covers it.
  // One backend at a time: two reply links on one fixed queue would compete for the replies.
  std::size_t received = 0;
  for (AuthMechanism auth : {AuthMechanism::cbs, AuthMechanism::plain}) {
    CAPTURE(to_string(auth));
    e.auth = auth;
    host::amqp::Backend backend;
    AmqpEndpointPoster poster(backend);
    Outcome o = test::outcome_of(poster.post(e, c));
    CHECK_MESSAGE(o.ok(), o.condition << ": " << o.description);
    CHECK(o.reply == "approved account");
    REQUIRE(listener.count() == ++received);
    CHECK(test::read_body(listener.messages().back(), "json") == c);
  }

  host::amqp::Backend backend;
  AmqpEndpointPoster poster(backend);
  auto silent = test::make_endpoint("silent", Contract::twoway, "nobody-answers",
                                    broker().connection_string(), "json");
  silent.reply_to = "nobody-answers-replies";
  silent.auth = AuthMechanism::plain;
  silent.timeout = std::chrono::milliseconds(1500);
  Outcome timed_out = test::outcome_of(poster.post(silent, c));
  CHECK(timed_out.status == OutcomeStatus::transient);
  CHECK(timed_out.condition == "stepline:timeout");
  CHECK(timed_out.description.find("silent") != std::string::npos);
}

TEST_CASE(
    "an oversized context is truncated to fit the broker; one the broker refuses fails "
    "permanently") {
  MessageReceiver receiver(broker().url(), {"big"}, root_login());
  host::amqp::Backend backend;
  AmqpEndpointPoster poster(backend);

  ExecutionContext c = numbered_context(130);
  c.target()->set("description", std::string(400 * 1024, 'd'));
  Outcome truncated =
      test::outcome_of(poster.post(endpoint("big", Contract::queue, "big", "json"), c));
  CHECK_MESSAGE(truncated.ok(), truncated.condition << ": " << truncated.description);
  REQUIRE(receiver.wait_for(1));
  proton::message m = receiver.messages()[0];
  CHECK(m.properties().get(std::string(message_max_size_exceeded)) == proton::scalar(true));
  ExecutionContext back = test::read_body(m, "json");
  CHECK(back.input_parameters.empty());
  CHECK(back.primary_entity_id == c.primary_entity_id);

  // An endpoint that allows more than the namespace does: the broker's refusal is permanent.
  auto generous = endpoint("generous", Contract::queue, "big", "json");
  generous.max_message_size = 1024 * 1024;
  ExecutionContext bulky = numbered_context(131);
  bulky.shared_variables.insert_or_assign("notes", Value(std::string(400 * 1024, 'n')));
  Outcome refused = test::outcome_of(poster.post(generous, bulky));
  CHECK(refused.status == OutcomeStatus::permanent);
  CHECK(refused.condition == "amqp:link:message-size-exceeded");

  // Truncation cannot help a context whose bulk is in SharedVariables: refused before sending.
  Outcome too_big =
      test::outcome_of(poster.post(endpoint("big", Contract::queue, "big", "json"), bulky));
  CHECK(too_big.status == OutcomeStatus::permanent);
  CHECK(too_big.description.find("endpoint 'big'") != std::string::npos);
  CHECK(too_big.description.find("Update of account " + bulky.primary_entity_id.str()) !=
        std::string::npos);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(receiver.count() == 1);
}
