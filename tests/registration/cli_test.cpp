// The `stepline validate` and `stepline registration` commands, run as a user runs them.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "scratch.hpp"

namespace stepline::registration {
namespace {

struct Run {
  int status = -1;
  std::string output;  ///< stdout and stderr together
};

Run stepline(const std::string& arguments) {
  std::string command = STEPLINE_BINARY_DIR "/bin/stepline " + arguments + " 2>&1";
  Run run;
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe);
  std::array<char, 4096> buffer{};
  while (std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe))
    run.output.append(buffer.data(), n);
  int status = pclose(pipe);
  run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

int count(const std::string& text, const std::string& word) {
  int n = 0;
  for (auto at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) ++n;
  return n;
}

constexpr const char* broker_connection =
    "Endpoint=sb://127.0.0.1:5672/;SharedAccessKeyName=RootManageSharedAccessKey;"
    "SharedAccessKey=TOPSECRET-bG9jYWw=;UseDevelopmentEmulator=true";

}  // namespace

TEST_CASE("stepline validate prints every error of the invalid sample and exits with 2") {
  Run run = stepline("validate " STEPLINE_SOURCE_DIR "/samples/invalid.yaml");
  CAPTURE(run.output);
  CHECK(run.status == 2);
  CHECK(count(run.output, ": error: ") >= 3);
  CHECK(run.output.find("/samples/invalid.yaml:22:11: error: mode: async steps can run only at "
                        "post-operation") != std::string::npos);
}

TEST_CASE("stepline validate summarises a valid registration and exits with 0") {
  testing::ScopedEnv env("STEPLINE_BROKER_CONNECTION", broker_connection);
  // The sample, pointed at this build's plug-in folder so that the plug-in types it names can be
  // found whatever the build folder is called.
  std::ifstream in(STEPLINE_SOURCE_DIR "/samples/stepline.yaml");
  std::stringstream sample;
  sample << in.rdbuf();
  std::string text = sample.str();
  const std::string folder = "plugin_folder: ../build/plugins";
  REQUIRE(text.find(folder) != std::string::npos);
  text.replace(text.find(folder), folder.size(), "plugin_folder: " STEPLINE_BINARY_DIR "/plugins");
  testing::Scratch scratch;
  auto path = scratch.write("stepline.yaml", text);

  Run run = stepline("validate " + path.string());
  CAPTURE(run.output);
  CHECK(run.status == 0);
  CHECK(run.output == path.string() + ": valid: 2 plug-ins, 4 endpoints, 9 steps\n");
}

TEST_CASE("stepline validate suggests the exported plug-in type a step misspells") {
  testing::Scratch scratch;
  auto path = scratch.write("stepline.yaml", R"(host:
  plugin_folder: )" STEPLINE_BINARY_DIR R"(/plugins
plugins:
  - file: account_rules.so
steps:
  - name: validate
    message: Create
    entity: account
    stage: pre-validation
    handler: {plugin: Samples.ValidateAcount}
)");
  Run run = stepline("validate --no-plugins " + path.string());
  CHECK(run.status == 0);
  run = stepline("validate " + path.string());
  CAPTURE(run.output);
  CHECK(run.status == 2);
  CHECK(run.output.find(path.string() +
                        ":10:23: error: handler.plugin: no plug-in library exports the type "
                        "'Samples.ValidateAcount'; did you mean 'Samples.ValidateAccount'?") !=
        std::string::npos);
}

// Every file below `folder` with its size and modification time.
std::map<std::string, std::pair<std::uintmax_t, std::filesystem::file_time_type>> listing(
    const std::filesystem::path& folder) {
  std::map<std::string, std::pair<std::uintmax_t, std::filesystem::file_time_type>> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(folder)) {
    files[entry.path().string()] = {entry.is_regular_file() ? entry.file_size() : 0,
                                    entry.last_write_time()};
  }
  return files;
}

TEST_CASE("stepline validate leaves the data folder untouched") {
  testing::Scratch scratch;
  const auto data = scratch.folder() / "data";
  auto path = scratch.write("stepline.yaml", "host:\n  plugin_folder: " STEPLINE_BINARY_DIR
                                             "/plugins\n  data_folder: " +
                                                 data.string() + R"(
steps:
  - {name: validate, message: Create, entity: account, stage: pre-validation,
     handler: {plugin: Samples.ValidateAccount}}
)");
  SUBCASE("a data folder that does not exist is not created") {
    Run run = stepline("validate " + path.string());
    CAPTURE(run.output);
    CHECK(run.status == 0);
    CHECK_FALSE(std::filesystem::exists(data));
  }
  SUBCASE("an existing scan cache is read, not rewritten") {
    // The cache a host run leaves, then one that no longer matches the libraries.
    Run host = stepline("plugins list -c " + path.string());
    REQUIRE_MESSAGE(host.status == 0, host.output);
    const auto cache = data / "plugin-scan-cache.json";
    REQUIRE(std::filesystem::exists(cache));
    scratch.write("data/plugin-scan-cache.json", R"({"format": 1, "libraries": []})");
    const auto before = listing(data);
    Run run = stepline("validate " + path.string());
    CAPTURE(run.output);
    CHECK(run.status == 0);
    CHECK(listing(data) == before);
  }
}

