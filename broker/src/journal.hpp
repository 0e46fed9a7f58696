// What the broker stores per message and event, and the hooks through which entities report
// changes to the store (in-memory brokers pass no journal).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace stepline::broker {

using LockToken = std::array<uint8_t, 16>;

/// One Service Bus message. `bytes` is the encoded AMQP message as delivered (message-id
/// stamped, x-opt-sequence-number and x-opt-enqueued-time set); the header delivery-count and
/// x-opt-locked-until are applied when it goes out. Locks are never stored.
struct QueuedMessage {
  uint64_t sequence = 0;
  std::string bytes;
  std::string message_id;
  int64_t enqueued_ms = 0;
  int64_t expires_ms = 0;  ///< 0 = never
  uint32_t delivery_count = 0;
  bool deferred = false;
  std::optional<LockToken> lock;
  int64_t locked_until = 0;
};

/// One Event Hubs event, annotations (sequence number, offset, enqueued time) already applied.
struct StoredEvent {
  int64_t sequence = 0;
  uint64_t offset = 0;
  int64_t enqueued_ms = 0;
  std::string bytes;
};

class Journal {
 public:
  virtual ~Journal() = default;
  virtual void message_stored(const std::string& entity, const QueuedMessage& m) = 0;
  virtual void message_removed(const std::string& entity, uint64_t sequence) = 0;
  virtual void message_updated(const std::string& entity, const QueuedMessage& m) = 0;
  virtual void event_stored(const std::string& hub, int partition, const StoredEvent& e) = 0;
  /// Events of `partition` below `sequence` were dropped by retention.
  virtual void events_dropped(const std::string& hub, int partition, int64_t sequence) = 0;
};

}  // namespace stepline::broker
