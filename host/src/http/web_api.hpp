// The Dataverse-shaped routes under /api/data/v9.2/ and the batch route /stepline/v1/requests:
// each turns an HTTP request into pipeline operations and their outcome into the answer a
// Dataverse client expects.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <stepline/host/host.hpp>
#include <stepline/http/message.hpp>

#include "auth.hpp"
#include "tables.hpp"

namespace stepline::host::http {

using ::stepline::http::Request;
using ::stepline::http::Response;

/// Where the Web API lives, as the client reached it: "https://host:port/api/data/v9.2/".
std::string service_root(const Request& request);

/// The request options every route takes from headers: the caller (MSCRMCallerID when the key
/// may impersonate), MSCRM.tag, MSCRM.BypassBusinessLogicExecution(StepIds),
/// MSCRM.BypassCustomPluginExecution, User-Agent, and traceparent (continued with a span of
/// the operation's own, or a new trace). Throws WebApiError (403 for impersonation the
/// key may not do, 400 for a malformed header).
void apply_headers(const Request& request, const Caller& caller,
                   pipeline::OperationRequest& operation);

/// An operation a Web API request runs, and how its outcome becomes the answer. `answer` reads
/// the request, the tables and the host the route was given: they must outlive it.
struct WebApiOperation {
  pipeline::OperationRequest operation;
  std::function<Response(const pipeline::OperationResponse&)> answer;
};

/// What a request under /api/data/v9.2/ (the path after it in `resource`) comes to: its answer
/// at once (a refusal, the service document), or an operation to run first.
using WebApiRoute = std::variant<Response, WebApiOperation>;
WebApiRoute route_web_api(const Request& request, const std::string& resource, Host& host,
                          const Tables& tables, const Caller& caller);

/// The answer to `operation` once it ran with `result` (a WebApiError answered as such).
Response answer_web_api(const WebApiOperation& operation,
                        const pipeline::OperationResponse& result);

/// Answers a request under /api/data/v9.2/, running its operation on the calling thread.
Response web_api(const Request& request, const std::string& resource, Host& host,
                 const Tables& tables, const Caller& caller);

/// POST /stepline/v1/requests: one request or NDJSON of many, one result line each.
Response run_requests(const Request& request, Host& host, const Caller& caller);

/// What run_requests() reads from the body: the body refused whole, or each line's operation
/// to run, or its result already (a line that could not be read or may not run).
struct RequestLines {
  std::optional<Response> refused;
  std::vector<std::variant<pipeline::OperationRequest, pipeline::OperationResponse>> lines;
};
RequestLines read_requests(const Request& request, const Caller& caller);
/// run_requests()'s answer: the lines' results, one line each, in order.
Response requests_answer(const std::vector<pipeline::OperationResponse>& results);

/// The answer for a refused request, in Dataverse's shape.
Response error_response(int status, std::string_view code, std::string_view message);

}  // namespace stepline::host::http
