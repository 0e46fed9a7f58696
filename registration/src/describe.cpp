// Both text forms and the diff are produced from one ordered tree, built with secrets already
// masked, so no output path can print a secret.
#include <stepline/registration/describe.hpp>

#include <algorithm>
#include <map>

#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <stepline/azure/storage_connection_string.hpp>
#include <stepline/duration.hpp>
#include <stepline/yaml/writer.hpp>

namespace stepline::registration {
namespace {

struct Tree {
  enum class Kind { text, number, boolean, map, list };
  struct Item;
  Kind kind = Kind::map;
  std::string value;
  // Items of their own type, and the members that build trees defined after it: clang refuses a
  // vector of std::pair<std::string, Tree>, or code using the vector, before Tree is complete.
  std::vector<Item> items;

  static Tree text(std::string v);
  static Tree number(long long v);
  static Tree number(double v);
  static Tree boolean(bool v);
  static Tree list();

  Tree& add(std::string key, Tree value);
  Tree& push(Tree value);
};

struct Tree::Item {
  std::string key;
  Tree value;
};

Tree Tree::text(std::string v) {
  return {Kind::text, std::move(v), {}};
}
Tree Tree::number(long long v) {
  return {Kind::number, std::to_string(v), {}};
}
Tree Tree::number(double v) {
  std::string s = std::to_string(v);
  s.erase(s.find_last_not_of('0') + 1);
  if (s.back() == '.') s.pop_back();
  return {Kind::number, s, {}};
}
Tree Tree::boolean(bool v) {
  return {Kind::boolean, v ? "true" : "false", {}};
}
Tree Tree::list() {
  return {Kind::list, {}, {}};
}

Tree& Tree::add(std::string key, Tree value) {
  items.push_back({std::move(key), std::move(value)});
  return *this;
}
Tree& Tree::push(Tree value) {
  return add("", std::move(value));
}

constexpr std::string_view masked = "***";

Tree names(const std::vector<std::string>& list) {
  Tree t = Tree::list();
  for (const auto& n : list) t.push(Tree::text(n));
  return t;
}

Tree host_tree(const HostSettings& h) {
  Tree t;
  t.add("plugin_folder", Tree::text(h.plugin_folder.string()))
      .add("data_folder", Tree::text(h.data_folder.string()))
      .add("log_level", Tree::text(h.log_level))
      .add("log_format", Tree::text(h.log_format))
      .add("organization", Tree()
                               .add("name", Tree::text(h.organization_name))
                               .add("id", Tree::text(h.organization_id.str())))
      .add("business_unit_id", Tree::text(h.business_unit_id.str()))
      .add("default_user_id", Tree::text(h.default_user_id.str()))
      .add("max_depth", Tree::number(static_cast<long long>(h.max_depth)))
      .add("async_workers", Tree::number(static_cast<long long>(h.async_workers)))
      .add("async_crash_limit", Tree::number(static_cast<long long>(h.async_crash_limit)))
      .add("durability", Tree::text(std::string(to_string(h.durability))));
  // The database URL may hold a password: shown masked, as connection strings are.
  if (h.store.kind == StoreKind::sqlite)
    t.add("store", Tree::text("sqlite"));
  else
    t.add("store", Tree().add("postgresql", Tree::text(std::string(masked))));
  if (!h.tls_ca_file.empty()) t.add("tls_ca_file", Tree::text(h.tls_ca_file.string()));
  return t;
}

std::string_view column_type(ValueKind kind) {
  switch (kind) {
    case ValueKind::integer:
      return "int";
    case ValueKind::big_integer:
      return "bigint";
    case ValueKind::boolean:
      return "bool";
    case ValueKind::floating:
      return "double";
    case ValueKind::decimal:
      return "decimal";
    case ValueKind::money:
      return "money";
    case ValueKind::option_set:
      return "optionset";
    case ValueKind::multi_option_set:
      return "multioptionset";
    case ValueKind::date_time:
      return "datetime";
    case ValueKind::guid:
      return "guid";
    default:
      return "string";
  }
}

Tree http_tree(const HttpSettings& h) {
  Tree t;
  bool v6 = h.address.find(':') != std::string::npos;
  t.add("listen",
        Tree::text((v6 ? "[" + h.address + "]" : h.address) + ":" + std::to_string(h.port)))
      .add("body_limit", Tree::number(static_cast<long long>(h.body_limit)))
      .add("workers", Tree::number(static_cast<long long>(h.workers)))
      .add("queue", Tree::number(static_cast<long long>(h.queue)))
      .add("max_connections", Tree::number(static_cast<long long>(h.max_connections)))
      .add("request_timeout", Tree::text(format_duration(h.request_timeout)))
      .add("idle_timeout", Tree::text(format_duration(h.idle_timeout)));
  if (!h.tls_certificate.empty())
    t.add("tls", Tree()
                     .add("certificate", Tree::text(h.tls_certificate.string()))
                     .add("key", Tree::text(h.tls_key.string())));
  Tree keys = Tree::list();
  for (const auto& k : h.api_keys)
    keys.push(Tree()
                  .add("name", Tree::text(k.name))
                  .add("key", Tree::text(std::string(masked)))
                  .add("user", Tree::text(k.user.str()))
                  .add("may_impersonate", Tree::boolean(k.may_impersonate)));
  t.add("api_keys", std::move(keys));
  Tree tables = Tree::list();
  for (const auto& table : h.tables) {
    Tree columns;
    for (const auto& [name, kind] : table.columns)
      columns.add(name, Tree::text(std::string(column_type(kind))));
    Tree entry;
    entry.add("name", Tree::text(table.name));
    if (!table.set.empty()) entry.add("set", Tree::text(table.set));
    tables.push(std::move(entry.add("columns", std::move(columns))));
  }
  t.add("tables", std::move(tables));
  return t;
}

Tree plugin_tree(const PluginLibrary& p) {
  Tree t;
  t.add("file", Tree::text(p.file.string()));
  if (p.sha256) t.add("sha256", Tree::text(*p.sha256));
  return t;
}

// The url with every query value masked: a key may have been written there despite the warning.
std::string masked_url(const std::string& url) {
  auto q = url.find('?');
  if (q == std::string::npos) return url;
  std::string out = url.substr(0, q + 1);
  std::string_view query = std::string_view(url).substr(q + 1);
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    out += std::string(pair.substr(0, pair.find('='))) + "=***";
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (!query.empty()) out += '&';
  }
  return out;
}

Tree webhook_tree(const Webhook& w) {
  Tree auth;
  auth.add("type", Tree::text(std::string(to_string(w.auth))));
  if (w.auth == WebhookAuth::webhook_key) auth.add("key", Tree::text(std::string(masked)));
  if (w.auth == WebhookAuth::http_header || w.auth == WebhookAuth::http_query_string) {
    Tree values;
    for (const auto& [name, value] : w.auth_values)
      values.add(name, Tree::text(std::string(masked)));
    auth.add(w.auth == WebhookAuth::http_header ? "headers" : "query", std::move(values));
  }
  Tree t;
  t.add("url", Tree::text(masked_url(w.url))).add("auth", std::move(auth));
  if (!w.signing_key.empty())
    t.add("signature", Tree().add("secret", Tree::text(std::string(masked))));
  return t;
}

Tree endpoint_tree(const ServiceEndpoint& e) {
  Tree t;
  t.add("name", Tree::text(e.name))
      .add("contract", Tree::text(std::string(to_string(e.contract))))
      .add("format", Tree::text(e.format));
  if (e.webhook) {
    for (auto& [key, value] : webhook_tree(*e.webhook).items) t.add(key, std::move(value));
  } else {
    t.add("connection", Tree::text(e.connection.str()))
        .add("path", Tree::text(e.path))
        .add("user_claim", Tree::text(std::string(to_string(e.user_claim))))
        .add("auth", Tree::text(std::string(to_string(e.auth))));
  }
  t.add("retry",
        Tree()
            .add("max_attempts", Tree::number(static_cast<long long>(e.retry.max_attempts)))
            .add("base_delay", Tree::text(format_duration(e.retry.base_delay)))
            .add("max_delay", Tree::text(format_duration(e.retry.max_delay)))
            .add("jitter", Tree::number(e.retry.jitter)));
  if (e.max_message_size)
    t.add("max_message_size", Tree::number(static_cast<long long>(e.max_message_size)));
  t.add("size_policy", Tree::text(std::string(to_string(e.size_policy))));
  if (e.claim_check)
    t.add("claim_check",
          Tree()
              .add("connection", Tree::text(e.claim_check->account.str()))
              .add("container", Tree::text(e.claim_check->container))
              .add("delete", Tree::text(std::string(to_string(e.claim_check->deletion)))));
  if (!e.webhook) t.add("order", Tree::text(std::string(to_string(e.order))));
  if (!e.partition_key.empty()) t.add("partition_key", Tree::text(e.partition_key));
  if (!e.reply_to.empty()) t.add("reply_to", Tree::text(e.reply_to));
  t.add("timeout", Tree::text(format_duration(e.timeout)));
  return t;
}

Tree step_tree(const Step& s) {
  Tree t;
  t.add("id", Tree::text(s.id.str()))
      .add("name", Tree::text(s.name))
      .add("message", Tree::text(s.message))
      .add("entity", Tree::text(s.entity.empty() ? "any" : s.entity))
      .add("stage", Tree::text(std::string(to_string(s.stage))))
      .add("mode", Tree::text(std::string(to_string(s.mode))))
      .add("rank", Tree::number(static_cast<long long>(s.rank)));
  if (!s.filtering_attributes.empty()) t.add("filtering_attributes", names(s.filtering_attributes));
  Tree handler;
  if (!s.plugin_type.empty()) handler.add("plugin", Tree::text(s.plugin_type));
  if (!s.endpoint.empty()) handler.add("endpoint", Tree::text(s.endpoint));
  t.add("handler", std::move(handler));
  if (!s.unsecure_configuration.empty())
    t.add("configuration", Tree::text(s.unsecure_configuration));
  if (!s.secure_configuration.empty())
    t.add("secure_configuration", Tree::text(std::string(masked)));
  if (!s.images.empty()) {
    Tree images = Tree::list();
    for (const auto& i : s.images) {
      Tree image;
      image.add("alias", Tree::text(i.alias))
          .add("kind", Tree::text(std::string(to_string(i.kind))));
      if (!i.columns.empty()) image.add("columns", names(i.columns));
      images.push(std::move(image));
    }
    t.add("images", std::move(images));
  }
  t.add("enabled", Tree::boolean(s.enabled))
      .add("can_be_bypassed", Tree::boolean(s.can_be_bypassed))
      .add("auto_delete", Tree::boolean(s.auto_delete));
  if (s.run_as) t.add("run_as", Tree::text(s.run_as->str()));
  t.add("isolation", Tree::text(s.isolation == IsolationMode::process ? "process" : "none"));
  if (s.isolation == IsolationMode::process || (s.mode == Mode::asynchronous && s.endpoint.empty()))
    t.add("timeout", Tree::text(format_duration(s.timeout)));
  return t;
}

Tree registration_tree(const Registration& r) {
  Tree t;
  t.add("host", host_tree(r.host));
  if (r.http.enabled) t.add("http", http_tree(r.http));
  Tree plugins = Tree::list(), endpoints = Tree::list(), steps = Tree::list();
  for (const auto& p : r.plugins) plugins.push(plugin_tree(p));
  for (const auto& e : r.endpoints) endpoints.push(endpoint_tree(e));
  for (const auto& s : r.steps) steps.push(step_tree(s));
  t.add("plugins", std::move(plugins))
      .add("endpoints", std::move(endpoints))
      .add("steps", std::move(steps));
  return t;
}

void emit(yaml::Writer& out, const Tree& t) {
  switch (t.kind) {
    case Tree::Kind::text:
      out.text(t.value);
      break;
    case Tree::Kind::number:
    case Tree::Kind::boolean:
      out.plain(t.value);
      break;
    case Tree::Kind::map:
      out.begin_map();
      for (const auto& [key, value] : t.items) {
        out.text(key);
        emit(out, value);
      }
      out.end_map();
      break;
    case Tree::Kind::list:
      // Lists of names read best on one line.
      bool flat = std::all_of(t.items.begin(), t.items.end(),
                              [](const auto& item) { return item.value.kind == Tree::Kind::text; });
      out.begin_list(flat && !t.items.empty());
      for (const auto& item : t.items) emit(out, item.value);
      out.end_list();
      break;
  }
}

template <class Writer>
void write(Writer& out, const Tree& t) {
  switch (t.kind) {
    case Tree::Kind::text:
      out.String(t.value.data(), static_cast<rapidjson::SizeType>(t.value.size()));
      break;
    case Tree::Kind::number:
      out.RawValue(t.value.data(), t.value.size(), rapidjson::kNumberType);
      break;
    case Tree::Kind::boolean:
      out.Bool(t.value == "true");
      break;
    case Tree::Kind::map:
      out.StartObject();
      for (const auto& [key, value] : t.items) {
        out.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
        write(out, value);
      }
      out.EndObject();
      break;
    case Tree::Kind::list:
      out.StartArray();
      for (const auto& item : t.items) write(out, item.value);
      out.EndArray();
      break;
  }
}

// "retry.base_delay" -> "5s"; lists of names become one "a, b" value so a reordered column
// list reads as one change.
void flatten(const Tree& t, const std::string& path,
             std::vector<std::pair<std::string, std::string>>& out) {
  switch (t.kind) {
    case Tree::Kind::map:
      for (const auto& [key, value] : t.items)
        flatten(value, path.empty() ? key : path + "." + key, out);
      break;
    case Tree::Kind::list: {
      bool flat = std::all_of(t.items.begin(), t.items.end(),
                              [](const auto& item) { return item.value.kind == Tree::Kind::text; });
      if (flat) {
        std::string joined;
        for (const auto& item : t.items) joined += (joined.empty() ? "" : ", ") + item.value.value;
        out.emplace_back(path, "[" + joined + "]");
      } else {
        for (std::size_t i = 0; i < t.items.size(); ++i)
          flatten(t.items[i].value, path + "[" + std::to_string(i) + "]", out);
      }
      break;
    }
    default:
      out.emplace_back(path, t.value);
      break;
  }
}

std::vector<std::string> changes(const Tree& before, const Tree& after) {
  std::vector<std::pair<std::string, std::string>> a, b;
  flatten(before, "", a);
  flatten(after, "", b);
  std::map<std::string, std::string> old_values(a.begin(), a.end());
  std::vector<std::string> out;
  for (const auto& [key, value] : b) {
    auto it = old_values.find(key);
    if (it == old_values.end())
      out.push_back(key + ": (unset) -> " + value);
    else if (it->second != value)
      out.push_back(key + ": " + it->second + " -> " + value);
    if (it != old_values.end()) old_values.erase(it);
  }
  for (const auto& [key, value] : a)
    if (old_values.count(key)) out.push_back(key + ": " + value + " -> (unset)");
  return out;
}

template <class Secret>
void note_secret(std::vector<std::string>& list, const std::string& field, const Secret& before,
                 const Secret& after) {
  if (before == after) return;
  bool listed = std::any_of(list.begin(), list.end(),
                            [&](const std::string& c) { return c.starts_with(field + ":"); });
  if (!listed) list.push_back(field + ": changed (secret value not shown)");
}

template <class Item, class Key, class Describe, class Secrets>
void diff_items(const std::vector<Item>& before, const std::vector<Item>& after,
                std::string_view kind, Key key, Describe describe, Secrets secrets,
                std::vector<Difference>& out) {
  auto label = [&](const Item& i) { return std::string(kind) + " '" + key(i) + "'"; };
  for (const auto& old_item : before) {
    auto match = std::find_if(after.begin(), after.end(),
                              [&](const Item& i) { return key(i) == key(old_item); });
    if (match == after.end()) {
      out.push_back({Difference::Kind::removed, label(old_item), {}});
      continue;
    }
    auto list = changes(describe(old_item), describe(*match));
    secrets(old_item, *match, list);
    if (!list.empty()) out.push_back({Difference::Kind::changed, label(old_item), std::move(list)});
  }
  for (const auto& new_item : after)
    if (std::none_of(before.begin(), before.end(),
                     [&](const Item& i) { return key(i) == key(new_item); }))
      out.push_back({Difference::Kind::added, label(new_item), {}});
}

}  // namespace

