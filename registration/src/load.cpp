// Reads the root registration file and its includes into one Registration, then checks what
// only the whole registration can tell (unique names, handlers that name declared endpoints).
#include <stepline/registration/load.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <numeric>
#include <sstream>

#include <stepline/azure/connection_string.hpp>
#include <stepline/duration.hpp>
#include <stepline/format/format.hpp>
#include <stepline/registration/values.hpp>
#include <stepline/text.hpp>
#include <stepline/yaml/mapping.hpp>

#include "references.hpp"
#include "webhook.hpp"

namespace stepline::registration {
namespace fs = std::filesystem;
using azure::check_connection_string;
using azure::ConnectionString;
using azure::split_connection_string;
using yaml::Choice;
using yaml::Mapping;

namespace {

// Messages whose names people type from memory; a wrong case is a mistake, not a custom message.
const std::vector<std::string_view> well_known_messages = {
    "Create", "Update",   "Delete", "Retrieve", "RetrieveMultiple", "Associate", "Disassociate",
    "Assign", "SetState", "Merge",  "Upsert"};

const std::vector<Choice<Stage>> stage_choices = {{"pre-validation", Stage::pre_validation},
                                                  {"pre-operation", Stage::pre_operation},
                                                  {"post-operation", Stage::post_operation},
                                                  {"10", Stage::pre_validation},
                                                  {"20", Stage::pre_operation},
                                                  {"40", Stage::post_operation}};

/// Reads the whole of `path` into `text`; false (errno set) when it cannot.
bool read_text(const fs::path& path, std::string& text) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream content;
  content << in.rdbuf();
  text = std::move(content).str();
  return !in.bad();
}

/// Calls `repeat(item, first)` for each of `count` items whose key (`key_of(item)`) an item
/// declared before it has, `first` being the first of those. Sorted indexes rather than a map of
/// copies of the keys: a registration may hold 230,000 steps.
template <class KeyOf, class Repeat>
void for_each_repeat(std::size_t count, KeyOf key_of, Repeat repeat) {
  std::vector<std::size_t> order(count);
  std::iota(order.begin(), order.end(), std::size_t{0});
  // Stable: equal keys stay in the order they were declared in.
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return key_of(a) < key_of(b); });
  for (std::size_t k = 1, first = count ? order[0] : 0; k < count; ++k) {
    if (key_of(order[k]) != key_of(order[k - 1]))
      first = order[k];
    else
      repeat(order[k], first);
  }
}

// The formats this process has registered (the SDK's, and binary once stepline_sdk_amqp is loaded).
std::vector<Choice<std::string>> registered_formats() {
  std::vector<Choice<std::string>> choices;
  for (std::string_view name : format::format_names()) choices.push_back({name, std::string(name)});
  return choices;
}

// "step 'name'" when the item has a name to show, else "a step (steps[2])".
std::string describe_item(const yaml::Node& node, std::string_view kind,
                          const std::string& prefix) {
  if (auto name = yaml::name_of(node)) return std::string(kind) + " '" + *name + "'";
  bool vowel = kind == "endpoint" || kind == "API key";
  return (vowel ? "an " : "a ") + std::string(kind) + " (" + prefix + ")";
}

class Loader {
 public:
  explicit Loader(const fs::path& root) : root_(root) {}

  LoadResult run() {
    load_file(root_, std::nullopt);
    finish_host();
    finish_http();
    resolve_plugin_files();
    check_unique_names();
    check_handlers();
    sort_problems();
    LoadResult result;
    for (const auto& p : problems_.list)
      if (p.severity == Severity::warning) registration_.warnings.push_back(p);
    result.registration = std::move(registration_);
    result.problems = std::move(problems_.list);
    return result;
  }

 private:
  struct Named {
    std::string name;
    SourceLocation where;
  };

  void load_file(const fs::path& path, std::optional<SourceLocation> included_from) {
    const std::string file = path.string();
    std::error_code ec;
    fs::path identity = fs::weakly_canonical(path, ec);
    if (ec) identity = fs::absolute(path).lexically_normal();
    if (auto open = std::find(stack_.begin(), stack_.end(), identity); open != stack_.end()) {
      std::string chain;
      for (auto it = open; it != stack_.end(); ++it) chain += it->filename().string() + " -> ";
      problems_.error(*included_from, "include: " + file + " is already being read (" + chain +
                                          path.filename().string() +
                                          "); remove one include to break the cycle");
      return;
    }
    // A file reached twice without a cycle (a diamond) is read once.
    if (std::find(done_.begin(), done_.end(), identity) != done_.end()) return;

    if (!fs::is_regular_file(path, ec)) {
      SourceLocation where = included_from.value_or(SourceLocation{file, 1, 1});
      problems_.error(where, (included_from ? "include: " : "") + file +
                                 " does not exist or is not a file; check the path" +
                                 (included_from ? " (relative to the including file)" : ""));
      return;
    }
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> in(std::fopen(file.c_str(), "rb"),
                                                       &std::fclose);
    if (!in) {
      problems_.error({file, 1, 1}, "cannot read the file: " + std::string(std::strerror(errno)));
      return;
    }
    registration_.files.push_back(path);
    stack_.push_back(identity);
    try {
      read_document(in.get(), file, path.parent_path());
    } catch (const yaml::Error& e) {
      // An error of the text's encoding has its byte offset only: the file is read again to
      // say where.
      std::string text;
      if (e.line == 0 && !read_text(path, text)) text.clear();
      problems_.list.push_back(yaml::problem_of(e, file, text));
    }
    stack_.pop_back();
    done_.push_back(identity);
  }

