// The `dataverse-json` format (docs/FORMATS.md, DataContractJsonSerializer conventions).
//
// Written by hand into a string because DataContractJsonSerializer escapes every '/' as "\/",
// which RapidJSON's writer cannot do. Read with RapidJSON, keeping each number's exact text so
// that Money and decimal values come back digit for digit.
#include <stepline/format/dataverse_json.hpp>

#include <charconv>
#include <cmath>
#include <cstring>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <stepline/format/format.hpp>

#include "context_fields.hpp"
#include "json_codec.hpp"
#include "json_document.hpp"

namespace stepline::format::dataverse_json {
namespace {

using detail::Path;

constexpr std::string_view contracts_ns =
    "http:\\/\\/schemas.microsoft.com\\/xrm\\/2011\\/Contracts";

// --- writing ---------------------------------------------------------------------------------

class Out {
 public:
  void raw(std::string_view s) { text_ += s; }
  void raw(char c) { text_ += c; }

  void string(std::string_view s) {
    text_ += '"';
    for (char ch : s) {
      auto c = static_cast<unsigned char>(ch);
      switch (c) {
        case '"':
          text_ += "\\\"";
          break;
        case '\\':
          text_ += "\\\\";
          break;
        case '/':
          text_ += "\\/";
          break;
        case '\b':
          text_ += "\\b";
          break;
        case '\f':
          text_ += "\\f";
          break;
        case '\n':
          text_ += "\\n";
          break;
        case '\r':
          text_ += "\\r";
          break;
        case '\t':
          text_ += "\\t";
          break;
        default:
          if (c < 0x20) {
            static constexpr char hex[] = "0123456789abcdef";
            text_ += "\\u00";
            text_ += hex[c >> 4];
            text_ += hex[c & 0xf];
          } else {
            text_ += ch;
          }
      }
    }
    text_ += '"';
  }

  /// `"Name":` preceded by a comma unless it opens the object.
  void key(std::string_view name, bool first = false) {
    if (!first) text_ += ',';
    text_ += '"';
    text_ += name;
    text_ += "\":";
  }

  void integer(std::int64_t v) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    text_.append(buf, end);
  }

