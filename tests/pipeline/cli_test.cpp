// `stepline exec` and `stepline run`, run as a user would: the real executable, a registration
// file, the sample account_rules plug-ins, a data folder of the test's own.
#include <doctest/doctest.h>

#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "fixture.hpp"
#include "testkit/process.hpp"

using namespace stepline::test;
namespace fs = std::filesystem;

namespace {

/// A registration with the sample validation and tier plug-ins, in a temp folder.
struct Workspace {
  Workspace() {
    config = folder.path() / "stepline.yaml";
    std::ofstream(config)
        << "host:\n"
        << "  plugin_folder: " << (fs::path(STEPLINE_BINARY_DIR) / "plugins").string() << "\n"
        << "  data_folder: data\n"
        << "  log_level: warn\n"
        << "plugins:\n  - file: account_rules.so\n"
        << "steps:\n"
        << "  - name: Validate account\n    message: Create\n    entity: account\n"
        << "    stage: pre-validation\n    handler:\n      plugin: Samples.ValidateAccount\n"
        << "  - name: Set tier on Create\n    message: Create\n    entity: account\n"
        << "    stage: pre-operation\n    handler:\n      plugin: Samples.SetAccountTier\n"
        << "  - name: Set tier on Update\n    message: Update\n    entity: account\n"
        << "    stage: pre-operation\n    filtering_attributes: revenue\n"
        << "    handler:\n      plugin: Samples.SetAccountTier\n";
  }
  fs::path write(const std::string& name, const std::string& text) {
    auto p = folder.path() / name;
    std::ofstream(p) << text;
    return p;
  }
  TempFolder folder;
  fs::path config;
};

const std::string samples = (fs::path(STEPLINE_SOURCE_DIR) / "samples" / "requests.jsonl").string();

/// How many requests the sample file holds: one per non-empty line. The test registration has
/// only the account rules, so every sample request but the nameless account succeeds.
std::size_t sample_request_count() {
  std::ifstream in(samples);
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);)
    if (line.find_first_not_of(" \t\r") != std::string::npos) ++n;
  return n;
}

}  // namespace

TEST_CASE("stepline --version prints the project's version") {
  auto r = run_stepline({"--version"});
  CHECK(r.status == 0);
  CHECK(r.output == "stepline " STEPLINE_PROJECT_VERSION "\n");
}

TEST_CASE("stepline exec prints the outcome, output parameters and trace lines") {
  Workspace w;
  auto r = run_stepline(
      {"exec", "-c", w.config.string(), "--request",
       R"({"message":"Create","target":{"logicalName":"account","id":"a0000000-0000-0000-0000-0000000000aa","attributes":{"name":"Contoso","revenue":{"@type":"money","value":"2000000.00"}}}})"});
  CHECK(r.status == 0);
  CHECK(r.output.find("succeeded") == 0);
  CHECK(r.output.find(R"(id = {"@type":"guid","value":"a0000000-0000-0000-0000-0000000000aa"})") !=
        std::string::npos);
  CHECK(r.output.find("Set tier on Create: tier gold") != std::string::npos);
  CHECK(r.output.find("Validate account: account") != std::string::npos);

  auto file = w.write(
      "get.json",
      R"({"message":"Retrieve","target":{"logicalName":"account","id":"a0000000-0000-0000-0000-0000000000aa"},"columns":["tier"]})");
  auto get =
      run_stepline({"exec", "-c", w.config.string(), "--request-file", file.string(), "--json"});
  CHECK(get.status == 0);
  CHECK(get.output.find(R"("outcome":"succeeded")") != std::string::npos);
  CHECK(get.output.find(R"("attributes":{"tier":"gold"})") != std::string::npos);
}

TEST_CASE("stepline exec shows a record's control characters escaped, not as terminal controls") {
  // JSON leaves DEL and the C1 controls as they are; some terminals take U+009B as ESC [.
  Workspace w;
  auto create = run_stepline(
      {"exec", "-c", w.config.string(), "--request",
       R"({"message":"Create","target":{"logicalName":"account","id":"a0000000-0000-0000-0000-0000000000ab","attributes":{"name":"Con\u007ftoso\u009b2J"}}})"});
  REQUIRE_MESSAGE(create.status == 0, create.output);
  auto shown = run_stepline(
      {"exec", "-c", w.config.string(), "--request",
       R"({"message":"Retrieve","target":{"logicalName":"account","id":"a0000000-0000-0000-0000-0000000000ab"},"columns":["name"]})"});
  CHECK(shown.status == 0);
  CHECK_MESSAGE(shown.output.find(R"("name":"Con\u007ftoso\u009b2J")") != std::string::npos,
                shown.output);
  CHECK(shown.output.find("\x7f") == std::string::npos);
  CHECK(shown.output.find("\xc2\x9b") == std::string::npos);
}