  /// Reads a file's sections item by item as the YAML stream delivers them, so that only one
  /// item's nodes exist at a time; its includes are read after its own items.
  void read_document(std::FILE* in, const std::string& file, const fs::path& folder) {
    yaml::Stream stream(in);
    if (!stream.start_document()) return;  // an empty file registers nothing
    const std::string what = "a registration file";
    if (!stream.enter_map()) {
      yaml::Node root = stream.read();
      // A file holding only a comment, or nothing, registers nothing.
      if (!root.is_null())
        Mapping(root, file, what, "", {}, problems_);  // reports that it is not a mapping
      check_single_document(stream, file);
      return;
    }
    const std::vector<std::string_view> sections = {"include", "host",      "http",
                                                    "plugins", "endpoints", "steps"};
    std::vector<std::string> seen;
    std::optional<yaml::Node> includes;
    while (stream.peek() == yaml::Stream::Next::node) {
      yaml::Node key = stream.read();
      if (!yaml::check_key(key, file, what, sections, seen, problems_)) {
        stream.read();  // the value of a key already reported
        continue;
      }
      const std::string& section = key.text;
      if (section == "plugins" || section == "endpoints" || section == "steps") {
        read_items(stream, file, folder, section);
      } else if (section == "host") {
        yaml::Node host = stream.read();
        if (!host.is_null()) read_host(host, file, folder);
      } else if (section == "http") {
        yaml::Node http = stream.read();
        if (!http.is_null()) read_http(http, file, folder);
      } else {
        includes = stream.read();
      }
    }
    stream.leave();
    check_single_document(stream, file);
    if (includes && !includes->is_null()) read_includes(*includes, file, folder);
  }

  /// One document per file: a second one would otherwise be ignored without a word.
  void check_single_document(yaml::Stream& stream, const std::string& file) {
    if (stream.next_document())
      problems_.error({file, static_cast<int>(stream.line()), static_cast<int>(stream.column())},
                      "a second YAML document ('---') in one registration file; put it in a "
                      "file of its own and include that");
  }

  /// The items of a plugins, endpoints or steps section, each read as soon as it is complete.
  void read_items(yaml::Stream& stream, const std::string& file, const fs::path& folder,
                  const std::string& section) {
    if (!stream.enter_sequence()) {
      yaml::Node value = stream.read();
      if (!value.is_null())
        problems_.error(yaml::location_of(file, value),
                        section + ": expected a list of items, each starting with '- '");
      return;
    }
    for (std::size_t index = 0; stream.peek() == yaml::Stream::Next::node; ++index) {
      const yaml::Node item = stream.read();
      const std::string prefix = section + "[" + std::to_string(index) + "]";
      if (section == "plugins")
        read_plugin(item, file, prefix);
      else if (section == "endpoints")
        read_endpoint(item, file, folder, prefix);
      else
        read_step(item, file, folder, prefix);
    }
    stream.leave();
  }

  void read_includes(const yaml::Node& node, const std::string& file, const fs::path& folder) {
    std::vector<const yaml::Node*> entries;
    if (node.is_sequence())
      for (const auto& entry : node.items) entries.push_back(&entry);
    else
      entries.push_back(&node);
    for (const yaml::Node* entry : entries) {
      SourceLocation where = yaml::location_of(file, *entry);
      if (!entry->is_scalar() || entry->text.empty()) {
        problems_.error(where, "include: expected a file path or a list of file paths");
        continue;
      }
      fs::path included(entry->text);
      if (included.is_relative()) included = (folder / included).lexically_normal();
      load_file(included, where);
    }
  }

  fs::path resolve_folder(const fs::path& folder, const std::string& value) {
    fs::path p(value);
    if (p.is_relative()) p = folder / p;
    return fs::absolute(p).lexically_normal();
  }

  void read_host(const yaml::Node& node, const std::string& file, const fs::path& folder) {
    Mapping m(node, file, "host", "host.",
              {"plugin_folder", "data_folder", "log_level", "log_format", "organization",
               "business_unit_id", "default_user_id", "max_depth", "async_workers",
               "async_crash_limit", "durability", "store", "tls_ca_file"},
              problems_);
    if (host_where_) {
      problems_.error(m.where(),
                      "host is already set at " + host_where_->str() + "; keep one host section");
      return;
    }
    host_where_ = m.where();
    HostSettings& host = registration_.host;
    host.where = m.where();
    if (!m.ok()) return;
    if (auto v = m.text("plugin_folder")) host.plugin_folder = resolve_folder(folder, *v);
    if (auto v = m.text("data_folder")) host.data_folder = resolve_folder(folder, *v);
    if (auto v = m.choice<std::string>("log_level", {{"trace", "trace"},
                                                     {"debug", "debug"},
                                                     {"info", "info"},
                                                     {"warn", "warn"},
                                                     {"error", "error"},
                                                     {"off", "off"}}))
      host.log_level = *v;
    if (auto v = m.choice<std::string>("log_format", {{"text", "text"}, {"json", "json"}}))
      host.log_format = *v;
    if (m.has("organization")) {
      Mapping org(m.node("organization"), file, "host.organization", "host.organization.",
                  {"name", "id"}, problems_);
      if (org.ok()) {
        if (auto v = org.text("name")) host.organization_name = *v;
        if (auto v = org.guid("id")) organization_id_ = *v;
      }
    }
    if (auto v = m.guid("business_unit_id")) business_unit_id_ = *v;
    if (auto v = m.guid("default_user_id")) default_user_id_ = *v;
    if (auto v = m.integer("max_depth", 1, 100)) host.max_depth = static_cast<int>(*v);
    if (auto v = m.integer("async_workers", 1, 256)) host.async_workers = static_cast<int>(*v);
    if (auto v = m.integer("async_crash_limit", 1, 100))
      host.async_crash_limit = static_cast<int>(*v);
    if (auto v = m.choice<Durability>("durability",
                                      {{"normal", Durability::normal}, {"full", Durability::full}}))
      host.durability = *v;
    if (m.has("store")) read_store(m, file, folder, host.store);
    if (auto v = m.text("tls_ca_file"); v && !v->empty()) {
      host.tls_ca_file = resolve_folder(folder, *v);
      std::error_code ec;
      if (!fs::is_regular_file(host.tls_ca_file, ec))
        problems_.error(m.where("tls_ca_file"),
                        "host.tls_ca_file: no file " + host.tls_ca_file.string() +
                            "; give the PEM CA bundle amqps endpoints are verified against, or "
                            "remove the key to use the system store");
    }
  }

