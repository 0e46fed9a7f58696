#include "broker.hpp"

#include <algorithm>
#include <chrono>
#include <set>

#include <proton/codec.h>
#include <proton/condition.h>
#include <proton/proactor.h>
#include <proton/terminus.h>
#include <proton/annotation_key.hpp>
#include <proton/connection_options.hpp>
#include <proton/listen_handler.hpp>
#include <proton/message_id.hpp>
#include <proton/receiver.hpp>
#include <proton/receiver_options.hpp>
#include <proton/sender.hpp>
#include <proton/sender_options.hpp>
#include <proton/source.hpp>
#include <proton/target.hpp>
#include <proton/timestamp.hpp>
#include <proton/tracker.hpp>
#include <proton/transport.hpp>
#include <proton/work_queue.hpp>

#include "codec.hpp"
#include "log.hpp"
#include "proton_access.hpp"
#include "random.hpp"

namespace stepline::broker {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

constexpr int64_t tick_ms = 100;

std::string new_message_id() {
  auto& rng = thread_random();
  return fmt::format("{:016x}{:016x}", rng(), rng());
}

std::string id_text(const proton::message_id& id) {
  if (id.empty()) return {};
  if (id.type() == proton::type_id::STRING) return proton::get<std::string>(id);
  return proton::to_string(id);
}

std::string text_of(pn_data_t* d) {
  switch (pn_data_type(d)) {
    case PN_STRING: {
      auto b = pn_data_get_string(d);
      return std::string(b.start, b.size);
    }
    case PN_SYMBOL: {
      auto b = pn_data_get_symbol(d);
      return std::string(b.start, b.size);
    }
    default:
      return {};
  }
}

// The selector string of an Event Hubs consumer's source filter
// (apache.org:selector-filter:string).
std::string selector_of(pn_link_t* l) {
  pn_data_t* f = pn_terminus_filter(pn_link_remote_source(l));
  if (!f) return {};
  pn_data_rewind(f);
  if (!pn_data_next(f) || pn_data_type(f) != PN_MAP) return {};
  std::string selector;
  pn_data_enter(f);
  while (selector.empty() && pn_data_next(f)) {  // key
    if (!pn_data_next(f)) break;                 // value
    if (pn_data_type(f) == PN_DESCRIBED) {
      pn_data_enter(f);
      pn_data_next(f);  // descriptor
      if (pn_data_next(f)) selector = text_of(f);
      pn_data_exit(f);
    } else {
      selector = text_of(f);
    }
  }
  pn_data_exit(f);
  return selector;
}

// A string value from a described condition's info map (dead-letter reason and description).
std::map<std::string, std::string> info_map(pn_condition_t* cond) {
  std::map<std::string, std::string> out;
  pn_data_t* d = pn_condition_info(cond);
  if (!d) return out;
  pn_data_rewind(d);
  if (!pn_data_next(d) || pn_data_type(d) != PN_MAP) return out;
  pn_data_enter(d);
  while (pn_data_next(d)) {
    std::string key = text_of(d);
    if (!pn_data_next(d)) break;
    out[key] = text_of(d);
  }
  pn_data_exit(d);
  return out;
}

// The properties-to-modify of a modified outcome: a map of scalar values.
std::map<std::string, proton::scalar> scalar_map(pn_data_t* d) {
  std::map<std::string, proton::scalar> out;
  if (!d) return out;
  pn_data_rewind(d);
  if (!pn_data_next(d) || pn_data_type(d) != PN_MAP) return out;
  pn_data_enter(d);
  while (pn_data_next(d)) {
    std::string key = text_of(d);
    if (!pn_data_next(d)) break;
    switch (pn_data_type(d)) {
      case PN_STRING:
        out[key] = text_of(d);
        break;
      case PN_SYMBOL:
        out[key] = proton::symbol(text_of(d));
        break;
      case PN_BOOL:
        out[key] = pn_data_get_bool(d);
        break;
      case PN_INT:
        out[key] = pn_data_get_int(d);
        break;
      case PN_LONG:
        out[key] = int64_t(pn_data_get_long(d));
        break;
      case PN_UINT:
        out[key] = pn_data_get_uint(d);
        break;
      case PN_ULONG:
        out[key] = uint64_t(pn_data_get_ulong(d));
        break;
      case PN_DOUBLE:
        out[key] = pn_data_get_double(d);
        break;
      case PN_TIMESTAMP:
        out[key] = proton::timestamp(pn_data_get_timestamp(d));
        break;
      default:
        break;  // other types are not application property values the SDKs send
    }
  }
  pn_data_exit(d);
  return out;
}

LockToken token_of(pn_delivery_t* d, bool& ok) {
  LockToken t{};
  pn_delivery_tag_t tag = pn_delivery_tag(d);
  ok = tag.size == t.size();
  if (ok) std::memcpy(t.data(), tag.start, t.size());
  return t;
}

std::string link_name(pn_link_t* l) {
  return pn_link_name(l) ? pn_link_name(l) : "";
}

std::string terminus_address(pn_terminus_t* t) {
  const char* a = pn_terminus_get_address(t);
  return a ? a : "";
}

class Listening : public proton::listen_handler {
 public:
  Listening(Broker& broker, proton::connection_options options)
      : broker_(broker), options_(std::move(options)) {}
  proton::connection_options on_accept(proton::listener&) override { return options_; }
  void on_open(proton::listener& l) override { log::info("listening on port {}", l.port()); }
  void on_error(proton::listener&, const std::string& what) override {
    log::error("cannot listen: {} (is the port in use? change 'listen' or --listen)", what);
    failed = true;
    broker_.stop();
  }
  bool failed = false;

