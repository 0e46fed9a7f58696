// Service Bus queue behaviour over AMQP, with a Proton C++ client against the broker process.
#include <doctest/doctest.h>

#include <proton/annotation_key.hpp>
#include <proton/message_id.hpp>
#include <proton/timestamp.hpp>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "amqp_client.hpp"
#include "broker_process.hpp"

using namespace stepline::broker::testing;

namespace {

const char* entities_config = R"(
sas_policies:
  - name: RootManageSharedAccessKey
    key: test-key
    rights: [manage, send, listen]
  - name: sender
    key: sender-key
    rights: [send]
queues:
  - name: orders
    lock_duration: 2s
    max_delivery_count: 2
  - name: dedup
    duplicate_detection_window: 1m
topics:
  - name: account-events
    subscriptions:
      - name: accounts
        filter: "\"http://schemas.microsoft.com/xrm/2011/Claims/EntityLogicalName\" = 'account'"
      - name: all
      - name: large-updates
        filter: "sys.Label = 'Update' AND size > 3"
  - name: audit
    subscriptions:
      - name: first
      - name: second
        default_ttl: 1h
event_hubs:
  - name: telemetry
    partitions: 4
)";

const Login root{"RootManageSharedAccessKey", "test-key"};

proton::message text(const std::string& body) {
  proton::message m;
  m.body(body);
  return m;
}

int64_t annotation(const proton::message& m, const char* key) {
  proton::value v = m.message_annotations().get(proton::symbol(key));
  if (v.type() == proton::type_id::TIMESTAMP)
    return proton::get<proton::timestamp>(v).milliseconds();
  return v.empty() ? -1 : proton::coerce<int64_t>(v);
}

}  // namespace

TEST_CASE("a queue delivers peek-locked messages in order and complete removes them") {
  BrokerProcess broker(entities_config);
  auto sent = send(broker.url(), "orders", {text("one"), text("two"), text("three")}, root);
  CHECK(sent.error == "");
  CHECK(sent.accepted == 3);
  CHECK(sent.max_message_size == 262144);

  auto got = receive(broker.url(), "orders", 3, Settle::accept, root);
  REQUIRE(got.messages.size() == 3);
  CHECK(proton::get<std::string>(got.messages[0].body()) == "one");
  CHECK(proton::get<std::string>(got.messages[2].body()) == "three");
  CHECK(annotation(got.messages[0], "x-opt-sequence-number") <
        annotation(got.messages[1], "x-opt-sequence-number"));
  CHECK(annotation(got.messages[0], "x-opt-enqueued-time") > 0);
  CHECK(annotation(got.messages[0], "x-opt-locked-until") >
        annotation(got.messages[0], "x-opt-enqueued-time"));
  CHECK_FALSE(got.messages[0].id().empty());  // stamped by the broker
  CHECK(got.tags[0].size() == 16);            // the lock token
  CHECK(got.messages[0].delivery_count() == 0);

  auto again = receive(broker.url(), "orders", 1, Settle::accept, root, false, 400);
  CHECK(again.messages.empty());
}

TEST_CASE(
    "an abandoned message comes back with its delivery count raised, then goes to the dead-letter "
    "queue") {
  BrokerProcess broker(entities_config);
  REQUIRE(send(broker.url(), "orders", {text("poison")}, root).accepted == 1);
  auto first = receive(broker.url(), "orders", 1, Settle::abandon, root);
  REQUIRE(first.messages.size() == 1);
  CHECK(first.messages[0].delivery_count() == 0);
  auto second = receive(broker.url(), "orders", 1, Settle::abandon, root);
  REQUIRE(second.messages.size() == 1);
  CHECK(second.messages[0].delivery_count() == 1);
  // max_delivery_count is 2: the queue is empty, the message waits in the dead-letter queue
  CHECK(receive(broker.url(), "orders", 1, Settle::accept, root, false, 400).messages.empty());
  auto dead = receive(broker.url(), "orders/$DeadLetterQueue", 1, Settle::accept, root);
  REQUIRE(dead.messages.size() == 1);
  CHECK(proton::get<std::string>(dead.messages[0].body()) == "poison");
  CHECK(proton::get<std::string>(dead.messages[0].properties().get("DeadLetterReason")) ==
        "MaxDeliveryCountExceeded");
}