  void read_http(const yaml::Node& node, const std::string& file, const fs::path& folder) {
    Mapping m(node, file, "http", "http.",
              {"listen", "body_limit", "workers", "queue", "max_connections", "request_timeout",
               "idle_timeout", "tls", "api_keys", "tables"},
              problems_);
    if (http_where_) {
      problems_.error(m.where(),
                      "http is already set at " + http_where_->str() + "; keep one http section");
      return;
    }
    http_where_ = m.where();
    HttpSettings& http = registration_.http;
    http.enabled = true;
    http.where = m.where();
    http.listen_where = m.where("listen");
    if (!m.ok()) return;
    if (auto v = m.text("listen")) {
      if (auto listen = parse_listen_address(*v)) {
        http.address = listen->first;
        http.port = listen->second;
      } else {
        problems_.error(m.where("listen"),
                        "http.listen: '" + *v +
                            "' is not an address to listen on; write ADDRESS:PORT, e.g. "
                            "127.0.0.1:8080, [::1]:8080 or 0.0.0.0:8443");
      }
    }
    if (auto v = m.size("body_limit")) http.body_limit = *v;
    if (auto v = m.integer("workers", 1, 256)) http.workers = static_cast<int>(*v);
    if (auto v = m.integer("queue", 1, 100000)) http.queue = static_cast<std::size_t>(*v);
    if (auto v = m.integer("max_connections", 1, 100000))
      http.max_connections = static_cast<std::size_t>(*v);
    for (auto [key, target] : {std::pair{"request_timeout", &http.request_timeout},
                               std::pair{"idle_timeout", &http.idle_timeout}})
      if (auto v = m.duration(key)) {
        if (v->count() <= 0)
          problems_.error(m.where(key), m.field(key) + ": must be longer than 0ms");
        else
          *target = *v;
      }
    if (m.has("tls")) read_http_tls(m.node("tls"), file, folder, http);
    for_each_item(m, "api_keys", [&](const yaml::Node& n, const std::string& prefix) {
      read_api_key(n, file, folder, prefix);
    });
    for_each_item(m, "tables", [&](const yaml::Node& n, const std::string& prefix) {
      read_web_api_table(n, file, prefix);
    });
  }

  /// Reads each item of the list under `key` of `m`, named by its place ("http.tables[1]").
  template <class Read>
  void for_each_item(yaml::Mapping& m, std::string_view key, Read read) {
    if (!m.has(key)) return;
    const yaml::Node& list = m.node(key);
    if (!list.is_sequence()) {
      problems_.error(m.where(key),
                      m.field(key) + ": expected a list of items, each starting with '- '");
      return;
    }
    for (std::size_t index = 0; index < list.items.size(); ++index)
      read(list.items[index], m.field(key) + "[" + std::to_string(index) + "]");
  }

  void read_http_tls(const yaml::Node& node, const std::string& file, const fs::path& folder,
                     HttpSettings& http) {
    Mapping m(node, file, "http.tls", "http.tls.", {"certificate", "key"}, problems_);
    if (!m.ok()) return;
    for (auto [key, target] :
         {std::pair{"certificate", &http.tls_certificate}, std::pair{"key", &http.tls_key}}) {
      if (!m.require(key, std::string("add ") + key + ": the PEM file's path")) continue;
      auto v = m.text(key);
      if (!v || v->empty()) continue;
      *target = resolve_folder(folder, *v);
      std::error_code ec;
      if (!fs::is_regular_file(*target, ec))
        problems_.error(m.where(key), m.field(key) + ": no file " + target->string() +
                                          "; give the PEM file (relative to this file's folder)");
    }
  }

  void read_api_key(const yaml::Node& node, const std::string& file, const fs::path& folder,
                    const std::string& prefix) {
    Mapping m(node, file, describe_item(node, "API key", prefix), prefix + ".",
              {"name", "key", "user", "may_impersonate"}, problems_);
    if (!m.ok()) return;
    ApiKey k;
    k.where = m.where();
    if (m.require("name", "add name: a name for logs and metrics (the key itself never appears)"))
      if (auto v = m.text("name"); v && !v->empty()) k.name = *v;
    if (m.require("key", "add key: ${env:NAME} naming a variable that holds the key")) {
      if (auto raw = m.text("key")) {
        if (!raw->empty() && raw->find("${") == std::string::npos)
          problems_.warning(m.where("key"),
                            m.field("key") +
                                ": the key is written in the registration file; read it with "
                                "${env:NAME} or ${file:PATH} so the file can be shared");
        if (auto resolved = detail::resolve_references(*raw, folder, m.where("key"), m.field("key"),
                                                       problems_)) {
          if (resolved->size() < 16)
            problems_.error(m.where("key"),
                            m.field("key") +
                                ": a key needs at least 16 characters (make one with openssl "
                                "rand -hex 32)");
          else
            k.key = std::move(*resolved);
        }
      }
    }
    if (auto v = m.guid("user")) k.user = *v;
    if (auto v = m.boolean("may_impersonate")) k.may_impersonate = *v;
    api_key_marks_.push_back({m.where("name"), m.where("key"), m.field("key")});
    registration_.http.api_keys.push_back(std::move(k));
  }

  void read_web_api_table(const yaml::Node& node, const std::string& file,
                          const std::string& prefix) {
    Mapping m(node, file, describe_item(node, "table", prefix), prefix + ".",
              {"name", "set", "columns"}, problems_);
    if (!m.ok()) return;
    WebApiTable t;
    t.where = m.where();
    if (m.require("name", "add name: the table's logical name, e.g. account"))
      if (auto v = m.text("name")) t.name = *v;
    if (auto v = m.text("set")) t.set = *v;
    for (const std::string& name : {t.name, t.set})
      if (!name.empty() && name.find_first_of("()/?#% ") != std::string::npos)
        problems_.error(m.where(name == t.name ? "name" : "set"),
                        prefix + ": '" + name + "' cannot appear in a URL path segment");
    if (m.has("columns")) {
      const yaml::Node& columns = m.node("columns");
      if (!columns.is_map()) {
        problems_.error(m.where("columns"), m.field("columns") +
                                                ": expected a mapping of column: type, e.g. "
                                                "{revenue: money, industrycode: optionset}");
      } else {
        for (std::size_t i = 0; i < columns.map_size(); ++i) {
          SourceLocation where = yaml::location_of(file, columns.value(i));
          const std::string& column = columns.key(i).text;
          std::string type = columns.value(i).is_scalar() ? columns.value(i).text : "";
          auto kind = column_kind(type);
          if (!kind)
            problems_.error(where, m.field("columns") + "." + column + ": '" + type +
                                       "' is not a column type; use string, int, bigint, bool, "
                                       "double, decimal, money, optionset, multioptionset, "
                                       "datetime or guid");
          else
            t.columns.emplace_back(column, *kind);
        }
      }
    }
    registration_.http.tables.push_back(std::move(t));
  }

