#include "odata.hpp"

#include <cmath>
#include <cstdio>
#include <limits>
#include <set>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <stepline/format/json.hpp>
#include <stepline/text.hpp>

namespace stepline::host::http {
namespace {

using Json = rapidjson::Value;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

// Iterative parsing keeps a deeply nested body from exhausting the stack; invalid UTF-8 is
// refused rather than carried into records.
constexpr unsigned parse_flags =
    rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag;
constexpr int max_nesting = 64;

[[noreturn]] void bad(const std::string& message) {
  throw WebApiError(400, web_code::bad_payload, message);
}

std::string text_of(const Json& j) {
  return std::string(j.GetString(), j.GetStringLength());
}

std::string json_text(const Json& j) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  j.Accept(w);
  return std::string(buffer.GetString(), buffer.GetSize());
}

// Recurses at most `limit` levels, however deep the value is.
bool deeper_than(const Json& j, int limit) {
  if (!j.IsObject() && !j.IsArray()) return false;
  if (limit <= 0) return true;
  if (j.IsObject()) {
    for (const auto& m : j.GetObject())
      if (deeper_than(m.value, limit - 1)) return true;
  } else {
    for (const auto& v : j.GetArray())
      if (deeper_than(v, limit - 1)) return true;
  }
  return false;
}

/// The body as an object, parsed twice: with types, and with every number's exact text (money
/// and decimals keep the digits the client sent).
struct Body {
  rapidjson::Document typed;
  rapidjson::Document raw;
};

void parse_body(std::string_view json, Body& body) {
  if (text::trim(json).empty())
    bad("the request has no body; send a JSON object");
  body.typed.Parse<parse_flags>(json.data(), json.size());
  if (body.typed.HasParseError())
    bad("the body is not valid JSON at offset " + std::to_string(body.typed.GetErrorOffset()) +
        ": " + rapidjson::GetParseError_En(body.typed.GetParseError()));
  if (!body.typed.IsObject()) bad("the body must be a JSON object");
  // Walks below (writing a typed value back out) recurse: bound the depth first.
  body.raw.Parse<parse_flags | rapidjson::kParseNumbersAsStringsFlag>(json.data(), json.size());
  for (const auto& m : body.typed.GetObject())
    if (deeper_than(m.value, max_nesting))
      bad(text_of(m.name) + ": nested more than " + std::to_string(max_nesting) + " levels");
}

const Json& raw_member(const Body& body, const Json& name) {
  auto it = body.raw.FindMember(name);
  return it->value;
}

std::optional<Guid> guid_of(std::string_view text) {
  if (text.size() >= 2 && text.front() == '{' && text.back() == '}')
    text = text.substr(1, text.size() - 2);
  return Guid::try_parse(text);
}

/// "/accounts(00000000-…)" or "accounts(…)", as an @odata.bind value names a record.
EntityReference bound_record(const std::string& property, const Json& value, const Tables& tables) {
  if (!value.IsString())
    bad(property + ": must be a string like \"/accounts(00000000-0000-0000-0000-000000000001)\"");
  std::string_view text(value.GetString(), value.GetStringLength());
  if (auto api = text.find("/api/data/"); api != std::string_view::npos) {
    text = text.substr(api + 10);
    text = text.substr(text.find('/') == std::string_view::npos ? text.size() : text.find('/'));
  }
  if (!text.empty() && text.front() == '/') text.remove_prefix(1);
  auto open = text.find('(');
  if (open == std::string_view::npos || text.back() != ')')
    bad(property + ": '" + std::string(text) + "' is not a record; write /SET(ID)");
  auto set = text.substr(0, open);
  auto id = guid_of(text.substr(open + 1, text.size() - open - 2));
  auto table = tables.table_of_set(set);
  if (!table) bad(property + ": '" + std::string(set) + "' is not an entity set");
  if (!id) bad(property + ": '" + std::string(text) + "' does not end with a record id (a guid)");
  return {*table, *id, {}};
}

Value number_of(const std::string& property, const Json& typed, const Json& raw) {
  if (typed.IsInt()) return Value(static_cast<std::int32_t>(typed.GetInt()));
  if (typed.IsInt64()) return Value(static_cast<std::int64_t>(typed.GetInt64()));
  if (typed.IsUint64()) bad(property + ": " + text_of(raw) + " is too large");
  (void)raw;
  return Value(typed.GetDouble());
}

Decimal decimal_of(const std::string& property, const Json& typed, const Json& raw) {
  if (!typed.IsNumber()) bad(property + ": must be a number like 2500.00");
  try {
    return Decimal(text_of(raw));
  } catch (const std::invalid_argument&) {
    // 1e6 and the like: exact enough through a double.
    return Decimal::from_double(typed.GetDouble());
  }
}

Value typed_value(const std::string& property, ValueKind kind, const Json& typed, const Json& raw) {
  auto need = [&](bool ok, const char* what) {
    if (!ok) bad(property + ": must be " + what);
  };
  switch (kind) {
    case ValueKind::string:
      need(typed.IsString(), "a string");
      return Value(text_of(typed));
    case ValueKind::integer:
      need(typed.IsInt(), "a whole number between -2147483648 and 2147483647");
      return Value(static_cast<std::int32_t>(typed.GetInt()));
    case ValueKind::big_integer:
      need(typed.IsInt64(), "a whole number");
      return Value(static_cast<std::int64_t>(typed.GetInt64()));
    case ValueKind::boolean:
      need(typed.IsBool(), "true or false");
      return Value(typed.GetBool());
    case ValueKind::floating:
      need(typed.IsNumber(), "a number");
      return Value(typed.GetDouble());
    case ValueKind::decimal:
      return Value(decimal_of(property, typed, raw));
    case ValueKind::money:
      return Value(Money{decimal_of(property, typed, raw)});
    case ValueKind::option_set:
      need(typed.IsInt(), "a choice's whole-number value");
      return Value(OptionSetValue{typed.GetInt()});
    case ValueKind::multi_option_set: {
      OptionSetValueCollection c;
      if (typed.IsString()) {
        std::string_view rest(typed.GetString(), typed.GetStringLength());
        while (!rest.empty()) {
          auto comma = rest.find(',');
          std::string item(rest.substr(0, comma));
          try {
            std::size_t used = 0;
            int v = std::stoi(item, &used);
            if (used != item.size()) throw std::invalid_argument(item);
            c.values.push_back(v);
          } catch (const std::exception&) {
            bad(property + ": '" + item + "' is not a choice's value; write \"1,2,3\"");
          }
          if (comma == std::string_view::npos) break;
          rest.remove_prefix(comma + 1);
        }
        return Value(std::move(c));
      }
      need(typed.IsArray(), "choice values as \"1,2,3\" or [1,2,3]");
      for (const auto& v : typed.GetArray()) {
        need(v.IsInt(), "choice values as \"1,2,3\" or [1,2,3]");
        c.values.push_back(v.GetInt());
      }
      return Value(std::move(c));
    }
    case ValueKind::date_time: {
      need(typed.IsString(), "a date and time like \"2026-05-01T08:00:00Z\"");
      auto t = parse_iso8601(text_of(typed));
      if (!t)
        bad(property + ": '" + text_of(typed) +
            "' is not a date and time like 2026-05-01T08:00:00Z");
      return Value(*t);
    }
    case ValueKind::guid: {
      need(typed.IsString(), "a guid");
      auto g = guid_of(text_of(typed));
      if (!g) bad(property + ": '" + text_of(typed) + "' is not a guid");
      return Value(*g);
    }
    default:
      bad(property + ": this column type cannot be written through the Web API");
  }
}

Value plain_value(const std::string& property, const Json& typed, const Json& raw) {
  if (typed.IsNull()) return Value();
  if (typed.IsBool()) return Value(typed.GetBool());
  if (typed.IsString()) return Value(text_of(typed));
  if (typed.IsNumber()) return number_of(property, typed, raw);
  if (typed.IsObject() && typed.HasMember("@type")) {
    try {
      return format::json::read_value(json_text(typed));
    } catch (const std::exception& e) {
      bad(property + ": " + e.what());
    }
  }
  bad(property +
      ": nested records and arrays are not taken here; send a value, a lookup as "
      "\"" +
      property + "@odata.bind\": \"/SET(ID)\", or a typed value {\"@type\":\"money\",…}");
}

void write_value(Writer& w, const Value& v, const Tables& tables, int depth);

void write_string(Writer& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

/// A member's name, whole: a name holding a NUL is written with it escaped, not cut short there.
void write_key(Writer& w, std::string_view name) {
  w.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
}

void write_raw_number(Writer& w, const std::string& text) {
  w.RawValue(text.data(), text.size(), rapidjson::kNumberType);
}

void write_entity_members(Writer& w, const Entity& e, const Tables& tables, bool annotations,
                          int depth) {
  if (!e.id.is_nil()) {
    write_key(w, e.logical_name + "id");
    write_string(w, e.id.str());
  }
  for (const auto& [column, value] : e.attributes) {
    if (column == e.logical_name + "id" && !e.id.is_nil()) continue;
    if (const auto* r = value.get_if<EntityReference>()) {
      std::string key = "_" + column + "_value";
      write_key(w, key);
      write_string(w, r->id.str());
      if (annotations) {
        write_key(w, key + "@Microsoft.Dynamics.CRM.lookuplogicalname");
        write_string(w, r->logical_name);
        if (!r->name.empty()) {
          write_key(w, key + "@OData.Community.Display.V1.FormattedValue");
          write_string(w, r->name);
        }
      }
      continue;
    }
    write_key(w, column);
    write_value(w, value, tables, depth + 1);
    if (annotations)
      if (auto f = e.formatted_values.find(column); f != e.formatted_values.end()) {
        write_key(w, column + "@OData.Community.Display.V1.FormattedValue");
        write_string(w, f->second);
      }
  }
}

void write_value(Writer& w, const Value& v, const Tables& tables, int depth) {
  if (depth > max_nesting) {
    w.Null();
    return;
  }
  switch (v.kind()) {
    case ValueKind::null:
      w.Null();
      break;
    case ValueKind::string:
      write_string(w, v.as<std::string>());
      break;
    case ValueKind::integer:
      w.Int(v.as<std::int32_t>());
      break;
    case ValueKind::big_integer:
      w.Int64(v.as<std::int64_t>());
      break;
    case ValueKind::boolean:
      w.Bool(v.as<bool>());
      break;
    case ValueKind::floating: {
      double d = v.as<double>();
      if (std::isfinite(d))
        w.Double(d);
      else
        w.Null();
      break;
    }
    case ValueKind::decimal:
      write_raw_number(w, v.as<Decimal>().str());
      break;
    case ValueKind::money:
      write_raw_number(w, v.as<Money>().value.str());
      break;
    case ValueKind::option_set:
      w.Int(v.as<OptionSetValue>().value);
      break;
    case ValueKind::multi_option_set: {
      std::string text;
      for (int n : v.as<OptionSetValueCollection>().values)
        text += (text.empty() ? "" : ",") + std::to_string(n);
      write_string(w, text);
      break;
    }
    case ValueKind::date_time:
      write_string(w, to_iso8601(v.as<DateTime>()));
      break;
    case ValueKind::guid:
      write_string(w, v.as<Guid>().str());
      break;
    case ValueKind::entity_reference: {
      const auto& r = v.as<EntityReference>();
      w.StartObject();
      w.Key("@odata.type");
      write_string(w, "#Microsoft.Dynamics.CRM." + r.logical_name);
      write_key(w, r.logical_name + "id");
      write_string(w, r.id.str());
      w.EndObject();
      break;
    }
    case ValueKind::entity:
      w.StartObject();
      write_entity_members(w, v.as<Entity>(), tables, false, depth);
      w.EndObject();
      break;
    case ValueKind::entity_collection:
      w.StartArray();
      for (const auto& e : v.as<EntityCollection>().entities) {
        w.StartObject();
        write_entity_members(w, e, tables, false, depth + 1);
        w.EndObject();
      }
      w.EndArray();
      break;
  }
}

}  // namespace

std::string hex_code(std::int32_t code) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "0x%08x", static_cast<std::uint32_t>(code));
  return buffer;
}