TEST_CASE("a message whose lock expires is delivered again") {
  BrokerProcess broker(entities_config);
  REQUIRE(send(broker.url(), "orders", {text("slow")}, root).accepted == 1);
  auto held = receive(broker.url(), "orders", 1, Settle::none, root);
  REQUIRE(held.messages.size() == 1);
  auto redelivered = receive(broker.url(), "orders", 1, Settle::accept, root, false, 3500);
  REQUIRE(redelivered.messages.size() == 1);
  CHECK(redelivered.messages[0].delivery_count() == 1);
}

TEST_CASE("receive-and-delete takes messages without a lock; dead-lettering moves them") {
  BrokerProcess broker(entities_config);
  REQUIRE(send(broker.url(), "orders", {text("a"), text("b")}, root).accepted == 2);
  auto dl = receive(broker.url(), "orders", 1, Settle::dead_letter, root);
  REQUIRE(dl.messages.size() == 1);
  auto rd = receive(broker.url(), "orders", 5, Settle::none, root, true, 400);
  REQUIRE(rd.messages.size() == 1);
  CHECK(proton::get<std::string>(rd.messages[0].body()) == "b");
  auto dead = receive(broker.url(), "Orders/$deadletterqueue", 5, Settle::accept, root, true, 400);
  REQUIRE(dead.messages.size() == 1);
  CHECK(proton::get<std::string>(dead.messages[0].body()) == "a");
}

TEST_CASE("duplicate detection drops a second message with the same id but reports it accepted") {
  BrokerProcess broker(entities_config);
  proton::message m = text("once");
  m.id(std::string("order-42"));
  REQUIRE(send(broker.url(), "dedup", {m, m}, root).accepted == 2);
  CHECK(receive(broker.url(), "dedup", 5, Settle::accept, root, false, 400).messages.size() == 1);
}

TEST_CASE("links without rights or to unknown entities are refused with the Azure conditions") {
  BrokerProcess broker(entities_config);
  CHECK(send(broker.url(), "orders", {text("x")}, Login{}).error == "amqp:unauthorized-access");
  CHECK(send(broker.url(), "no-such-queue", {text("x")}, root).error == "amqp:not-found");
  CHECK(send(broker.url(), "orders", {text("x")}, Login{"sender", "sender-key"}).accepted == 1);
  CHECK(receive(broker.url(), "orders", 1, Settle::accept, Login{"sender", "sender-key"}).error ==
        "amqp:unauthorized-access");
  CHECK(send(broker.url(), "orders", {text("x")}, Login{"RootManageSharedAccessKey", "wrong"})
            .error != "");
}

TEST_CASE("a message larger than max_message_size is rejected with message-size-exceeded") {
  BrokerProcess broker(entities_config);
  auto r = send(broker.url(), "orders", {text(std::string(300000, 'x'))}, root);
  REQUIRE(r.rejected.size() == 1);
  CHECK(r.rejected[0] == "amqp:link:message-size-exceeded");
}

