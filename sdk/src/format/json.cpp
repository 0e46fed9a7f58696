// The `json` format: values, entities, parameter collections and contexts (docs/FORMATS.md).
#include <stepline/format/json.hpp>

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

#include <stepline/format/format.hpp>

#include "context_fields.hpp"
#include "json_codec.hpp"
#include "json_document.hpp"

namespace stepline::format {
namespace detail {
namespace {

std::string_view view(const rapidjson::Value& s) {
  return {s.GetString(), s.GetStringLength()};
}

void write_string(JsonWriter& w, std::string_view s) { w.Text(s); }

void write_key(JsonWriter& w, std::string_view key) { w.Text(key); }

/// A map as a JSON object, each value written by `write_value`.
template <class Map, class WriteValue>
void write_object(JsonWriter& w, const Map& map, WriteValue&& write_value) {
  w.StartObject();
  for (const auto& [name, value] : map) {
    write_key(w, name);
    write_value(value);
  }
  w.EndObject();
}

void write_typed(JsonWriter& w, ValueKind kind) {
  w.StartObject();
  w.Key("@type");
  write_string(w, to_string(kind));
  w.Key("value");
}

/// `{"@type":"<kind>","value":"<text>"}`.
void write_typed_text(JsonWriter& w, ValueKind kind, std::string_view text) {
  write_typed(w, kind);
  write_string(w, text);
  w.EndObject();
}

/// `name` is left out when empty, or written as null with `always_name` (the context's
/// owningExtension, whose keys are all always written).
void write_reference_members(JsonWriter& w, const EntityReference& ref, bool always_name = false) {
  w.Key("logicalName");
  write_string(w, ref.logical_name);
  w.Key("id");
  write_string(w, ref.id.text());
  if (!ref.name.empty()) {
    w.Key("name");
    write_string(w, ref.name);
  } else if (always_name) {
    w.Key("name");
    w.Null();
  }
}

void write_collection(JsonWriter& w, const EntityCollection& c) {
  w.StartObject();
  w.Key("@type");
  w.String("entitycollection");
  w.Key("entityName");
  write_string(w, c.entity_name);
  w.Key("entities");
  w.StartArray();
  for (const auto& e : c.entities) write_json_entity(w, e, false);
  w.EndArray();
  w.Key("moreRecords");
  w.Bool(c.more_records);
  w.Key("pagingCookie");
  write_string(w, c.paging_cookie);
  w.Key("totalRecordCount");
  w.Int(c.total_record_count);
  w.EndObject();
}

// --- reading ---------------------------------------------------------------------------------

std::string kind_hint(ValueKind kind) {
  return "\"@type\" \"" + std::string(to_string(kind)) + "\" needs \"value\" as ";
}

const rapidjson::Value& require_member(const rapidjson::Value& obj, const char* name,
                                       const Path& path) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd()) path.fail(std::string("missing member \"") + name + "\"");
  return it->value;
}

std::string read_string(const rapidjson::Value& node, const Path& path,
                        const char* what = "a string") {
  if (!node.IsString()) path.fail(std::string("expected ") + what + ", found " + describe(node));
  return std::string(view(node));
}

Guid read_guid(const rapidjson::Value& node, const Path& path) {
  if (node.IsString()) {
    if (auto g = Guid::try_parse(view(node))) return *g;
    path.fail("\"" + std::string(view(node)) +
              "\" is not a guid (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)");
  }
  path.fail(std::string("expected a guid string, found ") + describe(node));
}

bool read_bool(const rapidjson::Value& node, const Path& path) {
  if (!node.IsBool()) path.fail(std::string("expected true or false, found ") + describe(node));
  return node.GetBool();
}

std::int32_t read_int(const rapidjson::Value& node, const Path& path,
                      const char* what = "a 32-bit integer") {
  if (!node.IsInt()) path.fail(std::string("expected ") + what + ", found " + describe(node));
  return node.GetInt();
}

DateTime read_date_time(const rapidjson::Value& node, const Path& path) {
  if (node.IsString()) {
    if (auto t = parse_iso8601(view(node))) return *t;
  }
  path.fail(
      "expected an ISO-8601 date-time like \"2024-08-02T07:00:39.000Z\", found " +
      (node.IsString() ? "\"" + std::string(view(node)) + "\"" : std::string(describe(node))));
}

Decimal read_decimal_text(const rapidjson::Value& node, ValueKind kind, const Path& path) {
  if (node.IsString()) {
    try {
      return Decimal(view(node));
    } catch (const std::invalid_argument&) {
    }
  }
  path.fail(kind_hint(kind) + "a decimal string like \"12.50\"");
}

/// A JSON object of name → T, each value read by `read`; a repeated name keeps its last value.
template <class T>
std::map<std::string, T, std::less<>> read_object(const rapidjson::Value& node, const Path& path,
                                                  const char* expected,
                                                  T (*read)(const rapidjson::Value&, const Path&)) {
  if (!node.IsObject())
    path.fail(std::string("expected ") + expected + ", found " + describe(node));
  std::map<std::string, T, std::less<>> out;
  for (auto m = node.MemberBegin(); m != node.MemberEnd(); ++m) {
    std::string_view name = view(m->name);
    out.insert_or_assign(std::string(name), read(m->value, Path(path, name)));
  }
  return out;
}

void reject_other_members(const rapidjson::Value& obj, std::initializer_list<const char*> allowed,
                          const Path& path) {
  for (auto m = obj.MemberBegin(); m != obj.MemberEnd(); ++m) {
    bool known = false;
    for (const char* a : allowed) known = known || std::strcmp(m->name.GetString(), a) == 0;
    if (!known) {
      std::string list;
      for (const char* a : allowed) list += (list.empty() ? "\"" : ", \"") + std::string(a) + "\"";
      Path(path, view(m->name)).fail("unknown member; expected only " + list);
    }
  }
}

EntityReference read_reference(const rapidjson::Value& obj, const Path& path) {
  reject_other_members(obj, {"@type", "logicalName", "id", "name"}, path);
  EntityReference ref;
  ref.logical_name =
      read_string(require_member(obj, "logicalName", path), Path(path, "logicalName"));
  ref.id = read_guid(require_member(obj, "id", path), Path(path, "id"));
  if (auto it = obj.FindMember("name"); it != obj.MemberEnd() && !it->value.IsNull())
    ref.name = read_string(it->value, Path(path, "name"));
  return ref;
}

EntityCollection read_collection(const rapidjson::Value& obj, const Path& path) {
  reject_other_members(
      obj, {"@type", "entityName", "entities", "moreRecords", "pagingCookie", "totalRecordCount"},
      path);
  EntityCollection c;
  if (auto it = obj.FindMember("entityName"); it != obj.MemberEnd())
    c.entity_name = read_string(it->value, Path(path, "entityName"));
  if (auto it = obj.FindMember("entities"); it != obj.MemberEnd()) {
    Path at(path, "entities");
    if (!it->value.IsArray())
      at.fail(std::string("expected an array of entities, found ") + describe(it->value));
    std::size_t i = 0;
    for (const auto& e : it->value.GetArray())
      c.entities.push_back(read_json_entity(e, Path(at, i++)));
  }
  if (auto it = obj.FindMember("moreRecords"); it != obj.MemberEnd())
    c.more_records = read_bool(it->value, Path(path, "moreRecords"));
  if (auto it = obj.FindMember("pagingCookie"); it != obj.MemberEnd() && !it->value.IsNull())
    c.paging_cookie = read_string(it->value, Path(path, "pagingCookie"));
  if (auto it = obj.FindMember("totalRecordCount"); it != obj.MemberEnd())
    c.total_record_count = read_int(it->value, Path(path, "totalRecordCount"));
  return c;
}

std::optional<ValueKind> kind_named(std::string_view name) {
  for (int k = 0; k <= static_cast<int>(ValueKind::entity_collection); ++k)
    if (to_string(static_cast<ValueKind>(k)) == name) return static_cast<ValueKind>(k);
  return std::nullopt;
}

Value read_tagged(const rapidjson::Value& obj, const Path& path) {
  auto type_it = obj.FindMember("@type");
  if (type_it == obj.MemberEnd())
    path.fail(
        "an object value needs \"@type\" (money, decimal, datetime, guid, entityreference, entity, "
        "…); "
        "an entity is {\"@type\":\"entity\",\"logicalName\":…}");
  Path type_path(path, "@type");
  std::string type_name = read_string(type_it->value, type_path);
  auto kind = kind_named(type_name);
  if (!kind)
    type_path.fail(
        "unknown type \"" + type_name +
        "\"; expected one of string, int, bigint, bool, double, decimal, money, optionset, "
        "multioptionset, datetime, guid, entityreference, entity, entitycollection, null");
  switch (*kind) {
    case ValueKind::entity:
      return read_json_entity(obj, path);
    case ValueKind::entity_reference:
      return read_reference(obj, path);
    case ValueKind::entity_collection:
      return read_collection(obj, path);
    default:
      break;
  }
  reject_other_members(obj, {"@type", "value"}, path);
  auto value_it = obj.FindMember("value");
  if (value_it == obj.MemberEnd()) {
    if (*kind == ValueKind::null) return Value();
    path.fail(kind_hint(*kind) + (*kind == ValueKind::decimal || *kind == ValueKind::money
                                      ? std::string("a decimal string like \"12.50\"")
                                      : std::string("its value")));
  }
  const rapidjson::Value& v = value_it->value;
  Path at(path, "value");
  switch (*kind) {
    case ValueKind::null:
      if (!v.IsNull()) at.fail("\"@type\" \"null\" takes no value but null");
      return Value();
    case ValueKind::string:
      return Value(read_string(v, at));
    case ValueKind::integer:
      if (!v.IsInt()) path.fail(kind_hint(*kind) + "an integer between -2147483648 and 2147483647");
      return Value(std::int32_t{v.GetInt()});
    case ValueKind::big_integer:
      if (v.IsInt64()) return Value(std::int64_t{v.GetInt64()});
      if (v.IsString()) {
        std::string_view s = view(v);
        std::int64_t out = 0;
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
        if (ec == std::errc() && end == s.data() + s.size() && !s.empty()) return Value(out);
      }
      path.fail(kind_hint(*kind) + "a 64-bit integer string like \"9007199254740993\"");
    case ValueKind::boolean:
      if (!v.IsBool()) path.fail(kind_hint(*kind) + "true or false");
      return Value(v.GetBool());
    case ValueKind::floating:
      if (v.IsNumber()) return Value(v.GetDouble());
      if (v.IsString()) {
        std::string_view s = view(v);
        if (s == "NaN") return Value(std::numeric_limits<double>::quiet_NaN());
        if (s == "Infinity") return Value(std::numeric_limits<double>::infinity());
        if (s == "-Infinity") return Value(-std::numeric_limits<double>::infinity());
      }
      path.fail(kind_hint(*kind) + "a number, \"NaN\", \"Infinity\" or \"-Infinity\"");
    case ValueKind::decimal:
      return Value(read_decimal_text(v, *kind, path));
    case ValueKind::money:
      return Value(Money{read_decimal_text(v, *kind, path)});
    case ValueKind::option_set:
      if (!v.IsInt()) path.fail(kind_hint(*kind) + "an integer option value like 3");
      return Value(OptionSetValue{v.GetInt()});
    case ValueKind::multi_option_set: {
      if (!v.IsArray())
        path.fail(kind_hint(*kind) + "an array of integer option values like [1,2]");
      OptionSetValueCollection c;
      std::size_t i = 0;
      for (const auto& o : v.GetArray())
        c.values.push_back(read_int(o, Path(at, i++), "an integer option value"));
      return Value(std::move(c));
    }
    case ValueKind::date_time:
      if (v.IsString())
        if (auto t = parse_iso8601(view(v))) return Value(*t);
      path.fail(kind_hint(*kind) + "an ISO-8601 string like \"2024-08-02T07:00:39.000Z\"");
    case ValueKind::guid:
      if (v.IsString())
        if (auto g = Guid::try_parse(view(v))) return Value(*g);
      path.fail(kind_hint(*kind) + "a guid string like \"55555555-0000-0000-0000-0000000000ac\"");
    default:
      break;
  }
  path.fail("unsupported type \"" + type_name + "\"");
}

}  // namespace

