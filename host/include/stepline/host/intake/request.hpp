// Requests and responses as JSON text (docs/REQUESTS.md): what the CLI, JSONL files and other
// front ends hand the host.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include <stepline/host/pipeline/pipeline.hpp>

namespace stepline::host::intake {

/// A request that cannot be read. what() starts with the JSON path of the offending field
/// ("target.attributes.revenue: …"); path() returns it alone.
class RequestError : public std::invalid_argument {
 public:
  RequestError(std::string path, const std::string& problem);
  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

/// Reads one request: {"message":"Update","target":{…},"parameters":{…},"userId":"…",…}.
/// Throws RequestError.
pipeline::OperationRequest parse_request(std::string_view json);

/// The response as one line of JSON: outcome, ids, output parameters, traces and the error.
std::string write_response(const pipeline::OperationResponse& response);

}  // namespace stepline::host::intake
