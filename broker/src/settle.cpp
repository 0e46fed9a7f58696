// A consumer's outcome for a message it received in peek-lock mode: accepted completes it,
// rejected dead-letters it, modified defers or abandons it (with properties to modify),
// released abandons it. The broker echoes the outcome, or refuses it as lock-lost.
#include <proton/condition.h>
#include <proton/delivery.h>
#include <proton/disposition.h>
#include <proton/link.h>

#include "amqp_data.hpp"
#include "broker.hpp"

namespace stepline::broker {

namespace {

bool is_outcome(uint64_t state) {
  return state == PN_ACCEPTED || state == PN_REJECTED || state == PN_RELEASED ||
         state == PN_MODIFIED;
}

bool apply_outcome(Queue* q, const LockToken& token, uint64_t state, pn_disposition_t* remote,
                   int64_t now) {
  switch (state) {
    case PN_ACCEPTED:
      return q->complete(token);
    case PN_REJECTED: {
      pn_condition_t* cond = pn_disposition_condition(remote);
      auto info = info_map(cond);
      std::string reason = info.count("DeadLetterReason") ? info["DeadLetterReason"] : "";
      std::string description =
          info.count("DeadLetterErrorDescription") ? info["DeadLetterErrorDescription"] : "";
      if (reason.empty() && pn_condition_get_name(cond) &&
          std::string(pn_condition_get_name(cond)) != "com.microsoft:dead-letter")
        reason = pn_condition_get_name(cond);
      return q->dead_letter(token, reason, description, now);
    }
    case PN_MODIFIED: {
      auto properties = scalar_map(pn_disposition_annotations(remote));
      if (!properties.empty()) q->modify_properties(token, properties);
      return pn_disposition_is_undeliverable(remote) ? q->defer(token) : q->abandon(token, now);
    }
    default:
      return q->abandon(token, now);
  }
}

}  // namespace

void Broker::outcome_arrived(pn_delivery_t* d) {
  uint64_t state = pn_delivery_remote_state(d);
  if (!is_outcome(state)) return;
  pn_link_t* l = pn_delivery_link(d);
  LinkState* st = links_.find(l);
  if (!st || st->kind != LinkState::Kind::consumer || !st->peek_lock) {
    pn_delivery_settle(d);
    return;
  }
  Queue* q = st->address.queue;
  LockToken token{};
  pn_disposition_t* remote = pn_delivery_remote(d);
  bool ok = token_of(d, token) && apply_outcome(q, token, state, remote, now_ms());
  pn_disposition_t* local = pn_delivery_local(d);
  if (ok) {
    // Echo the client's outcome, settled, without an error.
    if (state == PN_MODIFIED) {
      pn_disposition_set_failed(local, pn_disposition_is_failed(remote));
      pn_disposition_set_undeliverable(local, pn_disposition_is_undeliverable(remote));
    }
    pn_delivery_update(d, state);
  } else {
    pn_condition_t* c = pn_disposition_condition(local);
    pn_condition_set_name(c, "com.microsoft:message-lock-lost");
    pn_condition_set_description(
        c,
        "The lock supplied is invalid. Either the lock expired, or the message has already "
        "been removed from the queue.");
    pn_delivery_update(d, PN_REJECTED);
  }
  pn_delivery_settle(d);
  if (ok && state != PN_ACCEPTED) {
    pump(q);
    if (q->dead_letter_queue()) pump(q->dead_letter_queue());
  }
}

}  // namespace stepline::broker