const char* describe(const rapidjson::Value& node) {
  switch (node.GetType()) {
    case rapidjson::kNullType:
      return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType:
      return "a boolean";
    case rapidjson::kObjectType:
      return "an object";
    case rapidjson::kArrayType:
      return "an array";
    case rapidjson::kStringType:
      return "a string";
    case rapidjson::kNumberType:
      return "a number";
  }
  return "something else";
}

void parse_json(std::string_view text, rapidjson::Document& document) {
  build_document<false>(text, document);
}

void write_json_value(JsonWriter& w, const Value& value) {
  switch (value.kind()) {
    case ValueKind::null:
      w.Null();
      return;
    case ValueKind::string:
      write_string(w, value.as<std::string>());
      return;
    case ValueKind::integer:
      w.Int(value.as<std::int32_t>());
      return;
    case ValueKind::big_integer:
      write_typed_text(w, ValueKind::big_integer, std::to_string(value.as<std::int64_t>()));
      return;
    case ValueKind::boolean:
      w.Bool(value.as<bool>());
      return;
    case ValueKind::floating: {
      double d = value.as<double>();
      if (std::isfinite(d)) {
        w.Double(d);
      } else {  // JSON has no NaN or infinity; the tagged form keeps them.
        const char* text = std::isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity";
        write_typed_text(w, ValueKind::floating, text);
      }
      return;
    }
    case ValueKind::decimal:
      write_typed_text(w, ValueKind::decimal, value.as<Decimal>().str());
      return;
    case ValueKind::money:
      write_typed_text(w, ValueKind::money, value.as<Money>().value.str());
      return;
    case ValueKind::option_set:
      write_typed(w, ValueKind::option_set);
      w.Int(value.as<OptionSetValue>().value);
      w.EndObject();
      return;
    case ValueKind::multi_option_set:
      write_typed(w, ValueKind::multi_option_set);
      w.StartArray();
      for (auto v : value.as<OptionSetValueCollection>().values) w.Int(v);
      w.EndArray();
      w.EndObject();
      return;
    case ValueKind::date_time:
      write_typed_text(w, ValueKind::date_time, iso8601_text(value.as<DateTime>()));
      return;
    case ValueKind::guid:
      write_typed_text(w, ValueKind::guid, value.as<Guid>().text());
      return;
    case ValueKind::entity_reference:
      w.StartObject();
      w.Key("@type");
      w.String("entityreference");
      write_reference_members(w, value.as<EntityReference>());
      w.EndObject();
      return;
    case ValueKind::entity:
      write_json_entity(w, value.as<Entity>(), true);
      return;
    case ValueKind::entity_collection:
      write_collection(w, value.as<EntityCollection>());
      return;
  }
}