std::string error_body(std::string_view code, std::string_view message) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("error");
  w.StartObject();
  w.Key("code");
  write_string(w, code);
  w.Key("message");
  write_string(w, message);
  w.EndObject();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

Entity read_record(std::string_view json, const std::string& table, const Tables& tables) {
  Body body;
  parse_body(json, body);
  Entity record(table);
  const std::string id_column = table + "id";
  for (const auto& m : body.typed.GetObject()) {
    std::string name = text_of(m.name);
    const Json& raw = raw_member(body, m.name);
    if (auto at = name.find('@'); at != std::string::npos) {
      if (name.substr(at) == "@odata.bind") {
        std::string column = name.substr(0, at);
        record.set(column, Value(bound_record(name, m.value, tables)));
      }
      continue;  // other annotations (@odata.type, …) carry nothing to store
    }
    if (name.empty()) bad("a property has an empty name");
    if (name == id_column) {
      auto id = m.value.IsString() ? guid_of(text_of(m.value)) : std::nullopt;
      if (!id) bad(name + ": must be the record's id (a guid)");
      record.id = *id;
      continue;
    }
    if (m.value.IsNull()) {
      record.set(name, Value());
    } else if (auto kind = tables.column_kind(table, name)) {
      record.set(name, typed_value(name, *kind, m.value, raw));
    } else {
      record.set(name, plain_value(name, m.value, raw));
    }
  }
  return record;
}

