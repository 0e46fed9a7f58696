// Claim checks as users run them: `stepline exec --drain` posts a 1 MB account to a 256 KB
// topic and queue, the sample listeners (C++ on Proton, JS on @azure/service-bus and
// @azure/storage-blob) print the whole contexts; with Azurite down the job waits, and succeeds
// once it is back.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <sys/wait.h>

#include <rapidjson/document.h>

#include <stepline/claim_check/blob_reader.hpp>
#include <stepline/format/claim_check.hpp>

#include "claim_check/large_context.hpp"
#include "testkit/azurite.hpp"
#include "testkit/message_receiver.hpp"
#include "testkit/process.hpp"
#include "testkit/stepline_broker.hpp"

namespace stepline::test {
namespace {

constexpr const char* record_id = "b0000000-0000-0000-0000-000000000042";
constexpr const char* other_record_id = "b0000000-0000-0000-0000-000000000043";

/// A registration with one asynchronous endpoint step on account Create, posting to `entity` of
/// the broker with size_policy claim-check into Azurite.
class ClaimRig {
 public:
  ClaimRig(const std::string& contract, const std::string& entity, const std::string& deletion)
      : broker(broker_config()), dir_("stepline-claim-jobs-") {
    std::filesystem::create_directories(dir_.path() / "plugins");
    std::ofstream(config()) << R"(host:
  data_folder: data
  plugin_folder: plugins
endpoints:
  - name: big
    contract: )" << contract << R"(
    path: )" << entity << R"(
    connection: ${env:STEPLINE_TEST_BROKER}
    size_policy: claim-check
    claim_check:
      connection: ${env:STEPLINE_CLAIM_CHECK_CONNECTION}
      container: big-claims
      delete: )" << deletion << R"(
    timeout: 10s
    retry: {max_attempts: 100, base_delay: 200ms, max_delay: 1s, jitter: 0}
steps:
  - name: Publish accounts
    message: Create
    entity: account
    stage: post-operation
    mode: async
    handler:
      endpoint: big
)";
    setenv("STEPLINE_TEST_BROKER", broker.connection_string().c_str(), 1);
    setenv("STEPLINE_CLAIM_CHECK_CONNECTION", azurite.connection_string().c_str(), 1);
  }
  ~ClaimRig() {
    unsetenv("STEPLINE_TEST_BROKER");
    unsetenv("STEPLINE_CLAIM_CHECK_CONNECTION");
  }

  std::string config() const { return (dir_.path() / "stepline.yaml").string(); }
  /// `stepline exec --drain` of an account Create with the record id `id` and a 1 MiB
  /// description: the context is over four times the broker's limit.
  std::vector<std::string> exec(const std::string& id = record_id) const {
    const auto request = dir_.path() / ("request-" + id + ".json");
    std::ofstream(request) << R"({"message":"Create","target":{"logicalName":"account","id":")"
                           << id << R"(","attributes":{"name":"Contoso","description":")"
                           << std::string(1024 * 1024, 'x') << R"("}}})";
    return {stepline_executable(), "exec",           "-c",     config(),
            "--request-file",      request.string(), "--drain"};
  }

  /// A sample listener's run: `argv` with the broker's and Azurite's connection strings.
  Captured listen(std::vector<std::string> argv) const {
    argv.insert(argv.begin(),
                {"env", "STEPLINE_LISTENER_CONNECTION=" + broker.connection_string()});
    return capture(argv);
  }

  /// The only job, from `stepline jobs list --json`.
  std::string job_field(const char* field) {
    auto listed = run_stepline({"jobs", "-c", config(), "list", "--json"});
    if (listed.status != 0) return {};
    rapidjson::Document d;
    d.Parse(listed.output.c_str());
    if (!d.IsArray() || d.Size() != 1 || !d[0][field].IsString()) return {};
    return d[0][field].GetString();
  }

  Azurite azurite;
  SteplineBroker broker;

 private:
  TempDir dir_;
};

std::string listener(const char* name) {
  return std::string(STEPLINE_BINARY_DIR) + "/bin/" + name;
}

}  // namespace

TEST_CASE("a 1 MB context claim-checked to a 256 KB topic is read back whole by both listeners") {
  ClaimRig rig("topic", "big-events", "never");
  auto posted = capture(rig.exec());
  REQUIRE_MESSAGE(posted.status == 0, posted.output);

  auto cpp = rig.listen({listener("topic_listener"), "big-events/Subscriptions/cpp", "--count", "1",
                         "--timeout", "60"});
  CHECK_MESSAGE(cpp.status == 0, cpp.output);
  CHECK(cpp.output.find("Create account " + std::string(record_id)) != std::string::npos);
  CHECK(cpp.output.find(" | target: ") != std::string::npos);
  CHECK(cpp.output.find("SHA-256 verified") != std::string::npos);

  auto js =
      rig.listen({"node", std::string(STEPLINE_SOURCE_DIR) + "/samples/listeners/js/listener.mjs",
                  "big-events/Subscriptions/js", "--count", "1", "--timeout", "60"});
  CHECK_MESSAGE(js.status == 0, js.output);
  CHECK(js.output.find("Create account " + std::string(record_id)) != std::string::npos);
  CHECK(js.output.find(format::claim_check_content_type) != std::string::npos);
  // The JS listener names the bytes it verified: the same count as the C++ one.
  auto bytes_in = [](const std::string& out) {
    auto at = out.find("claim check: ");
    return at == std::string::npos ? 0ULL : std::stoull(out.substr(at + 13));
  };
  CHECK(bytes_in(js.output) > 1024 * 1024);
  CHECK(bytes_in(js.output) == bytes_in(cpp.output));
}

