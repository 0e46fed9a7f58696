// Interim implementation of the `json` format (see json_codec.hpp), on RapidJSON.
#include "json_codec.hpp"

#include <cmath>
#include <limits>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace stepline::host::interim_json {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;
using Json = rapidjson::Value;

void write_string(Writer& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void write_entity_body(Writer& w, const Entity& e, bool tagged);

void write_tagged(Writer& w, std::string_view type, const auto& write_fields) {
  w.StartObject();
  w.Key("@type");
  write_string(w, type);
  write_fields();
  w.EndObject();
}

void write_value_to(Writer& w, const Value& v) {
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
      write_tagged(w, "bigint", [&] {
        w.Key("value");
        write_string(w, std::to_string(v.as<std::int64_t>()));
      });
      break;
    case ValueKind::boolean:
      w.Bool(v.as<bool>());
      break;
    case ValueKind::floating: {
      double d = v.as<double>();
      if (!std::isfinite(d))
        throw std::invalid_argument("a double value is not finite and has no JSON form");
      w.Double(d);
      break;
    }
    case ValueKind::decimal:
      write_tagged(w, "decimal", [&] {
        w.Key("value");
        write_string(w, v.as<Decimal>().str());
      });
      break;
    case ValueKind::money:
      write_tagged(w, "money", [&] {
        w.Key("value");
        write_string(w, v.as<Money>().value.str());
      });
      break;
    case ValueKind::option_set:
      write_tagged(w, "optionset", [&] {
        w.Key("value");
        w.Int(v.as<OptionSetValue>().value);
      });
      break;
    case ValueKind::multi_option_set:
      write_tagged(w, "multioptionset", [&] {
        w.Key("value");
        w.StartArray();
        for (auto x : v.as<OptionSetValueCollection>().values) w.Int(x);
        w.EndArray();
      });
      break;
    case ValueKind::date_time:
      write_tagged(w, "datetime", [&] {
        w.Key("value");
        write_string(w, to_iso8601(v.as<DateTime>()));
      });
      break;
    case ValueKind::guid:
      write_tagged(w, "guid", [&] {
        w.Key("value");
        write_string(w, v.as<Guid>().str());
      });
      break;
    case ValueKind::entity_reference: {
      const auto& r = v.as<EntityReference>();
      write_tagged(w, "entityreference", [&] {
        w.Key("logicalName");
        write_string(w, r.logical_name);
        w.Key("id");
        write_string(w, r.id.str());
        if (!r.name.empty()) {
          w.Key("name");
          write_string(w, r.name);
        }
      });
      break;
    }
    case ValueKind::entity:
      write_entity_body(w, v.as<Entity>(), true);
      break;
    case ValueKind::entity_collection: {
      const auto& c = v.as<EntityCollection>();
      write_tagged(w, "entitycollection", [&] {
        w.Key("entityName");
        write_string(w, c.entity_name);
        w.Key("entities");
        w.StartArray();
        for (const auto& e : c.entities) write_entity_body(w, e, false);
        w.EndArray();
        w.Key("moreRecords");
        w.Bool(c.more_records);
        w.Key("pagingCookie");
        write_string(w, c.paging_cookie);
        w.Key("totalRecordCount");
        w.Int(c.total_record_count);
      });
      break;
    }
  }
}

void write_parameters_to(Writer& w, const ParameterCollection& p) {
  w.StartObject();
  for (const auto& [k, v] : p) {
    write_string(w, k);
    write_value_to(w, v);
  }
  w.EndObject();
}

void write_entity_body(Writer& w, const Entity& e, bool tagged) {
  w.StartObject();
  if (tagged) {
    w.Key("@type");
    w.String("entity");
  }
  w.Key("logicalName");
  write_string(w, e.logical_name);
  w.Key("id");
  write_string(w, e.id.str());
  w.Key("attributes");
  write_parameters_to(w, e.attributes);
  if (!e.formatted_values.empty()) {
    w.Key("formattedValues");
    w.StartObject();
    for (const auto& [k, v] : e.formatted_values) {
      write_string(w, k);
      write_string(w, v);
    }
    w.EndObject();
  }
  w.EndObject();
}

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string text_of(const Json& j) {
  return std::string(j.GetString(), j.GetStringLength());
}

