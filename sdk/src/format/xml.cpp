// The `xml` format: DataContract XML of a RemoteExecutionContext (docs/FORMATS.md).
#include <stepline/format/xml.hpp>

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <system_error>
#include <utility>

#include <pugixml.hpp>

#include <stepline/format/format.hpp>

#include "context_fields.hpp"
#include "untrusted_text.hpp"

namespace stepline::format::xml {
namespace {

using detail::Path;

constexpr const char* contracts_ns = "http://schemas.microsoft.com/xrm/2011/Contracts";
constexpr const char* instance_ns = "http://www.w3.org/2001/XMLSchema-instance";
constexpr const char* generic_ns =
    "http://schemas.datacontract.org/2004/07/System.Collections.Generic";
constexpr const char* schema_ns = "http://www.w3.org/2001/XMLSchema";
constexpr const char* serialization_ns = "http://schemas.microsoft.com/2003/10/Serialization/";

// --- writing ---------------------------------------------------------------------------------

pugi::xml_node element(pugi::xml_node parent, const char* name, std::string_view text) {
  pugi::xml_node e = parent.append_child(name);
  e.text().set(std::string(text).c_str());
  return e;
}

void nil(pugi::xml_node parent, const char* name) {
  parent.append_child(name).append_attribute("i:nil") = "true";
}

void string_or_nil(pugi::xml_node parent, const char* name, const std::string& s) {
  if (s.empty())
    nil(parent, name);
  else
    element(parent, name, s);
}

std::string double_text(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "INF" : "-INF";
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
  return std::string(buf, end);
}

void write_value(pugi::xml_node slot, const Value& v);

void write_parameters(pugi::xml_node parent, const ParameterCollection& p) {
  for (const auto& [k, v] : p) {
    pugi::xml_node pair = parent.append_child("KeyValuePairOfstringanyType");
    element(pair, "b:key", k);
    write_value(pair.append_child("b:value"), v);
  }
}

void write_entity_members(pugi::xml_node e, const Entity& entity) {
  write_parameters(e.append_child("Attributes"), entity.attributes);
  nil(e, "EntityState");
  pugi::xml_node formatted = e.append_child("FormattedValues");
  for (const auto& [k, v] : entity.formatted_values) {
    pugi::xml_node pair = formatted.append_child("KeyValuePairOfstringstring");
    element(pair, "b:key", k);
    element(pair, "b:value", v);
  }
  element(e, "Id", entity.id.str());
  e.append_child("KeyAttributes");
  element(e, "LogicalName", entity.logical_name);
  e.append_child("RelatedEntities");
  string_or_nil(e, "RowVersion", entity.row_version);
}

void write_reference_members(pugi::xml_node e, const EntityReference& r) {
  element(e, "Id", r.id.str());
  e.append_child("KeyAttributes");
  element(e, "LogicalName", r.logical_name);
  string_or_nil(e, "Name", r.name);
  nil(e, "RowVersion");
}

void typed(pugi::xml_node slot, const char* type, std::string_view text) {
  slot.append_attribute("i:type") = type;
  slot.text().set(std::string(text).c_str());
}

void write_value(pugi::xml_node slot, const Value& v) {
  switch (v.kind()) {
    case ValueKind::null:
      slot.append_attribute("i:nil") = "true";
      return;
    case ValueKind::string:
      typed(slot, "c:string", v.as<std::string>());
      return;
    case ValueKind::integer:
      typed(slot, "c:int", std::to_string(v.as<std::int32_t>()));
      return;
    case ValueKind::big_integer:
      typed(slot, "c:long", std::to_string(v.as<std::int64_t>()));
      return;
    case ValueKind::boolean:
      typed(slot, "c:boolean", v.as<bool>() ? "true" : "false");
      return;
    case ValueKind::floating:
      typed(slot, "c:double", double_text(v.as<double>()));
      return;
    case ValueKind::decimal:
      typed(slot, "c:decimal", v.as<Decimal>().str());
      return;
    case ValueKind::money:
      slot.append_attribute("i:type") = "a:Money";
      element(slot, "Value", v.as<Money>().value.str());
      return;
    case ValueKind::option_set:
      slot.append_attribute("i:type") = "a:OptionSetValue";
      element(slot, "Value", std::to_string(v.as<OptionSetValue>().value));
      return;
    case ValueKind::multi_option_set:
      slot.append_attribute("i:type") = "a:OptionSetValueCollection";
      for (auto option : v.as<OptionSetValueCollection>().values)
        element(slot.append_child("OptionSetValue"), "Value", std::to_string(option));
      return;
    case ValueKind::date_time:
      typed(slot, "c:dateTime", to_iso8601(v.as<DateTime>()));
      return;
    case ValueKind::guid:
      typed(slot, "s:guid", v.as<Guid>().str());
      return;
    case ValueKind::entity_reference:
      slot.append_attribute("i:type") = "a:EntityReference";
      write_reference_members(slot, v.as<EntityReference>());
      return;
    case ValueKind::entity:
      slot.append_attribute("i:type") = "a:Entity";
      write_entity_members(slot, v.as<Entity>());
      return;
    case ValueKind::entity_collection: {
      const auto& c = v.as<EntityCollection>();
      slot.append_attribute("i:type") = "a:EntityCollection";
      pugi::xml_node entities = slot.append_child("Entities");
      for (const auto& e : c.entities) write_entity_members(entities.append_child("Entity"), e);
      string_or_nil(slot, "EntityName", c.entity_name);
      nil(slot, "MinActiveRowVersion");
      element(slot, "MoreRecords", c.more_records ? "true" : "false");
      string_or_nil(slot, "PagingCookie", c.paging_cookie);
      element(slot, "TotalRecordCount", std::to_string(c.total_record_count));
      element(slot, "TotalRecordCountLimitExceeded", "false");
      return;
    }
  }
}

void write_images(pugi::xml_node parent, const EntityImageCollection& images) {
  for (const auto& [alias, e] : images) {
    pugi::xml_node pair = parent.append_child("KeyValuePairOfstringEntity");
    element(pair, "b:key", alias);
    write_entity_members(pair.append_child("b:value"), e);
  }
}

void write_context_members(pugi::xml_node r, const ExecutionContext& c);

/// Writes a context member as the element `name` of `r`; which overload runs is the member's type.
struct MemberWriter {
  pugi::xml_node r;
  const char* name;