  void floating(double d) {
    if (!std::isfinite(d)) {
      string(std::isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
      return;
    }
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
    std::string_view s(buf, static_cast<std::size_t>(end - buf));
    text_ += s;
    // Keep a fraction so a reader can tell the double from an integer.
    if (s.find_first_of(".e") == std::string_view::npos) text_ += ".0";
  }

  void guid(const Guid& g) {
    text_ += '"';
    text_ += g.str();
    text_ += '"';
  }

  void date(DateTime t, bool with_offset) {
    text_ += "\"\\/Date(";
    integer(t.time_since_epoch().count());
    if (with_offset) text_ += "+0000";
    text_ += ")\\/\"";
  }

  void type_hint(std::string_view contract) {
    text_ += "\"__type\":\"";
    text_ += contract;
    text_ += ':';
    text_ += contracts_ns;
    text_ += '"';
  }

  /// `{` and, for a non-empty `contract`, its "__type" hint; the first member is key(…, true).
  void open(std::string_view contract) {
    text_ += '{';
    if (contract.empty()) return;
    type_hint(contract);
    text_ += ',';
  }

  void null_or_string(std::string_view s) {
    if (s.empty())
      raw("null");
    else
      string(s);
  }

  std::string take() { return std::move(text_); }

 private:
  std::string text_;
};

void write_value(Out& o, const Value& v);

/// A map as DataContract writes a dictionary, `[{"key":…,"value":…},…]`, each value written by
/// `write_value`.
template <class Map, class WriteValue>
void write_pairs(Out& o, const Map& map, WriteValue&& write_value) {
  o.raw('[');
  bool first = true;
  for (const auto& [key, value] : map) {
    if (!first) o.raw(',');
    first = false;
    o.raw("{\"key\":");
    o.string(key);
    o.raw(",\"value\":");
    write_value(value);
    o.raw('}');
  }
  o.raw(']');
}

void write_parameters(Out& o, const ParameterCollection& p) {
  write_pairs(o, p, [&](const Value& v) { write_value(o, v); });
}

void write_entity(Out& o, const Entity& e, bool with_type) {
  o.open(with_type ? "Entity" : "");
  o.key("Attributes", true);
  write_parameters(o, e.attributes);
  o.key("EntityState");
  o.raw("null");
  o.key("FormattedValues");
  write_pairs(o, e.formatted_values, [&](const std::string& s) { o.string(s); });
  o.key("Id");
  o.guid(e.id);
  o.key("KeyAttributes");
  o.raw("[]");
  o.key("LogicalName");
  o.string(e.logical_name);
  o.key("RelatedEntities");
  o.raw("[]");
  o.key("RowVersion");
  o.null_or_string(e.row_version);
  o.raw('}');
}

void write_reference(Out& o, const EntityReference& r, bool with_type) {
  o.open(with_type ? "EntityReference" : "");
  o.key("Id", true);
  o.guid(r.id);
  o.key("KeyAttributes");
  o.raw("[]");
  o.key("LogicalName");
  o.string(r.logical_name);
  o.key("Name");
  o.null_or_string(r.name);
  o.key("RowVersion");
  o.raw("null");
  o.raw('}');
}

void write_value(Out& o, const Value& v) {
  switch (v.kind()) {
    case ValueKind::null:
      o.raw("null");
      return;
    case ValueKind::string:
      o.string(v.as<std::string>());
      return;
    case ValueKind::integer:
      o.integer(v.as<std::int32_t>());
      return;
    case ValueKind::big_integer:
      o.integer(v.as<std::int64_t>());
      return;
    case ValueKind::boolean:
      o.raw(v.as<bool>() ? "true" : "false");
      return;
    case ValueKind::floating:
      o.floating(v.as<double>());
      return;
    case ValueKind::decimal:
      o.raw(v.as<Decimal>().str());
      return;
    case ValueKind::money:
      o.raw('{');
      o.type_hint("Money");
      o.key("Value");
      o.raw(v.as<Money>().value.str());
      o.raw('}');
      return;
    case ValueKind::option_set:
      o.raw('{');
      o.type_hint("OptionSetValue");
      o.key("Value");
      o.integer(v.as<OptionSetValue>().value);
      o.raw('}');
      return;
    case ValueKind::multi_option_set: {
      // A collection in an object slot is a plain array; each item keeps its own hint so a
      // DataContract reader rebuilds OptionSetValue objects.
      o.raw('[');
      bool first = true;
      for (auto option : v.as<OptionSetValueCollection>().values) {
        if (!first) o.raw(',');
        first = false;
        o.raw('{');
        o.type_hint("OptionSetValue");
        o.key("Value");
        o.integer(option);
        o.raw('}');
      }
      o.raw(']');
      return;
    }
    case ValueKind::date_time:
      o.date(v.as<DateTime>(), false);
      return;
    case ValueKind::guid:
      o.guid(v.as<Guid>());
      return;
    case ValueKind::entity_reference:
      write_reference(o, v.as<EntityReference>(), true);
      return;
    case ValueKind::entity:
      write_entity(o, v.as<Entity>(), true);
      return;
    case ValueKind::entity_collection: {
      const auto& c = v.as<EntityCollection>();
      o.raw('{');
      o.type_hint("EntityCollection");
      o.key("Entities");
      o.raw('[');
      for (std::size_t i = 0; i < c.entities.size(); ++i) {
        if (i) o.raw(',');
        write_entity(o, c.entities[i], false);
      }
      o.raw(']');
      o.key("EntityName");
      o.null_or_string(c.entity_name);
      o.key("MinActiveRowVersion");
      o.raw("null");
      o.key("MoreRecords");
      o.raw(c.more_records ? "true" : "false");
      o.key("PagingCookie");
      o.null_or_string(c.paging_cookie);
      o.key("TotalRecordCount");
      o.integer(c.total_record_count);
      o.key("TotalRecordCountLimitExceeded");
      o.raw("false");
      o.raw('}');
      return;
    }
  }
}

void write_images(Out& o, const EntityImageCollection& images) {
  write_pairs(o, images, [&](const Entity& e) { write_entity(o, e, false); });
}

void write_context(Out& o, const ExecutionContext& c);

/// Writes a context member's value; which overload runs is the member's type.
struct MemberWriter {
  Out& o;

