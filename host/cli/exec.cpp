// `stepline exec -c FILE --request JSON | --request-file F [--json] [--drain]`: runs one request
// through the pipeline and prints the outcome, the output parameters and the plug-ins' trace
// lines; with --drain it also runs the async jobs the request queues and waits for them. Exit 0
// when the operation succeeded, 1 when a plug-in rejected it or it failed (or, with --drain, one
// of its jobs did not succeed), 2 for a request or registration that cannot be read.
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include <stepline/format/json.hpp>
#include <stepline/host/configured_host.hpp>
#include <stepline/host/intake/request.hpp>

#include "command.hpp"
#include "drain.hpp"
#include "terminal.hpp"

namespace stepline::cli {
namespace {

struct ExecOptions {
  std::string config;
  std::string request;
  std::string request_file;
  bool json = false;
  bool drain = false;
};

void print(const host::pipeline::OperationResponse& r, std::ostream& out) {
  out << to_string(r.outcome);
  if (!r.ok()) {
    out << ": " << for_terminal(r.error_message);
    if (r.error_code) out << " (code " << r.error_code << ")";
  }
  out << '\n';
  if (!r.correlation_id.is_nil()) out << "correlation id: " << r.correlation_id.str() << '\n';
  if (!r.output_parameters.empty()) {
    out << "output parameters:\n";
    for (const auto& [name, value] : r.output_parameters)
      out << "  " << for_terminal(name) << " = " << for_terminal(format::json::write_value(value))
          << '\n';
  }
  if (!r.traces.empty()) {
    out << "trace:\n";
    for (const auto& line : r.traces) out << "  " << for_terminal(line) << '\n';
  }
}

int exec(const ExecOptions& o) {
  std::string text = o.request;
  if (!o.request_file.empty()) {
    std::ifstream in(o.request_file);
    if (!in) {
      std::cerr << "stepline exec: cannot read the request file " << o.request_file << '\n';
      return 2;
    }
    std::stringstream buffer;
    buffer << in.rdbuf();
    text = buffer.str();
  }
  host::pipeline::OperationRequest request;
  try {
    request = host::intake::parse_request(text);
  } catch (const host::intake::RequestError& e) {
    std::cerr << "stepline exec: invalid request: " << e.what() << '\n';
    return 2;
  }
  std::unique_ptr<host::ConfiguredHost> configured;
  try {
    configured = std::make_unique<host::ConfiguredHost>(o.config);
  } catch (const std::exception& e) {
    std::cerr << e.what() << '\n';
    return 2;
  }
  Drain drain(*configured, o.drain);
  auto response = configured->host().execute(request);
  if (o.json)
    std::cout << host::intake::write_response(response) << '\n';
  else
    print(response, std::cout);
  // --json keeps stdout one line of JSON: the jobs summary goes to stderr.
  const std::size_t unfinished_jobs = drain.finish(o.json ? std::cerr : std::cout);
  return response.ok() && !unfinished_jobs ? 0 : 1;
}

}  // namespace

STEPLINE_COMMAND([](CLI::App& app) {
  auto o = std::make_shared<ExecOptions>();
  auto* command =
      app.add_subcommand("exec", "Run one request (docs/REQUESTS.md) through the registered steps");
  command->add_option("-c,--config", o->config, "the registration YAML file")->required();
  auto* inline_request = command->add_option("--request", o->request, "the request as JSON text");
  auto* file =
      command->add_option("--request-file", o->request_file, "a file holding the request JSON");
  inline_request->excludes(file);
  command->add_flag("--json", o->json, "print the response as one line of JSON");
  command->add_flag("--drain", o->drain,
                    "run the async jobs the request queues in this process and wait for them");
  command->callback([o, inline_request, file] {
    if (inline_request->count() + file->count() == 0)
      throw CLI::RequiredError("--request or --request-file");
    exit_status() = exec(*o);
  });
});

}  // namespace stepline::cli