  /// The member's element, for members with children.
  pugi::xml_node append() const { return pugi::xml_node(r).append_child(name); }

  void operator()(const std::string& s) const { element(r, name, s); }
  void operator()(const Guid& g) const { element(r, name, g.str()); }
  void operator()(int n) const { element(r, name, std::to_string(n)); }
  void operator()(Stage stage) const { (*this)(static_cast<int>(stage)); }
  void operator()(Mode mode) const { (*this)(static_cast<int>(mode)); }
  void operator()(IsolationMode mode) const { (*this)(static_cast<int>(mode)); }
  void operator()(bool b) const { element(r, name, b ? "true" : "false"); }
  void operator()(DateTime t) const { element(r, name, to_iso8601(t)); }
  void operator()(const ParameterCollection& p) const { write_parameters(append(), p); }
  void operator()(const EntityImageCollection& images) const { write_images(append(), images); }
  void operator()(const EntityReference& ref) const { write_reference_members(append(), ref); }
  void operator()(const std::optional<Guid>& g) const {
    if (g)
      (*this)(*g);
    else
      nil(r, name);
  }
  void operator()(const std::shared_ptr<const ExecutionContext>& parent) const {
    if (parent)
      write_context_members(append(), *parent);
    else
      nil(r, name);
  }
};

void write_context_members(pugi::xml_node r, const ExecutionContext& c) {
  detail::for_each_member<detail::contract_members>(c, [&](std::string_view name, const auto& v) {
    MemberWriter{r, name.data()}(v);
  });
}

struct StringWriter : pugi::xml_writer {
  std::string text;
  void write(const void* data, std::size_t size) override {
    text.append(static_cast<const char*>(data), size);
  }
};

// --- reading ---------------------------------------------------------------------------------

std::string_view local_name(std::string_view qualified) {
  auto colon = qualified.find(':');
  return colon == std::string_view::npos ? qualified : qualified.substr(colon + 1);
}

std::string_view local_name(pugi::xml_node n) {
  return local_name(n.name());
}

/// The value of the attribute `local` in any prefix ("i:nil", "xsi:nil").
std::string_view attribute(pugi::xml_node n, std::string_view local) {
  for (pugi::xml_attribute a : n.attributes()) {
    std::string_view name = a.name();
    auto colon = name.find(':');
    if (colon != std::string_view::npos && name.substr(colon + 1) == local &&
        name.substr(0, colon) != "xmlns")
      return a.value();
  }
  return {};
}

bool is_nil(pugi::xml_node n) {
  return attribute(n, "nil") == "true";
}

pugi::xml_node child(pugi::xml_node n, std::string_view local) {
  for (pugi::xml_node c = n.first_child(); c; c = c.next_sibling())
    if (c.type() == pugi::node_element && local_name(c) == local) return c;
  return {};
}

template <class F>
void for_each_element(pugi::xml_node n, F&& f) {
  for (pugi::xml_node c = n.first_child(); c; c = c.next_sibling())
    if (c.type() == pugi::node_element) f(c);
}

std::string_view text(pugi::xml_node n) {
  return n.text().get();
}

std::string read_string(pugi::xml_node n) {
  return is_nil(n) ? std::string() : std::string(text(n));
}

Guid read_guid(pugi::xml_node n, const Path& path) {
  if (auto g = Guid::try_parse(text(n))) return *g;
  path.fail("\"" + std::string(text(n)) +
            "\" is not a guid (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)");
}

template <class Int>
Int read_integer(std::string_view s, const Path& path, const char* what) {
  Int out{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty())
    path.fail("\"" + std::string(s) + "\" is not " + what);
  return out;
}

bool read_bool(pugi::xml_node n, const Path& path) {
  std::string_view s = text(n);
  if (s == "true" || s == "1") return true;
  if (s == "false" || s == "0") return false;
  path.fail("\"" + std::string(s) + "\" is not a boolean (true or false)");
}

Decimal read_decimal(std::string_view s, const Path& path) {
  try {
    return Decimal(s);
  } catch (const std::invalid_argument&) {
    path.fail("\"" + std::string(s) + "\" is not a decimal like 250000.0000");
  }
}

DateTime read_date(pugi::xml_node n, const Path& path) {
  if (auto t = parse_iso8601(text(n))) return *t;
  path.fail("\"" + std::string(text(n)) +
            "\" is not an ISO-8601 date-time like 2024-08-02T07:00:39.000Z");
}

double read_double(std::string_view s, const Path& path) {
  if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (s == "INF") return std::numeric_limits<double>::infinity();
  if (s == "-INF") return -std::numeric_limits<double>::infinity();
  double d = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty())
    path.fail("\"" + std::string(s) + "\" is not a double");
  return d;
}

Value read_value(pugi::xml_node n, const Path& path);

/// KeyValuePairOf… items: calls f(key, value element, path of the key).
template <class F>
void for_each_pair(pugi::xml_node n, const Path& path, F&& f) {
  std::size_t i = 0;
  for_each_element(n, [&](pugi::xml_node pair) {
    Path at(path, i++);
    pugi::xml_node k = child(pair, "key");
    if (!k) at.fail("a " + std::string(local_name(pair)) + " item needs a key element");
    std::string_view key = text(k);
    f(key, child(pair, "value"), Path(path, key));
  });
}

ParameterCollection read_parameters(pugi::xml_node n, const Path& path) {
  ParameterCollection out;
  for_each_pair(n, path, [&](std::string_view key, pugi::xml_node v, const Path& at) {
    out.insert_or_assign(std::string(key), v ? read_value(v, at) : Value());
  });
  return out;
}

Entity read_entity(pugi::xml_node n, const Path& path) {
  Entity e;
  for_each_element(n, [&](pugi::xml_node m) {
    std::string_view name = local_name(m);
    Path at(path, name);
    if (name == "LogicalName")
      e.logical_name = read_string(m);
    else if (name == "Id")
      e.id = is_nil(m) ? Guid() : read_guid(m, at);
    else if (name == "Attributes")
      e.attributes = read_parameters(m, at);
    else if (name == "FormattedValues")
      for_each_pair(m, at, [&](std::string_view key, pugi::xml_node v, const Path&) {
        e.formatted_values.insert_or_assign(std::string(key), v ? read_string(v) : std::string());
      });
    else if (name == "RowVersion")
      e.row_version = read_string(m);
  });
  return e;
}

EntityReference read_reference(pugi::xml_node n, const Path& path) {
  EntityReference r;
  for_each_element(n, [&](pugi::xml_node m) {
    std::string_view name = local_name(m);
    if (name == "LogicalName")
      r.logical_name = read_string(m);
    else if (name == "Id")
      r.id = read_guid(m, Path(path, name));
    else if (name == "Name")
      r.name = read_string(m);
  });
  return r;
}

Value read_value(pugi::xml_node n, const Path& path) {
  if (is_nil(n)) return Value();
  std::string_view type = local_name(attribute(n, "type"));
  if (type.empty())
    path.fail(
        "a value needs an i:type attribute (c:string, c:int, a:Money, a:Entity, …) or "
        "i:nil=\"true\"");
  std::string_view s = text(n);
  if (type == "string") return Value(std::string(s));
  if (type == "int") return Value(read_integer<std::int32_t>(s, path, "a 32-bit integer"));
  if (type == "long") return Value(read_integer<std::int64_t>(s, path, "a 64-bit integer"));
  if (type == "boolean") return Value(read_bool(n, path));
  if (type == "double") return Value(read_double(s, path));
  if (type == "decimal") return Value(read_decimal(s, path));
  if (type == "dateTime") return Value(read_date(n, path));
  if (type == "guid") return Value(read_guid(n, path));
  if (type == "Money" || type == "OptionSetValue") {
    pugi::xml_node v = child(n, "Value");
    Path at(path, "Value");
    if (!v) at.fail(std::string(type) + " needs a Value element");
    if (type == "Money") return Value(Money{read_decimal(text(v), at)});
    return Value(OptionSetValue{read_integer<std::int32_t>(text(v), at, "an option value")});
  }
  if (type == "OptionSetValueCollection") {
    OptionSetValueCollection c;
    std::size_t i = 0;
    for_each_element(n, [&](pugi::xml_node option) {
      Path item(path, i++);
      Path at(item, "Value");
      c.values.push_back(
          read_integer<std::int32_t>(text(child(option, "Value")), at, "an option value"));
    });
    return Value(std::move(c));
  }
  if (type == "EntityReference") return Value(read_reference(n, path));
  if (type == "Entity") return Value(read_entity(n, path));
  if (type == "EntityCollection") {
    EntityCollection c;
    for_each_element(n, [&](pugi::xml_node m) {
      std::string_view name = local_name(m);
      Path at(path, name);
      if (name == "Entities") {
        std::size_t i = 0;
        for_each_element(
            m, [&](pugi::xml_node e) { c.entities.push_back(read_entity(e, Path(at, i++))); });
      } else if (name == "EntityName")
        c.entity_name = read_string(m);
      else if (name == "MoreRecords")
        c.more_records = read_bool(m, at);
      else if (name == "PagingCookie")
        c.paging_cookie = read_string(m);
      else if (name == "TotalRecordCount")
        c.total_record_count = read_integer<int>(text(m), at, "a record count");
    });
    return Value(std::move(c));
  }
  Path(path, "@i:type").fail("unsupported type \"" + std::string(attribute(n, "type")) + "\"");
}

EntityImageCollection read_images(pugi::xml_node n, const Path& path) {
  EntityImageCollection out;
  for_each_pair(n, path, [&](std::string_view alias, pugi::xml_node v, const Path& at) {
    if (!v) at.fail("an image needs a value element");
    out.insert_or_assign(std::string(alias), read_entity(v, at));
  });
  return out;
}

ExecutionContext read_context(pugi::xml_node r, const Path& path);

/// Whether a character reference to `code` decodes to UTF-8 text. Control characters do (the
/// writer spells them "&#23;", as XML 1.1 allows); NUL, surrogates and numbers beyond U+10FFFF
/// do not.
bool is_text_code_point(unsigned long code) {
  return code != 0 && (code < 0xD800 || code > 0xDFFF) && code <= 0x10FFFF;
}

/// Whether `text` holds at `i` a character reference pugixml would decode ("&#...;", "&#x...;")
/// to no character of text.
bool invalid_character_reference(std::string_view text, std::size_t i) {
  if (text.compare(i, 2, "&#") != 0) return false;
  const bool hex = i + 2 < text.size() && text[i + 2] == 'x';
  std::size_t digits = i + (hex ? 3 : 2), end = text.find(';', digits);
  if (end == std::string_view::npos) return false;
  unsigned long code = 0;
  auto [ptr, ec] = std::from_chars(text.data() + digits, text.data() + end, code, hex ? 16 : 10);
  if (ptr != text.data() + end) return false;  // not a reference pugixml decodes
  return ec != std::errc() || !is_text_code_point(code);
}

/// The offset of the first character reference ("&#0;", "&#xDC00;") that names no character of
/// text, or npos. pugixml decodes them as they are: a surrogate to bytes that are not UTF-8, &#0;
/// to a NUL that cuts its string short. Comments, CDATA sections and processing instructions are
/// skipped, where "&#" is only text; a tag is read to its end, its quoted attribute values
/// included, in which pugixml decodes references and takes "<?" or "<!--" as text. An opener
/// without its closer skips nothing: what follows is looked at, whether pugixml refuses the
/// document or reads it some lenient way.
std::size_t invalid_character_reference_at(std::string_view text) {
  std::size_t i = text.find_first_of("&<");
  while (i != std::string_view::npos) {
    if (text[i] == '&') {
      if (invalid_character_reference(text, i)) return i;
      i = text.find_first_of("&<", i + 1);
      continue;
    }
    bool skipped = false;
    for (auto [open, close] :
         {std::pair{"<!--", "-->"}, std::pair{"<![CDATA[", "]]>"}, std::pair{"<?", "?>"}}) {
      if (text.compare(i, std::strlen(open), open) != 0) continue;
      std::size_t end = text.find(close, i + std::strlen(open));
      i = end == std::string_view::npos ? i + std::strlen(open) : end + std::strlen(close);
      skipped = true;
      break;
    }
    if (!skipped) {
      // A tag. Every reference in it is looked at, in a quoted value or not: pugixml may be more
      // lenient than XML about where text is.
      char quote = 0;
      for (++i; i < text.size(); ++i) {
        const char ch = text[i];
        if (ch == '&' && invalid_character_reference(text, i)) return i;
        if (quote) {
          if (ch == quote) quote = 0;
        } else if (ch == '"' || ch == '\'') {
          quote = ch;
        } else if (ch == '>') {
          break;
        }
      }
      ++i;
    }
    i = i < text.size() ? text.find_first_of("&<", i) : std::string_view::npos;
  }
  return std::string_view::npos;
}

/// Reads a context member from its element `m`; which overload runs is the member's type.
struct MemberReader {
  pugi::xml_node m;
  const Path& at;

