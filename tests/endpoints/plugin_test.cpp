// A host made from a registration file, posting into stepline-broker: the out-of-box
// Stepline.ServiceBusPlugin loaded from build/plugins like any plug-in, an endpoint as a step's
// handler, a synchronous post that fails rolling the operation back, and `stepline run --drain`
// closing its connection before it exits.
#include <doctest/doctest.h>

#include <fstream>
#include <string>
#include <vector>

#include <stepline/host/configured_host.hpp>
#include <stepline/host/endpoints/message_properties.hpp>

#include "endpoints/endpoint_fixture.hpp"
#include "testkit/message_receiver.hpp"
#include "testkit/process.hpp"
#include "testkit/stepline_broker.hpp"

using namespace stepline;
using test::MessageReceiver;
using test::SteplineBroker;

namespace {

constexpr const char* oob_config = R"(
sas_policies:
  - name: RootManageSharedAccessKey
    key: test-root-key
    rights: [manage, send, listen]
queues:
  - name: oob
  - name: handler
)";

SteplineBroker& oob_broker() {
  static SteplineBroker b(oob_config);
  return b;
}

MessageReceiver receive(const std::string& queue) {
  return MessageReceiver(
      oob_broker().url(), {queue},
      {.user = "RootManageSharedAccessKey", .password = SteplineBroker::root_key, .reply = {}});
}

/// A registration file in a temp folder: plug-ins from build/plugins, one endpoint per queue,
/// and `steps` as given (YAML list items).
class RegistrationFile {
 public:
  RegistrationFile(const std::string& steps, const std::string& key = SteplineBroker::root_key,
                   SteplineBroker& broker = oob_broker())
      : dir_("stepline-endpoints-") {
    std::ofstream(dir_.path() / "stepline.yaml") << "host:\n"
                                                    "  plugin_folder: " STEPLINE_BINARY_DIR
                                                    "/plugins\n"
                                                    "  data_folder: "
                                                 << (dir_.path() / "data").string()
                                                 << "\n"
                                                    "  organization:\n"
                                                    "    name: contoso\n"
                                                    "plugins:\n"
                                                    "  - file: servicebus.so\n"
                                                    "endpoints:\n";
    for (const char* queue : {"oob", "handler"}) {
      std::ofstream(dir_.path() / "stepline.yaml", std::ios::app)
          << "  - name: " << queue << "\n"
          << "    contract: queue\n"
          << "    path: " << queue << "\n"
          << "    format: dataverse-json\n"
          << "    user_claim: user-info\n"
          << "    timeout: 5s\n"
          << "    connection: \"" << broker.connection_string("RootManageSharedAccessKey", key)
          << "\"\n";
    }
    std::ofstream(dir_.path() / "stepline.yaml", std::ios::app) << "steps:\n" << steps;
  }
  std::filesystem::path path() const { return dir_.path() / "stepline.yaml"; }
  const std::filesystem::path& dir() const { return dir_.path(); }

 private:
  test::TempDir dir_;
};

host::pipeline::OperationRequest create_account(const Guid& id, const std::string& name) {
  Entity account("account", id);
  account.set("name", name);
  host::pipeline::OperationRequest r;
  r.message = "Create";
  r.parameters.emplace("Target", Value(account));
  r.user_agent = "stepline-tests/1.0";
  return r;
}

}  // namespace

TEST_CASE("Stepline.ServiceBusPlugin posts the context to the endpoint its configuration names") {
  MessageReceiver receiver = receive("oob");
  RegistrationFile file(R"(
  - name: Publish new accounts
    message: Create
    entity: account
    stage: post-operation
    handler:
      plugin: Stepline.ServiceBusPlugin
    configuration: oob
)");
  host::ConfiguredHost configured(file.path());
  REQUIRE(configured.endpoint_poster() != nullptr);
  Guid id = Guid::random();
  auto response = configured.host().execute(create_account(id, "Contoso"));
  REQUIRE_MESSAGE(response.ok(), response.error_message);
  CHECK(response.traces.front().find("posted Create of account to endpoint 'oob'") !=
        std::string::npos);

  REQUIRE(receiver.wait_for(1));
  proton::message m = receiver.messages()[0];
  CHECK(m.content_type() == "application/json");
  CHECK(test::property(m, host::endpoints::claim::organization) == "contoso");
  CHECK(test::property(m, host::endpoints::claim::entity_logical_name) == "account");
  CHECK(test::property(m, host::endpoints::claim::request_name) == "Create");
  CHECK(test::property(m, host::endpoints::claim::initiating_user_agent) == "stepline-tests/1.0");
  ExecutionContext posted = test::read_body(m, "dataverse-json");
  CHECK(posted.message_name == "Create");
  CHECK(posted.primary_entity_id == id);
  CHECK(posted.stage == Stage::post_operation);
  CHECK(posted.target()->get("name") == Value("Contoso"));
  CHECK(proton::to_string(m.correlation_id()) == response.correlation_id.str());
}