const Json& member(const Json& obj, const char* key, const std::string& path, const char* what) {
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd())
    throw FormatError(path, std::string("missing \"") + key + "\" (" + what + ")");
  return it->value;
}

std::string string_member(const Json& obj, const char* key, const std::string& path,
                          const char* what) {
  const Json& v = member(obj, key, path, what);
  if (!v.IsString())
    throw FormatError(join(path, key), std::string("must be a string (") + what + ")");
  return text_of(v);
}

Guid guid_from(const Json& v, const std::string& path) {
  if (!v.IsString())
    throw FormatError(path, "must be a guid string like \"55555555-0000-0000-0000-0000000000ac\"");
  auto g = Guid::try_parse(std::string_view(v.GetString(), v.GetStringLength()));
  if (!g) throw FormatError(path, "\"" + text_of(v) + "\" is not a guid (8-4-4-4-12 hex digits)");
  return *g;
}

Entity read_entity_from(const Json& j, const std::string& path);
ParameterCollection read_parameters_from(const Json& j, const std::string& path);

Value read_value_from(const Json& j, const std::string& path) {
  if (j.IsNull()) return {};
  if (j.IsString()) return Value(text_of(j));
  if (j.IsBool()) return Value(j.GetBool());
  if (j.IsInt()) return Value(static_cast<std::int32_t>(j.GetInt()));
  if (j.IsInt64()) return Value(static_cast<std::int64_t>(j.GetInt64()));
  if (j.IsNumber()) {
    if (j.IsUint64()) throw FormatError(path, "integer is outside the 64-bit range");
    return Value(j.GetDouble());
  }
  if (j.IsArray())
    throw FormatError(path,
                      "arrays are written as a tagged value, e.g. "
                      "{\"@type\":\"multioptionset\",\"value\":[1,2]}");
  auto type_it = j.FindMember("@type");
  if (type_it == j.MemberEnd() || !type_it->value.IsString())
    throw FormatError(path,
                      "an object value needs \"@type\" (one of bigint, decimal, money, optionset, "
                      "multioptionset, datetime, guid, entityreference, entity, entitycollection)");
  std::string type = text_of(type_it->value);
  auto value_path = join(path, "value");
  auto need_text = [&](const char* example) -> std::string {
    auto it = j.FindMember("value");
    if (it == j.MemberEnd() || !it->value.IsString())
      throw FormatError(path, "\"@type\" \"" + type + "\" needs \"value\" as " + example);
    return text_of(it->value);
  };
  try {
    if (type == "bigint") {
      auto t = need_text("an integer string like \"9007199254740993\"");
      std::size_t used = 0;
      long long n = std::stoll(t, &used);
      if (used != t.size()) throw std::invalid_argument(t);
      return Value(static_cast<std::int64_t>(n));
    }
    if (type == "decimal") return Value(Decimal(need_text("a decimal string like \"12.50\"")));
    if (type == "money") return Value(Money{Decimal(need_text("a decimal string like \"12.50\""))});
    if (type == "optionset") {
      auto it = j.FindMember("value");
      if (it == j.MemberEnd() || !it->value.IsInt())
        throw FormatError(path, "\"@type\" \"optionset\" needs \"value\" as an integer");
      return Value(OptionSetValue{it->value.GetInt()});
    }
    if (type == "multioptionset") {
      auto it = j.FindMember("value");
      if (it == j.MemberEnd() || !it->value.IsArray())
        throw FormatError(path,
                          "\"@type\" \"multioptionset\" needs \"value\" as an array of integers");
      OptionSetValueCollection c;
      for (const auto& x : it->value.GetArray()) {
        if (!x.IsInt()) throw FormatError(value_path, "every choice must be an integer");
        c.values.push_back(x.GetInt());
      }
      return Value(std::move(c));
    }
    if (type == "datetime") {
      auto t = need_text("an ISO-8601 string like \"2024-08-02T07:00:39.000Z\"");
      auto d = parse_iso8601(t);
      if (!d)
        throw FormatError(
            value_path,
            "\"" + t + "\" is not an ISO-8601 date-time like \"2024-08-02T07:00:39.000Z\"");
      return Value(*d);
    }
    if (type == "guid") return Value(guid_from(member(j, "value", path, "the guid"), value_path));
    if (type == "entityreference") {
      EntityReference r;
      r.logical_name = string_member(j, "logicalName", path, "the table's logical name");
      r.id = guid_from(member(j, "id", path, "the record id"), join(path, "id"));
      if (auto it = j.FindMember("name"); it != j.MemberEnd() && it->value.IsString())
        r.name = text_of(it->value);
      return Value(std::move(r));
    }
    if (type == "entity") return Value(read_entity_from(j, path));
    if (type == "entitycollection") {
      EntityCollection c;
      c.entity_name = string_member(j, "entityName", path, "the table's logical name");
      const Json& list = member(j, "entities", path, "the records");
      if (!list.IsArray())
        throw FormatError(join(path, "entities"), "must be an array of entities");
      int i = 0;
      for (const auto& e : list.GetArray())
        c.entities.push_back(
            read_entity_from(e, join(path, "entities") + "[" + std::to_string(i++) + "]"));
      if (auto it = j.FindMember("moreRecords"); it != j.MemberEnd() && it->value.IsBool())
        c.more_records = it->value.GetBool();
      if (auto it = j.FindMember("pagingCookie"); it != j.MemberEnd() && it->value.IsString())
        c.paging_cookie = text_of(it->value);
      if (auto it = j.FindMember("totalRecordCount"); it != j.MemberEnd() && it->value.IsInt())
        c.total_record_count = it->value.GetInt();
      return Value(std::move(c));
    }
  } catch (const FormatError&) {
    throw;
  } catch (const std::exception& e) {
    throw FormatError(value_path, "\"@type\" \"" + type + "\" has an invalid value: " + e.what());
  }
  throw FormatError(join(path, "@type"), "unknown type \"" + type + "\"");
}