  int number(const char* what) const { return read_integer<int>(text(m), at, what); }

  void operator()(std::string& out) const { out = read_string(m); }
  void operator()(Guid& out) const { out = read_guid(m, at); }
  // depth, the one int member
  void operator()(int& out) const { out = number("a depth"); }
  void operator()(Stage& out) const { out = detail::stage_from(number("a stage number"), at); }
  void operator()(Mode& out) const { out = detail::mode_from(number("a mode"), at); }
  void operator()(IsolationMode& out) const {
    out = detail::isolation_mode_from(number("an isolation mode"), at);
  }
  void operator()(bool& out) const { out = read_bool(m, at); }
  void operator()(DateTime& out) const { out = read_date(m, at); }
  void operator()(ParameterCollection& out) const { out = read_parameters(m, at); }
  void operator()(EntityImageCollection& out) const { out = read_images(m, at); }
  void operator()(std::optional<Guid>& out) const {
    if (!is_nil(m)) out = read_guid(m, at);
  }
  void operator()(EntityReference& out) const {
    if (!is_nil(m)) out = read_reference(m, at);
  }
  void operator()(std::shared_ptr<const ExecutionContext>& out) const {
    if (!is_nil(m)) out = std::make_shared<const ExecutionContext>(read_context(m, at));
  }
};

ExecutionContext read_context(pugi::xml_node r, const Path& path) {
  ExecutionContext c;
  detail::MemberLookup lookup(detail::contract_members);
  for_each_element(r, [&](pugi::xml_node m) {
    std::string_view key = local_name(m);
    Path at(path, key);
    // Unknown members are skipped, as a DataContract reader skips them.
    if (const auto* member = lookup.find(key))
      detail::visit_member(c, member->member, MemberReader{m, at});
  });
  return c;
}

}  // namespace

