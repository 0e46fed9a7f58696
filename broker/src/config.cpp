#include "config.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include <stepline/text.hpp>
#include <stepline/yaml/mapping.hpp>

#include "filter.hpp"
#include "names.hpp"

namespace stepline::broker {
namespace {

// Reads the configuration's tree with the YAML layer's typed readers, which collect every
// problem with its position so one run reports them all. Durations may be bare numbers of
// seconds, as the broker has always read them.
class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  void error(const yaml::Node& at, const std::string& message) {
    problems_.error(yaml::location_of(source_, at), message);
  }

  BrokerConfig read(const yaml::Node& root) {
    BrokerConfig c;
    yaml::Mapping m(root, source_, "the broker configuration", "",
                    {"listen", "http_listen", "data_dir", "max_message_size", "idle_timeout",
                     "commit_interval", "commit_batch", "max_frame_size",
                     "max_connections_per_address", "max_unauthenticated_connections",
                     "authentication_timeout", "sas_policies", "queues", "topics", "event_hubs"},
                    problems_);
    if (!m.ok()) return c;
    if (auto v = m.text("listen")) c.listen = *v;
    if (auto v = m.text("http_listen")) c.http_listen = *v;
    if (auto v = m.text("data_dir")) c.data_dir = *v;
    if (auto v = m.integer("max_message_size", 1024, 100 << 20)) c.max_message_size = *v;
    if (auto v = m.duration("idle_timeout", yaml::BareNumber::seconds)) c.idle_timeout = *v;
    if (auto v = m.duration("commit_interval", yaml::BareNumber::seconds)) c.commit_interval = *v;
    if (auto v = m.integer("commit_batch", 1, 100000)) c.commit_batch = *v;
    read_limits(m, c.limits);

    std::set<std::string> policy_names;
    for (const yaml::Node* p : m.list("sas_policies")) {
      if (auto policy = sas_policy(*p, policy_names)) c.sas_policies.push_back(*policy);
    }
    std::set<std::string> names;  // queues, topics and event hubs share one namespace
    for (const yaml::Node* q : m.list("queues")) {
      yaml::Mapping qm(*q, source_, "a queue", entity_prefix("queue", *q),
                       {"name", "lock_duration", "max_delivery_count", "duplicate_detection_window",
                        "default_ttl"},
                       problems_);
      if (!qm.ok()) continue;
      QueueConfig qc;
      qc.name = entity_name(qm, "queue", names);
      qc.settings = queue_settings(qm);
      c.queues.push_back(qc);
    }
    for (const yaml::Node* t : m.list("topics")) {
      if (auto topic = read_topic(*t, names)) c.topics.push_back(std::move(*topic));
    }
    for (const yaml::Node* h : m.list("event_hubs")) {
      if (auto hub = read_event_hub(*h, names)) c.event_hubs.push_back(std::move(*hub));
    }
    return c;
  }

  void finish() const {
    if (!problems_.has_errors()) return;
    std::string all;
    for (const auto& p : problems_.list) all += p.where.str() + ": " + p.message + "\n";
    all.pop_back();
    throw ConfigError(all);
  }

 private:
  /// "queue 'orders' ", before the names of an entity's fields in messages; empty for one
  /// without a name.
  static std::string entity_prefix(std::string_view kind, const yaml::Node& item) {
    auto name = yaml::name_of(item);
    return name ? std::string(kind) + " '" + *name + "' " : std::string();
  }

  QueueSettings queue_settings(yaml::Mapping& m) {
    QueueSettings s;
    if (auto v = m.duration("lock_duration", yaml::BareNumber::seconds)) {
      if (*v < Millis(1000))
        problems_.error(m.where("lock_duration"),
                        m.field("lock_duration") + " must be at least 1s");
      else
        s.lock_duration = *v;
    }
    if (auto v = m.integer("max_delivery_count", 1, 2000)) s.max_delivery_count = *v;
    if (auto v = m.duration("duplicate_detection_window", yaml::BareNumber::seconds))
      s.duplicate_detection_window = *v;
    if (auto v = m.duration("default_ttl", yaml::BareNumber::seconds)) s.default_ttl = *v;
    return s;
  }

