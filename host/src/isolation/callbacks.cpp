#include "callbacks.hpp"

#include <stepline/execution_context.hpp>
#include <stepline/format/json.hpp>
#include <stepline/host/pipeline/pipeline.hpp>

namespace stepline::host::isolation {
namespace json = format::json;

std::string column_text(const ColumnSet& columns) {
  if (columns.all_columns) return "*";
  std::string out;
  for (const auto& c : columns.columns) out += (out.empty() ? "" : ",") + c;
  return out;
}

ColumnSet column_set_from(const std::string& text) {
  if (text == "*") return ColumnSet::all();
  ColumnSet c;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    const auto item =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!item.empty()) c.columns.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return c;
}

namespace {

std::string run_call(const Frame& f, Services& services) {
  if (f.kind() == "post") {
    const std::string reply =
        services.notification().post(f.text("endpoint"), json::read_context(f.json("context")));
    return json::write_value(Value(reply));
  }
  OrganizationService& org = services.organization();
  const std::string operation = f.text("operation");
  if (operation == "create")
    return json::write_value(Value(org.create(json::read_entity(f.json("entity")))));
  if (operation == "retrieve")
    return json::write_entity(org.retrieve(f.text("entityName"), Guid::parse(f.text("id")),
                                           column_set_from(f.text("columns"))));
  if (operation == "update") {
    org.update(json::read_entity(f.json("entity")));
    return "null";
  }
  if (operation == "remove") {
    org.remove(f.text("entityName"), Guid::parse(f.text("id")));
    return "null";
  }
  if (operation == "retrieveMultiple") {
    Query q;
    const Entity conditions = json::read_entity(f.json("conditions"));
    q.entity_name = conditions.logical_name;
    for (const auto& [column, value] : conditions.attributes)
      q.conditions.emplace_back(column, value);
    q.columns = column_set_from(f.text("columns"));
    q.page_size = static_cast<int>(f.integer("pageSize"));
    q.page_number = static_cast<int>(f.integer("pageNumber"));
    return json::write_value(Value(org.retrieve_multiple(q)));
  }
  if (operation == "execute") {
    OrganizationRequest request{f.text("message"), json::read_parameters(f.json("parameters"))};
    return json::write_parameters(org.execute(request).results);
  }
  throw ProtocolError("unknown organization call '" + operation + "'");
}

}  // namespace

std::string serve_callback(const Frame& request, Services& services) {
  try {
    const std::string value = run_call(request, services);
    return FrameWriter("result").raw("value", value).finish();
  } catch (...) {
    FrameWriter frame("error");
    return add_error(frame, std::current_exception()).finish();
  }
}

FrameWriter& add_error(FrameWriter& frame, std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const pipeline::OperationFailed& e) {
    frame.text("message", e.what())
        .integer("code", e.error_code())
        .boolean("operationFailed", true);
    if (!e.trace_id().empty()) frame.text("traceId", e.trace_id());
  } catch (const InvalidPluginExecution& e) {
    frame.text("message", e.what())
        .integer("code", e.error_code())
        .text("status", e.status() == OperationStatus::retry ? "retry" : "failed");
  } catch (const std::exception& e) {
    frame.text("message", e.what()).boolean("unexpected", true);
  } catch (...) {
    frame.text("message", "an exception that is not a std::exception").boolean("unexpected", true);
  }
  return frame;
}

void rethrow_error(const Frame& frame) {
  const std::string message = frame.text("message");
  if (frame.boolean("unexpected")) throw std::runtime_error(message);
  const auto code = static_cast<std::int32_t>(frame.integer("code"));
  if (frame.boolean("operationFailed"))
    throw pipeline::OperationFailed(message, code,
                                    frame.has("traceId") ? frame.text("traceId") : "");
  const bool retry = frame.has("status") && frame.text("status") == "retry";
  throw InvalidPluginExecution(message, retry ? OperationStatus::retry : OperationStatus::failed,
                               code);
}

}  // namespace stepline::host::isolation
