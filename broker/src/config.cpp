#include "config.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <stepline/duration.hpp>
#include <stepline/text.hpp>

#include "filter.hpp"
#include "names.hpp"

namespace stepline::broker {
namespace {

// Collects every problem with its position so one run reports them all.
class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  void error(const YAML::Node& at, const std::string& message) {
    const YAML::Mark m = at.Mark();
    errors_.push_back(fmt::format("{}:{}:{}: {}", source_, m.line + 1, m.column + 1, message));
  }
  void error(const YAML::Mark& m, const std::string& message) {
    errors_.push_back(fmt::format("{}:{}:{}: {}", source_, m.line + 1, m.column + 1, message));
  }

  // Reports keys of `map` not in `known`, naming the `where` section.
  void known_keys(const YAML::Node& map, std::initializer_list<const char*> known,
                  const std::string& where) {
    for (const auto& kv : map) {
      std::string key = kv.first.as<std::string>();
      if (std::none_of(known.begin(), known.end(), [&](const char* k) { return key == k; })) {
        std::string list;
        for (const char* k : known) list += std::string(list.empty() ? "" : ", ") + k;
        error(kv.first, fmt::format("unknown key '{}' in {} (known keys: {})", key, where, list));
      }
    }
  }

  std::string text(const YAML::Node& n, const std::string& field) {
    if (!n.IsScalar()) {
      error(n, fmt::format("{} must be a text value", field));
      return {};
    }
    return n.Scalar();
  }

  template <class T>
  T number(const YAML::Node& n, const std::string& field, T min, T max, T fallback) {
    try {
      if (!n.IsScalar()) throw YAML::Exception(n.Mark(), "");
      auto v = n.as<long long>();
      if (v < static_cast<long long>(min) ||
          static_cast<unsigned long long>(v) > static_cast<unsigned long long>(max))
        throw YAML::Exception(n.Mark(), "");
      return static_cast<T>(v);
    } catch (const YAML::Exception&) {
      error(n, fmt::format("{} must be a whole number between {} and {}", field, min, max));
      return fallback;
    }
  }

  Millis duration(const YAML::Node& n, const std::string& field, Millis fallback) {
    if (n.IsScalar())
      if (auto d = parse_duration(n.Scalar())) return *d;
    error(n, fmt::format("{} must be a duration such as 500ms, 30s, 5m, 1h, 7d or PT1M", field));
    return fallback;
  }

  QueueSettings queue_settings(const YAML::Node& n, const std::string& where) {
    QueueSettings s;
    if (auto v = n["lock_duration"]) {
      s.lock_duration = duration(v, where + " lock_duration", s.lock_duration);
      if (s.lock_duration < Millis(1000)) error(v, where + ".lock_duration must be at least 1s");
    }
    if (auto v = n["max_delivery_count"])
      s.max_delivery_count = number<uint32_t>(v, where + " max_delivery_count", 1, 2000, 10);
    if (auto v = n["duplicate_detection_window"])
      s.duplicate_detection_window = duration(v, where + " duplicate_detection_window", Millis(0));
    if (auto v = n["default_ttl"]) s.default_ttl = duration(v, where + " default_ttl", Millis(0));
    return s;
  }

  // Entity names: no leading/trailing '/', no reserved path segments.
  std::string entity_name(const YAML::Node& item, const std::string& where,
                          std::set<std::string>& seen) {
    auto n = item["name"];
    if (!n) {
      error(item, where + " needs a 'name'");
      return {};
    }
    std::string name = text(n, where + ".name");
    if (!valid_entity_name(name) || name.back() == '/' || name.find("//") != std::string::npos) {
      error(n, fmt::format(
                   "{} name '{}' is not valid (letters, digits, '.', '-', '_', '/'; at most 260)",
                   where, name));
    } else if (!seen.insert(lower(name)).second) {
      error(n, fmt::format("{} name '{}' is used twice (names are case-insensitive)", where, name));
    }
    return name;
  }

  void read_limits(const YAML::Node& root, ConnectionLimits& l) {
    if (auto v = root["max_frame_size"])
      l.max_frame_size = number<uint32_t>(v, "'max_frame_size'", 4096, 16 << 20, l.max_frame_size);
    if (auto v = root["max_connections_per_address"])
      l.max_connections_per_address = number<uint32_t>(v, "'max_connections_per_address'", 1,
                                                       1'000'000, l.max_connections_per_address);
    if (auto v = root["max_unauthenticated_connections"])
      l.max_unauthenticated_connections = number<uint32_t>(
          v, "'max_unauthenticated_connections'", 1, 1'000'000, l.max_unauthenticated_connections);
    if (auto v = root["authentication_timeout"]) {
      l.authentication_timeout = duration(v, "'authentication_timeout'", l.authentication_timeout);
      if (l.authentication_timeout < Millis(100))
        error(v, "'authentication_timeout' must be at least 100ms");
    }
  }

