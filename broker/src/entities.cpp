#include "entities.hpp"

#include "auth.hpp"
#include "log.hpp"
#include "store.hpp"

namespace stepline::broker {

Entities::Entities(const BrokerConfig& config, Journal* journal) {
  for (const auto& q : config.queues)
    queues_[entity_key(q.name)] = std::make_unique<Queue>(q.name, q.settings, journal);
  for (const auto& t : config.topics)
    topics_[entity_key(t.name)] = std::make_unique<Topic>(t, journal);
  for (const auto& h : config.event_hubs)
    hubs_[entity_key(h.name)] = std::make_unique<EventHub>(h, journal);
}

void Entities::load(Store& store, const std::string& data_dir) {
  std::map<std::string, Queue*> by_key;
  for (auto* q : all_queues()) by_key[q->key()] = q;
  size_t messages = 0, events = 0, skipped = 0;
  store.load(
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
  log::info("loaded {} messages and {} events from {}", messages, events, data_dir);
  if (skipped)
    log::warn(
        "{} stored messages or events belong to entities no longer configured; they are kept but "
        "not served",
        skipped);
}

std::vector<Queue*> Entities::all_queues() const {
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

EventHub* Entities::hub(const std::string& name) const {
  auto it = hubs_.find(entity_key(name));
  return it == hubs_.end() ? nullptr : it->second.get();
}

namespace {

std::vector<std::string> split_path(const std::string& rest) {
  std::vector<std::string> parts;
  for (size_t pos = 1; pos <= rest.size();) {
    size_t next = rest.find('/', pos);
    if (next == std::string::npos) next = rest.size();
    parts.push_back(rest.substr(pos, next - pos));
    pos = next + 1;
  }
  return parts;
}

// A partition id of `hub` written as a decimal number, or -1.
int partition_of(EventHub& hub, const std::string& s) {
  try {
    size_t used = 0;
    int p = std::stoi(s, &used);
    return used == s.size() && p >= 0 && p < static_cast<int>(hub.partitions().size()) ? p : -1;
  } catch (const std::exception&) {
    return -1;
  }
}

}  // namespace

Address Entities::resolve(const std::string& raw) const {
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
  std::vector<std::string> parts = split_path(path.substr(best.size()));
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
    a.hub = hub;
    if (parts.empty()) {
      a.kind = Address::Kind::hub;
    } else if (parts.size() == 2 && parts[0] == "partitions" &&
               (a.partition = partition_of(*hub, parts[1])) >= 0) {
      a.kind = Address::Kind::hub_partition;
    } else if (parts.size() == 4 && parts[0] == "consumergroups" &&
               hub->has_consumer_group(parts[1]) && parts[2] == "partitions" &&
               (a.partition = partition_of(*hub, parts[3])) >= 0) {
      a.kind = Address::Kind::hub_consumer;
    }
  }
  if (management && a.kind != Address::Kind::none) {
    a.kind = Address::Kind::management;
    a.path = key;
  }
  return a;
}

}  // namespace stepline::broker
