// A request to `stepline serve`'s HTTP intake, after the HTTP parser: the Web API's routes (the
// entity set, the key, the query options, the headers, the record or parameters in the body),
// the batch route, the jobs API and the operator's actions on jobs, the jobs page, /healthz and
// /readyz. They run for real against a host on an SQLite store in a folder of its own, with a
// synchronous step, an asynchronous step whose jobs the jobs API then lists and changes, and a
// custom message that answers with its input.
//
// The input is the request as a line `METHOD TARGET`, header lines `Name: value`, an empty line
// and the body. Beyond "no crash":
// - nothing escapes the intake (the server would answer 500 "the request failed");
// - no answer is a 500: a request the intake cannot take is the client's fault, and a 500 here,
//   with a store that works and plug-ins that never throw, is a fault of the intake;
// - a JSON answer is JSON, and no header value of an answer holds a CR, an LF or a NUL (a header
//   that the client's bytes could split).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include <stepline/host/host.hpp>
#include <stepline/host/http/intake.hpp>
#include <stepline/host/store/sqlite_job_store.hpp>
#include <stepline/plugin.hpp>
#include <stepline/registration/load.hpp>
#include <stepline/text.hpp>

namespace {

using namespace stepline;

/// Sets the account's tier from its revenue (a synchronous pre-operation step).
class SetTier : public Plugin {
 public:
  using Plugin::Plugin;
  void execute(ExecutionContext& context, Services&) override {
    auto target = context.input_parameters.find("Target");
    if (target == context.input_parameters.end()) return;
    if (auto* record = target->second.get_if<Entity>())
      record->attributes.insert_or_assign("tier", Value(std::string("gold")));
  }
};

/// A custom message: every input parameter back as an output.
class Echo : public Plugin {
 public:
  using Plugin::Plugin;
  void execute(ExecutionContext& context, Services&) override {
    for (const auto& [name, value] : context.input_parameters)
      context.output_parameters.insert_or_assign(name, value);
  }
};

/// An asynchronous step's plug-in (never run here: no async service takes the jobs).
class Nothing : public Plugin {
 public:
  using Plugin::Plugin;
  void execute(ExecutionContext&, Services&) override {}
};

class Plugins final : public host::pipeline::PluginFactory {
 public:
  std::shared_ptr<Plugin> create(const std::string& type, const std::string& unsecure,
                                 const std::string& secure) override {
    if (type == "Fuzz.SetTier") return std::make_shared<SetTier>(unsecure, secure);
    if (type == "Fuzz.Echo") return std::make_shared<Echo>(unsecure, secure);
    return std::make_shared<Nothing>(unsecure, secure);
  }
};

constexpr std::string_view registration_yaml = R"(http:
  listen: 127.0.0.1:0
  tables:
    - name: account
      columns: {revenue: money, industrycode: optionset, founded: datetime}
    - name: person
      set: people
steps:
  - name: Set the tier
    message: Create
    entity: account
    stage: pre-operation
    handler: {plugin: Fuzz.SetTier}
  - name: Echo
    message: new_Echo
    stage: post-operation
    handler: {plugin: Fuzz.Echo}
  - name: Score later
    message: Update
    entity: account
    stage: post-operation
    mode: async
    handler: {plugin: Fuzz.Later}
)";

/// The host, its job store and the intake, in a folder of their own for the whole run.
struct Fixture {
  Fixture() {
    char pattern[] = "/tmp/stepline-fuzz-intake-XXXXXX";
    if (!::mkdtemp(pattern)) std::abort();
    folder = pattern;
    std::ofstream(folder / "stepline.yaml")
        << "host:\n  data_folder: " << (folder / "data").string() << "\n"
        << registration_yaml;
    auto registration = registration::load(folder / "stepline.yaml");
    host = std::make_unique<host::Host>(std::move(registration), plugins);
    jobs = std::make_unique<host::store::SqliteJobStore>(folder / "data" / "stepline.db");
    intake = std::make_unique<host::http::Intake>(
        host::http::IntakeServices{*host,
                                   [] {
                                     return host::http::Readiness{{{"store", "ok"}}};
                                   },
                                   nullptr, jobs.get(), nullptr});
  }
  ~Fixture() {
    intake.reset();
    jobs.reset();
    host.reset();
    std::error_code ignored;
    std::filesystem::remove_all(folder, ignored);
  }

