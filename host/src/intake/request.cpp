#include <stepline/host/intake/request.hpp>

#include <algorithm>
#include <array>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <stepline/format/json.hpp>
#include <stepline/text.hpp>

#include "untrusted_json.hpp"

namespace stepline::host::intake {
namespace {

using Json = rapidjson::Value;

/// How deep a request may nest (docs/REQUESTS.md): 64, the default limit of .NET's JSON readers.
/// The parser, the readers and the writers that copy parts of a request recurse once per level.
constexpr std::size_t max_request_depth = 64;

constexpr std::array known_fields = {"message",   "target", "parameters", "userId",
                                     "requestId", "tag",    "bypass",     "bypassStepIds",
                                     "columns",   "query",  "userAgent"};

std::string text_of(const Json& j) {
  return std::string(j.GetString(), j.GetStringLength());
}

std::string json_text(const Json& j) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  j.Accept(w);
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string prefixed(const std::string& prefix, const std::string& path) {
  if (path.empty()) return prefix;
  return path.front() == '[' ? prefix + path : prefix + "." + path;
}

std::string string_field(const Json& j, const std::string& path, const char* what) {
  if (!j.IsString()) throw RequestError(path, std::string("must be a string (") + what + ")");
  return text_of(j);
}

Guid guid_field(const Json& j, const std::string& path) {
  auto text = string_field(j, path, "a guid like \"55555555-0000-0000-0000-0000000000ac\"");
  auto g = Guid::try_parse(text);
  if (!g) throw RequestError(path, "\"" + text + "\" is not a guid (8-4-4-4-12 hex digits)");
  return *g;
}

/// The problem a FormatError describes, without its path: what() is "<path>: <problem>" (or
/// less, should a NUL in the text have cut it short).
std::string problem_of(const format::FormatError& e) {
  const std::string_view what = e.what();
  if (e.path().empty() || what.size() < e.path().size() + 2) return std::string(what);
  return std::string(what.substr(e.path().size() + 2));
}

/// Runs one of the codec's readers on a part of the request, with the part's path in errors.
template <class Read>
auto read_at(Read read, const Json& j, const std::string& path) {
  try {
    return read(json_text(j));
  } catch (const format::FormatError& e) {
    throw RequestError(prefixed(path, e.path()), problem_of(e));
  }
}

Entity read_entity_at(const Json& j, const std::string& path) {
  return read_at([](const std::string& text) { return format::json::read_entity(text); }, j, path);
}

ParameterCollection read_parameters_at(const Json& j, const std::string& path) {
  return read_at([](const std::string& text) { return format::json::read_parameters(text); }, j,
                 path);
}

EntityReference read_reference(const Json& j, const std::string& path) {
  if (!j.IsObject()) throw RequestError(path, "must be {\"logicalName\":\"account\",\"id\":\"…\"}");
  EntityReference r;
  auto name = j.FindMember("logicalName");
  if (name == j.MemberEnd())
    throw RequestError(path, "missing \"logicalName\" (the table, e.g. \"account\")");
  r.logical_name = string_field(name->value, path + ".logicalName", "the table's logical name");
  if (r.logical_name.empty()) throw RequestError(path + ".logicalName", "must not be empty");
  auto id = j.FindMember("id");
  if (id == j.MemberEnd()) throw RequestError(path, "missing \"id\" (the record's guid)");
  r.id = guid_field(id->value, path + ".id");
  return r;
}

std::string columns_text(const Json& j, const std::string& path) {
  if (!j.IsArray())
    throw RequestError(path, "must be an array of column names, e.g. [\"name\",\"revenue\"]");
  std::string out;
  int i = 0;
  for (const auto& c : j.GetArray()) {
    auto name = string_field(c, path + "[" + std::to_string(i++) + "]", "a column name");
    out += (out.empty() ? "" : ",") + name;
  }
  return out;
}

int positive_int(const Json& j, const std::string& path, int minimum) {
  if (!j.IsInt() || j.GetInt() < minimum)
    throw RequestError(path, "must be a whole number of at least " + std::to_string(minimum));
  return j.GetInt();
}

void read_query(const Json& j, pipeline::OperationRequest& request) {
  if (!j.IsObject())
    throw RequestError(
        "query",
        "must be "
        "{\"logicalName\":\"account\",\"conditions\":{…},\"pageSize\":50,\"pageNumber\":1}");
  Entity conditions;
  bool named = false;
  for (const auto& m : j.GetObject()) {
    std::string key = text_of(m.name);
    std::string path = "query." + key;
    if (key == "logicalName") {
      conditions.logical_name = string_field(m.value, path, "the table's logical name");
      named = !conditions.logical_name.empty();
    } else if (key == "conditions") {
      conditions.attributes = read_parameters_at(m.value, path);
    } else if (key == "pageSize") {
      request.parameters.insert_or_assign("PageSize", Value(positive_int(m.value, path, 0)));
    } else if (key == "pageNumber") {
      request.parameters.insert_or_assign("PageNumber", Value(positive_int(m.value, path, 1)));
    } else {
      throw RequestError(
          path, "unknown field; a query has logicalName, conditions, pageSize and pageNumber");
    }
  }
  if (!named) throw RequestError("query", "missing \"logicalName\" (the table to query)");
  request.parameters.insert_or_assign("Query", Value(std::move(conditions)));
}

}  // namespace

RequestError::RequestError(std::string path, const std::string& problem)
    : std::invalid_argument(path.empty() ? problem : path + ": " + problem),
      path_(std::move(path)) {}

pipeline::OperationRequest parse_request(std::string_view json) {
  rapidjson::Document doc;
  try {
    input::read_json_document(json, doc, max_request_depth);
  } catch (const format::FormatError& e) {
    throw RequestError(e.path(), problem_of(e));
  }
  if (!doc.IsObject())
    throw RequestError("", "a request is a JSON object: {\"message\":\"Create\",\"target\":{…}}");

  pipeline::OperationRequest request;
  for (const auto& m : doc.GetObject()) {
    std::string key = text_of(m.name);
    if (std::find(known_fields.begin(), known_fields.end(), key) == known_fields.end()) {
      std::string list;
      for (const char* f : known_fields) list += (list.empty() ? "" : ", ") + std::string(f);
      throw RequestError(input::printable(key), "unknown field; a request has " + list);
    }
  }
  auto message = doc.FindMember("message");
  if (message == doc.MemberEnd())
    throw RequestError("message", "missing: name the message, e.g. \"Create\"");
  request.message = string_field(message->value, "message", "the message name, e.g. \"Update\"");
  if (request.message.empty()) throw RequestError("message", "must not be empty");

  // Parameters first, so that the dedicated fields below win over the same names inside them.
  if (auto p = doc.FindMember("parameters"); p != doc.MemberEnd())
    request.parameters = read_parameters_at(p->value, "parameters");

  const bool by_reference = request.message == "Delete" || request.message == "Retrieve";
  if (auto t = doc.FindMember("target"); t != doc.MemberEnd()) {
    if (by_reference)
      request.parameters.insert_or_assign("Target", Value(read_reference(t->value, "target")));
    else
      request.parameters.insert_or_assign("Target", Value(read_entity_at(t->value, "target")));
  } else if (by_reference || request.message == "Create" || request.message == "Update") {
    if (!request.parameters.count("Target"))
      throw RequestError("target",
                         "missing: " + request.message + " needs a target " +
                             (by_reference ? "{\"logicalName\":…,\"id\":…}"
                                           : "entity {\"logicalName\":…,\"attributes\":{…}}"));
  }
  if (request.message == "Update") {
    const Entity* e = request.parameters.at("Target").get_if<Entity>();
    if (e && e->id.is_nil())
      throw RequestError("target.id", "missing: Update needs the record's id");
  }
  if (auto q = doc.FindMember("query"); q != doc.MemberEnd())
    read_query(q->value, request);
  else if (request.message == "RetrieveMultiple" && !request.parameters.count("Query"))
    throw RequestError("query",
                       "missing: RetrieveMultiple needs {\"logicalName\":…,\"conditions\":{…}}");
  if (auto c = doc.FindMember("columns"); c != doc.MemberEnd())
    request.parameters.insert_or_assign("ColumnSet", Value(columns_text(c->value, "columns")));

  if (auto u = doc.FindMember("userId"); u != doc.MemberEnd())
    request.user_id = guid_field(u->value, "userId");
  if (auto r = doc.FindMember("requestId"); r != doc.MemberEnd())
    request.request_id = guid_field(r->value, "requestId");
  if (auto t = doc.FindMember("tag"); t != doc.MemberEnd())
    request.tag = string_field(t->value, "tag", "a text tag");
  if (auto a = doc.FindMember("userAgent"); a != doc.MemberEnd())
    request.user_agent = string_field(a->value, "userAgent", "the client's name and version");
  if (auto b = doc.FindMember("bypass"); b != doc.MemberEnd()) {
    auto listed =
        string_field(b->value, "bypass", "CustomSync, CustomAsync or CustomSync,CustomAsync");
    std::string_view rest = listed;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      auto item = text::trim(rest.substr(0, comma));
      if (item != "CustomSync" && item != "CustomAsync")
        throw RequestError("bypass",
                           "unknown value '" + std::string(item) +
                               "'; use CustomSync, CustomAsync or CustomSync,CustomAsync");
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    request.parameters.insert_or_assign("BypassBusinessLogicExecution", Value(listed));
  }
  if (auto b = doc.FindMember("bypassStepIds"); b != doc.MemberEnd()) {
    std::string list;
    auto add = [&](const Json& item, const std::string& path) {
      auto listed = string_field(item, path, "a step id");
      std::string_view rest = listed;
      while (!rest.empty()) {
        auto comma = rest.find(',');
        std::string one(text::trim(rest.substr(0, comma)));
        if (!Guid::try_parse(one))
          throw RequestError(path, "'" + one + "' is not a step id (a guid)");
        list += (list.empty() ? "" : ",") + one;
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
    };
    if (b->value.IsArray()) {
      int i = 0;
      for (const auto& item : b->value.GetArray())
        add(item, "bypassStepIds[" + std::to_string(i++) + "]");
    } else {
      add(b->value, "bypassStepIds");
    }
    request.parameters.insert_or_assign("BypassBusinessLogicExecutionStepIds", Value(list));
  }
  return request;
}

std::string write_response(const pipeline::OperationResponse& r) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  auto str = [&](std::string_view s) {
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  };
  w.StartObject();
  w.Key("outcome");
  str(to_string(r.outcome));
  if (!r.correlation_id.is_nil()) {
    w.Key("correlationId");
    str(r.correlation_id.str());
    w.Key("requestId");
    str(r.request_id.str());
  }
  w.Key("outputParameters");
  auto outputs = format::json::write_parameters(r.output_parameters);
  w.RawValue(outputs.data(), outputs.size(), rapidjson::kObjectType);
  w.Key("traces");
  w.StartArray();
  for (const auto& line : r.traces) str(line);
  w.EndArray();
  if (!r.ok()) {
    w.Key("error");
    w.StartObject();
    w.Key("message");
    str(r.error_message);
    w.Key("code");
    w.Int(r.error_code);
    if (!r.trace_id.empty()) {
      w.Key("traceId");
      str(r.trace_id);
    }
    w.EndObject();
  }
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace stepline::host::intake