TEST_CASE("stepline exec exits 1 with the plug-in's message when the operation is rejected") {
  Workspace w;
  auto r =
      run_stepline({"exec", "-c", w.config.string(), "--request",
                    R"({"message":"Create","target":{"logicalName":"account","attributes":{}}})"});
  CHECK(r.status == 1);
  CHECK(r.output.find("rejected: An account needs a name.") != std::string::npos);
  auto missing = run_stepline(
      {"exec", "-c", w.config.string(), "--request",
       R"({"message":"Delete","target":{"logicalName":"account","id":"a0000000-0000-0000-0000-000000000999"}})"});
  CHECK(missing.status == 1);
  CHECK(missing.output.find(
            "failed: account with id a0000000-0000-0000-0000-000000000999 does not exist") !=
        std::string::npos);
}

TEST_CASE("stepline exec refuses a malformed request, naming the field, and runs nothing") {
  Workspace w;
  auto r = run_stepline(
      {"exec", "-c", w.config.string(), "--request",
       R"({"message":"Create","target":{"logicalName":"account","attributes":{"revenue":{"@type":"money","value":12}}}})"});
  CHECK(r.status == 2);
  CHECK(r.output.find("invalid request: target.attributes.revenue:") != std::string::npos);
  CHECK_FALSE(fs::exists(w.folder.path() / "data" / "stepline.db"));

  auto not_json = run_stepline({"exec", "-c", w.config.string(), "--request", "{oops"});
  CHECK(not_json.status == 2);
  CHECK(not_json.output.find("invalid JSON at line 1, column 2") != std::string::npos);

  auto unreadable = run_stepline({"exec", "-c", w.config.string(), "--request-file",
                                  (w.folder.path() / "none.json").string()});
  CHECK(unreadable.status == 2);
  CHECK(unreadable.output.find("none.json") != std::string::npos);

  auto neither = run_stepline({"exec", "-c", w.config.string()});
  CHECK(neither.status != 0);
  CHECK(neither.output.find("--request") != std::string::npos);
}

TEST_CASE("a request nested a hundred thousand levels deep is refused by exec and run, not fatal") {
  Workspace w;
  const std::string deep =
      R"({"message":"Create","target":{"logicalName":"account","attributes":{"deep":)" +
      std::string(100000, '[') + std::string(100000, ']') + "}}}";
  auto file = w.write("deep.json", deep);
  auto exec = run_stepline({"exec", "-c", w.config.string(), "--request-file", file.string()});
  CHECK(exec.status == 2);
  CHECK(exec.output.find("invalid request: target.attributes.deep[0][0][0][0][0][0][0][0][0]…: "
                         "nested more than 64 levels deep") != std::string::npos);

  auto lines =
      w.write("deep.jsonl", R"({"message":"Create","target":{"logicalName":"account","attributes":)"
                            R"({"name":"A"}}})"
                            "\n" +
                                deep + "\n");
  auto run = run_stepline({"run", "-c", w.config.string(), "--requests", lines.string()});
  CHECK(run.status == 2);
  CHECK(run.output.find("deep.jsonl:2: invalid-request: target.attributes.deep[0]") !=
        std::string::npos);
  CHECK(run.output.find("1 succeeded, 0 rejected by a plug-in, 0 failed, 1 invalid") !=
        std::string::npos);
}

TEST_CASE("a request line whose key holds \\u0000 is reported invalid; run does not abort") {
  Workspace w;
  auto lines = w.write(
      "nul.jsonl",
      R"({"message":"Create","target":{"logicalName":"account","attributes":{"a\u0000b":{"@type":"money"}}}})"
      "\n");
  auto run = run_stepline({"run", "-c", w.config.string(), "--requests", lines.string()});
  CHECK(run.status == 2);
  CHECK(run.output.find("nul.jsonl:1: invalid-request: target.attributes.a\\u0000b: \"@type\"") !=
        std::string::npos);
}

TEST_CASE("stepline exec reports a registration it cannot use with its file and line") {
  Workspace w;
  auto bad = w.write("bad.yaml", "host:\n  max_depth: deep\n");
  auto r = run_stepline({"exec", "-c", bad.string(), "--request",
                         R"({"message":"Create","target":{"logicalName":"account"}})"});
  CHECK(r.status == 2);
  CHECK(r.output.find("bad.yaml:2:") != std::string::npos);

  auto unknown_type =
      w.write("unknown.yaml",
              "host:\n  plugin_folder: " + (fs::path(STEPLINE_BINARY_DIR) / "plugins").string() +
                  "\n  data_folder: data\nplugins:\n  - file: account_rules.so\nsteps:\n"
                  "  - name: Ghost\n    message: Create\n    entity: account\n"
                  "    stage: pre-operation\n    handler:\n      plugin: Samples.Nope\n");
  auto u = run_stepline({"exec", "-c", unknown_type.string(), "--request",
                         R"({"message":"Create","target":{"logicalName":"account"}})"});
  CHECK(u.status == 2);
  CHECK(u.output.find("Samples.Nope") != std::string::npos);
  CHECK(u.output.find("unknown.yaml:") != std::string::npos);
}