  static std::optional<ValueKind> column_kind(std::string_view type) {
    static const std::vector<std::pair<std::string_view, ValueKind>> kinds = {
        {"string", ValueKind::string},
        {"int", ValueKind::integer},
        {"bigint", ValueKind::big_integer},
        {"bool", ValueKind::boolean},
        {"double", ValueKind::floating},
        {"decimal", ValueKind::decimal},
        {"money", ValueKind::money},
        {"optionset", ValueKind::option_set},
        {"multioptionset", ValueKind::multi_option_set},
        {"datetime", ValueKind::date_time},
        {"guid", ValueKind::guid}};
    for (const auto& [name, kind] : kinds)
      if (name == type) return kind;
    return std::nullopt;
  }

  // Without API keys anyone who reaches the port can run operations: only this machine may.
  void finish_http() {
    HttpSettings& http = registration_.http;
    if (!http.enabled) return;
    for (auto& key : http.api_keys)
      if (key.user.is_nil()) key.user = registration_.host.default_user_id;
    if (http.api_keys.empty() && !is_loopback(http.address))
      problems_.error(http.listen_where,
                      "http.listen: " + http.address +
                          " can be reached from other machines and no http.api_keys are set; "
                          "add api_keys, or listen on 127.0.0.1");
    const auto& tables = http.tables;
    for (auto part : {&WebApiTable::name, &WebApiTable::set})
      for_each_repeat(
          tables.size(), [&](std::size_t i) -> const std::string& { return tables[i].*part; },
          [&](std::size_t later, std::size_t first) {
            const std::string& name = tables[later].*part;
            if (!name.empty())
              problems_.error(tables[later].where,
                              "http.tables: '" + name + "' is already listed at " +
                                  tables[first].where.str() + "; list each table and set once");
          });
  }

  // host.store: `sqlite`, or `{postgresql: URL}` with the URL from ${env:..} or ${file:..}.
  void read_store(yaml::Mapping& host, const std::string& file, const fs::path& folder,
                  StoreSettings& store) {
    store.where = host.where("store");
    const yaml::Node& node = host.node("store");
    if (node.is_scalar()) {
      if (node.text == "sqlite") return;
      problems_.error(store.where,
                      node.text == "postgresql"
                          ? "host.store: postgresql needs the database URL; write store: "
                            "{postgresql: ${env:STEPLINE_DATABASE_URL}}"
                          : "host.store: '" + node.text +
                                "' is not a store; use sqlite, or {postgresql: "
                                "${env:STEPLINE_DATABASE_URL}}");
      return;
    }
    Mapping m(node, file, "host.store", "host.store.", {"sqlite", "postgresql"}, problems_);
    if (!m.ok()) return;
    if (m.has("sqlite") == m.has("postgresql")) {
      problems_.error(store.where,
                      "host.store: give one store: sqlite, or {postgresql: "
                      "${env:STEPLINE_DATABASE_URL}}");
      return;
    }
    if (m.has("sqlite")) {
      problems_.error(m.where("sqlite"),
                      "host.store.sqlite: takes no settings (the database is stepline.db in "
                      "host.data_folder); write store: sqlite");
      return;
    }
    store.kind = StoreKind::postgresql;
    store.where = m.where("postgresql");
    auto raw = m.text("postgresql");
    if (!raw) return;
    warn_about_written_password(m, *raw);
    auto url = detail::resolve_references(*raw, folder, m.where("postgresql"),
                                          "host.store.postgresql", problems_);
    if (!url) return;
    if (auto problem = database_url_problem(*url); !problem.empty())
      problems_.error(m.where("postgresql"), "host.store.postgresql: " + problem);
    else
      store.url = std::move(*url);
  }

  // A password written into the file travels wherever the file goes.
  void warn_about_written_password(yaml::Mapping& m, const std::string& raw) {
    if (raw.find("${") != std::string::npos) return;
    auto scheme = raw.find("://");
    auto at = raw.find('@');
    bool in_url = scheme != std::string::npos && at != std::string::npos &&
                  raw.substr(scheme + 3, at - scheme - 3).find(':') != std::string::npos;
    if (in_url || raw.find("password=") != std::string::npos)
      problems_.warning(m.where("postgresql"),
                        "host.store.postgresql: the database password is written in the "
                        "registration file; read the URL with ${env:NAME} or ${file:PATH} so the "
                        "file can be shared");
  }

  /// What is wrong with a PostgreSQL connection string at a glance (libpq checks the rest when it
  /// connects); empty when nothing is. Never quotes the value: it may hold a password.
  static std::string database_url_problem(const std::string& url) {
    if (url.empty())
      return "the database URL is empty; set it to postgresql://USER:PASSWORD@HOST:PORT/DATABASE";
    if (url.starts_with("postgresql://") || url.starts_with("postgres://")) return {};
    if (url.find('=') != std::string::npos) return {};  // libpq's key=value form
    return "not a PostgreSQL connection string: write postgresql://USER:PASSWORD@HOST:PORT/"
           "DATABASE (or libpq's key=value form)";
  }

  void finish_host() {
    HostSettings& host = registration_.host;
    const fs::path root_folder = root_.parent_path();
    if (host.plugin_folder.empty()) host.plugin_folder = resolve_folder(root_folder, "plugins");
    if (host.data_folder.empty()) host.data_folder = resolve_folder(root_folder, "data");
    if (host.where.file.empty()) host.where = {root_.string(), 1, 1};
    if (host.store.where.file.empty()) host.store.where = host.where;
    // Ids not given are derived from the organization name, so contexts never carry nil ids and
    // the same registration gives the same ids on every machine.
    const std::string& org = host.organization_name;
    host.organization_id = organization_id_.value_or(name_based_id("organization:" + org));
    host.business_unit_id = business_unit_id_.value_or(name_based_id("business-unit:" + org));
    host.default_user_id = default_user_id_.value_or(name_based_id("user:" + org));
  }