std::string write_context(const ExecutionContext& context) {
  pugi::xml_document doc;
  pugi::xml_node root = doc.append_child("RemoteExecutionContext");
  root.append_attribute("xmlns") = contracts_ns;
  root.append_attribute("xmlns:i") = instance_ns;
  root.append_attribute("xmlns:a") = contracts_ns;
  root.append_attribute("xmlns:b") = generic_ns;
  root.append_attribute("xmlns:c") = schema_ns;
  root.append_attribute("xmlns:s") = serialization_ns;
  write_context_members(root, context);
  StringWriter out;
  doc.save(out, "", pugi::format_raw | pugi::format_no_declaration, pugi::encoding_utf8);
  // A raw carriage return would be folded into a line feed by every XML reader; pugixml writes
  // it raw, and markup never contains one, so each one left is text to escape.
  if (out.text.find('\r') == std::string::npos) return std::move(out.text);
  std::string escaped;
  escaped.reserve(out.text.size() + 16);
  for (char ch : out.text) {
    if (ch == '\r')
      escaped += "&#13;";
    else
      escaped += ch;
  }
  return escaped;
}

ExecutionContext read_context(std::string_view text) {
  // pugixml takes any bytes and decodes any character reference; a context read here may be
  // posted again as JSON, which is UTF-8 text.
  if (std::size_t bad = input::invalid_utf8_at(text); bad != std::string_view::npos)
    throw FormatError("", "invalid UTF-8 at " + input::line_and_column(text, bad));
  if (std::size_t bad = invalid_character_reference_at(text); bad != std::string_view::npos)
    throw FormatError("", "invalid XML at " + input::line_and_column(text, bad) +
                              ": a character reference to no character of text (&#0;, a "
                              "surrogate)");
  pugi::xml_document doc;
  // Keep a value that is only whitespace: it is the value.
  pugi::xml_parse_result parsed =
      doc.load_buffer(text.data(), text.size(), pugi::parse_default | pugi::parse_ws_pcdata_single,
                      pugi::encoding_utf8);
  if (!parsed) {
    throw FormatError(
        "", "invalid XML at " +
                input::line_and_column(text, static_cast<std::size_t>(parsed.offset)) + ": " +
                parsed.description());
  }
  pugi::xml_node root = doc.document_element();
  if (local_name(root) != "RemoteExecutionContext")
    throw FormatError("", "the root element is <" + std::string(root.name()) +
                              ">, expected <RemoteExecutionContext>");
  return read_context(root, Path());
}

namespace {

const FormatRegistration xml_format({.name = "xml",
                                     .content_type = "application/xml",
                                     .write = xml::write_context,
                                     .read = xml::read_context,
                                     .library = "stepline-sdk"});

}  // namespace

}  // namespace stepline::format::xml