  BrokerConfig read(const YAML::Node& root) {
    BrokerConfig c;
    if (!root.IsMap()) {
      error(root, "the broker configuration must be a mapping (listen, sas_policies, queues, ...)");
      return c;
    }
    known_keys(root,
               {"listen", "http_listen", "data_dir", "max_message_size", "idle_timeout",
                "commit_interval", "commit_batch", "max_frame_size", "max_connections_per_address",
                "max_unauthenticated_connections", "authentication_timeout", "sas_policies",
                "queues", "topics", "event_hubs"},
               "the broker configuration");
    if (auto v = root["listen"]) c.listen = text(v, "'listen'");
    if (auto v = root["http_listen"]) c.http_listen = text(v, "'http_listen'");
    if (auto v = root["data_dir"]) c.data_dir = text(v, "'data_dir'");
    if (auto v = root["max_message_size"])
      c.max_message_size =
          number<uint64_t>(v, "'max_message_size'", 1024, 100 << 20, c.max_message_size);
    if (auto v = root["idle_timeout"])
      c.idle_timeout = duration(v, "'idle_timeout'", c.idle_timeout);
    if (auto v = root["commit_interval"])
      c.commit_interval = duration(v, "'commit_interval'", c.commit_interval);
    if (auto v = root["commit_batch"])
      c.commit_batch = number<uint32_t>(v, "'commit_batch'", 1, 100000, c.commit_batch);
    read_limits(root, c.limits);

    std::set<std::string> policy_names;
    for (const auto& p : sequence(root, "sas_policies")) {
      known_keys(p, {"name", "key", "rights"}, "a SAS policy");
      SasPolicy policy;
      policy.name = text(p["name"] ? p["name"] : p, "'sas_policies[].name'");
      if (!policy_names.insert(policy.name).second)
        error(p, "SAS policy '" + policy.name + "' is defined twice");
      if (auto k = p["key"]) policy.key = text(k, "'sas_policies[].key'");
      if (policy.key.empty()) error(p, "SAS policy '" + policy.name + "' needs a non-empty 'key'");
      auto rights = p["rights"];
      if (!rights || !rights.IsSequence()) {
        error(p, "SAS policy '" + policy.name + "' needs 'rights': a list of manage, send, listen");
      } else {
        for (const auto& r : rights) {
          std::string right = lower(text(r, "'rights[]'"));
          if (right == "manage")
            policy.manage = policy.send = policy.listen = true;
          else if (right == "send")
            policy.send = true;
          else if (right == "listen")
            policy.listen = true;
          else
            error(r, "right '" + right + "' is not one of manage, send, listen");
        }
      }
      c.sas_policies.push_back(policy);
    }

    std::set<std::string> names;  // queues, topics and event hubs share one namespace
    for (const auto& q : sequence(root, "queues")) {
      known_keys(q,
                 {"name", "lock_duration", "max_delivery_count", "duplicate_detection_window",
                  "default_ttl"},
                 "a queue");
      QueueConfig qc;
      qc.name = entity_name(q, "queue", names);
      qc.settings = queue_settings(q, "queue '" + qc.name + "'");
      c.queues.push_back(qc);
    }
    for (const auto& t : sequence(root, "topics")) {
      known_keys(t, {"name", "duplicate_detection_window", "subscriptions"}, "a topic");
      TopicConfig tc;
      tc.name = entity_name(t, "topic", names);
      if (auto v = t["duplicate_detection_window"])
        tc.duplicate_detection_window = duration(v, "'duplicate_detection_window'", Millis(0));
      std::set<std::string> sub_names;
      for (const auto& s : sequence(t, "subscriptions")) {
        known_keys(
            s,
            {"name", "filter", "correlation", "lock_duration", "max_delivery_count", "default_ttl"},
            "a subscription");
        SubscriptionConfig sc;
        sc.name = entity_name(s, "subscription", sub_names);
        sc.settings = queue_settings(s, "subscription '" + sc.name + "'");
        if (auto f = s["filter"]) {
          sc.sql_filter = text(f, "'filter'");
          try {
            SqlFilter check(sc.sql_filter);
          } catch (const FilterSyntaxError& e) {
            YAML::Mark m = f.Mark();
            // Plain scalars start at the mark; point at the offending character when we can.
            if (f.Tag() != "!" && sc.sql_filter.find('\n') == std::string::npos)
              m.column += int(e.offset);
            error(m, fmt::format("subscription '{}' filter: {} (SQL filter subset: =, <>, <, >, "
                                 "<=, >=, AND, OR, "
                                 "NOT, LIKE, IN, IS NULL, EXISTS)",
                                 sc.name, e.what()));
          }
        }
        if (auto corr = s["correlation"]) {
          if (s["filter"])
            error(corr, "a subscription has either 'filter' or 'correlation', not both");
          sc.correlation = correlation(corr);
        }
        tc.subscriptions.push_back(std::move(sc));
      }
      c.topics.push_back(std::move(tc));
    }
    for (const auto& h : sequence(root, "event_hubs")) {
      known_keys(h,
                 {"name", "partitions", "consumer_groups", "max_message_size", "retention",
                  "retention_count"},
                 "an event hub");
      EventHubConfig hc;
      hc.name = entity_name(h, "event hub", names);
      if (auto v = h["partitions"]) hc.partitions = number<int>(v, "'partitions'", 1, 32, 4);
      if (auto v = h["max_message_size"])
        hc.max_message_size =
            number<uint64_t>(v, "'max_message_size'", 1024, 100 << 20, hc.max_message_size);
      if (auto v = h["retention"]) hc.retention = duration(v, "'retention'", hc.retention);
      if (auto v = h["retention_count"])
        hc.retention_count = number<uint64_t>(v, "'retention_count'", 0, uint64_t(1) << 40, 0);
      hc.consumer_groups.push_back("$Default");
      std::set<std::string> groups{"$default"};
      if (auto cgs = h["consumer_groups"]) {
        if (!cgs.IsSequence()) error(cgs, "'consumer_groups' must be a list of names");
        for (const auto& g : cgs) {
          std::string name = text(g, "'consumer_groups[]'");
          if (groups.insert(lower(name)).second) hc.consumer_groups.push_back(name);
        }
      }
      c.event_hubs.push_back(hc);
    }
    return c;
  }