  void operator()(const std::string& s) const { o.string(s); }
  void operator()(const Guid& g) const { o.guid(g); }
  void operator()(int n) const { o.integer(n); }
  void operator()(Stage stage) const { o.integer(static_cast<int>(stage)); }
  void operator()(Mode mode) const { o.integer(static_cast<int>(mode)); }
  void operator()(IsolationMode mode) const { o.integer(static_cast<int>(mode)); }
  void operator()(bool b) const { o.raw(b ? "true" : "false"); }
  // OperationCreatedOn, the context's one date, carries the "+0000" offset as Dataverse's does.
  void operator()(DateTime t) const { o.date(t, true); }
  void operator()(const ParameterCollection& p) const { write_parameters(o, p); }
  void operator()(const EntityImageCollection& images) const { write_images(o, images); }
  void operator()(const EntityReference& r) const { write_reference(o, r, false); }
  void operator()(const std::optional<Guid>& g) const {
    if (g)
      o.guid(*g);
    else
      o.raw("null");
  }
  void operator()(const std::shared_ptr<const ExecutionContext>& parent) const {
    if (parent)
      write_context(o, *parent);
    else
      o.raw("null");
  }
};

void write_context(Out& o, const ExecutionContext& c) {
  o.raw('{');
  bool first = true;
  detail::for_each_member<detail::contract_members>(c, [&](std::string_view name, const auto& v) {
    o.key(name, first);
    first = false;
    MemberWriter{o}(v);
  });
  o.raw('}');
}

// --- reading ---------------------------------------------------------------------------------

void parse(std::string_view text, rapidjson::Document& d) {
  // Keep each number's text: Money and decimal values must come back digit for digit.
  detail::build_document<true>(text, d);
}

using detail::number_mark;

std::string_view view(const rapidjson::Value& s) {
  return {s.GetString(), s.GetStringLength()};
}

bool is_number(const rapidjson::Value& n) {
  return n.IsString() && n.GetStringLength() > 0 && n.GetString()[0] == number_mark;
}

std::string_view number_text(const rapidjson::Value& n) {
  return view(n).substr(1);
}

bool is_text(const rapidjson::Value& n) {
  return n.IsString() && !is_number(n);
}

/// As the json format describes a node, knowing that numbers are kept as marked strings.
const char* describe(const rapidjson::Value& n) {
  return is_number(n) ? "a number" : detail::describe(n);
}

const rapidjson::Value* find(const rapidjson::Value& obj, const char* name) {
  auto it = obj.FindMember(name);
  return it == obj.MemberEnd() ? nullptr : &it->value;
}

std::string read_string(const rapidjson::Value& n, const Path& path) {
  if (n.IsNull()) return {};
  if (!is_text(n)) path.fail(std::string("expected a string, found ") + describe(n));
  return std::string(view(n));
}

Guid read_guid(const rapidjson::Value& n, const Path& path) {
  if (is_text(n))
    if (auto g = Guid::try_parse(view(n))) return *g;
  path.fail("expected a guid string like \"55555555-0000-0000-0000-0000000000ac\", found " +
            (is_text(n) ? "\"" + std::string(view(n)) + "\"" : std::string(describe(n))));
}

bool read_bool(const rapidjson::Value& n, const Path& path) {
  if (!n.IsBool()) path.fail(std::string("expected true or false, found ") + describe(n));
  return n.GetBool();
}

template <class Int>
bool parse_integer(std::string_view s, Int& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

std::int32_t read_int(const rapidjson::Value& n, const Path& path) {
  std::int32_t out = 0;
  if (!is_number(n) || !parse_integer(number_text(n), out))
    path.fail(std::string("expected a 32-bit integer, found ") +
              (is_number(n) ? std::string(number_text(n)) : describe(n)));
  return out;
}

Decimal read_decimal(const rapidjson::Value& n, const Path& path) {
  if (is_number(n)) {
    try {
      return Decimal(number_text(n));
    } catch (const std::invalid_argument&) {
      // An exponent: go through double and keep the shortest exact text.
      double d = 0;
      std::string_view s = number_text(n);
      std::from_chars(s.data(), s.data() + s.size(), d);
      return Decimal::from_double(d);
    }
  }
  path.fail(std::string("expected a decimal number like 250000.0000, found ") + describe(n));
}

/// "/Date(ms)/" or "/Date(ms+hhmm)/": milliseconds since the epoch in UTC; the offset only says
/// which zone the sender's clock was in and does not move the instant.
std::optional<DateTime> parse_date(std::string_view s) {
  if (!s.starts_with("/Date(") || !s.ends_with(")/")) return std::nullopt;
  s = s.substr(6, s.size() - 8);
  std::size_t end = 0;
  if (!s.empty() && s[0] == '-') end = 1;
  while (end < s.size() && s[end] >= '0' && s[end] <= '9') ++end;
  std::int64_t ms = 0;
  if (!parse_integer(s.substr(0, end), ms)) return std::nullopt;
  std::string_view offset = s.substr(end);
  if (!offset.empty()) {
    if (offset.size() != 5 || (offset[0] != '+' && offset[0] != '-')) return std::nullopt;
    for (char ch : offset.substr(1))
      if (ch < '0' || ch > '9') return std::nullopt;
  }
  return DateTime{std::chrono::milliseconds{ms}};
}

DateTime read_date(const rapidjson::Value& n, const Path& path) {
  if (is_text(n))
    if (auto t = parse_date(view(n))) return *t;
  path.fail(std::string("expected a date like \"\\/Date(1722582040000+0000)\\/\", found ") +
            (is_text(n) ? "\"" + std::string(view(n)) + "\"" : describe(n)));
}

/// The contract name of a "__type" hint: "Money" of "Money:http://schemas.microsoft.com/…".
std::string_view contract_of(const rapidjson::Value& obj) {
  const rapidjson::Value* t = find(obj, "__type");
  if (!t || !is_text(*t)) return {};
  std::string_view s = view(*t);
  return s.substr(0, s.find(':'));
}

Value read_value(const rapidjson::Value& n, const Path& path);

bool is_option_set_array(const rapidjson::Value& n) {
  for (const auto& item : n.GetArray()) {
    if (!item.IsObject()) return false;
    std::string_view contract = contract_of(item);
    const rapidjson::Value* v = find(item, "Value");
    if (!v || !is_number(*v) || (!contract.empty() && contract != "OptionSetValue")) return false;
  }
  return true;
}

void write_raw(rapidjson::Writer<rapidjson::StringBuffer>& w, const rapidjson::Value& n) {
  if (is_number(n)) {
    std::string_view text = number_text(n);
    w.RawValue(text.data(), text.size(), rapidjson::kNumberType);
  } else if (n.IsObject()) {
    w.StartObject();
    for (auto m = n.MemberBegin(); m != n.MemberEnd(); ++m) {
      w.Key(m->name.GetString(), m->name.GetStringLength());
      write_raw(w, m->value);
    }
    w.EndObject();
  } else if (n.IsArray()) {
    w.StartArray();
    for (const auto& item : n.GetArray()) write_raw(w, item);
    w.EndArray();
  } else {
    n.Accept(w);
  }
}

/// The JSON text of a node, numbers exactly as they were written.
std::string raw_json(const rapidjson::Value& n) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  write_raw(w, n);
  return std::string(buffer.GetString(), buffer.GetSize());
}

/// A `[{"key":…,"value":…}]` array, calling `f(key, value, path)` for each pair.
template <class F>
void for_each_pair(const rapidjson::Value& n, const Path& path, F&& f) {
  if (n.IsNull()) return;
  if (!n.IsArray())
    path.fail(std::string("expected an array of {\"key\":…,\"value\":…}, found ") + describe(n));
  std::size_t i = 0;
  for (const auto& pair : n.GetArray()) {
    Path at(path, i++);
    if (!pair.IsObject())
      at.fail(std::string("expected {\"key\":…,\"value\":…}, found ") + describe(pair));
    const rapidjson::Value* k = find(pair, "key");
    if (!k || !is_text(*k)) at.fail("expected a string \"key\"");
    const rapidjson::Value* v = find(pair, "value");
    static const rapidjson::Value null_value;
    std::string_view key = view(*k);
    f(key, v ? *v : null_value, Path(path, key));
  }
}

ParameterCollection read_parameters(const rapidjson::Value& n, const Path& path) {
  ParameterCollection out;
  for_each_pair(n, path, [&](std::string_view key, const rapidjson::Value& v, const Path& at) {
    out.insert_or_assign(std::string(key), read_value(v, at));
  });
  return out;
}

Entity read_entity(const rapidjson::Value& n, const Path& path) {
  if (!n.IsObject()) path.fail(std::string("expected an Entity object, found ") + describe(n));
  Entity e;
  if (auto* v = find(n, "LogicalName")) e.logical_name = read_string(*v, Path(path, "LogicalName"));
  if (auto* v = find(n, "Id"); v && !v->IsNull()) e.id = read_guid(*v, Path(path, "Id"));
  if (auto* v = find(n, "Attributes")) e.attributes = read_parameters(*v, Path(path, "Attributes"));
  if (auto* v = find(n, "FormattedValues"))
    for_each_pair(*v, Path(path, "FormattedValues"),
                  [&](std::string_view key, const rapidjson::Value& s, const Path& at) {
                    e.formatted_values.insert_or_assign(std::string(key), read_string(s, at));
                  });
  if (auto* v = find(n, "RowVersion")) e.row_version = read_string(*v, Path(path, "RowVersion"));
  return e;
}

EntityReference read_reference(const rapidjson::Value& n, const Path& path) {
  if (!n.IsObject())
    path.fail(std::string("expected an EntityReference object, found ") + describe(n));
  EntityReference r;
  if (auto* v = find(n, "LogicalName")) r.logical_name = read_string(*v, Path(path, "LogicalName"));
  if (auto* v = find(n, "Id"); v && !v->IsNull()) r.id = read_guid(*v, Path(path, "Id"));
  if (auto* v = find(n, "Name")) r.name = read_string(*v, Path(path, "Name"));
  return r;
}

EntityCollection read_collection(const rapidjson::Value& n, const Path& path) {
  EntityCollection c;
  if (auto* v = find(n, "EntityName")) c.entity_name = read_string(*v, Path(path, "EntityName"));
  if (auto* v = find(n, "Entities"); v && !v->IsNull()) {
    Path at(path, "Entities");
    if (!v->IsArray()) at.fail(std::string("expected an array of entities, found ") + describe(*v));
    std::size_t i = 0;
    for (const auto& e : v->GetArray()) c.entities.push_back(read_entity(e, Path(at, i++)));
  }
  if (auto* v = find(n, "MoreRecords")) c.more_records = read_bool(*v, Path(path, "MoreRecords"));
  if (auto* v = find(n, "PagingCookie"))
    c.paging_cookie = read_string(*v, Path(path, "PagingCookie"));
  if (auto* v = find(n, "TotalRecordCount"))
    c.total_record_count = read_int(*v, Path(path, "TotalRecordCount"));
  return c;
}

Value read_number(std::string_view s, const Path& path) {
  if (s.find_first_of(".eE") == std::string_view::npos) {
    std::int32_t i32 = 0;
    if (parse_integer(s, i32)) return Value(i32);
    std::int64_t i64 = 0;
    if (parse_integer(s, i64)) return Value(i64);
    path.fail("integer " + std::string(s) + " does not fit in 64 bits");
  }
  double d = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec != std::errc() || end != s.data() + s.size())
    path.fail("unreadable number " + std::string(s));
  return Value(d);
}

Value read_value(const rapidjson::Value& n, const Path& path) {
  if (n.IsNull()) return Value();
  if (n.IsBool()) return Value(n.GetBool());
  if (is_number(n)) return read_number(number_text(n), path);
  if (n.IsString()) {
    std::string_view s = view(n);
    if (auto t = parse_date(s)) return Value(*t);
    return Value(std::string(s));
  }
  if (n.IsArray()) {
    if (!is_option_set_array(n)) return Value(raw_json(n));
    OptionSetValueCollection options;
    std::size_t i = 0;
    for (const auto& item : n.GetArray()) {
      Path at(path, i++);
      options.values.push_back(read_int(item["Value"], Path(at, "Value")));
    }
    return Value(std::move(options));
  }
  std::string_view contract = contract_of(n);
  if (contract == "Entity") return Value(read_entity(n, path));
  if (contract == "EntityReference") return Value(read_reference(n, path));
  if (contract == "EntityCollection") return Value(read_collection(n, path));
  if (contract == "OptionSetValue" || contract == "Money") {
    const rapidjson::Value* v = find(n, "Value");
    if (!v) path.fail(std::string(contract) + " needs a \"Value\" member");
    Path at(path, "Value");
    if (contract == "Money") return Value(Money{read_decimal(*v, at)});
    return Value(OptionSetValue{read_int(*v, at)});
  }
  if (contract == "AliasedValue") {
    const rapidjson::Value* v = find(n, "Value");
    static const rapidjson::Value null_value;
    return read_value(v ? *v : null_value, Path(path, "Value"));
  }
  if (contract.empty())
    path.fail(
        "an object value needs a \"__type\" hint such as "
        "\"Entity:http:\\/\\/schemas.microsoft.com\\/xrm\\/2011\\/Contracts\"");
  // A known type outside Stepline's value model (KeyValuePairOfstringstring, ColumnSet, …):
  // keep its JSON text rather than refuse a context Dataverse itself produced.
  return Value(raw_json(n));
}

EntityImageCollection read_images(const rapidjson::Value& n, const Path& path) {
  EntityImageCollection out;
  for_each_pair(n, path, [&](std::string_view alias, const rapidjson::Value& v, const Path& at) {
    out.insert_or_assign(std::string(alias), read_entity(v, at));
  });
  return out;
}

ExecutionContext read_context(const rapidjson::Value& n, const Path& path);

/// Reads a context member's value from `v`; which overload runs is the member's type.
struct MemberReader {
  const rapidjson::Value& v;
  const Path& at;