TEST_CASE("stepline run executes the sample requests and summarises them") {
  Workspace w;
  auto r = run_stepline({"run", "-c", w.config.string(), "--requests", samples});
  CHECK(r.status == 0);
  CHECK(r.output.find("requests.jsonl:7: rejected: An account needs a name.") != std::string::npos);
  const std::size_t total = sample_request_count();
  REQUIRE(total > 1);
  CHECK(r.output.find(std::to_string(total) + " requests in ") != std::string::npos);
  CHECK(r.output.find(std::to_string(total - 1) +
                      " succeeded, 1 rejected by a plug-in, 0 failed, 0 invalid") !=
        std::string::npos);
  CHECK(r.output.find("operations/s") != std::string::npos);
  CHECK(r.output.find('\r') == std::string::npos);  // no progress bar when not on a terminal

  auto gold = run_stepline(
      {"exec", "-c", w.config.string(), "--json", "--request",
       R"({"message":"Retrieve","target":{"logicalName":"account","id":"a0000000-0000-0000-0000-000000000001"},"columns":["tier"]})"});
  CHECK(gold.output.find(R"("tier":"gold")") != std::string::npos);
  auto deleted = run_stepline(
      {"exec", "-c", w.config.string(), "--request",
       R"({"message":"Retrieve","target":{"logicalName":"account","id":"a0000000-0000-0000-0000-000000000003"}})"});
  CHECK(deleted.status == 1);

  auto strict =
      run_stepline({"run", "-c", w.config.string(), "--requests", samples, "--fail-on-error"});
  CHECK(strict.status == 1);
  // The second run finds the sample ids taken: the Creates fail, the Updates succeed.
  CHECK(strict.output.find("requests.jsonl:1: failed: a record account with id "
                           "a0000000-0000-0000-0000-000000000001 already exists") !=
        std::string::npos);
}

TEST_CASE("stepline run reports an unreadable line with its number and field, and exits 2") {
  Workspace w;
  auto file = w.write("mixed.jsonl",
                      "{\"message\":\"Create\",\"target\":{\"logicalName\":\"account\","
                      "\"attributes\":{\"name\":\"A\"}}}\n"
                      "\n"
                      "{\"message\":\"Create\",\"target\":{\"logicalName\":\"account\","
                      "\"attributes\":{\"name\":\"B\"}},\"bypass\":\"All\"}\n"
                      "{\"message\":\"Create\",\"target\":{\"logicalName\":\"account\","
                      "\"attributes\":{\"name\":\"C\"}}}\n");
  auto r = run_stepline({"run", "-c", w.config.string(), "--requests", file.string()});
  CHECK(r.status == 2);
  CHECK(r.output.find("mixed.jsonl:3: invalid-request: bypass: unknown value 'All'") !=
        std::string::npos);
  CHECK(r.output.find("3 requests in ") != std::string::npos);
  CHECK(r.output.find("2 succeeded, 0 rejected by a plug-in, 0 failed, 1 invalid") !=
        std::string::npos);

  auto missing = run_stepline(
      {"run", "-c", w.config.string(), "--requests", (w.folder.path() / "none.jsonl").string()});
  CHECK(missing.status == 2);
}

TEST_CASE("stepline run draws a progress bar when its output is a terminal") {
  Workspace w;
  int master = -1;
  const std::string exe = stepline_executable();
  const std::string config = w.config.string();
  pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  REQUIRE(pid >= 0);
  if (pid == 0) {
    execl(exe.c_str(), exe.c_str(), "run", "-c", config.c_str(), "--requests", samples.c_str(),
          nullptr);
    _exit(127);
  }
  std::string output;
  char buffer[4096];
  for (;;) {
    ssize_t n = read(master, buffer, sizeof buffer);
    if (n <= 0) break;  // EIO once the child has exited
    output.append(buffer, static_cast<std::size_t>(n));
  }
  int status = 0;
  waitpid(pid, &status, 0);
  close(master);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  const std::size_t total = sample_request_count();
  CHECK(output.find("] " + std::to_string(total) + "/" + std::to_string(total)) !=
        std::string::npos);
  CHECK(output.find("[##############################]") != std::string::npos);
  CHECK(output.find(std::to_string(total - 1) + " succeeded") != std::string::npos);
}