TEST_CASE("a step whose handler is an endpoint posts without any plug-in") {
  MessageReceiver receiver = receive("handler");
  RegistrationFile file(R"(
  - name: Post new accounts
    message: Create
    entity: account
    stage: post-operation
    handler:
      endpoint: handler
)");
  host::ConfiguredHost configured(file.path());
  Guid id = Guid::random();
  auto response = configured.host().execute(create_account(id, "Fabrikam"));
  REQUIRE_MESSAGE(response.ok(), response.error_message);
  REQUIRE(receiver.wait_for(1));
  CHECK(test::read_body(receiver.messages()[0], "dataverse-json").primary_entity_id == id);
}

TEST_CASE("a synchronous post the service refuses rolls the operation back") {
  RegistrationFile file(R"(
  - name: Publish new accounts
    message: Create
    entity: account
    stage: post-operation
    handler:
      plugin: Stepline.ServiceBusPlugin
    configuration: oob
)",
                        "not-the-key");
  host::ConfiguredHost configured(file.path());
  Guid id = Guid::random();
  auto response = configured.host().execute(create_account(id, "Northwind"));
  CHECK(response.outcome == host::pipeline::Outcome::rejected);
  CHECK(response.error_message.find("endpoint 'oob'") != std::string::npos);
  CHECK(response.error_message.find("Create of account " + id.str()) != std::string::npos);
  CHECK(response.error_message.find("amqp:unauthorized-access") != std::string::npos);
  CHECK(response.error_message.find("not-the-key") == std::string::npos);
  CHECK_FALSE(configured.host().store().retrieve("account", id, ColumnSet::all()).has_value());
}

TEST_CASE("Stepline.ServiceBusPlugin without an endpoint name says what to configure") {
  RegistrationFile file(R"(
  - name: Publish new accounts
    message: Create
    entity: account
    stage: post-operation
    handler:
      plugin: Stepline.ServiceBusPlugin
)");
  host::ConfiguredHost configured(file.path());
  auto response = configured.host().execute(create_account(Guid::random(), "Litware"));
  CHECK_FALSE(response.ok());
  CHECK(response.error_message.find("Publish new accounts") != std::string::npos);
  CHECK(response.error_message.find("needs the name of a service endpoint") != std::string::npos);
}

TEST_CASE("stepline run --drain closes its AMQP connection before it exits") {
  SteplineBroker broker(oob_config);  // its own, so its log holds this run only
  RegistrationFile file(R"(
  - name: Post new accounts
    message: Create
    entity: account
    stage: post-operation
    mode: async
    handler:
      endpoint: handler
)",
                        SteplineBroker::root_key, broker);
  const auto requests = file.dir() / "requests.jsonl";
  std::ofstream(requests) << R"({"message":"Create","target":{"logicalName":"account"}})"
                          << "\n"
                          << R"({"message":"Create","target":{"logicalName":"account"}})"
                          << "\n";
  auto run = test::run_stepline(
      {"run", "-c", file.path().string(), "--requests", requests.string(), "--drain"});
  CAPTURE(run.output);
  REQUIRE(run.status == 0);
  CHECK(run.output.find("async jobs: 2 succeeded") != std::string::npos);

  // The broker serves one event at a time: once a later client got the posts, it has handled the
  // end of the host's connection too.
  {
    MessageReceiver receiver(
        broker.url(), {"handler"},
        {.user = "RootManageSharedAccessKey", .password = SteplineBroker::root_key, .reply = {}});
    REQUIRE(receiver.wait_for(2));
  }
  broker.stop();
  // Every error line but the one of the fixture's check that the broker listens (a connection
  // that sends no protocol header).
  std::ifstream log(broker.dir() / "broker.log");
  std::vector<std::string> errors;
  for (std::string line; std::getline(log, line);) {
    if (line.find("AMQP error") != std::string::npos &&
        line.find("No protocol header found") == std::string::npos)
      errors.push_back(line);
  }
  CHECK(errors == std::vector<std::string>{});
}