  std::filesystem::path folder;
  Plugins plugins;
  std::unique_ptr<host::Host> host;
  std::unique_ptr<host::store::SqliteJobStore> jobs;
  std::unique_ptr<host::http::Intake> intake;
};

/// The next line of `rest` (without its LF), taken off it.
std::string_view next_line(std::string_view& rest) {
  auto end = rest.find('\n');
  auto line = rest.substr(0, end);
  rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
  return line;
}

/// What the HTTP parser would hand over: a target without spaces or control characters, header
/// values without CR or NUL.
http::Request request_of(std::string_view input) {
  http::Request r;
  auto first = next_line(input);
  auto space = first.find(' ');
  r.method = std::string(first.substr(0, space));
  if (r.method.empty()) r.method = "GET";
  std::string target =
      space == std::string_view::npos ? std::string("/") : std::string(first.substr(space + 1));
  for (char c : target)
    if (static_cast<unsigned char>(c) > 0x20 && c != 0x7f) r.target += c;
  if (r.target.empty() || r.target[0] != '/') r.target.insert(0, "/");
  auto question = r.target.find('?');
  r.path = text::percent_decode(std::string_view(r.target).substr(0, question));
  if (question != std::string::npos) r.query = r.target.substr(question + 1);
  while (!input.empty()) {
    auto line = next_line(input);
    if (line.empty()) break;
    auto colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos) continue;
    std::string value;
    for (char c : line.substr(colon + 1))
      if (c != '\r' && c != '\0') value += c;
    auto start = value.find_first_not_of(' ');
    r.headers.emplace_back(std::string(line.substr(0, colon)),
                           start == std::string::npos ? "" : value.substr(start));
  }
  if (!r.has_header("Host")) r.headers.emplace_back("Host", "127.0.0.1");
  r.body = std::string(input);
  r.remote = "127.0.0.1";
  return r;
}

void check(const http::Response& answer, const http::Request& request) {
  if (answer.status == 500) {
    std::fprintf(stderr, "500 for %s %s: %s\n", request.method.c_str(), request.target.c_str(),
                 answer.body.c_str());
    std::abort();
  }
  if (answer.status < 100 || answer.status > 599) std::abort();
  for (const auto& [name, value] : answer.headers)
    if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos ||
        name.find_first_of(std::string_view("\r\n\0:", 4)) != std::string::npos) {
      std::fprintf(stderr, "header %s holds a line break or NUL\n", name.c_str());
      std::abort();
    }
  auto json = [&](std::string_view text) {
    rapidjson::Document d;
    d.Parse(text.data(), text.size());
    if (!d.HasParseError()) return;
    std::fprintf(stderr, "not JSON (%d %s): %.*s\n", answer.status, request.target.c_str(),
                 static_cast<int>(text.size()), text.data());
    std::abort();
  };
  if (answer.content_type.rfind("application/json", 0) == 0) json(answer.body);
  if (answer.content_type.rfind("application/x-ndjson", 0) == 0) {
    std::string_view rest = answer.body;
    while (!rest.empty())
      if (auto line = next_line(rest); !line.empty()) json(line);
  }
}

/// The id of the newest system job, as the jobs API lists it ("" when there is none), for a
/// target that names `@job`: the fuzzer cannot guess a job's id.
std::string newest_job(host::http::Intake& intake) {
  http::Request list;
  list.method = "GET";
  list.target = list.path = "/stepline/v1/jobs";
  list.query = "limit=1";
  list.headers.emplace_back("Host", "127.0.0.1");
  auto answer = intake.handle(list);
  rapidjson::Document d;
  d.Parse(answer.body.c_str());
  if (d.HasParseError() || !d.IsObject() || !d.HasMember("jobs") || !d["jobs"].IsArray() ||
      d["jobs"].Empty())
    return "";
  return d["jobs"][0]["id"].GetString();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Fixture fixture;
  auto request = request_of(std::string_view(reinterpret_cast<const char*>(data), size));
  auto& intake = *fixture.intake;
  if (auto at = request.target.find("@job"); at != std::string::npos) {
    auto id = newest_job(intake);
    for (auto* text : {&request.target, &request.path})
      if (auto place = text->find("@job"); place != std::string::npos) text->replace(place, 4, id);
  }
  if (auto answer = intake.screen(request)) return check(*answer, request), 0;
  if (auto answer = intake.answer_now(request)) return check(*answer, request), 0;
  check(intake.handle(request), request);
  return 0;
}
