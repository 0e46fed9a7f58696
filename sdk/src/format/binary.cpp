// The `binary` format: an ExecutionContext as an AMQP map, streamed through Proton's codec.
//
// Kinds AMQP has a type for travel as that type (int, long, double, boolean, string, uuid,
// timestamp, null); the others are small maps tagged with "@type" like the json format's, and
// decimals are strings so every digit survives (docs/FORMATS.md says why not decimal128).
#include <stepline/format/binary.hpp>

#include <cstring>

#include <proton/binary.hpp>
#include <proton/codec/decoder.hpp>
#include <proton/codec/encoder.hpp>
#include <proton/error.hpp>
#include <proton/timestamp.hpp>
#include <proton/uuid.hpp>

#include "context_fields.hpp"
#include "untrusted_text.hpp"

namespace stepline::format {
namespace binary {
namespace {

using detail::Path;
using proton::codec::decoder;
using proton::codec::encoder;
using proton::codec::finish;
using proton::codec::start;

// --- writing ---------------------------------------------------------------------------------

class Writer {
 public:
  explicit Writer(proton::value& v) : e_(v) {}

  /// The AMQP bytes of everything written so far.
  std::string encode() { return e_.encode(); }

  void key(const char* k) { e_ << std::string(k); }
  void key(const std::string& k) { e_ << k; }
  void text(const std::string& s) { e_ << s; }
  void guid(const Guid& g) {
    e_ << proton::uuid::copy(reinterpret_cast<const char*>(g.bytes().data()));
  }
  void time(DateTime t) { e_ << proton::timestamp(t.time_since_epoch().count()); }

  void tag(ValueKind kind) {
    e_ << start::map();
    key("@type");
    e_ << std::string(to_string(kind));
  }

  void value(const Value& v) {
    switch (v.kind()) {
      case ValueKind::null:
        e_ << nullptr;
        return;
      case ValueKind::string:
        e_ << v.as<std::string>();
        return;
      case ValueKind::integer:
        e_ << v.as<std::int32_t>();
        return;
      case ValueKind::big_integer:
        e_ << v.as<std::int64_t>();
        return;
      case ValueKind::boolean:
        e_ << v.as<bool>();
        return;
      case ValueKind::floating:
        e_ << v.as<double>();
        return;
      case ValueKind::decimal:
      case ValueKind::money:
        tag(v.kind());
        key("value");
        e_ << (v.kind() == ValueKind::money ? v.as<Money>().value.str() : v.as<Decimal>().str());
        e_ << finish();
        return;
      case ValueKind::option_set:
        tag(v.kind());
        key("value");
        e_ << v.as<OptionSetValue>().value;
        e_ << finish();
        return;
      case ValueKind::multi_option_set:
        tag(v.kind());
        key("value");
        e_ << start::list();
        for (auto o : v.as<OptionSetValueCollection>().values) e_ << o;
        e_ << finish();
        e_ << finish();
        return;
      case ValueKind::date_time:
        time(v.as<DateTime>());
        return;
      case ValueKind::guid:
        guid(v.as<Guid>());
        return;
      case ValueKind::entity_reference:
        reference(v.as<EntityReference>(), true);
        return;
      case ValueKind::entity:
        entity(v.as<Entity>());
        return;
      case ValueKind::entity_collection: {
        const auto& c = v.as<EntityCollection>();
        tag(v.kind());
        key("entityName");
        text(c.entity_name);
        key("entities");
        e_ << start::list();
        for (const auto& e : c.entities) entity(e);
        e_ << finish();
        key("moreRecords");
        e_ << c.more_records;
        key("pagingCookie");
        text(c.paging_cookie);
        key("totalRecordCount");
        e_ << std::int32_t{c.total_record_count};
        e_ << finish();
        return;
      }
    }
  }

  /// A map of name → value, each value written by `write_value`.
  template <class Map, class WriteValue>
  void map_of(const Map& map, WriteValue&& write_value) {
    e_ << start::map();
    for (const auto& [name, v] : map) {
      key(name);
      write_value(v);
    }
    e_ << finish();
  }