  void read_plugin(const yaml::Node& node, const std::string& file, const std::string& prefix) {
    Mapping m(node, file, "a plug-in entry (" + prefix + ")", prefix + ".", {"file", "sha256"},
              problems_);
    if (!m.ok()) return;
    PluginLibrary plugin;
    plugin.where = m.where();
    if (m.require("file", "add file: LIBRARY.so (relative to host.plugin_folder)"))
      if (auto v = m.text("file")) plugin.file = *v;
    if (auto v = m.text("sha256")) {
      std::string hex = text::lower(*v);
      if (hex.size() != 64 || hex.find_first_not_of("0123456789abcdef") != std::string::npos)
        problems_.error(
            m.where("sha256"),
            m.field("sha256") + ": expected 64 hexadecimal digits; print them with sha256sum FILE");
      else
        plugin.sha256 = hex;
    }
    if (!plugin.file.empty()) registration_.plugins.push_back(std::move(plugin));
  }

  void resolve_plugin_files() {
    std::map<fs::path, SourceLocation> seen;
    for (auto& plugin : registration_.plugins) {
      if (plugin.file.is_relative())
        plugin.file = (registration_.host.plugin_folder / plugin.file).lexically_normal();
      auto [it, inserted] = seen.emplace(plugin.file, plugin.where);
      if (!inserted)
        problems_.error(plugin.where, "plugins: " + plugin.file.filename().string() +
                                          " is already listed at " + it->second.str() +
                                          "; list each library once");
    }
  }

  void read_endpoint(const yaml::Node& node, const std::string& file, const fs::path& folder,
                     const std::string& prefix) {
    Mapping m(node, file, describe_item(node, "endpoint", prefix), "",
              {"name", "contract", "format", "connection", "path", "user_claim", "auth", "retry",
               "max_message_size", "size_policy", "order", "partition_key", "reply_to", "timeout",
               "url", "signature", "claim_check"},
              problems_);
    if (!m.ok()) return;
    ServiceEndpoint e;
    e.where = m.where();
    if (auto v = m.text("name"); v && !v->empty()) {
      e.name = *v;
      endpoint_names_.push_back({e.name, m.where("name")});
    }
    m.require("name", "add name: a unique name that steps use in handler: endpoint:");
    bool has_contract =
        m.require("contract", "add contract: queue, topic, eventhub, twoway or webhook");
    if (auto v = m.choice<Contract>("contract", {{"queue", Contract::queue},
                                                 {"topic", Contract::topic},
                                                 {"eventhub", Contract::eventhub},
                                                 {"twoway", Contract::twoway},
                                                 {"webhook", Contract::webhook}}))
      e.contract = *v;
    else
      has_contract = false;
    if (auto v = m.choice<std::string>("format", registered_formats())) e.format = *v;
    if (auto v = m.choice<UserClaim>("user_claim", {{"none", UserClaim::none},
                                                    {"user-id", UserClaim::user_id},
                                                    {"user-info", UserClaim::user_info}}))
      e.user_claim = *v;
    const bool webhook = has_contract && e.contract == Contract::webhook;
    if (!webhook)
      if (auto v = m.choice<AuthMechanism>(
              "auth", {{"cbs", AuthMechanism::cbs}, {"plain", AuthMechanism::plain}}))
        e.auth = *v;
    if (auto v = m.choice<SizePolicy>("size_policy", {{"truncate", SizePolicy::truncate},
                                                      {"fail", SizePolicy::fail},
                                                      {"claim-check", SizePolicy::claim_check}}))
      e.size_policy = *v;
    if (auto v = m.choice<Ordering>(
            "order", {{"none", Ordering::none}, {"per-record", Ordering::per_record}}))
      e.order = *v;
    if (auto v = m.size("max_message_size")) e.max_message_size = *v;
    if (auto v = m.text("partition_key")) e.partition_key = *v;
    if (auto v = m.text("reply_to")) e.reply_to = *v;
    if (auto v = m.duration("timeout")) {
      if (v->count() == 0)
        problems_.error(m.where("timeout"), "timeout: must be longer than 0ms");
      else
        e.timeout = *v;
    }
    if (auto v = m.text("path")) e.path = *v;
    if (m.has("retry")) read_retry(m.node("retry"), file, m.what(), e.retry);
    detail::read_claim_check(m, folder, e, problems_);
    if (webhook) {
      detail::read_webhook(m, folder, e, problems_);
      registration_.endpoints.push_back(std::move(e));
      return;
    }
    for (std::string_view key : {"url", "signature"})
      if (m.has(key))
        problems_.error(m.where(key), std::string(key) +
                                          ": only webhook endpoints (contract: webhook) have " +
                                          std::string(key) + "; remove it");

    bool connection_read = false;
    if (m.require("connection",
                  "add connection: ${env:NAME} naming a variable that holds the connection "
                  "string (or ${file:PATH})")) {
      if (auto raw = m.text("connection")) {
        warn_about_written_secrets(m, *raw);
        if (auto resolved = detail::resolve_references(*raw, folder, m.where("connection"),
                                                       "connection", problems_))
          connection_read = read_connection(m, *resolved, e);
      }
    }
    if (connection_read) check_endpoint_credentials(m, e);
    if (has_contract && m.ok()) check_endpoint_contract(m, e, connection_read);
    registration_.endpoints.push_back(std::move(e));
  }

  // A key written into the file travels wherever the file goes (version control, tickets).
  void warn_about_written_secrets(yaml::Mapping& m, const std::string& raw) {
    auto parts = split_connection_string(raw);
    if (!parts) return;
    for (const auto& part : *parts) {
      bool secret = part.key == "SharedAccessKey" || part.key == "SharedAccessSignature";
      if (secret && !part.value.empty() && part.value.find("${") == std::string::npos)
        problems_.warning(m.where("connection"),
                          "connection: the " + part.key +
                              " is written in the registration file; read it with ${env:NAME} "
                              "or ${file:PATH} so the file can be shared");
    }
  }

