#include "links.hpp"

#include <algorithm>

#include <proton/link.h>
#include <proton/session.h>

namespace stepline::broker {

pn_connection_t* connection_of(pn_link_t* l) {
  return pn_session_connection(pn_link_session(l));
}

ConnectionState* Links::find_connection(pn_connection_t* c) {
  auto it = connections_.find(c);
  return it == connections_.end() ? nullptr : &it->second;
}

LinkState* Links::find(pn_link_t* l) {
  auto it = links_.find(l);
  return it == links_.end() ? nullptr : &it->second;
}

void Links::add(pn_link_t* l, LinkState state) {
  state.id = next_id_++;
  if (state.kind == LinkState::Kind::consumer)
    queue_consumers_[state.address.queue].push_back(l);
  else if (state.kind == LinkState::Kind::hub_consumer)
    partition_consumers_[{state.address.hub, state.address.partition}].push_back(l);
  links_[l] = std::move(state);
  connection(connection_of(l)).links.push_back(l);
}

void Links::forget(pn_link_t* l) {
  auto it = links_.find(l);
  if (it == links_.end()) return;
  auto& st = it->second;
  if (st.kind == LinkState::Kind::consumer) {
    auto& v = queue_consumers_[st.address.queue];
    v.erase(std::remove(v.begin(), v.end(), l), v.end());
  } else if (st.kind == LinkState::Kind::hub_consumer) {
    auto& v = partition_consumers_[{st.address.hub, st.address.partition}];
    v.erase(std::remove(v.begin(), v.end(), l), v.end());
  }
  if (ConnectionState* c = find_connection(connection_of(l))) {
    auto& routes = c->reply_routes;
    for (auto r = routes.begin(); r != routes.end();)
      r = r->second == l ? routes.erase(r) : std::next(r);
    auto& ls = c->links;
    ls.erase(std::remove(ls.begin(), ls.end(), l), ls.end());
  }
  links_.erase(it);
}

void Links::forget_connection(pn_connection_t* c) {
  auto it = connections_.find(c);
  if (it == connections_.end()) return;
  auto links = it->second.links;
  for (auto* l : links) forget(l);
  connections_.erase(c);
}

std::vector<pn_link_t*> Links::take_turns(Queue* q) {
  auto it = queue_consumers_.find(q);
  if (it == queue_consumers_.end() || it->second.empty()) return {};
  auto consumers = it->second;
  std::rotate(it->second.begin(), it->second.begin() + 1, it->second.end());
  return consumers;
}

std::vector<pn_link_t*> Links::consumers(EventHub* hub, int partition) const {
  auto it = partition_consumers_.find({hub, partition});
  return it == partition_consumers_.end() ? std::vector<pn_link_t*>{} : it->second;
}

}  // namespace stepline::broker