  // Entity names: no leading/trailing '/', no reserved path segments.
  std::string entity_name(yaml::Mapping& m, const std::string& kind, std::set<std::string>& seen) {
    if (!m.require("name", "give the " + kind + " a name")) return {};
    auto read = m.text("name");
    if (!read) return {};
    const std::string& name = *read;
    if (!valid_entity_name(name) || name.back() == '/' || name.find("//") != std::string::npos) {
      problems_.error(m.where("name"), fmt::format("{} name '{}' is not valid (letters, digits, "
                                                   "'.', '-', '_', '/'; at most 260)",
                                                   kind, name));
    } else if (!seen.insert(lower(name)).second) {
      problems_.error(
          m.where("name"),
          fmt::format("{} name '{}' is used twice (names are case-insensitive)", kind, name));
    }
    return name;
  }

  void read_limits(yaml::Mapping& m, ConnectionLimits& l) {
    if (auto v = m.integer("max_frame_size", 4096, 16 << 20)) l.max_frame_size = *v;
    if (auto v = m.integer("max_connections_per_address", 1, 1'000'000))
      l.max_connections_per_address = *v;
    if (auto v = m.integer("max_unauthenticated_connections", 1, 1'000'000))
      l.max_unauthenticated_connections = *v;
    if (auto v = m.duration("authentication_timeout", yaml::BareNumber::seconds)) {
      if (*v < Millis(100))
        problems_.error(m.where("authentication_timeout"),
                        "'authentication_timeout' must be at least 100ms");
      else
        l.authentication_timeout = *v;
    }
  }

  std::optional<SasPolicy> sas_policy(const yaml::Node& node, std::set<std::string>& seen) {
    yaml::Mapping m(node, source_, "a SAS policy", "", {"name", "key", "rights"}, problems_);
    if (!m.ok()) return std::nullopt;
    SasPolicy policy;
    if (m.require("name", "name the policy as clients name it (SharedAccessKeyName)"))
      if (auto v = m.text("name")) policy.name = *v;
    if (!seen.insert(policy.name).second)
      problems_.error(m.where(), "SAS policy '" + policy.name + "' is defined twice");
    if (auto v = m.text("key")) policy.key = *v;
    if (policy.key.empty())
      problems_.error(m.where(), "SAS policy '" + policy.name + "' needs a non-empty 'key'");
    if (!m.node("rights").is_sequence()) {
      problems_.error(m.where("rights"), "SAS policy '" + policy.name +
                                             "' needs 'rights': a list of manage, send, listen");
      return policy;
    }
    for (const yaml::Node* r : m.list("rights")) {
      auto text = yaml::text_of(*r, source_, "rights[]", "a right", problems_);
      if (!text) continue;
      std::string right = lower(*text);
      if (right == "manage")
        policy.manage = policy.send = policy.listen = true;
      else if (right == "send")
        policy.send = true;
      else if (right == "listen")
        policy.listen = true;
      else
        error(*r, "right '" + right + "' is not one of manage, send, listen");
    }
    return policy;
  }

  std::optional<TopicConfig> read_topic(const yaml::Node& node, std::set<std::string>& names) {
    yaml::Mapping m(node, source_, "a topic", entity_prefix("topic", node),
                    {"name", "duplicate_detection_window", "subscriptions"}, problems_);
    if (!m.ok()) return std::nullopt;
    TopicConfig tc;
    tc.name = entity_name(m, "topic", names);
    if (auto v = m.duration("duplicate_detection_window", yaml::BareNumber::seconds))
      tc.duplicate_detection_window = *v;
    std::set<std::string> sub_names;
    for (const yaml::Node* s : m.list("subscriptions")) {
      yaml::Mapping sm(
          *s, source_, "a subscription", entity_prefix("subscription", *s),
          {"name", "filter", "correlation", "lock_duration", "max_delivery_count", "default_ttl"},
          problems_);
      if (!sm.ok()) continue;
      SubscriptionConfig sc;
      sc.name = entity_name(sm, "subscription", sub_names);
      sc.settings = queue_settings(sm);
      if (auto filter = sm.text("filter")) {
        sc.sql_filter = *filter;
        check_filter(sm.node("filter"), sc);
      }
      if (sm.has("correlation")) {
        if (sm.has("filter"))
          problems_.error(sm.where("correlation"),
                          "a subscription has either 'filter' or 'correlation', not both");
        sc.correlation = correlation(sm.node("correlation"));
      }
      tc.subscriptions.push_back(std::move(sc));
    }
    return tc;
  }

