// Sending: messages of a queue to its consumers (peek-lock or receive-and-delete), events of a
// partition to its consumer-group readers, and $cbs / $management replies, as far as each
// link's credit goes.
#include <proton/connection.h>
#include <proton/delivery.h>
#include <proton/link.h>
#include <proton/proactor.h>
#include <proton/session.h>
#include <proton/annotation_key.hpp>
#include <proton/timestamp.hpp>

#include "broker.hpp"
#include "codec.hpp"
#include "sections.hpp"

namespace stepline::broker {

void Broker::service(pn_link_t* l) {
  LinkState* st = links_.find(l);
  if (!st) return;
  int credit = pn_link_credit(l);
  bool drain = pn_link_get_drain(l);
  switch (st->kind) {
    case LinkState::Kind::consumer:
      deliver_from_queue(l, *st);
      break;
    case LinkState::Kind::hub_consumer:
      deliver_events(l, *st);
      break;
    case LinkState::Kind::cbs_out:
    case LinkState::Kind::management_out:
      send_replies(l, *st);
      break;
    default:
      break;
  }
  // A drain with nothing left to send hands the credit back (the SDK waits for that flow).
  if (pn_link_get_drain(l) && pn_link_credit(l) > 0) pn_link_drained(l);
  // Work done for this link from another connection's event or a timer sits in the transport
  // until its connection is woken.
  if (pn_link_credit(l) != credit || pn_link_get_drain(l) != drain)
    pn_connection_wake(connection_of(l));
}

void Broker::pump(Queue* q) {
  if (q->available_count() == 0) return;
  for (auto* l : links_.take_turns(q)) service(l);
}

void Broker::pump_partition(EventHub* hub, int partition) {
  for (auto* l : links_.consumers(hub, partition)) service(l);
}

namespace {

constexpr const char* locked_until_key = "x-opt-locked-until";

// A stored message as it goes to a consumer, from its sections: a header with this delivery's
// count, the locked-until annotation under peek-lock, the rest as stored; false when it needs
// decoding.
bool delivery_bytes(const QueuedMessage& qm, bool peek_lock, std::string& out) {
  MessageSections sections;
  HeaderFields header;
  if (!cut_sections(qm.bytes, sections) || !read_header(sections.header, header)) return false;
  header.delivery_count = qm.delivery_count;
  std::optional<std::string> annotations;
  if (peek_lock) {
    if (!can_annotate(sections.message_annotations, {locked_until_key})) return false;
    annotations =
        annotations_with(sections.message_annotations, {{locked_until_key, true, qm.locked_until}});
    if (!annotations) return false;
  }
  out = header_section(header);
  out.reserve(qm.bytes.size() + 64);
  out.append(sections.delivery_annotations)
      .append(annotations ? std::string_view(*annotations) : sections.message_annotations)
      .append(sections.bare);
  return true;
}

}  // namespace

void Broker::deliver_from_queue(pn_link_t* l, LinkState& st) {
  if (!(pn_link_state(l) & PN_LOCAL_ACTIVE)) return;
  Queue* q = st.address.queue;
  int64_t now = now_ms();
  while (pn_link_credit(l) > 0) {
    QueuedMessage* qm = q->next_available(now);
    if (!qm) break;
    ++traffic_[q->path()].out;
    pn_delivery_t* d;
    if (st.peek_lock) {
      const LockToken& token = q->lock(*qm, now);
      d = pn_delivery(l, pn_dtag(reinterpret_cast<const char*>(token.data()), token.size()));
    } else {
      uint64_t seq = qm->sequence;
      d = pn_delivery(l, pn_dtag(reinterpret_cast<const char*>(&seq), sizeof(seq)));
    }
    std::string bytes;
    if (!delivery_bytes(*qm, st.peek_lock, bytes)) {
      decode_message(qm->bytes, outgoing_);
      if (st.peek_lock)
        outgoing_.message_annotations().put(proton::symbol(locked_until_key),
                                            proton::timestamp(qm->locked_until));
      bytes = encode_for_delivery(outgoing_, qm->delivery_count);
    }
    pn_link_send(l, bytes.data(), bytes.size());
    pn_link_advance(l);
    if (!st.peek_lock) {
      pn_delivery_settle(d);
      q->remove(qm->sequence);
    }
  }
}

void Broker::deliver_events(pn_link_t* l, LinkState& st) {
  if (!(pn_link_state(l) & PN_LOCAL_ACTIVE)) return;
  Partition& p = st.address.hub->partitions()[static_cast<size_t>(st.address.partition)];
  while (pn_link_credit(l) > 0 && st.next_event < p.next_sequence) {
    if (st.next_event < p.begin_sequence()) st.next_event = p.begin_sequence();
    const StoredEvent* e = p.at(st.next_event);
    if (!e) break;
    ++traffic_[st.address.hub->name()].out;
    int64_t seq = e->sequence;
    pn_delivery_t* d = pn_delivery(l, pn_dtag(reinterpret_cast<const char*>(&seq), sizeof(seq)));
    pn_link_send(l, e->bytes.data(), e->bytes.size());
    pn_link_advance(l);
    pn_delivery_settle(d);  // events go pre-settled; consumers track positions themselves
    ++st.next_event;
  }
}

void Broker::send_replies(pn_link_t* l, LinkState& st) {
  if (!(pn_link_state(l) & PN_LOCAL_ACTIVE)) return;
  while (pn_link_credit(l) > 0 && !st.replies.empty()) {
    uint64_t tag = st.next_tag++;
    pn_delivery_t* d = pn_delivery(l, pn_dtag(reinterpret_cast<const char*>(&tag), sizeof(tag)));
    std::string bytes = encode_message(st.replies.front());
    pn_link_send(l, bytes.data(), bytes.size());
    pn_link_advance(l);
    pn_delivery_settle(d);  // replies go pre-settled
    st.replies.pop_front();
  }
}

}  // namespace stepline::broker