  void parameters(const ParameterCollection& p) {
    map_of(p, [&](const Value& v) { value(v); });
  }

  void entity(const Entity& e) {
    tag(ValueKind::entity);
    key("logicalName");
    text(e.logical_name);
    key("id");
    guid(e.id);
    key("attributes");
    parameters(e.attributes);
    key("formattedValues");
    map_of(e.formatted_values, [&](const std::string& s) { text(s); });
    key("rowVersion");
    text(e.row_version);
    e_ << finish();
  }

  void reference(const EntityReference& r, bool tagged) {
    if (tagged)
      tag(ValueKind::entity_reference);
    else
      e_ << start::map();
    key("logicalName");
    text(r.logical_name);
    key("id");
    guid(r.id);
    key("name");
    text(r.name);
    e_ << finish();
  }

  void images(const EntityImageCollection& images) {
    map_of(images, [&](const Entity& e) { entity(e); });
  }

  void context(const ExecutionContext& c) {
    e_ << start::map();
    detail::for_each_member<detail::json_members>(c, [&](std::string_view name, const auto& value) {
      key(name.data());
      member(value);
    });
    e_ << finish();
  }

 private:
  // A context member's value.
  void member(const std::string& s) { text(s); }
  void member(const Guid& g) { guid(g); }
  void member(int n) { e_ << std::int32_t{n}; }
  void member(Stage stage) { e_ << static_cast<std::int32_t>(stage); }
  void member(Mode mode) { e_ << static_cast<std::int32_t>(mode); }
  void member(IsolationMode mode) { e_ << static_cast<std::int32_t>(mode); }
  void member(bool b) { e_ << b; }
  void member(DateTime t) { time(t); }
  void member(const ParameterCollection& p) { parameters(p); }
  void member(const EntityImageCollection& i) { images(i); }
  void member(const EntityReference& r) { reference(r, false); }
  void member(const std::optional<Guid>& g) {
    if (g)
      guid(*g);
    else
      e_ << nullptr;
  }
  void member(const std::shared_ptr<const ExecutionContext>& parent) {
    if (parent)
      context(*parent);
    else
      e_ << nullptr;
  }

  encoder e_;
};

// --- reading ---------------------------------------------------------------------------------

const char* describe(proton::type_id t) {
  switch (t) {
    case proton::NULL_TYPE:
      return "null";
    case proton::BOOLEAN:
      return "a boolean";
    case proton::INT:
      return "an int";
    case proton::LONG:
      return "a long";
    case proton::DOUBLE:
      return "a double";
    case proton::STRING:
      return "a string";
    case proton::SYMBOL:
      return "a symbol";
    case proton::UUID:
      return "a uuid";
    case proton::TIMESTAMP:
      return "a timestamp";
    case proton::MAP:
      return "a map";
    case proton::LIST:
      return "a list";
    case proton::ARRAY:
      return "an array";
    default:
      return "another AMQP type";
  }
}

class Reader {
 public:
  explicit Reader(const proton::value& v) : d_(v, true) {}

  proton::type_id next() { return d_.next_type(); }

  void expect(proton::type_id wanted, const char* what, const Path& path) {
    proton::type_id t = next();
    if (t != wanted) path.fail(std::string("expected ") + what + ", found " + describe(t));
  }

  std::string text(const Path& path) {
    proton::type_id t = next();
    if (t != proton::STRING && t != proton::SYMBOL)
      path.fail(std::string("expected a string, found ") + describe(t));
    std::string s;
    if (t == proton::SYMBOL) {
      proton::symbol symbol;
      d_ >> symbol;
      s = std::move(symbol);
    } else {
      d_ >> s;
    }
    // AMQP strings are UTF-8 (symbols ASCII); Proton does not check, and a context read here may
    // be posted again as JSON.
    if (std::size_t bad = input::invalid_utf8_at(s); bad != std::string::npos)
      path.fail("a string that is not UTF-8 (byte " + std::to_string(bad) + ")");
    return s;
  }