  void read_retry(const yaml::Node& node, const std::string& file, const std::string& what,
                  RetryPolicy& retry) {
    Mapping m(node, file, "the retry policy of " + what, "retry.",
              {"max_attempts", "base_delay", "max_delay", "jitter"}, problems_);
    if (!m.ok()) return;
    if (auto v = m.integer("max_attempts", 1, 1000)) retry.max_attempts = static_cast<int>(*v);
    if (auto v = m.duration("base_delay")) retry.base_delay = *v;
    if (auto v = m.duration("max_delay")) retry.max_delay = *v;
    if (auto v = m.number("jitter", 0.0, 1.0)) retry.jitter = *v;
    if (retry.base_delay > retry.max_delay)
      problems_.error(m.has("base_delay") ? m.where("base_delay") : m.where("max_delay"),
                      "retry.base_delay (" + format_duration(retry.base_delay) +
                          ") is longer than retry.max_delay (" + format_duration(retry.max_delay) +
                          "); make base_delay the shorter one");
  }

  // Every problem of the connection string, then the parsed value the poster uses as it is.
  bool read_connection(yaml::Mapping& m, const std::string& text, ServiceEndpoint& e) {
    auto complaints = check_connection_string(text);
    for (auto& complaint : complaints)
      problems_.error(m.where("connection"), "connection: " + complaint);
    if (!complaints.empty()) return false;
    try {
      e.connection = ConnectionString::parse(text);
    } catch (const azure::ConnectionStringError& error) {
      problems_.error(m.where("connection"), std::string("connection: ") + error.what());
      return false;
    }
    return true;
  }

  void check_endpoint_credentials(yaml::Mapping& m, const ServiceEndpoint& e) {
    if (e.auth == AuthMechanism::plain && !e.connection.has_key())
      problems_.error(m.where("auth"),
                      "auth: plain sends SharedAccessKeyName and SharedAccessKey, which the "
                      "connection string does not have; add them or use auth: cbs");
    else if (!e.connection.has_key() && !e.connection.has_signature())
      problems_.warning(m.where("connection"),
                        "connection: the connection string has no SharedAccessKey or "
                        "SharedAccessSignature; only a broker that accepts anonymous clients "
                        "will take the posts");
  }

  // The entity is `path`, else EntityPath. A path beside EntityPath names the same entity, or for
  // an event hub one of its partitions.
  void check_endpoint_contract(yaml::Mapping& m, ServiceEndpoint& e, bool connection_read) {
    const std::string& entity_path = e.connection.entity_path;
    const bool partition_of_entity_path = e.contract == Contract::eventhub &&
                                          e.path.starts_with(entity_path + "/Partitions/") &&
                                          e.path.size() > entity_path.size() + 12;
    if (e.path.empty() && !entity_path.empty()) {
      e.path = entity_path;
    } else if (!e.path.empty() && !entity_path.empty() && e.path != entity_path &&
               !partition_of_entity_path) {
      problems_.error(m.where("path"),
                      "path: '" + e.path +
                          "' differs from the connection string's EntityPath; make them the same "
                          "or drop one" +
                          (e.contract == Contract::eventhub
                               ? " (or name a partition of the hub, EntityPath/Partitions/<id>)"
                               : ""));
    } else if (e.path.empty() && (connection_read || !m.has("connection"))) {
      problems_.error(m.where(),
                      m.what() + " needs 'path'; add path: followed by the " +
                          (e.contract == Contract::eventhub ? "event hub" : "queue or topic") +
                          " name");
    }
    if (!e.partition_key.empty() && e.contract != Contract::eventhub)
      problems_.warning(m.where("partition_key"),
                        "partition_key: only event hubs use a partition key; remove it");
    if (!e.reply_to.empty() && e.contract != Contract::twoway)
      problems_.warning(m.where("reply_to"),
                        "reply_to: only twoway endpoints wait for a reply; remove it");
  }

  void read_step(const yaml::Node& node, const std::string& file, const fs::path& folder,
                 const std::string& prefix) {
    Mapping m(node, file, describe_item(node, "step", prefix), "",
              {"id", "name", "message", "entity", "stage", "mode", "rank", "filtering_attributes",
               "handler", "configuration", "secure_configuration", "images", "enabled",
               "can_be_bypassed", "auto_delete", "run_as", "isolation", "timeout"},
              problems_);
    if (!m.ok()) return;
    Step s;
    s.where = m.where();
    if (auto v = m.text("name"); v && !v->empty()) s.name = *v;
    m.require("name", "add name: a unique name for the step (its id is derived from it)");
    if (auto v = m.guid("id")) {
      s.id = *v;
    } else if (!s.name.empty()) {
      s.id = step_id_from_name(s.name);
    }
    const SourceLocation name_where = m.where("name");
    const SourceLocation id_where = m.has("id") ? m.where("id") : name_where;
    step_marks_.push_back(
        {name_where.line, name_where.column, id_where.line, id_where.column, m.has("id")});

    if (m.require("message", "add message: Create, Update, Delete or a custom message name")) {
      if (auto v = m.text("message")) {
        s.message = *v;
        for (auto known : well_known_messages)
          if (known != *v && text::iequals(known, *v))
            problems_.error(m.where("message"), "message: names are case-sensitive; write " +
                                                    std::string(known) + " instead of " + *v);
      }
    }
    if (auto v = m.text("entity"); v && *v != "any") s.entity = *v;
    bool has_stage =
        m.require("stage", "add stage: pre-validation, pre-operation or post-operation");
    if (auto v = m.choice<Stage>("stage", stage_choices))
      s.stage = *v;
    else
      has_stage = false;
    if (auto v =
            m.choice<Mode>("mode", {{"sync", Mode::synchronous}, {"async", Mode::asynchronous}}))
      s.mode = *v;
    if (auto v = m.integer("rank", -2147483647, 2147483647)) s.rank = static_cast<int>(*v);
    if (auto v = m.names("filtering_attributes")) s.filtering_attributes = *v;
    if (auto v = m.text("configuration")) s.unsecure_configuration = *v;
    if (auto raw = m.text("secure_configuration"))
      if (auto v = detail::resolve_references(*raw, folder, m.where("secure_configuration"),
                                              "secure_configuration", problems_))
        s.secure_configuration = *v;
    if (auto v = m.boolean("enabled")) s.enabled = *v;
    if (auto v = m.boolean("can_be_bypassed")) s.can_be_bypassed = *v;
    if (auto v = m.boolean("auto_delete")) s.auto_delete = *v;
    if (auto v = m.guid("run_as")) s.run_as = *v;
    if (auto v = m.choice<IsolationMode>(
            "isolation", {{"none", IsolationMode::none}, {"process", IsolationMode::process}}))
      s.isolation = *v;
    if (auto v = m.duration("timeout")) {
      if (v->count() <= 0)
        problems_.error(m.where("timeout"), "timeout: must be longer than 0ms");
      else
        s.timeout = *v;
      if (s.isolation != IsolationMode::process && s.mode != Mode::asynchronous)
        problems_.warning(m.where("timeout"),
                          "timeout: a sync step in process cannot be stopped when it runs too "
                          "long (only isolation: process or mode: async enforce it); add "
                          "isolation: process or remove the timeout");
    }
    if (m.require("handler", "add handler: with plugin: TYPE or endpoint: NAME"))
      read_handler(m, file, s);

    if (has_stage && s.mode == Mode::asynchronous && s.stage != Stage::post_operation)
      problems_.error(m.where("mode"),
                      "mode: async steps can run only at post-operation; set "
                      "stage: post-operation or mode: sync");
    if (!s.filtering_attributes.empty() && !s.message.empty() && s.message != "Update")
      problems_.error(m.where("filtering_attributes"),
                      "filtering_attributes: only Update steps can be filtered and this step is "
                      "on " +
                          s.message + "; remove the list or register the step on Update");
    if (s.auto_delete && s.mode == Mode::synchronous)
      problems_.warning(m.where("auto_delete"),
                        "auto_delete: only async steps leave system jobs to delete; remove it or "
                        "set mode: async");
    if (!s.endpoint.empty()) {
      for (std::string_view key : {"configuration", "secure_configuration"})
        if (m.has(key))
          problems_.warning(m.where(key), std::string(key) +
                                              ": endpoint steps take no configuration (the "
                                              "endpoint carries its settings); remove it");
      if (s.isolation == IsolationMode::process)
        problems_.warning(m.where("isolation"),
                          "isolation: endpoint steps run no plug-in code; remove it");
    }
    if (m.has("images")) read_images(m, file, s, has_stage);
    registration_.steps.push_back(std::move(s));
  }