 private:
  Broker& broker_;
  proton::connection_options options_;
};

}  // namespace

Broker::Broker(BrokerConfig config) : config_(std::move(config)), authority_(config_.sas_policies) {
  if (!config_.data_dir.empty()) store_ = std::make_unique<Store>(config_.data_dir);
  Journal* journal = store_.get();
  for (const auto& q : config_.queues)
    queues_[entity_key(q.name)] = std::make_unique<Queue>(q.name, q.settings, journal);
  for (const auto& t : config_.topics)
    topics_[entity_key(t.name)] = std::make_unique<Topic>(t, journal);
  for (const auto& h : config_.event_hubs)
    hubs_[entity_key(h.name)] = std::make_unique<EventHub>(h, journal);
  if (store_) load_store();
}

Broker::~Broker() = default;

void Broker::load_store() {
  std::map<std::string, Queue*> by_key;
  for (auto* q : all_queues()) by_key[q->key()] = q;
  size_t messages = 0, events = 0, skipped = 0;
  store_->load(
      [&](const std::string& entity, QueuedMessage m) {
        auto it = by_key.find(entity);
        if (it == by_key.end()) {
          ++skipped;
          return;
        }
        for (auto& [key, topic] : topics_)
          if (entity.rfind(key + "/", 0) == 0) topic->observe_sequence(m.sequence);
        it->second->restore(std::move(m));
        ++messages;
      },
      [&](const std::string& hub, int partition, StoredEvent e) {
        auto it = hubs_.find(hub);
        if (it == hubs_.end() || partition >= static_cast<int>(it->second->partitions().size())) {
          ++skipped;
          return;
        }
        it->second->restore(partition, std::move(e));
        ++events;
      });
  log::info("loaded {} messages and {} events from {}", messages, events, config_.data_dir);
  if (skipped)
    log::warn(
        "{} stored messages or events belong to entities no longer configured; they are kept but "
        "not served",
        skipped);
}

std::vector<Queue*> Broker::all_queues() {
  std::vector<Queue*> out;
  auto add = [&](Queue* q) {
    out.push_back(q);
    if (q->dead_letter_queue()) out.push_back(q->dead_letter_queue());
  };
  for (auto& [k, q] : queues_) add(q.get());
  for (auto& [k, t] : topics_)
    for (auto& s : t->subscriptions()) add(s.queue.get());
  return out;
}