  /// The next value, which must have the AMQP type `type` (`what` in errors).
  template <class T>
  T get(proton::type_id type, const char* what, const Path& path) {
    expect(type, what, path);
    T out;
    d_ >> out;
    return out;
  }

  Guid guid(const Path& path) {
    auto u = get<proton::uuid>(proton::UUID, "a uuid", path);
    std::array<std::uint8_t, 16> bytes;
    std::memcpy(bytes.data(), u.begin(), 16);
    return Guid(bytes);
  }

  DateTime time(const Path& path) {
    auto t = get<proton::timestamp>(proton::TIMESTAMP, "a timestamp", path);
    return DateTime{std::chrono::milliseconds{t.milliseconds()}};
  }

  std::int32_t int32(const Path& path) { return get<std::int32_t>(proton::INT, "an int", path); }
  bool boolean(const Path& path) { return get<bool>(proton::BOOLEAN, "a boolean", path); }

  bool null_next() {
    if (next() != proton::NULL_TYPE) return false;
    read_null();
    return true;
  }

  // Proton's decoder does not move past a null read into proton::null; reading it as a value does.
  void read_null() { skip(); }

  /// Enters a map and calls f(key, path) for each entry; f must read the entry's value.
  template <class F>
  void map(const Path& path, F&& f) {
    expect(proton::MAP, "a map", path);
    start s;
    d_ >> s;
    while (d_.more()) {
      std::string k = text(path);
      f(k, Path(path, k));
    }
    d_ >> finish();
  }

  /// Enters a list (or array) and calls f(path of the item) for each item.
  template <class F>
  void list(const Path& path, F&& f) {
    proton::type_id t = next();
    if (t != proton::LIST && t != proton::ARRAY)
      path.fail(std::string("expected a list, found ") + describe(t));
    start s;
    d_ >> s;
    std::size_t i = 0;
    while (d_.more()) f(Path(path, i++));
    d_ >> finish();
  }

  void skip() {
    proton::value ignored;
    d_ >> ignored;
  }

  Decimal decimal(const Path& path) {
    std::string s = text(path);
    try {
      return Decimal(s);
    } catch (const std::invalid_argument&) {
      path.fail("\"" + s + "\" is not a decimal like \"12.50\"");
    }
  }

  Value value(const Path& path) {
    switch (next()) {
      case proton::NULL_TYPE:
        read_null();
        return Value();
      case proton::BOOLEAN:
        return Value(boolean(path));
      case proton::INT:
        return Value(int32(path));
      case proton::LONG: {
        std::int64_t i;
        d_ >> i;
        return Value(i);
      }
      case proton::DOUBLE: {
        double x;
        d_ >> x;
        return Value(x);
      }
      case proton::STRING:
      case proton::SYMBOL:
        return Value(text(path));
      case proton::UUID:
        return Value(guid(path));
      case proton::TIMESTAMP:
        return Value(time(path));
      case proton::MAP:
        return tagged(path);
      default:
        path.fail(std::string("unsupported AMQP type: ") + describe(next()));
    }
  }