TEST_CASE("a topic routes by the EntityLogicalName claim to matching subscriptions only") {
  // Without a message-id the broker decodes a message; with a string one it decodes only the
  // properties and application properties the filters read, and stores the message as sent.
  for (bool with_ids : {false, true}) {
    CAPTURE(with_ids);
    BrokerProcess broker(entities_config);
    auto message = [&](const std::string& body, const std::string& entity, const char* subject,
                       int64_t size) {
      proton::message m = text(body);
      if (with_ids) m.id("id-" + body);
      m.subject(subject);
      m.properties().put("http://schemas.microsoft.com/xrm/2011/Claims/EntityLogicalName", entity);
      m.properties().put("size", size);
      return m;
    };
    REQUIRE(send(broker.url(), "account-events",
                 {message("account created", "account", "Create", 9),
                  message("contact created", "contact", "Create", 9),
                  message("account updated", "account", "Update", 2),
                  message("contact updated", "contact", "Update", 7)},
                 root)
                .accepted == 4);
    auto bodies = [&](const std::string& address) {
      std::vector<std::string> out;
      for (const auto& m : receive(broker.url(), address, 5, Settle::accept, root, false, 400).messages) {
        out.push_back(proton::get<std::string>(m.body()));
        CHECK(proton::get<int64_t>(m.properties().get("size")) > 0);
        CHECK(annotation(m, "x-opt-sequence-number") >= 0);
      }
      return out;
    };
    CHECK(bodies("account-events/Subscriptions/accounts") ==
          std::vector<std::string>{"account created", "account updated"});
    CHECK(bodies("account-events/Subscriptions/large-updates") ==
          std::vector<std::string>{"contact updated"});
    CHECK(bodies("ACCOUNT-EVENTS/subscriptions/All").size() == 4);
  }
}

TEST_CASE("a topic whose subscriptions take every message gives each a copy, as sent, stamped") {
  // No filter reads the properties: the message is stored from its sections, not decoded.
  BrokerProcess broker(entities_config);
  proton::message m = text("audited");
  m.id("audit-1");
  m.subject("Update");
  m.properties().put("http://schemas.microsoft.com/xrm/2011/Claims/EntityLogicalName", "account");
  m.message_annotations().put(proton::symbol("x-opt-partition-key"), "pk");
  REQUIRE(send(broker.url(), "audit", {m, text("unnamed")}, root).accepted == 2);
  for (const char* sub : {"audit/Subscriptions/first", "audit/Subscriptions/second"}) {
    auto got = receive(broker.url(), sub, 5, Settle::accept, root, false, 400);
    REQUIRE(got.messages.size() == 2);
    const auto& first = got.messages[0];
    CHECK(proton::get<std::string>(first.id()) == "audit-1");
    CHECK(first.subject() == "Update");
    CHECK(proton::get<std::string>(first.properties().get(
              "http://schemas.microsoft.com/xrm/2011/Claims/EntityLogicalName")) == "account");
    CHECK(proton::get<std::string>(
              first.message_annotations().get(proton::symbol("x-opt-partition-key"))) == "pk");
    CHECK(proton::get<std::string>(first.body()) == "audited");
    CHECK(annotation(first, "x-opt-enqueued-time") > 0);
    CHECK(annotation(first, "x-opt-locked-until") > annotation(first, "x-opt-enqueued-time"));
    CHECK(first.delivery_count() == 0);
    CHECK(annotation(first, "x-opt-sequence-number") <
          annotation(got.messages[1], "x-opt-sequence-number"));
    CHECK_FALSE(got.messages[1].id().empty());  // the one sent without an id got one
  }
}

TEST_CASE("an event hub partition keeps sequence numbers and offsets for its consumers") {
  BrokerProcess broker(entities_config);
  REQUIRE(send(broker.url(), "telemetry/Partitions/2", {text("e1"), text("e2")}, root).accepted ==
          2);
  auto events = receive(broker.url(), "telemetry/ConsumerGroups/$Default/Partitions/2", 2,
                        Settle::accept, root);
  REQUIRE(events.messages.size() == 2);
  CHECK(annotation(events.messages[0], "x-opt-sequence-number") == 0);
  CHECK(annotation(events.messages[1], "x-opt-sequence-number") == 1);
  CHECK(proton::get<std::string>(
            events.messages[1].message_annotations().get(proton::symbol("x-opt-offset"))) != "0");
  CHECK(receive(broker.url(), "telemetry/ConsumerGroups/nope/Partitions/2", 1, Settle::accept, root)
            .error == "amqp:not-found");
}