ParameterCollection read_parameters(std::string_view json) {
  ParameterCollection out;
  if (text::trim(json).empty()) return out;
  Body body;
  parse_body(json, body);
  for (const auto& m : body.typed.GetObject()) {
    std::string name = text_of(m.name);
    if (name.find('@') != std::string::npos) continue;
    out.insert_or_assign(name, plain_value(name, m.value, raw_member(body, m.name)));
  }
  return out;
}

namespace {

/// Reads $filter's text: `column eq literal`, joined by `and`.
class FilterReader {
 public:
  explicit FilterReader(std::string_view text) : text_(text) {}

  /// The conditions as the JSON object a Create's body would be, so that each literal becomes
  /// the value a record of the table holds (by the column's declared type).
  std::string conditions(const std::string& table, const std::string& set) {
    rapidjson::StringBuffer buffer;
    Writer w(buffer);
    w.StartObject();
    std::set<std::string, std::less<>> columns;
    do {
      skip_spaces();
      const std::string column = name();
      if (column == table + "id")
        fail("a filter on the record's id is not supported; retrieve the record as " + set +
             "(ID)");
      if (column.size() > 7 && column.front() == '_' && column.ends_with("_value"))
        fail("a filter on a lookup (" + column + ") is not supported by this host");
      if (!columns.insert(column).second) fail(column + " is in the filter twice");
      skip_spaces();
      if (!word("eq"))
        fail("only `column eq value` conditions joined by `and` are supported by this host");
      skip_spaces();
      write_key(w, column);
      literal(w);
      skip_spaces();
    } while (at_ < text_.size() && word("and"));
    if (at_ < text_.size()) fail("expected `and` or the end of the filter");
    w.EndObject();
    return std::string(buffer.GetString(), buffer.GetSize());
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw WebApiError(400, web_code::invalid_argument,
                      "$filter: " + why + " (at character " + std::to_string(at_ + 1) + " of '" +
                          text::printable(text_) + "')");
  }