  CorrelationFilter correlation(const YAML::Node& n) {
    CorrelationFilter f;
    if (!n.IsMap()) {
      error(n,
            "'correlation' must be a mapping of fields (correlation_id, subject, properties, ...)");
      return f;
    }
    static const std::map<std::string, std::string> fields = {
        {"correlation_id", "correlationid"},
        {"message_id", "messageid"},
        {"to", "to"},
        {"reply_to", "replyto"},
        {"subject", "label"},
        {"label", "label"},
        {"session_id", "sessionid"},
        {"reply_to_session_id", "replytosessionid"},
        {"content_type", "contenttype"}};
    for (const auto& kv : n) {
      std::string key = kv.first.as<std::string>();
      if (key == "properties") {
        if (!kv.second.IsMap()) error(kv.second, "'correlation.properties' must be a mapping");
        for (const auto& p : kv.second)
          f.properties[p.first.as<std::string>()] = text(p.second, "'properties'");
      } else if (auto it = fields.find(key); it != fields.end()) {
        f.system[it->second] = text(kv.second, "'" + key + "'");
      } else {
        error(kv.first, "unknown correlation field '" + key +
                            "' (correlation_id, message_id, to, reply_to, subject, session_id, "
                            "reply_to_session_id, content_type, properties)");
      }
    }
    return f;
  }

  std::vector<YAML::Node> sequence(const YAML::Node& parent, const char* key) {
    std::vector<YAML::Node> out;
    auto n = parent[key];
    if (!n || n.IsNull()) return out;
    if (!n.IsSequence()) {
      error(n, fmt::format("'{}' must be a list", key));
      return out;
    }
    for (const auto& item : n) {
      if (!item.IsMap())
        error(item, fmt::format("each entry of '{}' must be a mapping", key));
      else
        out.push_back(item);
    }
    return out;
  }

  void finish() const {
    if (errors_.empty()) return;
    std::string all;
    for (const auto& e : errors_) all += e + "\n";
    all.pop_back();
    throw ConfigError(all);
  }

 private:
  std::string source_;
  std::vector<std::string> errors_;
};

}  // namespace

bool valid_entity_name(std::string_view name) {
  auto plain = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '$'; };
  if (name.empty() || name.size() > 260 || !plain(name[0])) return false;
  return std::all_of(name.begin() + 1, name.end(), [&](char c) {
    return plain(c) || c == '.' || c == '_' || c == '-' || c == '/';
  });
}

std::optional<Millis> parse_duration(const std::string& text) {
  // A plain number of seconds, as the broker has always read it; everything else as the
  // registration and the commands read durations.
  std::string_view number = stepline::text::trim(text);
  if (!number.empty() && number.find_first_not_of("0123456789") == std::string_view::npos)
    return stepline::parse_duration(std::string(number) + "s");
  return stepline::parse_duration(text);
}

BrokerConfig parse_config(const std::string& yaml, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(
        fmt::format("{}:{}:{}: {}", source, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  Reader reader(source);
  BrokerConfig config = root.IsNull() ? BrokerConfig{} : reader.read(root);
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