  Value tagged(const Path& path) {
    start s;
    d_ >> s;
    if (!d_.more() || text(path) != "@type") path.fail("a map value must begin with \"@type\"");
    Path type_path(path, "@type");
    std::string type = text(type_path);
    Value out;
    if (type == "entity") {
      out = Value(entity_members(path));
    } else if (type == "entityreference") {
      out = Value(reference_members(path));
    } else if (type == "entitycollection") {
      EntityCollection c;
      members(path, [&](const std::string& k, const Path& at) {
        if (k == "entityName")
          c.entity_name = text(at);
        else if (k == "entities")
          list(at, [&](const Path& item) { c.entities.push_back(entity(item)); });
        else if (k == "moreRecords")
          c.more_records = boolean(at);
        else if (k == "pagingCookie")
          c.paging_cookie = text(at);
        else if (k == "totalRecordCount")
          c.total_record_count = int32(at);
        else
          skip();
      });
      out = Value(std::move(c));
    } else if (type == "decimal" || type == "money" || type == "optionset" ||
               type == "multioptionset") {
      bool seen = false;
      members(path, [&](const std::string& k, const Path& at) {
        if (k != "value") return skip();
        seen = true;
        if (type == "decimal")
          out = Value(decimal(at));
        else if (type == "money")
          out = Value(Money{decimal(at)});
        else if (type == "optionset")
          out = Value(OptionSetValue{int32(at)});
        else {
          OptionSetValueCollection c;
          list(at, [&](const Path& item) { c.values.push_back(int32(item)); });
          out = Value(std::move(c));
        }
      });
      if (!seen) path.fail("\"@type\" \"" + type + "\" needs \"value\"");
    } else {
      type_path.fail("unknown type \"" + type + "\"");
    }
    d_ >> finish();
    return out;
  }

  /// The remaining entries of a map already entered.
  template <class F>
  void members(const Path& path, F&& f) {
    while (d_.more()) {
      std::string k = text(path);
      f(k, Path(path, k));
    }
  }

  /// Reads the value of the entity member `k`.
  void entity_member(Entity& e, const std::string& k, const Path& at) {
    if (k == "logicalName")
      e.logical_name = text(at);
    else if (k == "id")
      e.id = guid(at);
    else if (k == "attributes")
      e.attributes = parameters(at);
    else if (k == "formattedValues")
      map(at, [&](const std::string& name, const Path& v) {
        e.formatted_values.insert_or_assign(name, text(v));
      });
    else if (k == "rowVersion")
      e.row_version = text(at);
    else
      skip();
  }

  Entity entity_members(const Path& path) {
    Entity e;
    members(path, [&](const std::string& k, const Path& at) { entity_member(e, k, at); });
    return e;
  }

  EntityReference reference_members(const Path& path) {
    EntityReference r;
    members(path, [&](const std::string& k, const Path& at) {
      if (k == "logicalName")
        r.logical_name = text(at);
      else if (k == "id")
        r.id = guid(at);
      else if (k == "name")
        r.name = text(at);
      else
        skip();
    });
    return r;
  }

  /// An entity map, "@type" optional.
  Entity entity(const Path& path) {
    expect(proton::MAP, "an entity map", path);
    start s;
    d_ >> s;
    Entity e;
    members(path, [&](const std::string& k, const Path& at) {
      if (k != "@type") return entity_member(e, k, at);
      if (text(at) != "entity") at.fail("expected \"entity\"");
    });
    d_ >> finish();
    return e;
  }

  ParameterCollection parameters(const Path& path) {
    ParameterCollection out;
    map(path, [&](const std::string& k, const Path& at) { out.insert_or_assign(k, value(at)); });
    return out;
  }

  EntityImageCollection images(const Path& path) {
    EntityImageCollection out;
    map(path,
        [&](const std::string& alias, const Path& at) { out.insert_or_assign(alias, entity(at)); });
    return out;
  }

  ExecutionContext context(const Path& path) {
    ExecutionContext c;
    detail::MemberLookup lookup(detail::json_members);
    map(path, [&](const std::string& k, const Path& at) {
      if (const auto* m = lookup.find(k))
        detail::visit_member(c, m->member, [&](auto& out) { member(out, at); });
      else
        skip();
    });
    return c;
  }

