// A Service Bus topic: messages fan out to every subscription whose filter matches; each
// subscription is a queue of its own (with its own dead-letter queue).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "filter.hpp"
#include "queue.hpp"

namespace stepline::broker {

struct Subscription {
  std::string name;
  SubscriptionFilter filter;
  std::unique_ptr<Queue> queue;
};

class Topic {
 public:
  Topic(const TopicConfig& config, Journal* journal);

  const std::string& path() const { return path_; }
  const std::string& key() const { return key_; }
  uint64_t next_sequence() { return next_sequence_++; }
  void observe_sequence(uint64_t seq) { next_sequence_ = std::max(next_sequence_, seq + 1); }
  DuplicateDetector& duplicates() { return duplicates_; }
  std::vector<Subscription>& subscriptions() { return subscriptions_; }
  /// Case-insensitive lookup; null when absent.
  Subscription* find(const std::string& name);

 private:
  std::string path_;
  std::string key_;
  uint64_t next_sequence_ = 1;
  DuplicateDetector duplicates_;
  std::vector<Subscription> subscriptions_;
};

}  // namespace stepline::broker
