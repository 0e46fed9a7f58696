// Broker configuration: the sample loads, mistakes are reported with file:line:column.
#include <doctest/doctest.h>

#include "config.hpp"
#include "event_hub.hpp"

using namespace stepline::broker;

TEST_CASE("the sample configuration loads with its queues, topic, subscriptions and event hub") {
  BrokerConfig c = load_config(STEPLINE_SOURCE_DIR "/samples/broker.yaml");
  CHECK(c.listen == "127.0.0.1:5672");
  CHECK(c.data_dir.empty());
  CHECK(c.max_message_size == 262144);
  REQUIRE(c.queues.size() == 4);
  CHECK(c.queues[0].name == "orders");
  CHECK(c.queues[0].settings.lock_duration == Millis(30000));
  CHECK(c.queues[0].settings.duplicate_detection_window == Millis(600000));
  CHECK(c.queues[3].name == "documents");  // the claim checks of samples/webhooks.yaml
  REQUIRE(c.topics.size() == 1);
  REQUIRE(c.topics[0].subscriptions.size() == 2);
  CHECK(c.topics[0].subscriptions[0].sql_filter.find("EntityLogicalName") != std::string::npos);
  CHECK(c.topics[0].subscriptions[1].sql_filter.empty());
  REQUIRE(c.event_hubs.size() == 1);
  CHECK(c.event_hubs[0].partitions == 4);
  CHECK(c.event_hubs[0].max_message_size == 1048576);
  CHECK(c.event_hubs[0].consumer_groups == std::vector<std::string>{"$Default", "analytics"});
  REQUIRE(c.sas_policies.size() == 2);
  CHECK(c.sas_policies[0].manage);
  CHECK_FALSE(c.sas_policies[1].listen);
}

TEST_CASE("every configuration mistake is reported with its file, line and column") {
  const std::string yaml =
      "listen: 127.0.0.1:5672\n"
      "queues:\n"
      "  - name: orders\n"
      "    lock_duration: soon\n"
      "  - name: ORDERS\n"
      "    colour: red\n"
      "topics:\n"
      "  - name: t\n"
      "    subscriptions:\n"
      "      - name: s\n"
      "        filter: a = = 1\n"
      "sas_policies:\n"
      "  - name: root\n"
      "    rights: [everything]\n";
  try {
    parse_config(yaml, "broker.yaml");
    FAIL("a bad configuration was accepted");
  } catch (const ConfigError& e) {
    std::string what = e.what();
    CHECK(what.find("broker.yaml:4:20: queue 'orders' lock_duration: 'soon' is not a duration") !=
          std::string::npos);
    CHECK(what.find("broker.yaml:5:11: queue name 'ORDERS' is used twice") != std::string::npos);
    CHECK(what.find("broker.yaml:6:5: unknown key 'colour' in a queue") != std::string::npos);
    CHECK(what.find("broker.yaml:11:21: subscription 's' filter: unexpected '='") !=
          std::string::npos);
    CHECK(what.find("broker.yaml:13:5: SAS policy 'root' needs a non-empty 'key'") !=
          std::string::npos);
    CHECK(what.find("broker.yaml:14:14: right 'everything' is not one of manage, send, listen") !=
          std::string::npos);
  }
}

TEST_CASE("each problem is one line, even one quoting a value that holds line breaks") {
  try {
    parse_config("sas_policies:\n  - {name: root, key: k, rights: [\"send\\r\\nlisten\"]}\n",
                 "b.yaml");
    FAIL("a bad configuration was accepted");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()) ==
          "b.yaml:2:35: right 'send\\r\\nlisten' is not one of manage, send, listen");
  }
}

TEST_CASE("YAML syntax errors carry the parser's position") {
  CHECK_THROWS_WITH_AS(parse_config("queues: [\n", "b.yaml"), doctest::Contains("b.yaml:2:1:"),
                       ConfigError);
}

