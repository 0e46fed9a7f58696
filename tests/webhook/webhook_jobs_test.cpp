// Webhook steps as users run them, through the `stepline` command: a synchronous step fails the
// operation with the receiver's message; an asynchronous one is a system job that waits out a
// 503's Retry-After and then succeeds, or fails at once on a 4xx.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include <rapidjson/document.h>

#include "testkit/process.hpp"
#include "testkit/webhook_receiver.hpp"

namespace stepline::test {
namespace {

/// A registration with one webhook step on account Create, and the receiver it posts to.
class HookRig {
 public:
  explicit HookRig(const std::string& mode) : dir_("stepline-webhook-jobs-") {
    std::filesystem::create_directories(dir_.path() / "plugins");
    std::ofstream(config()) << R"(host:
  data_folder: data
  plugin_folder: plugins
endpoints:
  - name: credit-hook
    contract: webhook
    url: )" << receiver.url("/api/credit")
                            << R"(
    timeout: 10s
    retry: {max_attempts: 3, base_delay: 100ms, max_delay: 30s, jitter: 0}
steps:
  - name: Ask the credit service
    message: Create
    entity: account
    stage: post-operation
    mode: )" << mode << R"(
    handler:
      endpoint: credit-hook
)";
  }

  std::string config() const { return (dir_.path() / "stepline.yaml").string(); }

  Captured create(const std::string& name, const std::vector<std::string>& more = {}) {
    std::vector<std::string> args = {
        "exec", "-c", config(), "--request",
        R"({"message":"Create","target":{"logicalName":"account","attributes":{"name":")" + name +
            R"("}}})"};
    args.insert(args.end(), more.begin(), more.end());
    return run_stepline(args);
  }

  /// `stepline jobs list --json`, parsed.
  rapidjson::Document jobs() {
    auto listed = run_stepline({"jobs", "-c", config(), "list", "--json"});
    REQUIRE_MESSAGE(listed.status == 0, listed.output);
    rapidjson::Document d;
    d.Parse(listed.output.c_str());
    REQUIRE(d.IsArray());
    return d;
  }

  WebhookReceiver receiver;

 private:
  TempDir dir_;
};

}  // namespace

TEST_CASE("a synchronous webhook step that is refused fails the operation with the message") {
  HookRig rig("sync");
  rig.receiver.script(R"([{"status":400,"body":{"message":"credit limit exceeded for Contoso"}}])");
  auto result = rig.create("Contoso");
  CHECK(result.status != 0);
  CHECK_MESSAGE(result.output.find("credit limit exceeded for Contoso") != std::string::npos,
                result.output);
  CHECK(result.output.find("http:400") != std::string::npos);
  REQUIRE(rig.receiver.received().size() == 1);
}

TEST_CASE("an asynchronous webhook job waits out a 503's Retry-After, then succeeds") {
  HookRig rig("async");
  rig.receiver.script(R"([{"status":503,"headers":{"Retry-After":"2"}}])");
  auto result = rig.create("Fabrikam", {"--drain"});
  REQUIRE_MESSAGE(result.status == 0, result.output);
  auto requests = rig.receiver.wait_for(2);
  REQUIRE(requests.size() == 2);
  // The policy alone would have waited 100 ms.
  CHECK(requests[1].at_ms - requests[0].at_ms >= 1900);
  CHECK(requests[1].header("webhook-id") == requests[0].header("webhook-id"));
  auto jobs = rig.jobs();
  REQUIRE(jobs.Size() == 1);
  CHECK(std::string(jobs[0]["status"].GetString()) == "succeeded");
  CHECK(jobs[0]["retryCount"].GetInt() == 1);
  CHECK(requests[0].header("webhook-id") == jobs[0]["id"].GetString());
}

TEST_CASE("an asynchronous webhook job refused with a 4xx fails at once, saying why") {
  HookRig rig("async");
  rig.receiver.script(R"([{"status":403,"body":{"message":"key expired"}}])");
  auto result = rig.create("Northwind", {"--drain"});
  CHECK(result.status != 0);
  auto jobs = rig.jobs();
  REQUIRE(jobs.Size() == 1);
  CHECK(std::string(jobs[0]["status"].GetString()) == "failed");
  CHECK(jobs[0]["retryCount"].GetInt() == 0);
  const std::string message = jobs[0]["errorMessage"].GetString();
  CHECK(message.find("http:403") != std::string::npos);
  CHECK(message.find("unauthorized") != std::string::npos);
  CHECK(message.find("key expired") != std::string::npos);
  CHECK(rig.receiver.received().size() == 1);
}

}  // namespace stepline::test