TEST_CASE("stepline validate reports an unset connection variable by name") {
  testing::ScopedEnv env("STEPLINE_BROKER_CONNECTION", nullptr);
  Run run = stepline("validate " STEPLINE_SOURCE_DIR "/samples/stepline.yaml");
  CHECK(run.status == 2);
  CHECK(run.output.find("environment variable STEPLINE_BROKER_CONNECTION is not set") !=
        std::string::npos);
}

TEST_CASE("stepline validate with a file that does not exist exits with 2") {
  Run run = stepline("validate /nonexistent/stepline.yaml");
  CHECK(run.status == 2);
  CHECK(run.output.find("does not exist") != std::string::npos);
}

TEST_CASE("stepline registration show masks secrets in YAML and JSON") {
  testing::ScopedEnv env("STEPLINE_BROKER_CONNECTION", broker_connection);
  for (std::string flags : {"", " --json"}) {
    Run run =
        stepline("registration show -c " STEPLINE_SOURCE_DIR "/samples/stepline.yaml" + flags);
    CAPTURE(run.output);
    CHECK(run.status == 0);
    CHECK(run.output.find("TOPSECRET") == std::string::npos);
    CHECK(run.output.find("SharedAccessKey=***") != std::string::npos);
    CHECK(run.output.find("Publish account updates") != std::string::npos);
  }
}

TEST_CASE("stepline registration diff shows what a deploy changes") {
  testing::ScopedEnv env("STEPLINE_BROKER_CONNECTION", broker_connection);
  testing::Scratch scratch;
  auto before = scratch.write("before.yaml", R"(steps:
  - {name: tier, message: Update, stage: pre-operation, handler: {plugin: A.B}}
)");
  auto after = scratch.write("after.yaml", R"(steps:
  - {name: tier, message: Update, stage: pre-operation, rank: 5, handler: {plugin: A.B}}
  - {name: check, message: Create, stage: pre-validation, handler: {plugin: A.C}}
)");
  Run run = stepline("registration diff --exit-code " + before.string() + " " + after.string());
  CHECK(run.status == 1);
  CHECK(run.output == "~ step 'tier' changed\n    rank: 1 -> 5\n+ step 'check' added\n");
  Run same = stepline("registration diff --exit-code " + before.string() + " " + before.string());
  CHECK(same.status == 0);
  CHECK(same.output == "no differences\n");
}

}  // namespace stepline::registration

namespace stepline::registration {

TEST_CASE("stepline validate prints warnings but still exits with 0") {
  testing::Scratch scratch;
  auto path = scratch.write("stepline.yaml", R"(endpoints:
  - name: events
    contract: queue
    path: events
    connection: Endpoint=sb://localhost/;SharedAccessKeyName=send;SharedAccessKey=TOPSECRET
steps:
  - {name: publish, message: Update, stage: post-operation, mode: async, handler: {endpoint: events}}
)");
  // No step names a plug-in type, so an empty plug-in folder will do.
  std::filesystem::create_directories(scratch.folder() / "plugins");
  Run run = stepline("validate " + path.string());
  CAPTURE(run.output);
  CHECK(run.status == 0);
  CHECK(run.output.find(path.string() +
                        ":5:17: warning: connection: the SharedAccessKey is written "
                        "in the registration file") != std::string::npos);
  CHECK(run.output.find("valid: 0 plug-ins, 1 endpoint, 1 step (1 warning)") != std::string::npos);
  CHECK(run.output.find("TOPSECRET") == std::string::npos);
}

TEST_CASE("stepline registration diff refuses a file with errors") {
  testing::Scratch scratch;
  auto good = scratch.write("good.yaml", "steps: []\n");
  auto bad = scratch.write("bad.yaml", "steps:\n  - name: x\n");
  Run run = stepline("registration diff " + good.string() + " " + bad.string());
  CHECK(run.status == 2);
  CHECK(run.output.find("bad.yaml:2:5: error: step 'x' needs 'message'") != std::string::npos);
}

}  // namespace stepline::registration
