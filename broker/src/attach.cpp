// Link attach: what each incoming link is for, whether the connection's grants allow it, the
// refusals in Service Bus's words, and the credit and limits an accepted link gets.
#include <algorithm>

#include <proton/condition.h>
#include <proton/connection.h>
#include <proton/link.h>
#include <proton/proactor.h>
#include <proton/session.h>
#include <proton/terminus.h>

#include "amqp_data.hpp"
#include "broker.hpp"
#include "log.hpp"

namespace stepline::broker {

namespace {

// Links a connection may attach before it authenticates: the $cbs pair needs two; more is a
// peer spending the broker's memory without having a right to anything.
constexpr uint32_t links_before_authentication = 16;

std::string claim_required(const char* claim, const std::string& url) {
  return fmt::format(
      "Unauthorized access. '{}' claim(s) are required to perform this operation. Resource: "
      "'{}'.",
      claim, url);
}

}  // namespace

std::string Broker::entity_url(pn_link_t* l, const std::string& address) {
  ConnectionState* c = links_.find_connection(connection_of(l));
  std::string host = c && !c->host.empty() ? c->host : "localhost";
  return "sb://" + host + "/" + address;
}

void Broker::refuse(pn_link_t* l, const std::string& condition, const std::string& description) {
  // As Service Bus does: attach with a null terminus, then detach with the error.
  if (pn_link_is_receiver(l))
    pn_terminus_set_type(pn_link_target(l), PN_UNSPECIFIED);
  else
    pn_terminus_set_type(pn_link_source(l), PN_UNSPECIFIED);
  pn_link_open(l);
  pn_condition_t* c = pn_link_condition(l);
  pn_condition_set_name(c, condition.c_str());
  pn_condition_set_description(c, description.c_str());
  pn_link_close(l);
  log::debug("refused link '{}': {} {}", link_name(l), condition, description);
}

bool Broker::authorize(pn_link_t* l, const Address& a, Need need) {
  auto& cs = links_.connection(connection_of(l));
  int64_t now = now_ms();
  if (a.kind == Address::Kind::management && a.path == "$management")
    return std::any_of(cs.grants.begin(), cs.grants.end(),
                       [&](const Grant& g) { return !g.expires_ms || g.expires_ms > now; });
  return allowed(cs.grants, a.path, need, now);
}

void Broker::link_opened(pn_link_t* l) {
  if (!(pn_link_state(l) & PN_LOCAL_UNINIT)) return;
  pn_connection_t* c = connection_of(l);
  ConnectionState& cs = links_.connection(c);
  if (++cs.attaches > links_before_authentication && !admission_.is_authenticated(c)) {
    ++counters_.connections_closed_too_many_links;
    pn_condition_t* cond = pn_connection_condition(c);
    pn_condition_set_name(cond, "amqp:resource-limit-exceeded");
    pn_condition_set_description(
        cond, "Too many links before authentication: put a token on $cbs first.");
    pn_connection_close(c);
    return;
  }
  // An incoming link's local termini start as copies of the peer's.
  pn_terminus_copy(pn_link_source(l), pn_link_remote_source(l));
  pn_terminus_copy(pn_link_target(l), pn_link_remote_target(l));
  if (pn_link_is_receiver(l))
    receiver_opened(l);
  else
    sender_opened(l);
}

void Broker::link_closed(pn_link_t* l) {
  links_.forget(l);
}

void Broker::receiver_opened(pn_link_t* l) {
  std::string address = terminus_address(pn_link_remote_target(l));
  Address a = entities_.resolve(address);
  LinkState st{};
  st.address = a;
  st.max_message_size = config_.max_message_size;
  switch (a.kind) {
    case Address::Kind::cbs:
      st.kind = LinkState::Kind::cbs_in;
      break;
    case Address::Kind::management:
      if (!authorize(l, a, Need::any))
        return refuse(l, "amqp:unauthorized-access",
                      claim_required("Listen", entity_url(l, address)));
      st.kind = LinkState::Kind::management_in;
      break;
    case Address::Kind::queue:
      if (a.queue->dead_letter_queue() == nullptr ||
          a.path.find("/subscriptions/") != std::string::npos)
        return refuse(
            l, "amqp:not-allowed",
            "Cannot send to '" + entity_url(l, address) + "': send to the queue or the topic.");
      [[fallthrough]];
    case Address::Kind::topic:
    case Address::Kind::hub:
    case Address::Kind::hub_partition:
      if (!authorize(l, a, Need::send))
        return refuse(l, "amqp:unauthorized-access",
                      claim_required("Send", entity_url(l, address)));
      st.kind = LinkState::Kind::publisher;
      if (a.hub) st.max_message_size = a.hub->config().max_message_size;
      break;
    case Address::Kind::hub_consumer:
      return refuse(l, "amqp:not-allowed",
                    "Cannot send to a consumer group: '" + entity_url(l, address) + "'.");
    case Address::Kind::none:
      return refuse(l, "amqp:not-found",
                    "The messaging entity '" + entity_url(l, address) + "' could not be found.");
  }
  pn_link_set_max_message_size(l, st.max_message_size);
  pn_link_set_snd_settle_mode(l, pn_link_remote_snd_settle_mode(l));
  pn_link_set_rcv_settle_mode(l, pn_link_remote_rcv_settle_mode(l));
  links_.add(l, std::move(st));
  pn_link_open(l);
  pn_link_flow(l, credit_window);
}

void Broker::sender_opened(pn_link_t* l) {
  std::string address = terminus_address(pn_link_remote_source(l));
  Address a = entities_.resolve(address);
  LinkState st{};
  st.address = a;
  auto& cs = links_.connection(connection_of(l));
  switch (a.kind) {
    case Address::Kind::cbs:
    case Address::Kind::management: {
      if (a.kind == Address::Kind::management && !authorize(l, a, Need::any))
        return refuse(l, "amqp:unauthorized-access",
                      claim_required("Listen", entity_url(l, address)));
      st.kind =
          a.kind == Address::Kind::cbs ? LinkState::Kind::cbs_out : LinkState::Kind::management_out;
      // Replies are routed by reply-to: the JS $cbs receiver is found by link name (its target is
      // null), $management receivers by target address (which equals the name).
      cs.reply_routes[link_name(l)] = l;
      std::string target = terminus_address(pn_link_remote_target(l));
      if (!target.empty()) cs.reply_routes[target] = l;
      break;
    }
    case Address::Kind::queue:
      if (!authorize(l, a, Need::listen))
        return refuse(l, "amqp:unauthorized-access",
                      claim_required("Listen", entity_url(l, address)));
      st.kind = LinkState::Kind::consumer;
      st.peek_lock = pn_link_remote_snd_settle_mode(l) != PN_SND_SETTLED;
      break;
    case Address::Kind::hub_consumer:
      if (!authorize(l, a, Need::listen))
        return refuse(l, "amqp:unauthorized-access",
                      claim_required("Listen", entity_url(l, address)));
      try {
        st.next_event = a.hub->start_sequence(a.partition, selector_of(l));
      } catch (const SelectorError& e) {
        return refuse(l, "com.microsoft:argument-error", e.what());
      }
      st.kind = LinkState::Kind::hub_consumer;
      break;
    case Address::Kind::topic:
    case Address::Kind::hub:
    case Address::Kind::hub_partition:
      return refuse(l, "amqp:not-allowed",
                    "Cannot receive from '" + entity_url(l, address) +
                        "': receive from a subscription or a consumer group partition.");
    case Address::Kind::none:
      return refuse(l, "amqp:not-found",
                    "The messaging entity '" + entity_url(l, address) + "' could not be found.");
  }
  pn_link_set_max_message_size(l,
                               a.hub ? a.hub->config().max_message_size : config_.max_message_size);
  pn_link_set_snd_settle_mode(l, pn_link_remote_snd_settle_mode(l));
  pn_link_set_rcv_settle_mode(l, pn_link_remote_rcv_settle_mode(l));
  links_.add(l, std::move(st));
  pn_link_open(l);
}

void Broker::detach_expired_links() {
  // As Service Bus does: when the token that allowed a link expires (and no other covers it), the
  // link is detached; the SDKs put a fresh token and attach again.
  std::vector<pn_link_t*> expired;
  for (auto& [l, st] : links_.all()) {
    Need need;
    switch (st.kind) {
      case LinkState::Kind::publisher:
        need = Need::send;
        break;
      case LinkState::Kind::consumer:
      case LinkState::Kind::hub_consumer:
        need = Need::listen;
        break;
      default:
        continue;
    }
    if (!authorize(l, st.address, need)) expired.push_back(l);
  }
  for (auto* l : expired) {
    pn_condition_t* c = pn_link_condition(l);
    pn_condition_set_name(c, "amqp:unauthorized-access");
    pn_condition_set_description(
        c, "The token for this entity expired; put a new token on $cbs and attach again.");
    pn_link_close(l);
    pn_connection_wake(connection_of(l));
    links_.forget(l);
  }
}

}  // namespace stepline::broker
