// Incoming deliveries: reading a delivery's bytes (refusing one larger than its link allows
// without holding it), handing $cbs and $management requests to their nodes, and publishing
// into queues, topics and event hubs.
#include <algorithm>
#include <optional>

#include <proton/connection.h>
#include <proton/delivery.h>
#include <proton/link.h>
#include <proton/session.h>
#include <proton/annotation_key.hpp>
#include <proton/message_id.hpp>
#include <proton/timestamp.hpp>

#include "amqp_data.hpp"
#include "broker.hpp"
#include "codec.hpp"
#include "log.hpp"
#include "random.hpp"
#include "sections.hpp"

namespace stepline::broker {

namespace {

std::string new_message_id() {
  auto& rng = thread_random();
  return fmt::format("{:016x}{:016x}", rng(), rng());
}

constexpr std::string_view sequence_number_key = "x-opt-sequence-number";
constexpr std::string_view enqueued_time_key = "x-opt-enqueued-time";

// When a message with this time to live (0: none) expires in a queue: the shorter of its own
// and the queue's default; 0 = never.
int64_t expires_at(const QueueSettings& s, int64_t ttl, int64_t now) {
  if (s.default_ttl.count() && (!ttl || s.default_ttl.count() < ttl)) ttl = s.default_ttl.count();
  return ttl ? now + ttl : 0;
}

std::string id_text(const proton::message_id& id) {
  if (id.empty()) return {};
  if (id.type() == proton::type_id::STRING) return proton::get<std::string>(id);
  return proton::to_string(id);
}

// Reads and drops what has arrived of a delivery; returns the number of bytes.
size_t discard(pn_link_t* l) {
  char scratch[16384];
  size_t total = 0;
  for (ssize_t n; (n = pn_link_recv(l, scratch, sizeof(scratch))) > 0;)
    total += static_cast<size_t>(n);
  return total;
}

constexpr std::string_view partition_key_key = "x-opt-partition-key";

std::string partition_key(const proton::message& m) {
  proton::value key = m.message_annotations().get(proton::symbol(std::string(partition_key_key)));
  return key.type() == proton::type_id::STRING ? proton::get<std::string>(key) : "";
}

}  // namespace

void Broker::delivery_arrived(pn_delivery_t* d) {
  pn_link_t* l = pn_delivery_link(d);
  if (pn_link_is_sender(l)) {
    if (pn_delivery_updated(d)) outcome_arrived(d);
    return;
  }
  if (pn_delivery_aborted(d)) {
    discard(l);
    if (LinkState* st = links_.find(l)) st->oversize = 0;
    pn_delivery_settle(d);
    return;
  }
  if (!pn_delivery_readable(d)) return;
  LinkState* st = links_.find(l);
  if (!st || !(pn_link_state(l) & PN_LOCAL_ACTIVE)) {
    // A refused or closing link: what arrives on it is dropped, never held.
    discard(l);
    if (!pn_delivery_partial(d)) {
      pn_delivery_update(d, PN_RELEASED);
      pn_delivery_settle(d);
      pn_link_advance(l);
    }
    return;
  }
  // A delivery larger than the link allows is counted and dropped as it arrives, so a peer that
  // streams one without end holds no memory; it is rejected once complete.
  size_t pending = pn_delivery_pending(d);
  if (st->oversize || pending > st->max_message_size) {
    st->oversize += discard(l);
    if (pn_delivery_partial(d)) return;
    uint64_t size = st->oversize;
    st->oversize = 0;
    pn_link_advance(l);
    reject_delivery(d, "amqp:link:message-size-exceeded",
                    fmt::format("The received message (delivery-id:{}, size:{} bytes) exceeds the "
                                "limit ({} bytes) currently allowed on the link.",
                                pn_delivery_tag(d).size, size, st->max_message_size));
  } else {
    if (pn_delivery_partial(d)) return;
    incoming_.resize(pending);
    ssize_t n = pn_link_recv(l, incoming_.data(), incoming_.size());
    incoming_.resize(n > 0 ? static_cast<size_t>(n) : 0);
    pn_link_advance(l);
    message_arrived(d, *st);
  }
  if (pn_link_credit(l) < credit_window / 2) pn_link_flow(l, credit_window - pn_link_credit(l));
}

void Broker::message_arrived(pn_delivery_t* d, LinkState& st) {
  pn_link_t* l = pn_delivery_link(d);
  pn_connection_t* c = connection_of(l);
  try {
    if (st.kind == LinkState::Kind::publisher) return publish(d, st);
    decode_message(incoming_, decoded_);
    switch (st.kind) {
      case LinkState::Kind::cbs_in:
        return handle_cbs(d, decoded_, c);
      case LinkState::Kind::management_in:
        return handle_management(d, decoded_, st, c);
      default:
        return reject_delivery(d, "amqp:not-allowed", "This link does not take messages.");
    }
  } catch (const std::exception& e) {
    log::warn("message on '{}' failed: {}", link_name(l), e.what());
    if (!pn_delivery_settled(d)) reject_delivery(d, "amqp:internal-error", e.what());
  }
}

void Broker::publish(pn_delivery_t* d, LinkState& st) {
  if (group_commit_ && group_commit_->refusing()) {
    ++counters_.publishes_refused_store_failure;
    return reject_delivery(d, "com.microsoft:server-busy",
                           "The broker cannot store messages now (its data folder cannot be "
                           "written, most likely full). Retry later.");
  }
  std::string_view raw = incoming_;
  int64_t now = now_ms();
  std::vector<Queue*> touched;
  const Address& a = st.address;
  if (a.hub) {
    publish_to_hub(raw, a, now);
  } else if (!enqueue_sections(raw, a, now, touched)) {
    auto members = batch_members(raw);
    decode_message(raw, decoded_);
    if (members.empty()) {
      enqueue_service_bus(decoded_, a, now, touched);
    } else {
      for (auto member : members) {
        decode_message(member, decoded_);
        enqueue_service_bus(decoded_, a, now, touched);
      }
    }
  }
  settle_publish(d, pn_delivery_link(d), st);
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  for (auto* q : touched) pump(q);
}

bool Broker::enqueue_sections(std::string_view raw, const Address& a, int64_t now,
                              std::vector<Queue*>& touched) {
  // Everything that could send the message down the decoding path is looked at first: the
  // duplicate check and the sequence number below happen once.
  if (!a.queue && !a.topic) return false;
  MessageSections sections;
  HeaderFields header;
  if (!cut_sections(raw, sections) || sections.batch_like ||
      !read_header(sections.header, header) ||
      !can_annotate(sections.message_annotations, {sequence_number_key, enqueued_time_key}))
    return false;
  // A message without a message-id gets one, as on the decoding path; one whose id is not a
  // string takes that path.
  auto id = string_message_id(sections.properties);
  std::string given_id;
  std::optional<std::string> given_properties;
  if (!id) {
    given_id = new_message_id();
    given_properties = properties_with_id(sections.properties, given_id);
    if (!given_properties) return false;
    id = given_id;
  }
  const std::string_view properties = given_properties ? *given_properties : sections.properties;
  // A subscription's filter reads the message's properties and application properties: those
  // two sections are decoded, alone, when a filter needs them.
  std::optional<FilterInput> input;
  if (a.topic &&
      std::any_of(a.topic->subscriptions().begin(), a.topic->subscriptions().end(),
                  [](const auto& sub) { return !sub.filter.accepts_all(); })) {
    try {
      std::string read;
      read.reserve(properties.size() + sections.application_properties.size());
      read.append(properties).append(sections.application_properties);
      decode_message(read, decoded_);
      input.emplace(decoded_);
    } catch (const std::exception&) {
      return false;  // the decoding path says what is wrong with them
    }
  }
  DuplicateDetector& dd = a.topic ? a.topic->duplicates() : a.queue->duplicates();
  if (dd.enabled() && dd.seen(std::string(*id), now)) return true;  // accepted, dropped
  ++traffic_[a.topic ? a.topic->path() : a.queue->path()].in;
  const uint64_t seq = a.topic ? a.topic->next_sequence() : a.queue->next_sequence();
  auto annotations = annotations_with(
      sections.message_annotations,
      {{sequence_number_key, false, static_cast<int64_t>(seq)}, {enqueued_time_key, true, now}});
  QueuedMessage qm;
  qm.sequence = seq;
  qm.bytes.reserve(raw.size() + 64);
  qm.bytes.append(sections.header)
      .append(sections.delivery_annotations)
      .append(*annotations)
      .append(properties)
      .append(sections.bare.substr(sections.properties.size()));
  qm.message_id = std::string(*id);
  qm.enqueued_ms = now;
  if (a.queue) {
    qm.expires_ms = expires_at(a.queue->settings(), header.ttl_ms, now);
    a.queue->enqueue(std::move(qm));
    touched.push_back(a.queue);
    return true;
  }
  for (auto& sub : a.topic->subscriptions()) {
    if (input && !sub.filter.matches(*input)) continue;
    QueuedMessage copy = qm;
    copy.expires_ms = expires_at(sub.queue->settings(), header.ttl_ms, now);
    sub.queue->enqueue(std::move(copy));
    touched.push_back(sub.queue.get());
  }
  return true;
}

void Broker::publish_to_hub(std::string_view raw, const Address& a, int64_t now) {
  // The partition the sender attached to; else -1, chosen by the partition key.
  int partition = a.kind == Address::Kind::hub_partition ? a.partition : -1;
  auto members = batch_members(raw);
  if (members.empty()) {
    if (!enqueue_event_sections(raw, a, partition, now)) {
      decode_message(raw, decoded_);
      enqueue_event(decoded_, a, partition, now);
    }
    return;
  }
  // One batch goes to one partition, chosen by the envelope's partition key.
  if (partition < 0) {
    MessageSections envelope;
    std::string_view key;
    if (cut_sections(raw, envelope) &&
        string_annotation(envelope.message_annotations, partition_key_key, key)) {
      partition = a.hub->choose_partition(std::string(key));
    } else {
      decode_message(raw, decoded_);
      partition = a.hub->choose_partition(partition_key(decoded_));
    }
  }
  for (auto member : members) {
    if (enqueue_event_sections(member, a, partition, now)) continue;
    decode_message(member, decoded_);
    enqueue_event(decoded_, a, partition, now);
  }
}

bool Broker::enqueue_event_sections(std::string_view raw, const Address& a, int partition,
                                    int64_t now) {
  MessageSections sections;
  std::string_view key;
  if (!cut_sections(raw, sections) || sections.batch_like || !EventHub::can_append(sections) ||
      !string_annotation(sections.message_annotations, partition_key_key, key))
    return false;
  if (partition < 0) partition = a.hub->choose_partition(std::string(key));
  if (!a.hub->append(partition, sections, now)) return false;
  ++traffic_[a.hub->name()].in;
  pump_partition(a.hub, partition);
  return true;
}

void Broker::enqueue_service_bus(proton::message& m, const Address& a, int64_t now,
                                 std::vector<Queue*>& touched) {
  std::string id = id_text(m.id());
  if (id.empty()) {
    id = new_message_id();
    m.id(id);
  }
  DuplicateDetector& dd = a.topic ? a.topic->duplicates() : a.queue->duplicates();
  if (dd.enabled() && dd.seen(id, now)) return;  // reported accepted, dropped (as Service Bus does)
  ++traffic_[a.topic ? a.topic->path() : a.queue->path()].in;
  uint64_t seq = a.topic ? a.topic->next_sequence() : a.queue->next_sequence();
  auto& ann = m.message_annotations();
  ann.put(proton::symbol("x-opt-sequence-number"), int64_t(seq));
  ann.put(proton::symbol("x-opt-enqueued-time"), proton::timestamp(now));
  int64_t ttl = m.ttl().milliseconds();
  QueuedMessage qm;
  qm.sequence = seq;
  qm.bytes = encode_message(m);
  qm.message_id = id;
  qm.enqueued_ms = now;
  auto expiry = [&](const QueueSettings& s) { return expires_at(s, ttl, now); };
  if (a.queue) {
    qm.expires_ms = expiry(a.queue->settings());
    a.queue->enqueue(std::move(qm));
    touched.push_back(a.queue);
    return;
  }
  FilterInput input(m);
  for (auto& sub : a.topic->subscriptions()) {
    if (!sub.filter.matches(input)) continue;
    QueuedMessage copy = qm;
    copy.expires_ms = expiry(sub.queue->settings());
    sub.queue->enqueue(std::move(copy));
    touched.push_back(sub.queue.get());
  }
}

void Broker::enqueue_event(proton::message& m, const Address& a, int partition, int64_t now) {
  if (partition < 0) partition = a.hub->choose_partition(partition_key(m));
  a.hub->append(partition, m, now);
  ++traffic_[a.hub->name()].in;
  pump_partition(a.hub, partition);
}

void Broker::settle_publish(pn_delivery_t* d, pn_link_t* l, const LinkState& st) {
  if (!group_commit_) return accept_delivery(d);
  group_commit_->hold({d, l, st.id});
}

void Broker::publish_stored(const HeldDelivery& held, bool stored) {
  LinkState* st = links_.find(held.link);
  if (!st || st->id != held.link_id) return;  // the publisher went away
  if (stored)
    accept_delivery(held.delivery);
  else
    reject_delivery(held.delivery, "com.microsoft:server-busy",
                    "The broker could not store the message (its data folder cannot be written, "
                    "most likely full). Retry later.");
  woken_.push_back(connection_of(held.link));
}

}  // namespace stepline::broker