  void operator()(std::string& out) const { out = read_string(v, at); }
  void operator()(Guid& out) const { out = read_guid(v, at); }
  void operator()(int& out) const { out = read_int(v, at); }
  void operator()(Stage& out) const { out = detail::stage_from(read_int(v, at), at); }
  void operator()(Mode& out) const { out = detail::mode_from(read_int(v, at), at); }
  void operator()(IsolationMode& out) const {
    out = detail::isolation_mode_from(read_int(v, at), at);
  }
  void operator()(bool& out) const { out = read_bool(v, at); }
  void operator()(DateTime& out) const { out = read_date(v, at); }
  void operator()(ParameterCollection& out) const { out = read_parameters(v, at); }
  void operator()(EntityImageCollection& out) const { out = read_images(v, at); }
  void operator()(std::optional<Guid>& out) const {
    if (!v.IsNull()) out = read_guid(v, at);
  }
  void operator()(EntityReference& out) const {
    if (!v.IsNull()) out = read_reference(v, at);
  }
  void operator()(std::shared_ptr<const ExecutionContext>& out) const {
    if (!v.IsNull()) out = std::make_shared<const ExecutionContext>(read_context(v, at));
  }
};

ExecutionContext read_context(const rapidjson::Value& n, const Path& path) {
  if (!n.IsObject())
    path.fail(std::string("expected a RemoteExecutionContext object, found ") + describe(n));
  ExecutionContext c;
  detail::MemberLookup lookup(detail::contract_members);
  for (auto m = n.MemberBegin(); m != n.MemberEnd(); ++m) {
    std::string_view key = view(m->name);
    Path at(path, key);
    // A member not in the table is one a newer sender added; a DataContract reader skips it too.
    if (const auto* member = lookup.find(key))
      detail::visit_member(c, member->member, MemberReader{m->value, at});
  }
  return c;
}

template <class T>
std::string write_with(const T& x, void (*write)(Out&, const T&)) {
  Out o;
  write(o, x);
  return o.take();
}

template <class T>
T read_with(std::string_view json, T (*read)(const rapidjson::Value&, const Path&)) {
  rapidjson::Document d;
  parse(json, d);
  return read(d, Path());
}

}  // namespace

std::string write_context(const ExecutionContext& context) {
  return write_with(context, write_context);
}

ExecutionContext read_context(std::string_view json) {
  return read_with(json, read_context);
}

std::string write_value(const Value& value) {
  return write_with(value, write_value);
}

Value read_value(std::string_view json) {
  return read_with(json, read_value);
}

namespace {

// What Dataverse posts, so that its listeners read Stepline's contexts unchanged.
const FormatRegistration dataverse_json_format({.name = "dataverse-json",
                                                .content_type = "application/json",
                                                .write = dataverse_json::write_context,
                                                .read = dataverse_json::read_context,
                                                .library = "stepline-sdk"});

}  // namespace

}  // namespace stepline::format::dataverse_json