  void skip_spaces() {
    while (at_ < text_.size() && text_[at_] == ' ') ++at_;
  }

  static bool name_char(char c, bool first) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           (!first && c >= '0' && c <= '9');
  }

  std::string name() {
    const std::size_t start = at_;
    while (at_ < text_.size() && name_char(text_[at_], at_ == start)) ++at_;
    if (at_ == start) fail("expected a column name");
    return std::string(text_.substr(start, at_ - start));
  }

  /// The keyword `w` followed by a space, taken.
  bool word(std::string_view w) {
    if (text_.substr(at_, w.size()) != w) return false;
    if (at_ + w.size() >= text_.size() || text_[at_ + w.size()] != ' ') return false;
    at_ += w.size();
    return true;
  }

  void literal(Writer& w) {
    if (at_ >= text_.size()) fail("expected a value");
    const char c = text_[at_];
    if (c == '\'') {
      std::string value;
      for (++at_;; ++at_) {
        if (at_ >= text_.size()) fail("a string is not closed with '");
        if (text_[at_] == '\'') {
          if (at_ + 1 < text_.size() && text_[at_ + 1] == '\'') {
            value += '\'';
            ++at_;
            continue;
          }
          ++at_;
          break;
        }
        value += text_[at_];
      }
      w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
      return;
    }
    std::size_t end = at_;
    while (end < text_.size() && text_[end] != ' ') ++end;
    const std::string_view token = text_.substr(at_, end - at_);
    if (token == "true" || token == "false") {
      w.Bool(token == "true");
    } else if (token == "null") {
      w.Null();
    } else if (token.size() == 36 && Guid::try_parse(token)) {
      w.String(token.data(), static_cast<rapidjson::SizeType>(token.size()));
    } else if (json_number(token)) {
      w.RawValue(token.data(), token.size(), rapidjson::kNumberType);
    } else {
      fail("expected a value: 'text', a number, true, false, null or a guid");
    }
    at_ = end;
  }