  void read_handler(yaml::Mapping& step, const std::string& file, Step& s) {
    Mapping h(step.node("handler"), file, "the handler of " + step.what(), "handler.",
              {"plugin", "endpoint"}, problems_);
    if (!h.ok()) return;
    if (auto v = h.text("plugin")) {
      s.plugin_type = *v;
      s.handler_where = h.where("plugin");
    }
    if (auto v = h.text("endpoint")) {
      s.endpoint = *v;
      s.handler_where = h.where("endpoint");
    }
    if (h.has("plugin") && h.has("endpoint")) {
      problems_.error(h.where("endpoint"),
                      "handler: name either plugin: or endpoint:, not both; "
                      "register two steps to do both");
      s.endpoint.clear();
      s.handler_where = h.where("plugin");
    } else if (!h.has("plugin") && !h.has("endpoint")) {
      problems_.error(h.where(),
                      "handler: add plugin: TYPE (a plug-in type) or endpoint: NAME "
                      "(a declared endpoint)");
    }
  }

  void read_images(yaml::Mapping& step, const std::string& file, Step& s, bool has_stage) {
    const yaml::Node& list = step.node("images");
    if (!list.is_sequence()) {
      problems_.error(step.where("images"),
                      "images: expected a list of images, each starting with '- '");
      return;
    }
    std::size_t index = 0;
    for (const auto& node : list.items) {
      std::string prefix = "images[" + std::to_string(index++) + "].";
      Mapping m(node, file, "an image of " + step.what(), prefix, {"alias", "kind", "columns"},
                problems_);
      if (!m.ok()) continue;
      StepImage image;
      image.where = m.where();
      if (m.require("alias", "add alias: the key the image has in the context, e.g. pre"))
        if (auto v = m.text("alias")) image.alias = *v;
      if (auto v = m.choice<ImageKind>(
              "kind",
              {{"pre", ImageKind::pre}, {"post", ImageKind::post}, {"both", ImageKind::both}}))
        image.kind = *v;
      if (auto v = m.names("columns")) image.columns = *v;
      bool pre = image.kind != ImageKind::post, post = image.kind != ImageKind::pre;
      SourceLocation where = m.where("kind");
      std::string field = m.field("kind");
      if (pre && s.message == "Create")
        problems_.error(where, field +
                                   ": a Create step cannot have a pre-image (the record does "
                                   "not exist yet); use kind: post at post-operation");
      else if (post && s.message == "Delete")
        problems_.error(where, field +
                                   ": a Delete step cannot have a post-image (the record is "
                                   "gone); use kind: pre");
      else if (post && has_stage && s.stage != Stage::post_operation)
        problems_.error(where, field +
                                   ": post-images exist only at post-operation; use kind: "
                                   "pre or stage: post-operation");
      if (!image.alias.empty()) {
        auto same = std::find_if(s.images.begin(), s.images.end(),
                                 [&](const StepImage& i) { return i.alias == image.alias; });
        if (same != s.images.end())
          problems_.error(m.where("alias"), m.field("alias") + ": '" + image.alias +
                                                "' is already used by the image at " +
                                                same->where.str() +
                                                "; give each image its own alias");
      }
      s.images.push_back(std::move(image));
    }
  }

  void check_unique_names() {
    report_duplicates(endpoint_names_, "endpoint");
    const auto& steps = registration_.steps;
    for_each_repeat(
        steps.size(), [&](std::size_t i) -> const std::string& { return steps[i].name; },
        [&](std::size_t later, std::size_t first) {
          if (!steps[later].name.empty())
            problems_.error(name_where(later),
                            already_named("step", steps[later].name, name_where(first)));
        });
    for_each_repeat(
        steps.size(), [&](std::size_t i) { return steps[i].id; },
        [&](std::size_t later, std::size_t first) {
          // Two derived ids collide only when the names do, which is reported already.
          if (steps[later].id.is_nil() ||
              !(step_marks_[later].id_given || step_marks_[first].id_given))
            return;
          problems_.error(id_where(later),
                          "id: " + steps[later].id.str() + " is already the id of the step at " +
                              id_where(first).str() + "; give each step its own id");
        });
    check_api_keys();
  }