  void check_filter(const yaml::Node& at, const SubscriptionConfig& sc) {
    try {
      SqlFilter check(sc.sql_filter);
    } catch (const FilterSyntaxError& e) {
      yaml::Location where = yaml::location_of(source_, at);
      // A plain scalar is the file's text from its position on: point at the offending
      // character when it is on that line.
      if (at.plain && sc.sql_filter.find('\n') == std::string::npos)
        where.column += static_cast<int>(e.offset);
      problems_.error(where, fmt::format("subscription '{}' filter: {} (SQL filter subset: =, <>, "
                                         "<, >, <=, >=, AND, OR, NOT, LIKE, IN, IS NULL, EXISTS)",
                                         sc.name, e.what()));
    }
  }

  CorrelationFilter correlation(const yaml::Node& n) {
    CorrelationFilter f;
    // Field names as written, and the names the broker's messages give those fields.
    static const std::vector<std::pair<std::string_view, std::string>> fields = {
        {"correlation_id", "correlationid"},
        {"message_id", "messageid"},
        {"to", "to"},
        {"reply_to", "replyto"},
        {"subject", "label"},
        {"label", "label"},
        {"session_id", "sessionid"},
        {"reply_to_session_id", "replytosessionid"},
        {"content_type", "contenttype"}};
    std::vector<std::string_view> keys{"properties"};
    for (const auto& [key, name] : fields) keys.push_back(key);
    yaml::Mapping m(n, source_, "the correlation filter", "correlation.", keys, problems_);
    if (!m.ok()) return f;
    for (const auto& [key, name] : fields)
      if (auto v = m.text(key)) f.system[name] = *v;
    const yaml::Node& properties = m.node("properties");
    if (properties.is_null()) return f;
    if (!properties.is_map()) {
      error(properties,
            "correlation.properties: expected a mapping of application property "
            "names to values, found " +
                yaml::kind_of(properties));
      return f;
    }
    for (std::size_t i = 0; i < properties.map_size(); ++i) {
      auto name = yaml::text_of(properties.key(i), source_, "correlation.properties",
                                "a property name", problems_);
      auto value =
          yaml::text_of(properties.value(i), source_, "correlation.properties." + name.value_or(""),
                        "a value", problems_);
      if (name && value) f.properties[*name] = *value;
    }
    return f;
  }

  std::optional<EventHubConfig> read_event_hub(const yaml::Node& node,
                                               std::set<std::string>& names) {
    yaml::Mapping m(node, source_, "an event hub", entity_prefix("event hub", node),
                    {"name", "partitions", "consumer_groups", "max_message_size", "retention",
                     "retention_count"},
                    problems_);
    if (!m.ok()) return std::nullopt;
    EventHubConfig hc;
    hc.name = entity_name(m, "event hub", names);
    if (auto v = m.integer("partitions", 1, 32)) hc.partitions = static_cast<int>(*v);
    if (auto v = m.integer("max_message_size", 1024, 100 << 20)) hc.max_message_size = *v;
    if (auto v = m.duration("retention", yaml::BareNumber::seconds)) hc.retention = *v;
    if (auto v = m.integer("retention_count", 0, 1LL << 40)) hc.retention_count = *v;
    hc.consumer_groups.push_back("$Default");
    std::set<std::string> groups{"$default"};
    if (auto list = m.names("consumer_groups"))
      for (const auto& name : *list)
        if (groups.insert(lower(name)).second) hc.consumer_groups.push_back(name);
    return hc;
  }

  std::string source_;
  yaml::Problems problems_;
};

}  // namespace

bool valid_entity_name(std::string_view name) {
  auto plain = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '$'; };
  if (name.empty() || name.size() > 260 || !plain(name[0])) return false;
  return std::all_of(name.begin() + 1, name.end(), [&](char c) {
    return plain(c) || c == '.' || c == '_' || c == '-' || c == '/';
  });
}

BrokerConfig parse_config(const std::string& text, const std::string& source) {
  yaml::Node root;
  try {
    root = yaml::read_document(text);
  } catch (const yaml::Error& e) {
    const yaml::Problem problem = yaml::problem_of(e, source, text);
    throw ConfigError(problem.where.str() + ": " + problem.message);
  }
  Reader reader(source);
  BrokerConfig config = root.is_null() ? BrokerConfig{} : reader.read(root);
  reader.finish();
  config.source = source;
  return config;
}

BrokerConfig load_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path + ":1:1: cannot read the file (check the path given with -c)");
  std::stringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path);
}

}  // namespace stepline::broker