void write_json_entity(JsonWriter& w, const Entity& e, bool with_type) {
  w.StartObject();
  if (with_type) {
    w.Key("@type");
    w.String("entity");
  }
  w.Key("logicalName");
  write_string(w, e.logical_name);
  if (!e.id.is_nil()) {
    w.Key("id");
    write_string(w, e.id.text());
  }
  w.Key("attributes");
  write_json_parameters(w, e.attributes);
  if (!e.formatted_values.empty()) {
    w.Key("formattedValues");
    write_object(w, e.formatted_values, [&](const std::string& s) { write_string(w, s); });
  }
  if (!e.row_version.empty()) {
    w.Key("rowVersion");
    write_string(w, e.row_version);
  }
  w.EndObject();
}

void write_json_parameters(JsonWriter& w, const ParameterCollection& parameters) {
  write_object(w, parameters, [&](const Value& v) { write_json_value(w, v); });
}

Value read_json_value(const rapidjson::Value& node, const Path& path) {
  switch (node.GetType()) {
    case rapidjson::kNullType:
      return Value();
    case rapidjson::kFalseType:
      return Value(false);
    case rapidjson::kTrueType:
      return Value(true);
    case rapidjson::kStringType:
      return Value(std::string(view(node)));
    case rapidjson::kNumberType:
      if (node.IsInt()) return Value(std::int32_t{node.GetInt()});
      if (node.IsInt64()) return Value(std::int64_t{node.GetInt64()});
      if (node.IsUint64())
        path.fail("integer " + std::to_string(node.GetUint64()) + " does not fit in 64 bits");
      return Value(node.GetDouble());
    case rapidjson::kObjectType:
      return read_tagged(node, path);
    case rapidjson::kArrayType:
      path.fail(
          "a value cannot be a bare array; write a multi-select choice as "
          "{\"@type\":\"multioptionset\",\"value\":[1,2]}");
  }
  path.fail("unreadable value");
}