  SourceLocation name_where(std::size_t step) const {
    const StepMarks& m = step_marks_[step];
    return {registration_.steps[step].where.file, m.name_line, m.name_column};
  }

  SourceLocation id_where(std::size_t step) const {
    const StepMarks& m = step_marks_[step];
    return {registration_.steps[step].where.file, m.id_line, m.id_column};
  }

  // Each API key its own name, for logs, and its own key: requests with a shared key could not
  // tell their clients apart.
  void check_api_keys() {
    const auto& keys = registration_.http.api_keys;
    for_each_repeat(
        keys.size(), [&](std::size_t i) -> const std::string& { return keys[i].name; },
        [&](std::size_t later, std::size_t first) {
          if (!keys[later].name.empty())
            problems_.error(
                api_key_marks_[later].name_where,
                already_named("API key", keys[later].name, api_key_marks_[first].name_where));
        });
    for_each_repeat(
        keys.size(), [&](std::size_t i) -> const std::string& { return keys[i].key; },
        [&](std::size_t later, std::size_t first) {
          if (keys[later].key.empty()) return;
          const ApiKeyMarks& m = api_key_marks_[later];
          problems_.error(m.key_where, m.key_field + ": the same key as API key '" +
                                           keys[first].name + "' at " + keys[first].where.str() +
                                           "; give each client its own key");
        });
  }

  static std::string already_named(std::string_view kind, const std::string& name,
                                   const SourceLocation& first) {
    const bool vowel = kind == "endpoint" || kind == "API key";
    return "name: there is already a" + std::string(vowel ? "n " : " ") + std::string(kind) +
           " named '" + name + "' at " + first.str() + "; give each " + std::string(kind) +
           " its own name";
  }

  void report_duplicates(const std::vector<Named>& names, std::string_view kind) {
    std::map<std::string, SourceLocation> first;
    for (const auto& n : names) {
      auto [it, inserted] = first.emplace(n.name, n.where);
      if (!inserted) problems_.error(n.where, already_named(kind, n.name, it->second));
    }
  }

  void check_handlers() {
    std::vector<std::string_view> declared;
    for (const auto& e : registration_.endpoints) declared.push_back(e.name);
    for (const auto& s : registration_.steps) {
      if (s.endpoint.empty() || registration_.find_endpoint(s.endpoint)) continue;
      std::string message = "handler.endpoint: no endpoint named '" + s.endpoint + "' is declared";
      if (auto suggestion = yaml::closest(s.endpoint, declared))
        message += "; did you mean '" + *suggestion + "'?";
      else
        message += "; declare it under endpoints: or correct the name";
      problems_.error(s.handler_where, std::move(message));
    }
  }

  void sort_problems() {
    auto file_rank = [&](const std::string& file) {
      for (std::size_t i = 0; i < registration_.files.size(); ++i)
        if (registration_.files[i].string() == file) return i;
      return registration_.files.size();
    };
    std::stable_sort(
        problems_.list.begin(), problems_.list.end(), [&](const Problem& a, const Problem& b) {
          auto ka = std::make_tuple(file_rank(a.where.file), a.where.line, a.where.column);
          auto kb = std::make_tuple(file_rank(b.where.file), b.where.line, b.where.column);
          return ka < kb;
        });
  }

  fs::path root_;
  Registration registration_;
  yaml::Problems problems_;
  std::vector<fs::path> stack_;
  std::vector<fs::path> done_;
  std::optional<SourceLocation> host_where_;
  std::optional<SourceLocation> http_where_;
  std::optional<Guid> organization_id_, business_unit_id_, default_user_id_;
  std::vector<Named> endpoint_names_;
  /// Where each step of registration_.steps (same order, same file) writes its name and id, for
  /// the checks of the whole registration.
  struct StepMarks {
    int name_line, name_column;
    int id_line, id_column;
    bool id_given;  ///< written as `id:` rather than derived from the name
  };
  std::vector<StepMarks> step_marks_;
  /// Where each API key of registration_.http.api_keys (same order) writes its name and key.
  struct ApiKeyMarks {
    SourceLocation name_where, key_where;
    std::string key_field;  ///< "http.api_keys[2].key"
  };
  std::vector<ApiKeyMarks> api_key_marks_;
};

std::string summary(const std::vector<Problem>& problems) {
  std::string out;
  std::size_t errors = 0;
  for (const auto& p : problems) {
    if (p.severity != Severity::error) continue;
    ++errors;
    out += '\n';
    out += p.str();
  }
  return "the registration has " + std::to_string(errors) + " error" + (errors == 1 ? "" : "s") +
         ":" + out;
}

}  // namespace

RegistrationError::RegistrationError(std::vector<Problem> problems)
    : std::runtime_error(summary(problems)), problems_(std::move(problems)) {}

bool LoadResult::has_errors() const {
  return std::any_of(problems.begin(), problems.end(),
                     [](const Problem& p) { return p.severity == Severity::error; });
}

LoadResult read(const fs::path& path) {
  return Loader(path).run();
}

Registration load(const fs::path& path) {
  LoadResult result = read(path);
  if (result.has_errors()) throw RegistrationError(std::move(result.problems));
  return std::move(result.registration);
}

std::vector<Problem> check_plugin_types(const Registration& registration,
                                        const std::vector<std::string>& exported_types) {
  const std::vector<std::string_view> exported(exported_types.begin(), exported_types.end());
  std::vector<Problem> problems;
  for (const auto& s : registration.steps) {
    if (s.plugin_type.empty() ||
        std::find(exported.begin(), exported.end(), s.plugin_type) != exported.end())
      continue;
    std::string message =
        "handler.plugin: no plug-in library exports the type '" + s.plugin_type + "'";
    if (auto suggestion = yaml::closest(s.plugin_type, exported))
      message += "; did you mean '" + *suggestion + "'?";
    else
      message += "; correct the type name or list the library that has it under plugins:";
    problems.push_back({s.handler_where, std::move(message), Severity::error});
  }
  return problems;
}

}  // namespace stepline::registration