void Broker::run(const std::string& listen) {
  listen_ = listen;
  authority_.install_sasl();
  proton::container container(*this, "stepline-broker");
  container_ = &container;
  proton::connection_options options;
  options.handler(*this)
      .sasl_enabled(true)
      .sasl_allow_insecure_mechs(true)
      .sasl_allowed_mechs("PLAIN ANONYMOUS")
      .idle_timeout(proton::duration(config_.idle_timeout.count()))
      .container_id("stepline-broker");
  Listening listening(*this, options);
  listener_ = container.listen(listen, listening);
  container.run();
  container_ = nullptr;
  // Whatever the writer has not written yet is written now; publishers whose deliveries were not
  // accepted before the stop will send again.
  if (store_) store_->commit();
  if (listening.failed) throw std::runtime_error("cannot listen on " + listen);
}

void Broker::stop() {
  stop_requested_ = true;
}

void Broker::on_container_start(proton::container& c) {
  c.schedule(proton::duration(tick_ms), [this] { tick(); });
}

void Broker::on_error(const proton::error_condition& e) {
  log::warn("AMQP error: {}", e.what());
}

// ---------------------------------------------------------------------------------------------
// connections and links

Broker::ConnectionState& Broker::connection_state(pn_connection_t* c) {
  return connections_[c];
}

void Broker::on_connection_open(proton::connection& c) {
  ConnectionState& cs = connection_state(pn(c));
  cs.host = c.virtual_host();
  const char* u = pn_transport_get_user(pn_connection_transport(pn(c)));
  std::string user = u ? u : "anonymous";
  if (const SasPolicy* p = user != "anonymous" ? authority_.policy(user) : nullptr)
    cs.grants.push_back(Grant{"", Rights{p->send, p->listen, p->manage}, 0});
  log::debug("connection from container '{}' as '{}'", c.container_id(), user);
  c.open();
}

void Broker::on_connection_close(proton::connection& c) {
  forget_connection(pn(c));
}

void Broker::on_transport_close(proton::transport& t) {
  proton::connection c = t.connection();
  if (c) forget_connection(pn(c));
}

void Broker::forget_connection(pn_connection_t* c) {
  auto it = connections_.find(c);
  if (it == connections_.end()) return;
  auto links = it->second.links;
  for (auto* l : links) forget_link(l);
  connections_.erase(c);
}

void Broker::forget_link(pn_link_t* l) {
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
  auto c = connections_.find(pn_session_connection(pn_link_session(l)));
  if (c != connections_.end()) {
    auto& routes = c->second.reply_routes;
    for (auto r = routes.begin(); r != routes.end();)
      r = r->second == l ? routes.erase(r) : std::next(r);
    auto& ls = c->second.links;
    ls.erase(std::remove(ls.begin(), ls.end(), l), ls.end());
  }
  links_.erase(it);
}

void Broker::on_receiver_close(proton::receiver& r) {
  forget_link(pn(r));
}
void Broker::on_sender_close(proton::sender& s) {
  forget_link(pn(s));
}

std::string Broker::entity_url(pn_link_t* l, const std::string& address) {
  auto c = connections_.find(pn_session_connection(pn_link_session(l)));
  std::string host =
      c != connections_.end() && !c->second.host.empty() ? c->second.host : "localhost";
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
  auto& cs = connection_state(pn_session_connection(pn_link_session(l)));
  int64_t now = now_ms();
  if (a.kind == Address::Kind::management && a.path == "$management")
    return std::any_of(cs.grants.begin(), cs.grants.end(),
                       [&](const Grant& g) { return !g.expires_ms || g.expires_ms > now; });
  return allowed(cs.grants, a.path, need, now);
}