Entity read_json_entity(const rapidjson::Value& node, const Path& path) {
  if (!node.IsObject())
    path.fail(std::string("expected an entity object, found ") + describe(node));
  reject_other_members(
      node, {"@type", "logicalName", "id", "attributes", "formattedValues", "rowVersion"}, path);
  if (auto it = node.FindMember("@type"); it != node.MemberEnd()) {
    if (!it->value.IsString() || view(it->value) != "entity")
      Path(path, "@type").fail("an entity's \"@type\" must be \"entity\"");
  }
  Entity e;
  e.logical_name =
      read_string(require_member(node, "logicalName", path), Path(path, "logicalName"));
  if (auto it = node.FindMember("id"); it != node.MemberEnd() && !it->value.IsNull())
    e.id = read_guid(it->value, Path(path, "id"));
  if (auto it = node.FindMember("attributes"); it != node.MemberEnd())
    e.attributes = read_json_parameters(it->value, Path(path, "attributes"));
  if (auto it = node.FindMember("formattedValues"); it != node.MemberEnd()) {
    Path at(path, "formattedValues");
    if (!it->value.IsObject())
      at.fail(std::string("expected an object of strings, found ") + describe(it->value));
    for (auto m = it->value.MemberBegin(); m != it->value.MemberEnd(); ++m)
      e.formatted_values.emplace(std::string(view(m->name)),
                                 read_string(m->value, Path(at, view(m->name))));
  }
  if (auto it = node.FindMember("rowVersion"); it != node.MemberEnd() && !it->value.IsNull())
    e.row_version = read_string(it->value, Path(path, "rowVersion"));
  return e;
}

