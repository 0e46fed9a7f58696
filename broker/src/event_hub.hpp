// An Event Hub: partitions of append-only events with sequence numbers and offsets, partition
// choice by key or round-robin, consumer start positions from selector filters, and retention.
#pragma once

#include <deque>
#include <stdexcept>
#include <string>
#include <vector>

#include <proton/message.hpp>

#include "config.hpp"
#include "journal.hpp"
#include "sections.hpp"

namespace stepline::broker {

struct Partition {
  int id = 0;
  std::deque<StoredEvent> events;  ///< contiguous sequence numbers
  int64_t next_sequence = 0;
  uint64_t next_offset = 0;
  int64_t last_enqueued_ms = 0;

  int64_t begin_sequence() const {
    return events.empty() ? next_sequence : events.front().sequence;
  }
  /// The event with sequence number `seq`, or null when it is not (or no longer) stored.
  const StoredEvent* at(int64_t seq) const;
};

/// A consumer's selector filter that the broker cannot read.
class SelectorError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class EventHub {
 public:
  EventHub(const EventHubConfig& config, Journal* journal);

  const EventHubConfig& config() const { return config_; }
  const std::string& name() const { return config_.name; }
  const std::string& key() const { return key_; }
  int64_t created_ms() const { return created_ms_; }
  std::vector<Partition>& partitions() { return partitions_; }
  bool has_consumer_group(const std::string& name) const;

  /// The partition for a partition key (stable hash), or the next one round-robin when empty.
  int choose_partition(const std::string& partition_key);
  /// Stamps x-opt-sequence-number, x-opt-offset and x-opt-enqueued-time, stores the event.
  const StoredEvent& append(int partition, proton::message& event, int64_t now_ms);
  /// The same from an encoded event's sections, its bare message stored byte for byte as its
  /// sender wrote it; null (nothing stored) when its annotations already hold one of the three
  /// or cannot be read, and the caller decodes the event instead.
  const StoredEvent* append(int partition, const MessageSections& event, int64_t now_ms);
  /// True when append() takes `event` from its sections.
  static bool can_append(const MessageSections& event);
  void restore(int partition, StoredEvent e);
  /// Applies retention by count and age.
  void prune(int64_t now_ms);
  /// The first sequence number a consumer with `selector` receives (the selector string of
  /// apache.org:selector-filter:string, e.g. "amqp.annotation.x-opt-offset > '-1'"; empty =
  /// from the start). Throws SelectorError.
  int64_t start_sequence(int partition, const std::string& selector) const;

 private:
  /// Stores an event stamped with the partition's next sequence number and offset.
  const StoredEvent& keep(Partition& p, std::string bytes, int64_t now_ms);

  EventHubConfig config_;
  std::string key_;
  Journal* journal_;
  std::vector<Partition> partitions_;
  int next_partition_ = 0;
  int64_t created_ms_;
};

}  // namespace stepline::broker
