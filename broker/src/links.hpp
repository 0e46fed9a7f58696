// The broker's table of open AMQP links and connections: what each link is for (a publisher, a
// consumer of a queue or of a hub partition, a $cbs or $management node), the grants and reply
// routes of each connection, and which consumers wait on each queue and partition.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include <proton/message.hpp>

#include "auth.hpp"
#include "entities.hpp"

struct pn_link_t;
struct pn_connection_t;

namespace stepline::broker {

/// Credit an incoming link gets, topped up when half of it is used.
inline constexpr int credit_window = 500;

struct LinkState {
  enum class Kind {
    cbs_in,
    cbs_out,
    management_in,
    management_out,
    publisher,
    consumer,
    hub_consumer
  };
  Kind kind;
  uint64_t id = 0;  ///< unique for the process's lifetime (a link pointer may be reused)
  Address address;
  uint64_t max_message_size = 0;  ///< incoming links: larger deliveries are refused
  uint64_t oversize = 0;          ///< bytes dropped so far of an oversized incoming delivery
  bool peek_lock = true;
  int64_t next_event = 0;               ///< hub consumers: next sequence number to send
  uint64_t next_tag = 0;                ///< replies: delivery tags
  std::deque<proton::message> replies;  ///< $cbs / $management replies waiting for credit
};

struct ConnectionState {
  std::string host;
  std::vector<Grant> grants;
  std::map<std::string, pn_link_t*> reply_routes;  ///< link name and target address → our sender
  std::vector<pn_link_t*> links;
  uint32_t attaches = 0;  ///< links attached (or refused) over the connection's life
};

class Links {
 public:
  /// The state of connection `c`, created on first use.
  ConnectionState& connection(pn_connection_t* c) { return connections_[c]; }
  ConnectionState* find_connection(pn_connection_t* c);
  LinkState* find(pn_link_t* l);
  /// Registers an attached link (and, for consumers, the queue or partition it waits on).
  void add(pn_link_t* l, LinkState state);
  /// Forgets a link: its consumer registration and reply routes go too.
  void forget(pn_link_t* l);
  /// Forgets a connection and every link of it.
  void forget_connection(pn_connection_t* c);

  /// The consumers of `q`, rotated by one on each call so competing receivers share the queue.
  std::vector<pn_link_t*> take_turns(Queue* q);
  std::vector<pn_link_t*> consumers(EventHub* hub, int partition) const;

  std::unordered_map<pn_link_t*, LinkState>& all() { return links_; }

 private:
  std::unordered_map<pn_link_t*, LinkState> links_;
  std::unordered_map<pn_connection_t*, ConnectionState> connections_;
  std::unordered_map<Queue*, std::vector<pn_link_t*>> queue_consumers_;
  std::map<std::pair<EventHub*, int>, std::vector<pn_link_t*>> partition_consumers_;
  uint64_t next_id_ = 1;
};

/// The connection a link belongs to.
pn_connection_t* connection_of(pn_link_t* l);

}  // namespace stepline::broker