ParameterCollection read_json_parameters(const rapidjson::Value& node, const Path& path) {
  return read_object(node, path, "an object of name → value", read_json_value);
}

// --- contexts --------------------------------------------------------------------------------

namespace {

void write_images(JsonWriter& w, const EntityImageCollection& images) {
  write_object(w, images, [&](const Entity& e) { write_json_entity(w, e, false); });
}

EntityImageCollection read_images(const rapidjson::Value& node, const Path& path) {
  return read_object(node, path, "an object of alias → entity", read_json_entity);
}

/// Writes a context member's value; which overload runs is the member's type.
struct MemberWriter {
  JsonWriter& w;

  void operator()(const std::string& s) const { write_string(w, s); }
  void operator()(const Guid& g) const { write_string(w, g.text()); }
  void operator()(int n) const { w.Int(n); }
  void operator()(Stage stage) const { w.Int(static_cast<int>(stage)); }
  void operator()(Mode mode) const { w.Int(static_cast<int>(mode)); }
  void operator()(IsolationMode mode) const { w.Int(static_cast<int>(mode)); }
  void operator()(bool b) const { w.Bool(b); }
  void operator()(DateTime t) const { write_string(w, iso8601_text(t)); }
  void operator()(const ParameterCollection& p) const { write_json_parameters(w, p); }
  void operator()(const EntityImageCollection& images) const { write_images(w, images); }
  void operator()(const std::optional<Guid>& g) const {
    if (g)
      write_string(w, g->text());
    else
      w.Null();
  }
  void operator()(const EntityReference& ref) const {
    w.StartObject();
    write_reference_members(w, ref, true);
    w.EndObject();
  }
  void operator()(const std::shared_ptr<const ExecutionContext>& parent) const {
    if (parent)
      write_json_context(w, *parent);
    else
      w.Null();
  }
};

/// Reads a context member's value from `v`; which overload runs is the member's type.
struct MemberReader {
  const rapidjson::Value& v;
  const Path& at;

