#include "web_api.hpp"

#include <charconv>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <stepline/host/intake/request.hpp>
#include <stepline/host/log.hpp>
#include <stepline/text.hpp>

#include "odata.hpp"
#include "trace_context.hpp"

namespace stepline::host::http {
namespace {

using text::trim;

constexpr std::string_view odata_version = "4.0";

/// The Prefer header's items, each trimmed: "return=representation", "odata.maxpagesize=50".
std::vector<std::string_view> preferences(const Request& r) {
  std::vector<std::string_view> items;
  std::string_view text = r.header("Prefer");
  while (!text.empty()) {
    auto comma = text.find(',');
    items.push_back(trim(text.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return items;
}

/// Whether the Prefer header asks for `preference`: a whole item ("return=representation") or,
/// given a bare name, any value of it ("odata.include-annotations").
bool prefers(const Request& r, std::string_view preference) {
  const bool by_name = preference.find('=') == std::string_view::npos;
  for (auto item : preferences(r))
    if (by_name ? trim(item.substr(0, item.find('='))) == preference : item == preference)
      return true;
  return false;
}

/// The value of a preference the Prefer header names ("odata.maxpagesize=50" → "50").
std::optional<std::string> preference(const Request& r, std::string_view name) {
  for (auto item : preferences(r))
    if (auto eq = item.find('='); eq != std::string_view::npos && trim(item.substr(0, eq)) == name)
      return std::string(trim(item.substr(eq + 1)));
  return std::nullopt;
}

Response with_odata(Response r) {
  r.header("OData-Version", std::string(odata_version));
  return r;
}

Response json_response(int status, std::string body) {
  return with_odata(Response::json(status, std::move(body)));
}

/// An operation's failure as the Web API reports it: the plug-in's message and code kept.
Response failure(const pipeline::OperationResponse& r) {
  int status = 500;
  if (r.outcome == pipeline::Outcome::rejected || r.outcome == pipeline::Outcome::invalid_request) {
    status = 400;
  } else if (r.error_code == pipeline::error_code::not_found) {
    status = 404;
  } else if (r.error_code == pipeline::error_code::duplicate) {
    status = 412;
  } else if (r.error_code == pipeline::error_code::invalid_argument ||
             r.error_code == pipeline::error_code::infinite_loop) {
    status = 400;
  }
  if (status == 500)
    log::warn("HTTP intake: an operation failed in the host ({}): {}", hex_code(r.error_code),
              r.error_message);
  auto answer = error_response(status, hex_code(r.error_code), r.error_message);
  if (!r.request_id.is_nil()) answer.header("x-ms-service-request-id", r.request_id.str());
  return answer;
}

/// The query options a route takes. Only a listing takes more than $select.
struct QueryOptions {
  std::optional<std::string> select;  ///< $select as a ColumnSet parameter value
  std::optional<std::string> filter;  ///< $filter, as sent (decoded)
  std::optional<int> top;             ///< $top
  int page = 1;                       ///< $skiptoken: the page of a nextLink
};

/// The most records one answer lists (a listing without $top pages by this, or by a smaller
/// odata.maxpagesize), as Dataverse's own limit.
constexpr int max_page_size = 5000;

int whole_number(const std::string& option, const std::string& value, int low, int high) {
  int n = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc() || end != value.data() + value.size() || n < low || n > high)
    throw WebApiError(400, web_code::invalid_argument,
                      option + ": '" + text::printable(value) + "' is not a whole number from " +
                          std::to_string(low) + " to " + std::to_string(high));
  return n;
}

/// The query string's options: $select everywhere, and for a listing (`listing`) $filter, $top
/// and $skiptoken; others are refused.
QueryOptions options_of(const Request& r, bool listing = false) {
  QueryOptions out;
  for (const auto& [name, value] : ::stepline::http::parse_query(r.query)) {
    if (name == "$select") {
      std::string columns;
      std::string_view rest = value;
      while (!rest.empty()) {
        auto comma = rest.find(',');
        auto column = trim(rest.substr(0, comma));
        if (column.empty() || column.find_first_of("()/ ") != std::string_view::npos)
          throw WebApiError(400, web_code::invalid_argument,
                            "$select: '" + std::string(column) + "' is not a column name");
        // A lookup is selected by its _name_value property; the record knows it as name.
        std::string name(column);
        if (name.size() > 7 && name.front() == '_' && name.ends_with("_value"))
          name = name.substr(1, name.size() - 7);
        columns += (columns.empty() ? "" : ",") + name;
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
      out.select = columns;
    } else if (listing && name == "$filter") {
      out.filter = value;
    } else if (listing && name == "$top") {
      out.top = whole_number(name, value, 1, max_page_size);
    } else if (listing && name == "$skiptoken") {
      out.page = whole_number(name, value, 1, 1'000'000);
    } else if (!name.empty() && name.front() == '$') {
      throw WebApiError(400, web_code::invalid_argument,
                        "the query option " + name + " is not supported by this host; " +
                            (listing ? "$select, $filter, $top and $skiptoken are" : "$select is"));
    }
  }
  return out;
}

std::optional<std::string> select_of(const Request& r) {
  return options_of(r).select;
}

struct Resource {
  std::string set;            ///< "accounts", or a message's name
  std::optional<Guid> id;     ///< "(…)" after the set
  std::string bound_message;  ///< ".../Microsoft.Dynamics.CRM.Name"
};

Resource parse_resource(const std::string& resource) {
  Resource out;
  std::string_view rest = resource;
  auto slash = rest.find('/');
  std::string_view first = rest.substr(0, slash);
  std::string_view after = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  auto open = first.find('(');
  if (open == std::string_view::npos) {
    out.set = std::string(first);
  } else {
    if (first.back() != ')')
      throw WebApiError(404, web_code::no_segment,
                        "Resource not found for the segment '" + std::string(first) + "'.");
    out.set = std::string(first.substr(0, open));
    auto key = first.substr(open + 1, first.size() - open - 2);
    if (key.size() == 38 && key.front() == '{' && key.back() == '}')
      key = key.substr(1, key.size() - 2);
    auto id = Guid::try_parse(key);
    if (!id)
      throw WebApiError(400, web_code::invalid_argument,
                        "'" + std::string(key) + "' is not a record id; address a record as " +
                            out.set +
                            "(00000000-0000-0000-0000-000000000000) (alternate keys are not "
                            "supported)");
    out.id = *id;
  }
  if (!after.empty()) {
    constexpr std::string_view prefix = "Microsoft.Dynamics.CRM.";
    if (!out.id || !after.starts_with(prefix) || after.find('/') != std::string_view::npos)
      throw WebApiError(404, web_code::no_segment,
                        "Resource not found for the segment '" + std::string(after) + "'.");
    out.bound_message = std::string(after.substr(prefix.size()));
  }
  return out;
}

std::string table_of(const Tables& tables, const std::string& set) {
  auto table = tables.table_of_set(set);
  if (!table)
    throw WebApiError(404, web_code::no_segment,
                      "Resource not found for the segment '" + set + "'.");
  return *table;
}

std::string record_url(const Request& r, const Tables& tables, const std::string& table,
                       const Guid& id) {
  return service_root(r) + tables.set_of(table) + "(" + id.str() + ")";
}

/// The record as stored after a Create or Update, for return=representation.
Entity stored_record(Host& host, const std::string& table, const Guid& id,
                     const std::optional<std::string>& select, Entity fallback) {
  ColumnSet columns = ColumnSet::all();
  if (select) {
    columns = ColumnSet{};
    std::string_view rest = *select;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      columns.columns.emplace_back(rest.substr(0, comma));
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  if (auto record = host.store().retrieve(table, id, columns)) return std::move(*record);
  fallback.id = id;  // a data provider keeps the record elsewhere: answer with what was sent
  return fallback;
}

std::string context_url(const Request& r, const Tables& tables, const std::string& table,
                        const std::optional<std::string>& select) {
  std::string url = service_root(r) + "$metadata#" + tables.set_of(table);
  if (select) url += "(" + *select + ")";
  return url + "/$entity";
}

/// The answer to a Create or Update that succeeded: 204, or with return=representation the
/// record as stored (`represented`: 201 for a Create, 200 for an Update); OData-EntityId
/// either way.
Response written(const Request& r, Host& host, const Tables& tables, const std::string& table,
                 const Guid& id, Entity target, const pipeline::OperationResponse& result,
                 int represented) {
  Response answer;
  if (prefers(r, "return=representation")) {
    auto select = select_of(r);
    auto record = stored_record(host, table, id, select, std::move(target));
    answer =
        json_response(represented, write_record(record, context_url(r, tables, table, select),
                                                tables, prefers(r, "odata.include-annotations")));
    answer.header("Preference-Applied", "return=representation");
  } else {
    answer = with_odata(Response{});
    answer.status = 204;
  }
  answer.header("OData-EntityId", record_url(r, tables, table, id));
  answer.header("x-ms-service-request-id", result.request_id.str());
  return answer;
}

WebApiOperation create(const Request& r, Host& host, const Tables& tables, const Caller& caller,
                       const std::string& table) {
  pipeline::OperationRequest op;
  op.message = "Create";
  Entity target = read_record(r.body, table, tables);
  op.parameters.insert_or_assign("Target", Value(target));
  apply_headers(r, caller, op);
  select_of(r);  // a query option it cannot take is refused before anything runs
  return {std::move(op), [&r, &host, &tables, table, target = std::move(target)](
                             const pipeline::OperationResponse& result) mutable {
            if (!result.ok()) return failure(result);
            Guid id;
            if (auto it = result.output_parameters.find("id"); it != result.output_parameters.end())
              if (const auto* g = it->second.get_if<Guid>()) id = *g;
            return written(r, host, tables, table, id, std::move(target), result, 201);
          }};
}

WebApiOperation update(const Request& r, Host& host, const Tables& tables, const Caller& caller,
                       const std::string& table, const Guid& id) {
  pipeline::OperationRequest op;
  op.message = "Update";
  Entity target = read_record(r.body, table, tables);
  if (!target.id.is_nil() && target.id != id)
    throw WebApiError(
        400, web_code::invalid_argument,
        table + "id: " + target.id.str() + " differs from the id in the URL (" + id.str() + ")");
  target.id = id;
  op.parameters.insert_or_assign("Target", Value(target));
  apply_headers(r, caller, op);
  select_of(r);
  return {std::move(op), [&r, &host, &tables, table, id, target = std::move(target)](
                             const pipeline::OperationResponse& result) mutable {
            if (!result.ok()) return failure(result);
            return written(r, host, tables, table, id, std::move(target), result, 200);
          }};
}

WebApiOperation remove(const Request& r, const Caller& caller, const std::string& table,
                       const Guid& id) {
  pipeline::OperationRequest op;
  op.message = "Delete";
  op.parameters.insert_or_assign("Target", Value(EntityReference{table, id, {}}));
  apply_headers(r, caller, op);
  return {std::move(op), [](const pipeline::OperationResponse& result) {
            if (!result.ok()) return failure(result);
            Response answer = with_odata(Response{});
            answer.status = 204;
            answer.header("x-ms-service-request-id", result.request_id.str());
            return answer;
          }};
}

WebApiOperation retrieve(const Request& r, const Tables& tables, const Caller& caller,
                         const std::string& table, const Guid& id) {
  pipeline::OperationRequest op;
  op.message = "Retrieve";
  op.parameters.insert_or_assign("Target", Value(EntityReference{table, id, {}}));
  auto select = select_of(r);
  if (select) op.parameters.insert_or_assign("ColumnSet", Value(*select));
  apply_headers(r, caller, op);
  return {std::move(op),
          [&r, &tables, table, id, select](const pipeline::OperationResponse& result) {
            if (!result.ok()) return failure(result);
            auto it = result.output_parameters.find("BusinessEntity");
            if (it == result.output_parameters.end() || !it->second.get_if<Entity>())
              return error_response(500, web_code::unexpected,
                                    "the Retrieve pipeline returned no BusinessEntity");
            Entity record = it->second.as<Entity>();
            if (record.logical_name.empty()) record.logical_name = table;
            if (record.id.is_nil()) record.id = id;
            auto answer =
                json_response(200, write_record(record, context_url(r, tables, table, select),
                                                tables, prefers(r, "odata.include-annotations")));
            answer.header("x-ms-service-request-id", result.request_id.str());
            return answer;
          }};
}

/// The request's own query string without its $skiptoken, then the next page's.
std::string next_link(const Request& r, const Tables& tables, const std::string& table,
                      int next_page) {
  std::string query;
  std::string_view rest = r.query;
  while (!rest.empty()) {
    auto amp = rest.find('&');
    auto item = rest.substr(0, amp);
    if (!item.empty() && text::percent_decode(item.substr(0, item.find('=')), true) != "$skiptoken")
      query.append(item).append("&");
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return service_root(r) + tables.set_of(table) + "?" + query +
         "$skiptoken=" + std::to_string(next_page);
}

/// GET {set}: the RetrieveMultiple pipeline over the records $filter matches, a page at a time.
WebApiOperation list(const Request& r, const Tables& tables, const Caller& caller,
                     const std::string& table) {
  const QueryOptions options = options_of(r, true);
  pipeline::OperationRequest op;
  op.message = "RetrieveMultiple";
  Entity query = options.filter ? read_filter(*options.filter, table, tables) : Entity(table);
  op.parameters.insert_or_assign("Query", Value(std::move(query)));
  if (options.select) op.parameters.insert_or_assign("ColumnSet", Value(*options.select));
  std::optional<int> max_page;
  if (auto asked = preference(r, "odata.maxpagesize"))
    max_page = whole_number("Prefer: odata.maxpagesize", *asked, 1, max_page_size);
  const int page_size = options.top.value_or(max_page.value_or(max_page_size));
  op.parameters.insert_or_assign("PageSize", Value(page_size));
  op.parameters.insert_or_assign("PageNumber", Value(options.page));
  apply_headers(r, caller, op);
  return {
      std::move(op),
      [&r, &tables, table, options, max_page](const pipeline::OperationResponse& result) {
        if (!result.ok()) return failure(result);
        auto it = result.output_parameters.find("BusinessEntityCollection");
        const EntityCollection* records =
            it == result.output_parameters.end() ? nullptr : it->second.get_if<EntityCollection>();
        if (!records)
          return error_response(500, web_code::unexpected,
                                "the RetrieveMultiple pipeline returned no "
                                "BusinessEntityCollection");
        std::string context = service_root(r) + "$metadata#" + tables.set_of(table);
        if (options.select) context += "(" + *options.select + ")";
        // $top asks for that many and no more: it has no next page.
        const std::string next = records->more_records && !options.top
                                     ? next_link(r, tables, table, options.page + 1)
                                     : std::string();
        auto answer = json_response(200, write_records(*records, context, next, tables,
                                                       prefers(r, "odata.include-annotations")));
        if (max_page && !options.top)
          answer.header("Preference-Applied", "odata.maxpagesize=" + std::to_string(*max_page));
        answer.header("x-ms-service-request-id", result.request_id.str());
        return answer;
      }};
}

WebApiOperation custom_message(const Request& r, const Tables& tables, const Caller& caller,
                               const std::string& message, std::optional<EntityReference> target) {
  pipeline::OperationRequest op;
  op.message = message;
  op.parameters = read_parameters(r.body);
  if (target) op.parameters.insert_or_assign("Target", Value(*target));
  apply_headers(r, caller, op);
  return {std::move(op), [&r, &tables, message](const pipeline::OperationResponse& result) {
            if (!result.ok()) return failure(result);
            Response answer;
            if (result.output_parameters.empty()) {
              answer = with_odata(Response{});
              answer.status = 204;
            } else {
              answer = json_response(
                  200, write_outputs(result.output_parameters,
                                     service_root(r) + "$metadata#Microsoft.Dynamics.CRM." +
                                         message + "Response",
                                     tables));
            }
            answer.header("x-ms-service-request-id", result.request_id.str());
            return answer;
          }};
}

std::string service_document(const Request& r, const Tables& tables) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("@odata.context");
  auto root = service_root(r) + "$metadata";
  w.String(root.c_str());
  w.Key("value");
  w.StartArray();
  for (const auto& set : tables.known_sets()) {
    w.StartObject();
    w.Key("name");
    w.String(set.c_str());
    w.Key("kind");
    w.String("EntitySet");
    w.Key("url");
    w.String(set.c_str());
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string who_am_i(const Request& r, const Tables& tables, const Caller& caller) {
  const auto& host = tables.registration().host;
  auto user = caller.user;
  if (auto called = r.header("MSCRMCallerID"); !called.empty() && caller.may_impersonate)
    if (auto id = Guid::try_parse(trim(called))) user = *id;
  return "{\"@odata.context\":\"" + service_root(r) +
         "$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse\",\"BusinessUnitId\":\"" +
         host.business_unit_id.str() + "\",\"UserId\":\"" + user.str() +
         "\",\"OrganizationId\":\"" + host.organization_id.str() + "\"}";
}

Response method_not_allowed(const std::string& allowed) {
  auto r =
      error_response(405, web_code::invalid_argument, "this resource takes " + allowed + " only");
  r.header("Allow", allowed);
  return r;
}

}  // namespace

std::string service_root(const Request& r) {
  std::string host(r.header("Host"));
  if (host.empty()) host = "localhost";
  return std::string(r.tls ? "https://" : "http://") + host + "/api/data/v9.2/";
}

Response error_response(int status, std::string_view code, std::string_view message) {
  return with_odata(Response::json(status, error_body(code, message)));
}

void apply_headers(const Request& r, const Caller& caller, pipeline::OperationRequest& op) {
  op.user_id = caller.user;
  if (auto called = trim(r.header("MSCRMCallerID")); !called.empty()) {
    auto id = Guid::try_parse(called);
    if (!id)
      throw WebApiError(400, web_code::invalid_argument,
                        "MSCRMCallerID: '" + std::string(called) + "' is not a user id (a guid)");
    if (*id != caller.user && !caller.may_impersonate)
      throw WebApiError(403, web_code::privilege,
                        "this API key may not act as another user (MSCRMCallerID); the "
                        "registration's http.api_keys entry needs may_impersonate: true");
    op.user_id = *id;
  }
  if (r.has_header("MSCRM.tag")) op.tag = std::string(r.header("MSCRM.tag"));
  std::string bypass(trim(r.header("MSCRM.BypassBusinessLogicExecution")));
  if (auto legacy = trim(r.header("MSCRM.BypassCustomPluginExecution")); !legacy.empty()) {
    if (legacy != "true" && legacy != "false")
      throw WebApiError(400, web_code::invalid_argument,
                        "MSCRM.BypassCustomPluginExecution: write true or false");
    if (legacy == "true" && bypass.find("CustomSync") == std::string::npos)
      bypass = bypass.empty() ? "CustomSync" : bypass + ",CustomSync";
  }
  if (!bypass.empty())
    op.parameters.insert_or_assign("BypassBusinessLogicExecution", Value(bypass));
  if (auto steps = trim(r.header("MSCRM.BypassBusinessLogicExecutionStepIds")); !steps.empty())
    op.parameters.insert_or_assign("BypassBusinessLogicExecutionStepIds",
                                   Value(std::string(steps)));
  if (auto agent = r.header("User-Agent"); !agent.empty() && op.user_agent.empty())
    op.user_agent = std::string(agent);
  op.trace_parent = operation_trace_parent(r.header("traceparent"));
}

WebApiRoute route_web_api(const Request& r, const std::string& resource, Host& host,
                          const Tables& tables, const Caller& caller) {
  try {
    if (resource.empty()) {
      if (r.method != "GET" && r.method != "HEAD") return method_not_allowed("GET");
      return json_response(200, service_document(r, tables));
    }
    if (resource == "WhoAmI" || resource == "WhoAmI()") {
      if (r.method != "GET" && r.method != "HEAD") return method_not_allowed("GET");
      return json_response(200, who_am_i(r, tables, caller));
    }
    Resource res = parse_resource(resource);
    if (!res.bound_message.empty()) {
      if (r.method != "POST") return method_not_allowed("POST");
      std::string table = table_of(tables, res.set);
      return custom_message(r, tables, caller, res.bound_message,
                            EntityReference{table, *res.id, {}});
    }
    if (!res.id) {
      if (tables.is_custom_message(res.set)) {
        if (r.method != "POST") return method_not_allowed("POST");
        return custom_message(r, tables, caller, res.set, std::nullopt);
      }
      std::string table = table_of(tables, res.set);
      if (r.method == "GET" || r.method == "HEAD") return list(r, tables, caller, table);
      if (r.method != "POST") return method_not_allowed("GET, POST");
      return create(r, host, tables, caller, table);
    }
    std::string table = table_of(tables, res.set);
    if (r.method == "GET" || r.method == "HEAD") return retrieve(r, tables, caller, table, *res.id);
    if (r.method == "PATCH") return update(r, host, tables, caller, table, *res.id);
    if (r.method == "DELETE") return remove(r, caller, table, *res.id);
    return method_not_allowed("GET, PATCH, DELETE");
  } catch (const WebApiError& e) {
    return error_response(e.status(), e.code(), e.what());
  }
}

Response answer_web_api(const WebApiOperation& operation,
                        const pipeline::OperationResponse& result) {
  try {
    return operation.answer(result);
  } catch (const WebApiError& e) {
    return error_response(e.status(), e.code(), e.what());
  }
}

Response web_api(const Request& r, const std::string& resource, Host& host, const Tables& tables,
                 const Caller& caller) {
  auto routed = route_web_api(r, resource, host, tables, caller);
  if (auto* answer = std::get_if<Response>(&routed)) return std::move(*answer);
  auto& operation = std::get<WebApiOperation>(routed);
  return answer_web_api(operation, host.execute(operation.operation));
}

RequestLines read_requests(const Request& r, const Caller& caller) {
  RequestLines read;
  std::string_view body = r.body;
  if (trim(body).empty()) {
    read.refused =
        error_response(400, web_code::bad_payload,
                       "the body is empty; send one request, or one request per line (NDJSON)");
    return read;
  }
  // A single request may span lines (pretty-printed); anything else is one request per line.
  std::vector<std::string_view> lines;
  {
    rapidjson::Document whole;
    whole.Parse<rapidjson::kParseIterativeFlag>(body.data(), body.size());
    if (!whole.HasParseError()) {
      lines.push_back(body);
    } else {
      while (!body.empty()) {
        auto end = body.find('\n');
        auto line = body.substr(0, end);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (!trim(line).empty()) lines.push_back(line);
        if (end == std::string_view::npos) break;
        body.remove_prefix(end + 1);
      }
    }
  }
  read.lines.reserve(lines.size());
  for (auto line : lines) {
    pipeline::OperationResponse result;
    try {
      pipeline::OperationRequest op = intake::parse_request(line);
      std::optional<Guid> asked = op.user_id;
      std::optional<std::string> tag = op.tag;
      std::string agent = op.user_agent;
      auto parameters = op.parameters;
      op.user_agent.clear();
      apply_headers(r, caller, op);
      // What the line says wins over the headers; a user of its own is impersonation too.
      for (auto& [name, value] : parameters) op.parameters.insert_or_assign(name, std::move(value));
      if (tag) op.tag = tag;
      if (!agent.empty()) op.user_agent = agent;
      if (asked && *asked != *op.user_id) {
        if (*asked != caller.user && !caller.may_impersonate)
          throw WebApiError(403, web_code::privilege,
                            "userId: this API key may not act as another user; the "
                            "registration's http.api_keys entry needs may_impersonate: true");
        op.user_id = asked;
      }
      read.lines.emplace_back(std::move(op));
      continue;
    } catch (const intake::RequestError& e) {
      result.outcome = pipeline::Outcome::invalid_request;
      result.error_message = e.what();
      result.error_code = pipeline::error_code::invalid_argument;
    } catch (const WebApiError& e) {
      result.outcome =
          e.status() == 403 ? pipeline::Outcome::failed : pipeline::Outcome::invalid_request;
      result.error_message = e.what();
      result.error_code = static_cast<std::int32_t>(std::stoul(e.code(), nullptr, 16));
    }
    read.lines.emplace_back(std::move(result));
  }
  return read;
}

Response requests_answer(const std::vector<pipeline::OperationResponse>& results) {
  std::string out;
  for (const auto& result : results) {
    out += intake::write_response(result);
    out += '\n';
  }
  return Response::text(200, std::move(out), "application/x-ndjson");
}

Response run_requests(const Request& r, Host& host, const Caller& caller) {
  auto read = read_requests(r, caller);
  if (read.refused) return std::move(*read.refused);
  std::vector<pipeline::OperationResponse> results;
  results.reserve(read.lines.size());
  for (auto& line : read.lines) {
    if (auto* op = std::get_if<pipeline::OperationRequest>(&line))
      results.push_back(host.execute(*op));
    else
      results.push_back(std::move(std::get<pipeline::OperationResponse>(line)));
  }
  return requests_answer(results);
}

}  // namespace stepline::host::http
