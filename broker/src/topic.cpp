#include "topic.hpp"

namespace stepline::broker {

Topic::Topic(const TopicConfig& config, Journal* journal)
    : path_(config.name),
      key_(entity_key(config.name)),
      duplicates_(config.duplicate_detection_window) {
  for (const auto& s : config.subscriptions) {
    Subscription sub;
    sub.name = s.name;
    sub.filter = SubscriptionFilter::from_config(s);
    QueueSettings settings = s.settings;
    settings.duplicate_detection_window = Millis(0);  // the topic detects duplicates
    sub.queue =
        std::make_unique<Queue>(config.name + "/Subscriptions/" + s.name, settings, journal);
    subscriptions_.push_back(std::move(sub));
  }
}

Subscription* Topic::find(const std::string& name) {
  std::string key = entity_key(name);
  for (auto& s : subscriptions_)
    if (entity_key(s.name) == key) return &s;
  return nullptr;
}

}  // namespace stepline::broker