TEST_CASE("a 1 MB context claim-checked to a 256 KB queue is read back whole by both listeners") {
  // Two operations, two jobs, two messages on one queue: each listener takes one, reads the
  // context through its claim check and deletes the blob after completing the message.
  ClaimRig rig("queue", "orders", "after-confirm");
  for (const std::string id : {record_id, other_record_id}) {
    auto posted = capture(rig.exec(id));
    REQUIRE_MESSAGE(posted.status == 0, posted.output);
  }

  auto cpp = rig.listen({listener("queue_listener"), "orders", "--count", "1", "--timeout", "60"});
  CHECK_MESSAGE(cpp.status == 0, cpp.output);
  CHECK(cpp.output.find(" | target: ") != std::string::npos);
  CHECK(cpp.output.find("SHA-256 verified") != std::string::npos);

  auto js =
      rig.listen({"node", std::string(STEPLINE_SOURCE_DIR) + "/samples/listeners/js/listener.mjs",
                  "orders", "--count", "1", "--timeout", "60"});
  CHECK_MESSAGE(js.status == 0, js.output);
  CHECK(js.output.find("SHA-256 verified") != std::string::npos);
  // Each listener read one of the two records, whichever the queue gave it.
  auto read_record = [](const std::string& out, const char* id) {
    return out.find("Create account " + std::string(id)) != std::string::npos;
  };
  CHECK(read_record(cpp.output, record_id) != read_record(cpp.output, other_record_id));
  CHECK(read_record(js.output, record_id) == read_record(cpp.output, other_record_id));
  CHECK(read_record(js.output, other_record_id) == read_record(cpp.output, record_id));

  // Both read the whole context: the same number of bytes, over four times the queue's limit.
  auto bytes_in = [](const std::string& out) {
    auto at = out.find("claim check: ");
    return at == std::string::npos ? 0ULL : std::stoull(out.substr(at + 13));
  };
  CHECK(bytes_in(cpp.output) > 1024 * 1024);
  CHECK(bytes_in(js.output) == bytes_in(cpp.output));

  // The blobs of both messages are gone once each listener completed its message.
  auto urls = [](const std::string& out) {
    std::vector<std::string> found;
    for (auto at = out.find("from "); at != std::string::npos; at = out.find("from ", at + 5))
      found.push_back(out.substr(at + 5, out.find(',', at) - at - 5));
    return found;
  };
  std::vector<std::string> read = urls(cpp.output);
  for (const auto& url : urls(js.output)) read.push_back(url);
  REQUIRE(read.size() == 2);
  CHECK(read[0] != read[1]);
  claim_check::BlobReader reader(rig.azurite.connection_string());
  for (const auto& url : read) {
    CAPTURE(url);
    format::ClaimCheck reference;
    reference.url = url;
    reference.size = 1;
    CHECK_THROWS_WITH(reader.fetch(reference), doctest::Contains("HTTP 404"));
  }
}

TEST_CASE("with Azurite down the job waits, and succeeds once it is back") {
  ClaimRig rig("queue", "orders", "after-confirm");
  rig.azurite.stop();
  pid_t exec = spawn(
      rig.exec(), {},
      std::filesystem::temp_directory_path() / ("stepline-claim-exec-" + std::to_string(getpid())));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  std::string status, error;
  while (std::chrono::steady_clock::now() < deadline) {
    status = rig.job_field("status");
    error = rig.job_field("errorMessage");
    if (status == "waiting" && !error.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(status == "waiting");
  CHECK(error.find("stepline:claim-check") != std::string::npos);
  CHECK(error.find("cannot upload") != std::string::npos);

  rig.azurite.start();
  int wait_status = -1;
  while (std::chrono::steady_clock::now() < deadline && ::waitpid(exec, &wait_status, WNOHANG) == 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  if (::waitpid(exec, &wait_status, WNOHANG) == 0) terminate(exec);
  CHECK(WIFEXITED(wait_status));
  CHECK(WEXITSTATUS(wait_status) == 0);
  CHECK(rig.job_field("status") == "succeeded");

  // The queue's listener reads it, completes the message and then deletes the blob.
  auto read = rig.listen({listener("queue_listener"), "orders", "--count", "1", "--timeout", "60"});
  CHECK_MESSAGE(read.status == 0, read.output);
  auto at = read.output.find("from ");
  REQUIRE(at != std::string::npos);
  const std::string url = read.output.substr(at + 5, read.output.find(',', at) - at - 5);
  format::ClaimCheck reference;
  reference.url = url;
  reference.size = 1;
  claim_check::BlobReader reader(rig.azurite.connection_string());
  CHECK_THROWS_WITH(reader.fetch(reference), doctest::Contains("HTTP 404"));
}

}  // namespace stepline::test