  void operator()(std::string& out) const { out = read_string(v, at); }
  void operator()(Guid& out) const { out = read_guid(v, at); }
  // depth, the one int member
  void operator()(int& out) const { out = read_int(v, at, "a depth number"); }
  void operator()(Stage& out) const { out = stage_from(read_int(v, at, "a stage number"), at); }
  void operator()(Mode& out) const { out = mode_from(read_int(v, at, "a mode number"), at); }
  void operator()(IsolationMode& out) const {
    out = isolation_mode_from(read_int(v, at, "an isolation mode number"), at);
  }
  void operator()(bool& out) const { out = read_bool(v, at); }
  void operator()(DateTime& out) const { out = read_date_time(v, at); }
  void operator()(ParameterCollection& out) const { out = read_json_parameters(v, at); }
  void operator()(EntityImageCollection& out) const { out = read_images(v, at); }
  void operator()(std::optional<Guid>& out) const {
    if (!v.IsNull()) out = read_guid(v, at);
  }
  void operator()(EntityReference& out) const {
    if (!v.IsObject())
      at.fail(std::string("expected an entity reference object, found ") + describe(v));
    out = read_reference(v, at);
  }
  void operator()(std::shared_ptr<const ExecutionContext>& out) const {
    if (!v.IsNull()) out = std::make_shared<const ExecutionContext>(read_json_context(v, at));
  }
};

}  // namespace

void write_json_context(JsonWriter& w, const ExecutionContext& c) {
  w.StartObject();
  for_each_member<json_members>(c, [&](std::string_view name, const auto& value) {
    write_key(w, name);
    MemberWriter{w}(value);
  });
  w.EndObject();
}

ExecutionContext read_json_context(const rapidjson::Value& node, const Path& path) {
  if (!node.IsObject())
    path.fail(std::string("expected a context object, found ") + describe(node));
  static constexpr const NamedMember* message = find_named(json_members, "messageName");
  static constexpr const NamedMember* entity = find_named(json_members, "primaryEntityName");
  ExecutionContext c;
  bool has_message = false, has_entity = false;
  MemberLookup lookup(json_members);
  for (auto m = node.MemberBegin(); m != node.MemberEnd(); ++m) {
    std::string_view key = view(m->name);
    Path at(path, key);
    const NamedMember* member = lookup.find(key);
    if (!member)
      at.fail("unknown context member (docs/schema/execution-context.schema.json lists the keys)");
    visit_member(c, member->member, MemberReader{m->value, at});
    has_message = has_message || member == message;
    has_entity = has_entity || member == entity;
  }
  if (!has_message) path.fail("missing member \"messageName\"");
  if (!has_entity) path.fail("missing member \"primaryEntityName\"");
  return c;
}

JsonScratch& json_scratch() {
  thread_local JsonScratch scratch;
  return scratch;
}

}  // namespace detail

namespace json {
namespace {

template <class T>
T read_with(std::string_view text, T (*read)(const rapidjson::Value&, const detail::Path&)) {
  rapidjson::Document d;
  detail::parse_json(text, d);
  return read(d, detail::Path());
}

}  // namespace

std::string write_value(const Value& value) {
  return detail::write_json([&](detail::JsonWriter& w) { detail::write_json_value(w, value); });
}

Value read_value(std::string_view text) {
  return read_with(text, detail::read_json_value);
}

std::string write_entity(const Entity& entity) {
  return detail::write_json(
      [&](detail::JsonWriter& w) { detail::write_json_entity(w, entity, false); });
}

Entity read_entity(std::string_view text) {
  return read_with(text, detail::read_json_entity);
}

std::string write_parameters(const ParameterCollection& parameters) {
  return detail::write_json(
      [&](detail::JsonWriter& w) { detail::write_json_parameters(w, parameters); });
}

ParameterCollection read_parameters(std::string_view text) {
  return read_with(text, detail::read_json_parameters);
}

std::string write_context(const ExecutionContext& context) {
  return detail::write_json([&](detail::JsonWriter& w) { detail::write_json_context(w, context); });
}

ExecutionContext read_context(std::string_view text) {
  return read_with(text, detail::read_json_context);
}

namespace {

// Stepline's own form, described by docs/schema/execution-context.schema.json.
const FormatRegistration json_format({.name = "json",
                                      .content_type = "application/json",
                                      .write = write_context,
                                      .read = read_context,
                                      .library = "stepline-sdk"});

}  // namespace

}  // namespace json
}  // namespace stepline::format