ParameterCollection read_parameters_from(const Json& j, const std::string& path) {
  if (!j.IsObject()) throw FormatError(path, "must be an object of name: value");
  ParameterCollection out;
  for (const auto& m : j.GetObject()) {
    std::string key = text_of(m.name);
    out.insert_or_assign(key, read_value_from(m.value, join(path, key)));
  }
  return out;
}

Entity read_entity_from(const Json& j, const std::string& path) {
  if (!j.IsObject())
    throw FormatError(path, "must be an entity object {\"logicalName\":…,\"attributes\":{…}}");
  Entity e;
  e.logical_name =
      string_member(j, "logicalName", path, "the table's logical name, e.g. \"account\"");
  if (e.logical_name.empty()) throw FormatError(join(path, "logicalName"), "must not be empty");
  if (auto it = j.FindMember("id"); it != j.MemberEnd() && !it->value.IsNull())
    e.id = guid_from(it->value, join(path, "id"));
  if (auto it = j.FindMember("attributes"); it != j.MemberEnd())
    e.attributes = read_parameters_from(it->value, join(path, "attributes"));
  if (auto it = j.FindMember("formattedValues"); it != j.MemberEnd()) {
    if (!it->value.IsObject())
      throw FormatError(join(path, "formattedValues"), "must be an object of name: text");
    for (const auto& m : it->value.GetObject()) {
      if (!m.value.IsString())
        throw FormatError(join(join(path, "formattedValues"), text_of(m.name)), "must be a string");
      e.formatted_values.emplace(text_of(m.name), text_of(m.value));
    }
  }
  return e;
}