  /// -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, as JSON spells a number.
  static bool json_number(std::string_view t) {
    std::size_t i = 0;
    auto digits = [&] {
      const std::size_t from = i;
      while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
      return i > from;
    };
    if (i < t.size() && t[i] == '-') ++i;
    if (i < t.size() && t[i] == '0') {
      ++i;
    } else if (!digits()) {
      return false;
    }
    if (i < t.size() && t[i] == '.' && (++i, !digits())) return false;
    if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
      ++i;
      if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
      if (!digits()) return false;
    }
    return i == t.size();
  }

  std::string_view text_;
  std::size_t at_ = 0;
};

}  // namespace

Entity read_filter(std::string_view filter, const std::string& table, const Tables& tables) {
  const std::string conditions = FilterReader(filter).conditions(table, tables.set_of(table));
  try {
    return read_record(conditions, table, tables);
  } catch (const WebApiError& e) {
    throw WebApiError(400, web_code::invalid_argument, std::string("$filter: ") + e.what());
  }
}

std::string write_records(const EntityCollection& records, const std::string& context_url,
                          const std::string& next_link, const Tables& tables, bool annotations) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("@odata.context");
  write_string(w, context_url);
  w.Key("value");
  w.StartArray();
  for (const auto& record : records.entities) {
    w.StartObject();
    write_entity_members(w, record, tables, annotations, 0);
    w.EndObject();
  }
  w.EndArray();
  if (!next_link.empty()) {
    w.Key("@odata.nextLink");
    write_string(w, next_link);
  }
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string write_record(const Entity& record, const std::string& context_url, const Tables& tables,
                         bool annotations) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("@odata.context");
  write_string(w, context_url);
  write_entity_members(w, record, tables, annotations, 0);
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string write_outputs(const ParameterCollection& outputs, const std::string& context_url,
                          const Tables& tables) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("@odata.context");
  write_string(w, context_url);
  for (const auto& [name, value] : outputs) {
    write_key(w, name);
    write_value(w, value, tables, 1);
  }
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace stepline::host::http
