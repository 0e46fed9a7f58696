#include "event_hub.hpp"

#include <cctype>
#include <chrono>
#include <optional>
#include <string_view>

#include <proton/annotation_key.hpp>
#include <proton/timestamp.hpp>

#include <stepline/azure/names.hpp>

#include "codec.hpp"
#include "names.hpp"
#include "queue.hpp"

namespace stepline::broker {

const StoredEvent* Partition::at(int64_t seq) const {
  if (events.empty() || seq < events.front().sequence || seq >= next_sequence) return nullptr;
  return &events[static_cast<size_t>(seq - events.front().sequence)];
}

EventHub::EventHub(const EventHubConfig& config, Journal* journal)
    : config_(config), key_(entity_key(config.name)), journal_(journal) {
  for (int i = 0; i < config.partitions; ++i) {
    Partition p;
    p.id = i;
    partitions_.push_back(std::move(p));
  }
  created_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
}

bool EventHub::has_consumer_group(const std::string& name) const {
  for (const auto& g : config_.consumer_groups)
    if (entity_key(g) == entity_key(name)) return true;
  return false;
}

int EventHub::choose_partition(const std::string& partition_key) {
  if (partition_key.empty()) {
    int p = next_partition_;
    next_partition_ = (next_partition_ + 1) % static_cast<int>(partitions_.size());
    return p;
  }
  // FNV-1a: stable across runs and builds, unlike std::hash.
  uint32_t h = 2166136261u;
  for (unsigned char c : partition_key) h = (h ^ c) * 16777619u;
  return static_cast<int>(h % partitions_.size());
}

const StoredEvent& EventHub::append(int partition, proton::message& event, int64_t now_ms) {
  Partition& p = partitions_.at(partition);
  auto& ann = event.message_annotations();
  ann.put(proton::symbol("x-opt-sequence-number"), int64_t(p.next_sequence));
  ann.put(proton::symbol("x-opt-offset"), std::to_string(p.next_offset));
  ann.put(proton::symbol("x-opt-enqueued-time"), proton::timestamp(now_ms));
  return keep(p, encode_message(event), now_ms);
}

const StoredEvent* EventHub::append(int partition, const MessageSections& event,
                                    int64_t now_ms) {
  Partition& p = partitions_.at(partition);
  if (!can_append(event)) return nullptr;
  const std::string offset = std::to_string(p.next_offset);
  auto annotations = annotations_with(event.message_annotations,
                                      {{"x-opt-sequence-number", false, p.next_sequence},
                                       {"x-opt-offset", false, 0, offset},
                                       {"x-opt-enqueued-time", true, now_ms}});
  if (!annotations) return nullptr;
  std::string bytes;
  bytes.reserve(event.header.size() + event.delivery_annotations.size() + annotations->size() +
                event.bare.size());
  bytes.append(event.header)
      .append(event.delivery_annotations)
      .append(*annotations)
      .append(event.bare);
  return &keep(p, std::move(bytes), now_ms);
}

const StoredEvent& EventHub::keep(Partition& p, std::string bytes, int64_t now_ms) {
  StoredEvent e;
  e.sequence = p.next_sequence++;
  e.offset = p.next_offset;
  e.enqueued_ms = now_ms;
  e.bytes = std::move(bytes);
  p.next_offset += e.bytes.size();
  p.last_enqueued_ms = now_ms;
  if (journal_) journal_->event_stored(key_, p.id, e);
  p.events.push_back(std::move(e));
  return p.events.back();
}

bool EventHub::can_append(const MessageSections& event) {
  return can_annotate(event.message_annotations,
                      {"x-opt-sequence-number", "x-opt-offset", "x-opt-enqueued-time"});
}

void EventHub::restore(int partition, StoredEvent e) {
  Partition& p = partitions_.at(partition);
  p.next_sequence = e.sequence + 1;
  p.next_offset = e.offset + e.bytes.size();
  p.last_enqueued_ms = e.enqueued_ms;
  p.events.push_back(std::move(e));
}

void EventHub::prune(int64_t now_ms) {
  for (auto& p : partitions_) {
    size_t drop = 0;
    if (config_.retention_count && p.events.size() > config_.retention_count)
      drop = p.events.size() - config_.retention_count;
    if (config_.retention.count())
      while (drop < p.events.size() &&
             p.events[drop].enqueued_ms + config_.retention.count() < now_ms)
        ++drop;
    if (!drop) continue;
    p.events.erase(p.events.begin(), p.events.begin() + static_cast<long>(drop));
    if (journal_) journal_->events_dropped(key_, p.id, p.begin_sequence());
  }
}

namespace {

struct Selector {
  std::string_view field;  ///< one of the azure::annotation names below
  std::string op;          ///< >=, > or =
  std::string value;       ///< the quoted value, unquoted
};

/// `amqp.annotation.<field> <op> '<value>'`, any case, spaces around the parts.
std::optional<Selector> parse_selector(std::string_view text) {
  const std::string folded = lower(std::string(text));  // same length: positions carry over
  std::size_t at = 0;
  auto take = [&](std::string_view word) {
    if (folded.compare(at, word.size(), word) != 0) return false;
    at += word.size();
    return true;
  };
  skip_spaces(text, at);
  if (!take("amqp.annotation.")) return std::nullopt;
  Selector out;
  for (auto field : {azure::annotation::offset, azure::annotation::sequence_number,
                     azure::annotation::enqueued_time})
    if (take(field)) {
      out.field = field;
      break;
    }
  if (out.field.empty()) return std::nullopt;
  skip_spaces(text, at);
  for (std::string_view op : {">=", ">", "="})
    if (take(op)) {
      out.op = op;
      break;
    }
  if (out.op.empty()) return std::nullopt;
  skip_spaces(text, at);
  if (at >= text.size() || text[at] != '\'') return std::nullopt;
  auto close = text.find('\'', at + 1);
  if (close == std::string_view::npos) return std::nullopt;
  out.value = text.substr(at + 1, close - at - 1);
  at = close + 1;
  skip_spaces(text, at);
  if (at != text.size()) return std::nullopt;
  return out;
}

}  // namespace

int64_t EventHub::start_sequence(int partition, const std::string& selector) const {
  const Partition& p = partitions_.at(partition);
  if (selector.empty()) return p.begin_sequence();
  auto parsed = parse_selector(selector);
  if (!parsed)
    throw SelectorError(
        "unsupported selector filter '" + selector +
        "' (expected amqp.annotation.x-opt-offset|x-opt-sequence-number|x-opt-enqueued-time > "
        "or >= a quoted value)");
  const auto& [field, op, value] = *parsed;
  bool inclusive = op != ">";
  if (value == "@latest") return p.next_sequence;
  long long v;
  try {
    v = std::stoll(value);
  } catch (const std::exception&) {
    throw SelectorError("selector value '" + value + "' is not a number");
  }
  if (field == azure::annotation::sequence_number)
    return std::max<int64_t>(p.begin_sequence(), inclusive ? v : v + 1);
  for (const auto& e : p.events) {
    long long have =
        field == azure::annotation::offset ? static_cast<long long>(e.offset) : e.enqueued_ms;
    if (inclusive ? have >= v : have > v) return e.sequence;
  }
  return p.next_sequence;
}

}  // namespace stepline::broker