rapidjson::Document parse(std::string_view json) {
  rapidjson::Document d;
  d.Parse(json.data(), json.size());
  if (d.HasParseError())
    throw FormatError("", std::string("invalid JSON at offset ") +
                              std::to_string(d.GetErrorOffset()) + ": " +
                              rapidjson::GetParseError_En(d.GetParseError()));
  return d;
}

void write_context_to(Writer& w, const ExecutionContext& c) {
  auto key_guid = [&](const char* k, const Guid& g) {
    w.Key(k);
    write_string(w, g.str());
  };
  auto key_string = [&](const char* k, std::string_view s) {
    w.Key(k);
    write_string(w, s);
  };
  auto images = [&](const char* k, const EntityImageCollection& imgs) {
    w.Key(k);
    w.StartObject();
    for (const auto& [alias, e] : imgs) {
      write_string(w, alias);
      write_entity_body(w, e, false);
    }
    w.EndObject();
  };
  w.StartObject();
  key_guid("BusinessUnitId", c.business_unit_id);
  key_guid("CorrelationId", c.correlation_id);
  w.Key("Depth");
  w.Int(c.depth);
  key_guid("InitiatingUserAzureActiveDirectoryObjectId",
           c.initiating_user_azure_active_directory_object_id);
  key_guid("InitiatingUserId", c.initiating_user_id);
  key_string("InitiatingUserAgent", c.initiating_user_agent);
  w.Key("InputParameters");
  write_parameters_to(w, c.input_parameters);
  w.Key("IsExecutingOffline");
  w.Bool(c.is_executing_offline);
  w.Key("IsInTransaction");
  w.Bool(c.is_in_transaction);
  w.Key("IsOfflinePlayback");
  w.Bool(c.is_offline_playback);
  w.Key("IsolationMode");
  w.Int(static_cast<int>(c.isolation_mode));
  key_string("MessageName", c.message_name);
  w.Key("Mode");
  w.Int(static_cast<int>(c.mode));
  key_string("OperationCreatedOn", to_iso8601(c.operation_created_on));
  key_guid("OperationId", c.operation_id);
  key_guid("OrganizationId", c.organization_id);
  key_string("OrganizationName", c.organization_name);
  w.Key("OutputParameters");
  write_parameters_to(w, c.output_parameters);
  w.Key("OwningExtension");
  write_value_to(w, Value(c.owning_extension));
  w.Key("ParentContext");
  if (c.parent_context)
    write_context_to(w, *c.parent_context);
  else
    w.Null();
  images("PostEntityImages", c.post_entity_images);
  images("PreEntityImages", c.pre_entity_images);
  key_guid("PrimaryEntityId", c.primary_entity_id);
  key_string("PrimaryEntityName", c.primary_entity_name);
  w.Key("RequestId");
  if (c.request_id)
    write_string(w, c.request_id->str());
  else
    w.Null();
  key_string("SecondaryEntityName", c.secondary_entity_name);
  w.Key("SharedVariables");
  write_parameters_to(w, c.shared_variables);
  w.Key("Stage");
  w.Int(static_cast<int>(c.stage));
  key_guid("UserAzureActiveDirectoryObjectId", c.user_azure_active_directory_object_id);
  key_guid("UserId", c.user_id);
  w.EndObject();
}

template <class F>
std::string write_with(F&& f) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  f(w);
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace

std::string write_value(const Value& value) {
  return write_with([&](Writer& w) { write_value_to(w, value); });
}

Value read_value(std::string_view json) {
  return read_value_from(parse(json), "");
}

std::string write_entity(const Entity& entity) {
  return write_with([&](Writer& w) { write_entity_body(w, entity, false); });
}

Entity read_entity(std::string_view json) {
  return read_entity_from(parse(json), "");
}

std::string write_parameters(const ParameterCollection& parameters) {
  return write_with([&](Writer& w) { write_parameters_to(w, parameters); });
}

ParameterCollection read_parameters(std::string_view json_object) {
  return read_parameters_from(parse(json_object), "");
}

std::string write_context(const ExecutionContext& context) {
  return write_with([&](Writer& w) { write_context_to(w, context); });
}

}  // namespace stepline::host::interim_json