std::string to_yaml(const Registration& registration) {
  yaml::Writer out;
  emit(out, registration_tree(registration));
  return out.finish();
}

std::string to_json(const Registration& registration) {
  rapidjson::StringBuffer buffer;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> writer(buffer);
  writer.SetIndent(' ', 2);
  write(writer, registration_tree(registration));
  return std::string(buffer.GetString(), buffer.GetSize()) + "\n";
}

std::vector<Difference> diff(const Registration& before, const Registration& after) {
  std::vector<Difference> out;
  if (auto list = changes(host_tree(before.host), host_tree(after.host)); !list.empty())
    out.push_back({Difference::Kind::changed, "host", std::move(list)});
  auto http_changes = changes(http_tree(before.http), http_tree(after.http));
  for (std::size_t i = 0; i < before.http.api_keys.size() && i < after.http.api_keys.size(); ++i)
    note_secret(http_changes, "api_keys[" + std::to_string(i) + "].key",
                before.http.api_keys[i].key, after.http.api_keys[i].key);
  if (before.http.enabled != after.http.enabled)
    http_changes.insert(http_changes.begin(),
                        after.http.enabled ? "http intake added" : "http intake removed");
  if (!http_changes.empty())
    out.push_back({Difference::Kind::changed, "http", std::move(http_changes)});
  auto no_secrets = [](const auto&, const auto&, std::vector<std::string>&) {};
  diff_items(
      before.plugins, after.plugins, "plug-in",
      [](const PluginLibrary& p) { return p.file.filename().string(); }, plugin_tree, no_secrets,
      out);
  diff_items(
      before.endpoints, after.endpoints, "endpoint",
      [](const ServiceEndpoint& e) { return e.name; }, endpoint_tree,
      [](const ServiceEndpoint& a, const ServiceEndpoint& b, std::vector<std::string>& list) {
        note_secret(list, "connection", a.connection, b.connection);
        if (a.webhook && b.webhook) {
          note_secret(list, "auth", a.webhook->auth_values, b.webhook->auth_values);
          note_secret(list, "signature", a.webhook->signing_key, b.webhook->signing_key);
        }
        if (a.claim_check && b.claim_check)
          note_secret(list, "claim_check", a.claim_check->account, b.claim_check->account);
      },
      out);
  diff_items(
      before.steps, after.steps, "step", [](const Step& s) { return s.name; }, step_tree,
      [](const Step& a, const Step& b, std::vector<std::string>& list) {
        note_secret(list, "secure_configuration", a.secure_configuration, b.secure_configuration);
      },
      out);
  return out;
}

}  // namespace stepline::registration
