#include "queue.hpp"

#include <algorithm>

#include <proton/annotation_key.hpp>
#include <proton/message.hpp>
#include <proton/timestamp.hpp>

#include "codec.hpp"
#include "names.hpp"
#include "random.hpp"

namespace stepline::broker {

LockToken random_lock_token() {
  auto& rng = thread_random();
  LockToken t;
  uint64_t a = rng(), b = rng();
  std::memcpy(t.data(), &a, 8);
  std::memcpy(t.data() + 8, &b, 8);
  t[7] = (t[7] & 0x0f) | 0x40;  // version 4 in .NET byte order
  t[8] = (t[8] & 0x3f) | 0x80;
  return t;
}

LockToken dotnet_guid_order(const LockToken& t) {
  LockToken r = t;
  std::swap(r[0], r[3]);
  std::swap(r[1], r[2]);
  std::swap(r[4], r[5]);
  std::swap(r[6], r[7]);
  return r;
}

std::string entity_key(std::string path) {
  return lower(path);
}

bool DuplicateDetector::seen(const std::string& id, int64_t now_ms) {
  while (!order_.empty() && order_.front().first + window_.count() < now_ms) {
    auto it = ids_.find(order_.front().second);
    if (it != ids_.end() && it->second == order_.front().first) ids_.erase(it);
    order_.pop_front();
  }
  auto it = ids_.find(id);
  if (it != ids_.end() && it->second + window_.count() >= now_ms) return true;
  ids_[id] = now_ms;
  order_.emplace_back(now_ms, id);
  return false;
}

Queue::Queue(std::string path, QueueSettings settings, Journal* journal, bool dead_letter_queue)
    : path_(std::move(path)),
      key_(entity_key(path_)),
      settings_(settings),
      journal_(journal),
      duplicates_(dead_letter_queue ? Millis(0) : settings.duplicate_detection_window) {
  if (!dead_letter_queue) {
    QueueSettings dlq = settings;
    dlq.default_ttl = Millis(0);  // dead-lettered messages do not expire
    dead_letter_ = std::make_unique<Queue>(path_ + "/$DeadLetterQueue", dlq, journal, true);
  }
}

void Queue::enqueue(QueuedMessage m, bool journal) {
  if (journal && journal_) journal_->message_stored(key_, m);
  next_sequence_ = std::max(next_sequence_, m.sequence + 1);
  if (m.expires_ms) ++expiring_;
  uint64_t seq = m.sequence;
  bool available = !m.deferred;
  messages_[seq] = std::move(m);
  if (available) ready_.insert(seq);
}

void Queue::restore(QueuedMessage m) {
  enqueue(std::move(m), false);
}

QueuedMessage* Queue::next_available(int64_t now_ms) {
  while (!ready_.empty()) {
    uint64_t seq = *ready_.begin();
    ready_.erase(ready_.begin());
    auto it = messages_.find(seq);
    if (it == messages_.end()) continue;
    if (it->second.expires_ms && it->second.expires_ms <= now_ms) {
      remove(seq);
      continue;
    }
    return &it->second;
  }
  return nullptr;
}

const LockToken& Queue::lock(QueuedMessage& m, int64_t now_ms) {
  m.lock = random_lock_token();
  m.locked_until = now_ms + settings_.lock_duration.count();
  locks_[*m.lock] = m.sequence;
  return *m.lock;
}

void Queue::remove(uint64_t sequence) {
  auto it = messages_.find(sequence);
  if (it == messages_.end()) return;
  if (it->second.lock) locks_.erase(*it->second.lock);
  if (it->second.expires_ms) --expiring_;
  ready_.erase(sequence);
  messages_.erase(it);
  if (journal_) journal_->message_removed(key_, sequence);
}

QueuedMessage* Queue::find_locked(const LockToken& token) {
  auto it = locks_.find(token);
  if (it == locks_.end()) return nullptr;
  auto m = messages_.find(it->second);
  return m == messages_.end() ? nullptr : &m->second;
}

QueuedMessage* Queue::find(uint64_t sequence) {
  auto it = messages_.find(sequence);
  return it == messages_.end() ? nullptr : &it->second;
}

bool Queue::complete(const LockToken& token) {
  auto m = find_locked(token);
  if (!m) return false;
  remove(m->sequence);
  return true;
}

void Queue::unlock_and_count(QueuedMessage& m, int64_t now_ms) {
  locks_.erase(*m.lock);
  m.lock.reset();
  m.locked_until = 0;
  ++m.delivery_count;
  if (dead_letter_ && m.delivery_count >= settings_.max_delivery_count) {
    move_to_dead_letter(m.sequence, "MaxDeliveryCountExceeded",
                        "Message could not be consumed after " +
                            std::to_string(settings_.max_delivery_count) + " delivery attempts.",
                        now_ms);
    return;
  }
  if (journal_) journal_->message_updated(key_, m);
  if (!m.deferred) ready_.insert(m.sequence);
}

bool Queue::abandon(const LockToken& token, int64_t now_ms) {
  auto m = find_locked(token);
  if (!m) return false;
  unlock_and_count(*m, now_ms);
  return true;
}

bool Queue::defer(const LockToken& token) {
  auto m = find_locked(token);
  if (!m) return false;
  locks_.erase(token);
  m->lock.reset();
  m->deferred = true;
  if (journal_) journal_->message_updated(key_, *m);
  return true;
}

bool Queue::modify_properties(const LockToken& token,
                              const std::map<std::string, proton::scalar>& properties) {
  auto m = find_locked(token);
  if (!m) return false;
  proton::message msg;
  decode_message(m->bytes, msg);
  for (const auto& [key, value] : properties) msg.properties().put(key, value);
  m->bytes = encode_message(msg);
  if (journal_) journal_->message_stored(key_, *m);  // rewrites the stored bytes
  return true;
}

bool Queue::dead_letter(const LockToken& token, const std::string& reason,
                        const std::string& description, int64_t now_ms) {
  auto m = find_locked(token);
  if (!m) return false;
  if (!dead_letter_) {  // dead-lettering from a dead-letter queue completes the message
    remove(m->sequence);
    return true;
  }
  move_to_dead_letter(m->sequence, reason, description, now_ms);
  return true;
}

void Queue::move_to_dead_letter(uint64_t sequence, const std::string& reason,
                                const std::string& description, int64_t now_ms) {
  auto it = messages_.find(sequence);
  if (it == messages_.end()) return;
  QueuedMessage moved = it->second;
  proton::message msg;
  decode_message(moved.bytes, msg);
  if (!reason.empty()) msg.properties().put("DeadLetterReason", reason);
  if (!description.empty()) msg.properties().put("DeadLetterErrorDescription", description);
  msg.message_annotations().put(proton::symbol("x-opt-deadletter-source"), path_);
  moved.bytes = encode_message(msg);
  moved.lock.reset();
  moved.locked_until = 0;
  moved.deferred = false;
  moved.expires_ms = 0;
  remove(sequence);
  dead_letter_->enqueue(std::move(moved));
}

std::optional<int64_t> Queue::renew(const LockToken& token, int64_t now_ms) {
  auto m = find_locked(token);
  if (!m || m->locked_until <= now_ms) return std::nullopt;
  m->locked_until = now_ms + settings_.lock_duration.count();
  return m->locked_until;
}

bool Queue::expire(int64_t now_ms) {
  bool freed = false;
  if (!locks_.empty()) {
    std::vector<LockToken> lapsed;
    for (const auto& [token, seq] : locks_) {
      auto it = messages_.find(seq);
      if (it != messages_.end() && it->second.locked_until <= now_ms) lapsed.push_back(token);
    }
    for (const auto& token : lapsed) {
      if (auto m = find_locked(token)) {
        unlock_and_count(*m, now_ms);
        freed = true;
      }
    }
  }
  if (expiring_ && now_ms >= next_sweep_ms_) {
    next_sweep_ms_ = now_ms + 1000;
    std::vector<uint64_t> gone;
    for (const auto& [seq, m] : messages_)
      if (m.expires_ms && m.expires_ms <= now_ms && !m.lock) gone.push_back(seq);
    for (auto seq : gone) remove(seq);
  }
  if (dead_letter_ && dead_letter_->expire(now_ms)) freed = true;
  return freed;
}

}  // namespace stepline::broker