Address Broker::resolve(const std::string& raw) {
  Address a;
  std::string key = audience_path(raw);
  if (key == "$cbs") {
    a.kind = Address::Kind::cbs;
    return a;
  }
  if (key == "$management") {
    a.kind = Address::Kind::management;
    a.path = key;
    return a;
  }
  const std::string mgmt_suffix = "/$management";
  bool management =
      key.size() > mgmt_suffix.size() &&
      key.compare(key.size() - mgmt_suffix.size(), mgmt_suffix.size(), mgmt_suffix) == 0;
  std::string path = management ? key.substr(0, key.size() - mgmt_suffix.size()) : key;

  // the longest configured entity name that prefixes the path
  std::string best;
  auto consider = [&](const std::string& name) {
    if ((path == name || path.rfind(name + "/", 0) == 0) && name.size() > best.size()) best = name;
  };
  for (auto& [k, v] : queues_) consider(k);
  for (auto& [k, v] : topics_) consider(k);
  for (auto& [k, v] : hubs_) consider(k);
  if (best.empty()) return a;
  std::string rest = path.substr(best.size());
  std::vector<std::string> parts;
  for (size_t pos = 1; pos <= rest.size();) {
    size_t next = rest.find('/', pos);
    if (next == std::string::npos) next = rest.size();
    parts.push_back(rest.substr(pos, next - pos));
    pos = next + 1;
  }
  a.path = path;
  if (auto q = queues_.find(best); q != queues_.end()) {
    if (parts.empty())
      a.queue = q->second.get();
    else if (parts.size() == 1 && parts[0] == "$deadletterqueue")
      a.queue = q->second->dead_letter_queue();
    if (a.queue) a.kind = Address::Kind::queue;
  } else if (auto t = topics_.find(best); t != topics_.end()) {
    if (parts.empty()) {
      a.kind = Address::Kind::topic;
      a.topic = t->second.get();
    } else if (parts.size() >= 2 && parts[0] == "subscriptions") {
      if (Subscription* s = t->second->find(parts[1])) {
        if (parts.size() == 2)
          a.queue = s->queue.get();
        else if (parts.size() == 3 && parts[2] == "$deadletterqueue")
          a.queue = s->queue->dead_letter_queue();
        if (a.queue) a.kind = Address::Kind::queue;
      }
    }
  } else if (auto h = hubs_.find(best); h != hubs_.end()) {
    EventHub* hub = h->second.get();
    auto partition = [&](const std::string& s) {
      try {
        size_t used = 0;
        int p = std::stoi(s, &used);
        return used == s.size() && p >= 0 && p < static_cast<int>(hub->partitions().size()) ? p
                                                                                            : -1;
      } catch (const std::exception&) {
        return -1;
      }
    };
    a.hub = hub;
    if (parts.empty()) {
      a.kind = Address::Kind::hub;
    } else if (parts.size() == 2 && parts[0] == "partitions" &&
               (a.partition = partition(parts[1])) >= 0) {
      a.kind = Address::Kind::hub_partition;
    } else if (parts.size() == 4 && parts[0] == "consumergroups" &&
               hub->has_consumer_group(parts[1]) && parts[2] == "partitions" &&
               (a.partition = partition(parts[3])) >= 0) {
      a.kind = Address::Kind::hub_consumer;
    }
  }
  if (management && a.kind != Address::Kind::none) {
    a.kind = Address::Kind::management;
    a.path = key;
  }
  return a;
}