TEST_CASE("durations read as Azure writes them, in short form and as bare seconds") {
  BrokerConfig c = parse_config(
      "idle_timeout: PT1M30.5S\ncommit_interval: 20\nqueues:\n"
      "  - {name: a, lock_duration: 1.5h, default_ttl: P1DT2H, duplicate_detection_window: ' 2 m "
      "'}\n",
      "b.yaml");
  CHECK(c.idle_timeout == Millis(90500));
  CHECK(c.commit_interval == Millis(20000));
  REQUIRE(c.queues.size() == 1);
  CHECK(c.queues[0].settings.lock_duration == Millis(5400000));
  CHECK(c.queues[0].settings.default_ttl == Millis(93600000));
  CHECK(c.queues[0].settings.duplicate_detection_window == Millis(120000));
  CHECK_THROWS_WITH_AS(parse_config("idle_timeout: 5 weeks\n", "b.yaml"),
                       doctest::Contains("b.yaml:1:15: idle_timeout: '5 weeks' is not a duration"),
                       ConfigError);
}

TEST_CASE("entity names follow Service Bus's rules") {
  CHECK(valid_entity_name("orders"));
  CHECK(valid_entity_name("$default"));
  CHECK(valid_entity_name("tenant-1/orders.v2_x"));
  CHECK(valid_entity_name(std::string(260, 'a')));
  CHECK_FALSE(valid_entity_name(std::string(261, 'a')));
  CHECK_FALSE(valid_entity_name(""));
  CHECK_FALSE(valid_entity_name("-orders"));
  CHECK_FALSE(valid_entity_name("orders queue"));
  CHECK_FALSE(valid_entity_name("orders#1"));
}

TEST_CASE("event hub consumers start where their selector says") {
  EventHubConfig config;
  config.name = "telemetry";
  config.partitions = 1;
  EventHub hub(config, nullptr);
  for (int i = 0; i < 5; ++i) {
    proton::message m("e" + std::to_string(i));
    hub.append(0, m, 1000 + i);
  }
  CHECK(hub.start_sequence(0, "") == 0);
  CHECK(hub.start_sequence(0, "amqp.annotation.x-opt-sequence-number > '2'") == 3);
  CHECK(hub.start_sequence(0, "  AMQP.Annotation.X-Opt-Sequence-Number >= '2' ") == 2);
  CHECK(hub.start_sequence(0, "amqp.annotation.x-opt-offset > '-1'") == 0);
  CHECK(hub.start_sequence(0, "amqp.annotation.x-opt-enqueued-time >= '1003'") == 3);
  CHECK(hub.start_sequence(0, "amqp.annotation.x-opt-offset = '@latest'") == 5);
  CHECK_THROWS_AS(hub.start_sequence(0, "amqp.annotation.x-opt-partition-key > '1'"),
                  SelectorError);
  CHECK_THROWS_AS(hub.start_sequence(0, "amqp.annotation.x-opt-offset > 1"), SelectorError);
  CHECK_THROWS_AS(hub.start_sequence(0, "amqp.annotation.x-opt-offset > '1' and more"),
                  SelectorError);
}

TEST_CASE("connection limits have defaults and are checked") {
  BrokerConfig defaults = parse_config("queues: [{name: q}]\n", "b.yaml");
  CHECK(defaults.limits.max_frame_size == 65536);
  CHECK(defaults.limits.max_connections_per_address == 1000);
  CHECK(defaults.limits.max_unauthenticated_connections == 500);
  CHECK(defaults.limits.authentication_timeout == std::chrono::seconds(60));
  BrokerConfig set = parse_config(
      "max_frame_size: 16384\nmax_connections_per_address: 20\n"
      "max_unauthenticated_connections: 5\nauthentication_timeout: 5s\n",
      "b.yaml");
  CHECK(set.limits.max_frame_size == 16384);
  CHECK(set.limits.max_connections_per_address == 20);
  CHECK(set.limits.max_unauthenticated_connections == 5);
  CHECK(set.limits.authentication_timeout == std::chrono::seconds(5));
  CHECK_THROWS_WITH_AS(parse_config("max_frame_size: 100\n", "b.yaml"),
                       doctest::Contains("b.yaml:1:17: max_frame_size: 100 is out of range"),
                       ConfigError);
  CHECK_THROWS_WITH_AS(parse_config("authentication_timeout: 10ms\n", "b.yaml"),
                       doctest::Contains("'authentication_timeout' must be at least 100ms"),
                       ConfigError);
}
