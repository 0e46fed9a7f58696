// A Service Bus queue (also a subscription's queue and every dead-letter sub-queue): ordered
// messages, peek-lock with lock tokens and expiry, delivery counts, deferral, dead-lettering,
// time-to-live and duplicate detection.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

#include <proton/scalar.hpp>

#include "config.hpp"
#include "journal.hpp"

namespace stepline::broker {

struct LockTokenHash {
  size_t operator()(const LockToken& t) const noexcept {
    size_t h;
    static_assert(sizeof(h) <= sizeof(LockToken));
    std::memcpy(&h, t.data(), sizeof(h));
    return h;
  }
};

/// Remembers message-ids for a time window (Service Bus duplicate detection).
class DuplicateDetector {
 public:
  explicit DuplicateDetector(Millis window) : window_(window) {}
  bool enabled() const { return window_.count() > 0; }
  /// True when `id` was seen within the window; records it otherwise.
  bool seen(const std::string& id, int64_t now_ms);

 private:
  Millis window_;
  std::unordered_map<std::string, int64_t> ids_;
  std::deque<std::pair<int64_t, std::string>> order_;
};

class Queue {
 public:
  /// `path` is the entity path as configured ("orders", "t/Subscriptions/s",
  /// "orders/$DeadLetterQueue").
  Queue(std::string path, QueueSettings settings, Journal* journal, bool dead_letter_queue = false);

  const std::string& path() const { return path_; }
  /// Lower-case path: the key in the store and in lookups.
  const std::string& key() const { return key_; }
  const QueueSettings& settings() const { return settings_; }
  /// The `$DeadLetterQueue` sub-queue; null for a dead-letter queue itself.
  Queue* dead_letter_queue() { return dead_letter_.get(); }

  uint64_t next_sequence() { return next_sequence_++; }
  /// Adds a stamped message (sequence from next_sequence() or the source queue when moved).
  void enqueue(QueuedMessage m, bool journal = true);
  /// Takes the oldest available message for delivery, dropping expired ones on the way.
  QueuedMessage* next_available(int64_t now_ms);
  /// Peek-lock: locks the message for lock_duration under a fresh token.
  const LockToken& lock(QueuedMessage& m, int64_t now_ms);
  /// Receive-and-delete, or complete of a locked message.
  void remove(uint64_t sequence);

  QueuedMessage* find_locked(const LockToken& token);
  /// A stored message by sequence number, or null.
  QueuedMessage* find(uint64_t sequence);
  /// complete: false when the lock was lost (expired, or unknown token).
  bool complete(const LockToken& token);
  /// abandon: back to the queue with delivery-count + 1, dead-lettered past max_delivery_count.
  bool abandon(const LockToken& token, int64_t now_ms);
  bool defer(const LockToken& token);
  /// Sets application properties on a locked message (abandon/defer with properties-to-modify).
  bool modify_properties(const LockToken& token,
                         const std::map<std::string, proton::scalar>& properties);
  bool dead_letter(const LockToken& token, const std::string& reason,
                   const std::string& description, int64_t now_ms);
  /// Extends a lock; nullopt when the lock was lost.
  std::optional<int64_t> renew(const LockToken& token, int64_t now_ms);
  /// Returns expired locks to the queue (delivery-count + 1) and drops expired messages.
  /// True when messages became available.
  bool expire(int64_t now_ms);

  /// Restores a message read from the store (no journal write).
  void restore(QueuedMessage m);

  size_t message_count() const { return messages_.size(); }
  size_t available_count() const { return ready_.size(); }
  /// Messages in sequence order (peek).
  const std::map<uint64_t, QueuedMessage>& messages() const { return messages_; }

  DuplicateDetector& duplicates() { return duplicates_; }

 private:
  void move_to_dead_letter(uint64_t sequence, const std::string& reason,
                           const std::string& description, int64_t now_ms);
  void unlock_and_count(QueuedMessage& m, int64_t now_ms);

  std::string path_;
  std::string key_;
  QueueSettings settings_;
  Journal* journal_;
  std::unique_ptr<Queue> dead_letter_;
  uint64_t next_sequence_ = 1;
  std::map<uint64_t, QueuedMessage> messages_;
  std::set<uint64_t> ready_;
  std::unordered_map<LockToken, uint64_t, LockTokenHash> locks_;
  DuplicateDetector duplicates_;
  size_t expiring_ = 0;  // messages with a time-to-live, to skip sweeps when there are none
  int64_t next_sweep_ms_ = 0;
};

/// A fresh random 16-byte token.
LockToken random_lock_token();
/// The byte order a .NET Guid (and the JS SDK's lock-token uuid) uses for the same token: the
/// first three groups byte-swapped. Applying it twice gives the original.
LockToken dotnet_guid_order(const LockToken& t);
/// Lower-case entity key for lookups (Service Bus names are case-insensitive).
std::string entity_key(std::string path);

}  // namespace stepline::broker
