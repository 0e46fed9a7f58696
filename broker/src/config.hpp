// The broker's configuration: listener, limits, SAS policies and the entities it serves, read
// from YAML with the YAML layer's typed readers (yaml/). Every error names file:line:column and
// the field. Durations are written as stepline::parse_duration() reads them ("500ms", "30s",
// "5m", "1h", "7d", ISO-8601 "PT1M"), or as a bare number of seconds.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace stepline::broker {

using Millis = std::chrono::milliseconds;

struct SasPolicy {
  std::string name;
  std::string key;
  bool manage = false;
  bool send = false;
  bool listen = false;
};

/// Service Bus entity settings shared by queues and subscriptions.
struct QueueSettings {
  Millis lock_duration{60'000};
  uint32_t max_delivery_count = 10;
  Millis duplicate_detection_window{0};  ///< 0 = duplicate detection off
  Millis default_ttl{0};                 ///< 0 = messages never expire
};

struct QueueConfig {
  std::string name;
  QueueSettings settings;
};

/// A correlation filter: every set field must equal the message's field (exact, case-sensitive).
struct CorrelationFilter {
  std::map<std::string, std::string> system;  ///< correlation_id, message_id, to, ... → value
  std::map<std::string, std::string>
      properties;  ///< application property → value (compared as text)
};

struct SubscriptionConfig {
  std::string name;
  std::string sql_filter;  ///< empty = accept all (unless `correlation` is set)
  std::optional<CorrelationFilter> correlation;
  QueueSettings settings;
};

struct TopicConfig {
  std::string name;
  Millis duplicate_detection_window{0};
  std::vector<SubscriptionConfig> subscriptions;
};

struct EventHubConfig {
  std::string name;
  int partitions = 4;
  std::vector<std::string> consumer_groups;  ///< always contains $Default
  uint64_t max_message_size = 1'048'576;
  uint64_t retention_count = 0;  ///< events kept per partition, 0 = unbounded
  Millis retention{3'600'000};   ///< age after which events are dropped, 0 = forever
};

/// What one connection may hold, and how many connections may be held, before and after it
/// authenticates (see admission.hpp).
struct ConnectionLimits {
  uint32_t max_frame_size = 65'536;  ///< negotiated in the open frame, enforced on every frame
  uint32_t max_connections_per_address = 1'000;
  uint32_t max_unauthenticated_connections = 500;
  Millis authentication_timeout{60'000};
};

struct BrokerConfig {
  std::string source;  ///< the file it came from, for messages
  std::string listen = "127.0.0.1:5672";
  /// Where /healthz and /metrics are served over HTTP (host:port); empty = not served.
  std::string http_listen;
  std::string data_dir;  ///< empty = in memory only
  uint64_t max_message_size = 262'144;
  Millis idle_timeout{120'000};
  Millis commit_interval{5};
  uint32_t commit_batch = 256;
  ConnectionLimits limits;
  std::vector<SasPolicy> sas_policies;
  std::vector<QueueConfig> queues;
  std::vector<TopicConfig> topics;
  std::vector<EventHubConfig> event_hubs;
};

/// Bad configuration: what() holds one `file:line:col: message` line per problem.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Reads and validates a broker YAML file; throws ConfigError listing every problem found.
BrokerConfig load_config(const std::string& path);
/// Same for YAML text; `source` names it in messages.
BrokerConfig parse_config(const std::string& yaml, const std::string& source);

/// A queue, topic, subscription or event hub name: letters, digits, '$', '.', '_', '-', '/',
/// starting with a letter, digit or '$', at most 260 characters.
bool valid_entity_name(std::string_view name);

}  // namespace stepline::broker