void Broker::on_receiver_open(proton::receiver& r) {
  pn_link_t* l = pn(r);
  std::string address = terminus_address(pn_link_remote_target(l));
  Address a = resolve(address);
  LinkState st{};
  st.address = a;
  uint64_t max_size = config_.max_message_size;
  switch (a.kind) {
    case Address::Kind::cbs:
      st.kind = LinkState::Kind::cbs_in;
      break;
    case Address::Kind::management:
      if (!authorize(l, a, Need::any))
        return refuse(l, "amqp:unauthorized-access",
                      "Unauthorized access to '" + entity_url(l, address) +
                          "': put a token for it on $cbs first.");
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
                      "Unauthorized access. 'Send' claim(s) are required to perform this "
                      "operation. Resource: '" +
                          entity_url(l, address) + "'.");
      st.kind = LinkState::Kind::publisher;
      if (a.hub) max_size = a.hub->config().max_message_size;
      break;
    case Address::Kind::hub_consumer:
      return refuse(l, "amqp:not-allowed",
                    "Cannot send to a consumer group: '" + entity_url(l, address) + "'.");
    case Address::Kind::none:
      return refuse(l, "amqp:not-found",
                    "The messaging entity '" + entity_url(l, address) + "' could not be found.");
  }
  st.id = next_link_id_++;
  pn_link_set_max_message_size(l, max_size);
  pn_link_set_snd_settle_mode(l, pn_link_remote_snd_settle_mode(l));
  pn_link_set_rcv_settle_mode(l, pn_link_remote_rcv_settle_mode(l));
  links_[l] = std::move(st);
  connection_state(pn_session_connection(pn_link_session(l))).links.push_back(l);
  r.open(proton::receiver_options().auto_accept(false).credit_window(500));
}

