// The entities the broker serves (queues, topics with their subscriptions, event hubs), built
// from the configuration, and routing: which entity an AMQP address names.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config.hpp"
#include "event_hub.hpp"
#include "queue.hpp"
#include "topic.hpp"

namespace stepline::broker {

class Store;

/// What an address names, resolved case-insensitively.
struct Address {
  enum class Kind {
    none,
    cbs,
    management,
    queue,
    topic,
    hub,
    hub_partition,
    hub_consumer
  } kind = Kind::none;
  Queue* queue = nullptr;  ///< queue, subscription or dead-letter queue
  Topic* topic = nullptr;
  EventHub* hub = nullptr;
  int partition = -1;
  std::string path;  ///< lower-case entity path, for authorization
};

class Entities {
 public:
  /// Builds every configured entity; changes are journalled to `journal` (null: in memory).
  Entities(const BrokerConfig& config, Journal* journal);

  /// `<queue>`, `<topic>`, `<topic>/Subscriptions/<sub>`, `<entity>/$DeadLetterQueue`,
  /// `<entity>/$management`, `<hub>[/ConsumerGroups/<group>]/Partitions/<n>`, `$cbs`,
  /// `$management`; an `sb://host/` prefix is ignored.
  Address resolve(const std::string& address) const;
  /// Every queue, subscription and dead-letter queue.
  std::vector<Queue*> all_queues() const;
  /// The hub named `name` (case-insensitive), or null.
  EventHub* hub(const std::string& name) const;
  const std::map<std::string, std::unique_ptr<EventHub>>& hubs() const { return hubs_; }
  /// Restores stored messages and events into their entities and logs what it loaded.
  void load(Store& store, const std::string& data_dir);

 private:
  std::map<std::string, std::unique_ptr<Queue>> queues_;   // by key
  std::map<std::string, std::unique_ptr<Topic>> topics_;   // by key
  std::map<std::string, std::unique_ptr<EventHub>> hubs_;  // by key
};

}  // namespace stepline::broker