TEST_CASE("events keep what their sender wrote, and one partition key keeps to one partition") {
  BrokerProcess broker(entities_config);
  auto keyed = [](const std::string& body) {
    proton::message m = text(body);
    m.id("event-" + body);
    m.subject("Update");
    m.properties().put("http://schemas.microsoft.com/xrm/2011/Claims/EntityLogicalName", "account");
    m.message_annotations().put(proton::symbol("x-opt-partition-key"), "device-9");
    return m;
  };
  // The sender's own sequence number is replaced by the broker's, as Event Hubs does.
  proton::message forwarded = keyed("e3");
  forwarded.message_annotations().put(proton::symbol("x-opt-sequence-number"), int64_t(999));
  REQUIRE(send(broker.url(), "telemetry", {keyed("e1"), keyed("e2"), forwarded}, root).accepted ==
          3);
  std::vector<proton::message> found;
  int partitions_with_events = 0;
  for (int p = 0; p < 4; ++p) {
    auto got = receive(broker.url(),
                       "telemetry/ConsumerGroups/$Default/Partitions/" + std::to_string(p), 3,
                       Settle::accept, root, false, 300);
    if (got.messages.empty()) continue;
    ++partitions_with_events;
    found = got.messages;
  }
  CHECK(partitions_with_events == 1);
  REQUIRE(found.size() == 3);
  for (int i = 0; i < 3; ++i) {
    const auto& e = found[static_cast<size_t>(i)];
    CAPTURE(i);
    CHECK(proton::get<std::string>(e.body()) == "e" + std::to_string(i + 1));
    CHECK(proton::get<std::string>(e.id()) == "event-e" + std::to_string(i + 1));
    CHECK(e.subject() == "Update");
    CHECK(proton::get<std::string>(e.properties().get(
              "http://schemas.microsoft.com/xrm/2011/Claims/EntityLogicalName")) == "account");
    CHECK(proton::get<std::string>(
              e.message_annotations().get(proton::symbol("x-opt-partition-key"))) == "device-9");
    CHECK(annotation(e, "x-opt-sequence-number") == i);
    CHECK(annotation(e, "x-opt-enqueued-time") > 0);
  }
  CHECK(std::stoll(proton::get<std::string>(
            found[2].message_annotations().get(proton::symbol("x-opt-offset")))) >
        std::stoll(proton::get<std::string>(
            found[1].message_annotations().get(proton::symbol("x-opt-offset")))));
}

TEST_CASE("the broker stops cleanly on SIGTERM") {
  BrokerProcess broker(entities_config);
  CHECK(broker.stop() == 0);
}

TEST_CASE("a broker stopped while deliveries wait for their commit exits without accepting them") {
  // A commit that never comes before the stop: the publisher's delivery is held, unsettled.
  auto dir = std::filesystem::temp_directory_path() /
             ("stepline-broker-held-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::string yaml = std::string(entities_config) + "data_dir: " + (dir / "data").string() +
                     "\ncommit_interval: 60s\ncommit_batch: 1000\n";
  SendResult sent;
  {
    BrokerProcess broker(yaml, dir.string());
    std::thread publisher([&] { sent = send(broker.url(), "orders", {text("held")}, root); });
    // Connecting, attaching and sending take milliseconds; the commit is a minute away.
    std::this_thread::sleep_for(std::chrono::seconds(1));
    // Under ./dev sanitize a held delivery never let go shows as a leak when the broker exits.
    CHECK(broker.stop() == 0);
    publisher.join();
  }
  CHECK(sent.accepted == 0);
  CHECK_FALSE(sent.error.empty());
  std::filesystem::remove_all(dir);
}

TEST_CASE("a bad configuration stops the broker with exit status 2 and file:line:col messages") {
  auto dir = std::filesystem::temp_directory_path() /
             ("stepline-broker-badconfig-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "bad.yaml") << "queues:\n  - name: q\n    lock_duration: soon\n";
  std::string cmd = std::string(STEPLINE_BROKER_EXE) + " -c " + (dir / "bad.yaml").string() +
                    " 2>" + (dir / "err.txt").string();
  int status = std::system(cmd.c_str());
  CHECK(WEXITSTATUS(status) == 2);
  std::ifstream err(dir / "err.txt");
  std::string line;
  std::getline(err, line);
  CHECK(line.find("bad.yaml:3:20: queue 'q' lock_duration: 'soon' is not a duration") !=
        std::string::npos);
  std::filesystem::remove_all(dir);
}