void Broker::on_sender_open(proton::sender& s) {
  pn_link_t* l = pn(s);
  std::string address = terminus_address(pn_link_remote_source(l));
  Address a = resolve(address);
  LinkState st{};
  st.address = a;
  auto& cs = connection_state(pn_session_connection(pn_link_session(l)));
  switch (a.kind) {
    case Address::Kind::cbs:
    case Address::Kind::management: {
      if (a.kind == Address::Kind::management && !authorize(l, a, Need::any))
        return refuse(l, "amqp:unauthorized-access",
                      "Unauthorized access to '" + entity_url(l, address) +
                          "': put a token for it on $cbs first.");
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
                      "Unauthorized access. 'Listen' claim(s) are required to perform this "
                      "operation. Resource: '" +
                          entity_url(l, address) + "'.");
      st.kind = LinkState::Kind::consumer;
      st.peek_lock = pn_link_remote_snd_settle_mode(l) != PN_SND_SETTLED;
      queue_consumers_[a.queue].push_back(l);
      break;
    case Address::Kind::hub_consumer:
      if (!authorize(l, a, Need::listen))
        return refuse(l, "amqp:unauthorized-access",
                      "Unauthorized access. 'Listen' claim(s) are required to perform this "
                      "operation. Resource: '" +
                          entity_url(l, address) + "'.");
      try {
        st.next_event = a.hub->start_sequence(a.partition, selector_of(l));
      } catch (const SelectorError& e) {
        return refuse(l, "com.microsoft:argument-error", e.what());
      }
      st.kind = LinkState::Kind::hub_consumer;
      partition_consumers_[{a.hub, a.partition}].push_back(l);
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
  st.id = next_link_id_++;
  st.sender = s;
  pn_link_set_max_message_size(l,
                               a.hub ? a.hub->config().max_message_size : config_.max_message_size);
  pn_link_set_snd_settle_mode(l, pn_link_remote_snd_settle_mode(l));
  pn_link_set_rcv_settle_mode(l, pn_link_remote_rcv_settle_mode(l));
  links_[l] = std::move(st);
  cs.links.push_back(l);
  s.open(proton::sender_options().auto_settle(false));
}

// ---------------------------------------------------------------------------------------------
// publishing

void Broker::reject(pn_delivery_t* d, const std::string& condition,
                    const std::string& description) {
  pn_condition_t* c = pn_disposition_condition(pn_delivery_local(d));
  pn_condition_set_name(c, condition.c_str());
  pn_condition_set_description(c, description.c_str());
  pn_delivery_update(d, PN_REJECTED);
  pn_delivery_settle(d);
}

void Broker::on_message(proton::delivery& d, proton::message& m) {
  pn_link_t* l = pn(d.receiver());
  auto it = links_.find(l);
  if (it == links_.end()) return d.reject();
  pn_connection_t* c = pn_session_connection(pn_link_session(l));
  try {
    switch (it->second.kind) {
      case LinkState::Kind::cbs_in:
        return handle_cbs(d, m, c);
      case LinkState::Kind::management_in:
        return handle_management(d, m, it->second, c);
      case LinkState::Kind::publisher:
        return publish(d, m, it->second);
      default:
        return d.reject();
    }
  } catch (const std::exception& e) {
    log::warn("message on '{}' failed: {}", link_name(l), e.what());
    reject(pn(d), "amqp:internal-error", e.what());
  }
}

void Broker::publish(proton::delivery& d, proton::message& m, LinkState& st) {
  pn_link_t* l = pn(d.receiver());
  std::string_view raw = last_decoded_bytes();
  uint64_t limit =
      st.address.hub ? st.address.hub->config().max_message_size : config_.max_message_size;
  if (raw.size() > limit)
    return reject(
        pn(d), "amqp:link:message-size-exceeded",
        fmt::format(
            "The received message (delivery-id:{}, size:{} bytes) exceeds the limit ({} bytes) "
            "currently allowed on the link.",
            pn_delivery_tag(pn(d)).size, raw.size(), limit));
  int64_t now = now_ms();
  std::vector<Queue*> touched;
  const Address& a = st.address;
  auto members = batch_members(raw);
  if (members.empty()) {
    if (a.hub) {
      enqueue_event(m, a, -1, now);
    } else {
      enqueue_service_bus(m, a, now, touched);
    }
  } else {
    std::string envelope(raw);  // decoding members overwrites the captured bytes
    members = batch_members(envelope);
    proton::message inner;
    int partition = -1;
    if (a.kind == Address::Kind::hub) {
      // One batch goes to one partition, chosen by the envelope's partition key.
      proton::value key = m.message_annotations().get(proton::symbol("x-opt-partition-key"));
      std::string k = key.type() == proton::type_id::STRING ? proton::get<std::string>(key) : "";
      partition = a.hub->choose_partition(k);
    }
    for (auto member : members) {
      decode_message(member, inner);
      if (a.hub)
        enqueue_event(inner, a, partition, now);
      else
        enqueue_service_bus(inner, a, now, touched);
    }
  }
  settle_publish(d, l, st.id);
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  for (auto* q : touched) pump(q);
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
  auto expiry = [&](const QueueSettings& s) -> int64_t {
    int64_t t = ttl;
    if (s.default_ttl.count() && (!t || s.default_ttl.count() < t)) t = s.default_ttl.count();
    return t ? now + t : 0;
  };
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
  if (partition < 0) {
    if (a.kind == Address::Kind::hub_partition) {
      partition = a.partition;
    } else {
      proton::value key = m.message_annotations().get(proton::symbol("x-opt-partition-key"));
      partition = a.hub->choose_partition(
          key.type() == proton::type_id::STRING ? proton::get<std::string>(key) : "");
    }
  } else if (a.kind == Address::Kind::hub_partition) {
    partition = a.partition;
  }
  a.hub->append(partition, m, now);
  pump_partition(a.hub, partition);
}

void Broker::settle_publish(proton::delivery& d, pn_link_t* l, uint64_t link_id) {
  if (!store_) return d.accept();
  awaiting_commit_.push_back({d, l, link_id});
  if (awaiting_commit_.size() >= config_.commit_batch)
    commit();
  else
    schedule_commit();
}

void Broker::schedule_commit() {
  if (commit_scheduled_ || !container_) return;
  commit_scheduled_ = true;
  container_->schedule(proton::duration(config_.commit_interval.count()), [this] {
    commit_scheduled_ = false;
    commit();
  });
}

void Broker::commit() {
  if (!store_) return;
  if (commit_running_) {
    commit_again_ = true;
    return;
  }
  if (!store_->dirty() && awaiting_commit_.empty()) return;
  commit_running_ = true;
  uint64_t batch = next_batch_++;
  committing_[batch] = std::move(awaiting_commit_);
  awaiting_commit_.clear();
  store_->commit_async([this, batch](const std::string& error) {
    std::lock_guard lock(finished_mutex_);
    finished_ = std::make_pair(batch, error);
  });
  container_->schedule(proton::duration(1), [this] { poll_commit(); });
}

void Broker::poll_commit() {
  std::optional<std::pair<uint64_t, std::string>> done;
  {
    std::lock_guard lock(finished_mutex_);
    done.swap(finished_);
  }
  if (done)
    committed(done->first, done->second);
  else
    container_->schedule(proton::duration(1), [this] { poll_commit(); });
}

void Broker::committed(uint64_t batch, const std::string& error) {
  commit_running_ = false;
  if (!error.empty()) log::error("{}", error);
  auto waiting = std::move(committing_[batch]);
  committing_.erase(batch);
  std::set<pn_connection_t*> woken;
  for (auto& w : waiting) {
    auto it = links_.find(w.link);
    if (it == links_.end() || it->second.id != w.link_id) continue;  // the publisher went away
    if (!error.empty())
      reject(pn(w.delivery), "amqp:internal-error", "the broker could not store the message");
    else
      w.delivery.accept();
    woken.insert(pn_session_connection(pn_link_session(w.link)));
  }
  for (auto* c : woken) pn_connection_wake(c);
  if (commit_again_ || awaiting_commit_.size() >= config_.commit_batch) {
    commit_again_ = false;
    commit();
  } else if (!awaiting_commit_.empty()) {
    schedule_commit();
  }
}

// ---------------------------------------------------------------------------------------------
// delivering

void Broker::on_sendable(proton::sender& s) {
  service(pn(s));
}
void Broker::on_sender_drain_start(proton::sender& s) {
  service(pn(s));
}

void Broker::service(pn_link_t* l) {
  auto it = links_.find(l);
  if (it == links_.end()) return;
  int credit = pn_link_credit(l);
  bool drain = pn_link_get_drain(l);
  switch (it->second.kind) {
    case LinkState::Kind::consumer:
      deliver_from_queue(l, it->second);
      break;
    case LinkState::Kind::hub_consumer:
      deliver_events(l, it->second);
      break;
    case LinkState::Kind::cbs_out:
    case LinkState::Kind::management_out:
      send_replies(l, it->second);
      break;
    default:
      break;
  }
  // A drain with nothing left to send hands the credit back (the SDK waits for that flow).
  if (pn_link_get_drain(l) && pn_link_credit(l) > 0) pn_link_drained(l);
  // Work done for this link from another connection's event or a timer sits in the transport
  // until its connection is woken.
  if (pn_link_credit(l) != credit || pn_link_get_drain(l) != drain)
    pn_connection_wake(pn_session_connection(pn_link_session(l)));
}

void Broker::pump(Queue* q) {
  auto it = queue_consumers_.find(q);
  if (it == queue_consumers_.end() || it->second.empty() || q->available_count() == 0) return;
  auto consumers = it->second;  // delivering may not change the list, but stay safe
  // start with a different consumer each time so competing receivers share the queue
  std::rotate(it->second.begin(), it->second.begin() + 1, it->second.end());
  for (auto* l : consumers) service(l);
}

void Broker::pump_partition(EventHub* hub, int partition) {
  auto it = partition_consumers_.find({hub, partition});
  if (it == partition_consumers_.end()) return;
  auto consumers = it->second;
  for (auto* l : consumers) service(l);
}

void Broker::deliver_from_queue(pn_link_t* l, LinkState& st) {
  if (!(pn_link_state(l) & PN_LOCAL_ACTIVE)) return;
  Queue* q = st.address.queue;
  int64_t now = now_ms();
  while (pn_link_credit(l) > 0) {
    QueuedMessage* qm = q->next_available(now);
    if (!qm) break;
    decode_message(qm->bytes, outgoing_);
    pn_delivery_t* d;
    if (st.peek_lock) {
      const LockToken& token = q->lock(*qm, now);
      outgoing_.message_annotations().put(proton::symbol("x-opt-locked-until"),
                                          proton::timestamp(qm->locked_until));
      d = pn_delivery(l, pn_dtag(reinterpret_cast<const char*>(token.data()), token.size()));
    } else {
      uint64_t seq = qm->sequence;
      d = pn_delivery(l, pn_dtag(reinterpret_cast<const char*>(&seq), sizeof(seq)));
    }
    std::string bytes = encode_for_delivery(outgoing_, qm->delivery_count);
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
  proton::sender& s = st.sender;
  while (pn_link_credit(l) > 0 && !st.replies.empty()) {
    proton::tracker t = s.send(st.replies.front());
    if (!t.settled()) t.settle();
    st.replies.pop_front();
  }
}

void Broker::on_tracker_accept(proton::tracker& t) {
  settle_outcome(t);
}
void Broker::on_tracker_reject(proton::tracker& t) {
  settle_outcome(t);
}
void Broker::on_tracker_release(proton::tracker& t) {
  settle_outcome(t);
}

void Broker::settle_outcome(proton::tracker& t) {
  pn_delivery_t* d = pn(t);
  pn_link_t* l = pn_delivery_link(d);
  auto it = links_.find(l);
  if (it == links_.end() || it->second.kind != LinkState::Kind::consumer || !it->second.peek_lock) {
    if (!t.settled()) t.settle();
    return;
  }
  Queue* q = it->second.address.queue;
  bool token_ok = false;
  LockToken token = token_of(d, token_ok);
  uint64_t state = pn_delivery_remote_state(d);
  pn_disposition_t* remote = pn_delivery_remote(d);
  int64_t now = now_ms();
  bool ok = false;
  if (token_ok) {
    switch (state) {
      case PN_ACCEPTED:
        ok = q->complete(token);
        break;
      case PN_REJECTED: {
        pn_condition_t* cond = pn_disposition_condition(remote);
        auto info = info_map(cond);
        std::string reason = info.count("DeadLetterReason") ? info["DeadLetterReason"] : "";
        std::string description =
            info.count("DeadLetterErrorDescription") ? info["DeadLetterErrorDescription"] : "";
        if (reason.empty() && pn_condition_get_name(cond) &&
            std::string(pn_condition_get_name(cond)) != "com.microsoft:dead-letter")
          reason = pn_condition_get_name(cond);
        ok = q->dead_letter(token, reason, description, now);
        break;
      }
      case PN_MODIFIED: {
        auto properties = scalar_map(pn_disposition_annotations(remote));
        if (!properties.empty()) q->modify_properties(token, properties);
        ok = pn_disposition_is_undeliverable(remote) ? q->defer(token) : q->abandon(token, now);
        break;
      }
      case PN_RELEASED:
        ok = q->abandon(token, now);
        break;
      default:
        ok = q->abandon(token, now);
        break;
    }
  }
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
  t.settle();
  if (ok && state != PN_ACCEPTED) {
    pump(q);
    if (q->dead_letter_queue()) pump(q->dead_letter_queue());
  }
}

// ---------------------------------------------------------------------------------------------
// housekeeping

void Broker::detach_expired_links() {
  // As Service Bus does: when the token that allowed a link expires (and no other covers it), the
  // link is detached; the SDKs put a fresh token and attach again.
  std::vector<pn_link_t*> expired;
  for (auto& [l, st] : links_) {
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
    pn_connection_wake(pn_session_connection(pn_link_session(l)));
    forget_link(l);
  }
}

void Broker::tick() {
  if (stop_requested_) {
    // Stopping: no more ticks, so no timer keeps the container running.
    listener_.stop();
    container_->stop();
    return;
  }
  int64_t now = now_ms();
  for (auto* q : all_queues())
    if (q->expire(now)) {
      pump(q);
      if (q->dead_letter_queue()) pump(q->dead_letter_queue());
    }
  static int64_t last_prune = 0;
  if (now - last_prune > 1000) {
    last_prune = now;
    for (auto& [k, h] : hubs_) h->prune(now);
    detach_expired_links();
  }
  if (store_ && store_->dirty() && !commit_scheduled_) commit();
  container_->schedule(proton::duration(tick_ms), [this] { tick(); });
}

}  // namespace stepline::broker