 private:
  // Reads a context member's value.
  void member(std::string& out, const Path& at) { out = text(at); }
  void member(Guid& out, const Path& at) { out = guid(at); }
  void member(int& out, const Path& at) { out = int32(at); }
  void member(Stage& out, const Path& at) { out = detail::stage_from(int32(at), at); }
  void member(Mode& out, const Path& at) { out = detail::mode_from(int32(at), at); }
  void member(IsolationMode& out, const Path& at) {
    out = detail::isolation_mode_from(int32(at), at);
  }
  void member(bool& out, const Path& at) { out = boolean(at); }
  void member(DateTime& out, const Path& at) { out = time(at); }
  void member(ParameterCollection& out, const Path& at) { out = parameters(at); }
  void member(EntityImageCollection& out, const Path& at) { out = images(at); }
  void member(std::optional<Guid>& out, const Path& at) {
    if (!null_next()) out = guid(at);
  }
  void member(EntityReference& out, const Path& at) {
    expect(proton::MAP, "a map", at);
    start s;
    d_ >> s;
    out = reference_members(at);
    d_ >> finish();
  }
  void member(std::shared_ptr<const ExecutionContext>& out, const Path& at) {
    if (!null_next()) out = std::make_shared<const ExecutionContext>(context(at));
  }

  decoder d_;
};

}  // namespace

proton::value to_amqp_value(const ExecutionContext& context) {
  proton::value v;
  Writer(v).context(context);
  return v;
}

ExecutionContext from_amqp_value(const proton::value& body) {
  try {
    return Reader(body).context(Path());
  } catch (const proton::error& e) {
    throw FormatError("", std::string("unreadable AMQP context map: ") + e.what());
  }
}

std::string write_context(const ExecutionContext& context) {
  // Encode with the writer's own encoder: a new encoder attached to a value clears it.
  proton::value v;
  Writer w(v);
  w.context(context);
  return w.encode();
}

ExecutionContext read_context(std::string_view bytes) {
  proton::value v;
  try {
    decoder(v).decode(bytes.data(), bytes.size());
  } catch (const proton::error& e) {
    throw FormatError("", std::string("not an AMQP-encoded value: ") + e.what());
  }
  return from_amqp_value(v);
}

}  // namespace binary

namespace {

const FormatRegistration binary_format({.name = "binary",
                                        .content_type = "application/x-amqp-map",
                                        .write = binary::write_context,
                                        .read = binary::read_context,
                                        .library = "stepline-sdk-amqp"});

}  // namespace

const Format& binary::format() {
  return binary_format.format;
}

std::string serialize_any_format(const ExecutionContext& context, std::string_view format) {
  return format_named(format).write(context);
}

ExecutionContext parse_any_format(std::string_view body, std::string_view format) {
  if (is_claim_check(body)) refuse_claim_check(body);
  return format_named(format).read(body);
}

std::size_t write_body(proton::message& message, const ExecutionContext& context,
                       const Format& format) {
  if (&format == &binary_format.format) {
    message.inferred(false);  // the map travels as an amqp-value section
    message.body(binary::to_amqp_value(context));
    return 0;
  }
  std::string bytes = format.write(context);
  // Inferred + binary = one data section holding the bytes.
  message.inferred(true);
  message.body(proton::binary(bytes.begin(), bytes.end()));
  return bytes.size();
}

ExecutionContext read_body(const proton::message& message, const Format& format) {
  const proton::value& body = message.body();
  if (&format == &binary_format.format && body.type() == proton::MAP)
    return binary::from_amqp_value(body);
  // A claim check is refused whatever the format: it names a blob, not a context.
  auto read_text = [&](std::string_view text) {
    if (is_claim_check(text)) refuse_claim_check(text);
    return format.read(text);
  };
  if (body.type() == proton::BINARY) {
    auto bytes = proton::get<proton::binary>(body);
    return read_text(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  }
  if (body.type() == proton::STRING) return read_text(proton::get<std::string>(body));
  throw FormatError("", "the body is an AMQP " + proton::type_name(body.type()) + ", expected " +
                            (&format == &binary_format.format ? "a map" : "data or a string"));
}

ExecutionContext parse_any_format(std::string_view body, std::string_view format,
                                  ClaimCheckSource& source) {
  auto reference = read_claim_check(body);
  if (!reference) return parse_any_format(body, format);
  const std::string fetched = source.fetch(*reference);
  if (is_claim_check(fetched))
    throw FormatError("stepline.claim_check.url", "the blob is itself a claim check");
  return parse_any_format(fetched, reference->format);
}

}  // namespace stepline::format
