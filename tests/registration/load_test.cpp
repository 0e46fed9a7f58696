// Reading registrations: every field lands in the model, defaults fill the rest, relative paths
// resolve against the declaring file, and includes are followed once and without cycles.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include <stepline/registration/values.hpp>

#include "scratch.hpp"

namespace stepline::registration {
namespace {

using namespace std::chrono_literals;
using testing::errors_of;
using testing::Scratch;

}  // namespace

TEST_CASE("host.tls_ca_file is found next to the file that names it") {
  Scratch scratch;
  scratch.write("conf/certs/ca.pem", "-----BEGIN CERTIFICATE-----\n");
  auto path = scratch.write("conf/stepline.yaml", "host:\n  tls_ca_file: certs/ca.pem\n");
  CHECK(load(path).host.tls_ca_file == scratch.folder() / "conf/certs/ca.pem");
}

TEST_CASE("every field of a full registration is read into the model") {
  Scratch scratch;
  auto path = scratch.write("conf/stepline.yaml", R"(host:
  plugin_folder: ../lib/plugins
  data_folder: /var/lib/stepline
  log_level: debug
  log_format: json
  organization:
    name: contoso
    id: 11111111-2222-3333-4444-555555555555
  business_unit_id: 21111111-2222-3333-4444-555555555555
  default_user_id: 31111111-2222-3333-4444-555555555555
  max_depth: 4
  async_workers: 3
  async_crash_limit: 5
  durability: full
plugins:
  - file: account_rules.so
    sha256: ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789
  - file: /opt/other.so
endpoints:
  - name: orders
    contract: eventhub
    format: cloudevents
    connection: Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=a2V5
    path: orders-hub
    user_claim: user-info
    auth: plain
    retry: {max_attempts: 3, base_delay: 500ms, max_delay: 1h, jitter: 0.5}
    max_message_size: 1MiB
    size_policy: fail
    order: per-record
    partition_key: customerid
    timeout: 10s
steps:
  - id: 0b7a8d30-5c1e-4a4f-8e1b-2f3a4b5c6d7e
    name: publish orders
    message: Update
    entity: salesorder
    stage: 40
    mode: async
    rank: 7
    filtering_attributes: [totalamount, statuscode]
    handler: {endpoint: orders}
    images:
      - {alias: before, kind: pre, columns: "name, totalamount"}
      - {alias: after, kind: post}
    enabled: false
    can_be_bypassed: false
    auto_delete: true
    run_as: 41111111-2222-3333-4444-555555555555
  - name: check
    message: MyCustomMessage
    entity: any
    stage: pre-validation
    configuration: '{"limit": 5}'
    isolation: process
    handler:
      plugin: Samples.ValidateAccount
)");
  LoadResult result = read(path);
  for (const auto& p : result.problems) INFO(p.str());
  // The only remark: the key is written in the file instead of coming from ${env:} or ${file:}.
  REQUIRE(result.problems.size() == 1);
  CHECK(result.problems[0].severity == Severity::warning);
  CHECK(result.problems[0].where.line == 23);
  CHECK(result.problems[0].message ==
        "connection: the SharedAccessKey is written in the registration file; read it with "
        "${env:NAME} or ${file:PATH} so the file can be shared");
  const Registration& r = result.registration;
  CHECK(r.warnings.size() == 1);

  CHECK(r.host.plugin_folder == (scratch.folder() / "lib/plugins").lexically_normal());
  CHECK(r.host.data_folder == "/var/lib/stepline");
  CHECK(r.host.log_level == "debug");
  CHECK(r.host.log_format == "json");
  CHECK(r.host.organization_name == "contoso");
  CHECK(r.host.organization_id.str() == "11111111-2222-3333-4444-555555555555");
  CHECK(r.host.business_unit_id.str() == "21111111-2222-3333-4444-555555555555");
  CHECK(r.host.default_user_id.str() == "31111111-2222-3333-4444-555555555555");
  CHECK(r.host.max_depth == 4);
  CHECK(r.host.async_workers == 3);
  CHECK(r.host.async_crash_limit == 5);
  CHECK(r.host.durability == Durability::full);

  REQUIRE(r.plugins.size() == 2);
  CHECK(r.plugins[0].file == r.host.plugin_folder / "account_rules.so");
  CHECK(r.plugins[0].sha256 == "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
  CHECK(r.plugins[1].file == "/opt/other.so");
  CHECK_FALSE(r.plugins[1].sha256);

  REQUIRE(r.endpoints.size() == 1);
  const ServiceEndpoint& e = r.endpoints[0];
  CHECK(e.name == "orders");
  CHECK(e.contract == Contract::eventhub);
  CHECK(e.format == "cloudevents");
  CHECK(e.connection ==
        azure::ConnectionString::parse("Endpoint=sb://ns.servicebus.windows.net/"
                                       ";SharedAccessKeyName=send;SharedAccessKey=a2V5"));
  CHECK(e.path == "orders-hub");
  CHECK(e.user_claim == UserClaim::user_info);
  CHECK(e.auth == AuthMechanism::plain);
  CHECK(e.retry.max_attempts == 3);
  CHECK(e.retry.base_delay == 500ms);
  CHECK(e.retry.max_delay == 1h);
  CHECK(e.retry.jitter == doctest::Approx(0.5));
  CHECK(e.max_message_size == 1024 * 1024);
  CHECK(e.size_policy == SizePolicy::fail);
  CHECK(e.order == Ordering::per_record);
  CHECK(e.partition_key == "customerid");
  CHECK(e.timeout == 10s);
  CHECK(e.where.line == 20);

  REQUIRE(r.steps.size() == 2);
  const Step& publish = r.steps[0];
  CHECK(publish.id.str() == "0b7a8d30-5c1e-4a4f-8e1b-2f3a4b5c6d7e");
  CHECK(publish.message == "Update");
  CHECK(publish.entity == "salesorder");
  CHECK(publish.stage == Stage::post_operation);
  CHECK(publish.mode == Mode::asynchronous);
  CHECK(publish.rank == 7);
  CHECK(publish.filtering_attributes == std::vector<std::string>{"totalamount", "statuscode"});
  CHECK(publish.endpoint == "orders");
  CHECK(publish.plugin_type.empty());
  REQUIRE(publish.images.size() == 2);
  CHECK(publish.images[0].alias == "before");
  CHECK(publish.images[0].kind == ImageKind::pre);
  CHECK(publish.images[0].columns == std::vector<std::string>{"name", "totalamount"});
  CHECK(publish.images[1].kind == ImageKind::post);
  CHECK(publish.images[1].columns.empty());
  CHECK_FALSE(publish.enabled);
  CHECK_FALSE(publish.can_be_bypassed);
  CHECK(publish.auto_delete);
  REQUIRE(publish.run_as);
  CHECK(publish.run_as->str() == "41111111-2222-3333-4444-555555555555");

  const Step& check = r.steps[1];
  CHECK(check.id == step_id_from_name("check"));
  CHECK(check.message == "MyCustomMessage");
  CHECK(check.entity.empty());
  CHECK(check.stage == Stage::pre_validation);
  CHECK(check.mode == Mode::synchronous);
  CHECK(check.rank == 1);
  CHECK(check.unsecure_configuration == R"({"limit": 5})");
  CHECK(check.isolation == IsolationMode::process);
  CHECK(check.plugin_type == "Samples.ValidateAccount");
  CHECK(check.handler_where.line == 57);
  CHECK(check.handler_where.column == 15);
  CHECK(r.find_step("check") == &check);
  CHECK(r.find_endpoint("orders") == &e);
}

TEST_CASE("a registration that says little gets the documented defaults") {
  Scratch scratch;
  auto path = scratch.write("stepline.yaml", R"(steps:
  - name: tier
    message: Update
    stage: pre-operation
    handler: {plugin: A.B}
)");
  Registration r = load(path);
  CHECK(r.host.plugin_folder == scratch.folder() / "plugins");
  CHECK(r.host.data_folder == scratch.folder() / "data");
  CHECK(r.host.log_level == "info");
  CHECK(r.host.organization_name == "stepline");
  CHECK_FALSE(r.host.organization_id.is_nil());
  CHECK_FALSE(r.host.business_unit_id.is_nil());
  CHECK_FALSE(r.host.default_user_id.is_nil());
  CHECK(r.host.organization_id != r.host.business_unit_id);
  CHECK(r.host.organization_id == load(path).host.organization_id);
  CHECK(r.host.max_depth == 8);
  CHECK(r.host.async_workers == 2);
  CHECK(r.host.async_crash_limit == 3);
  CHECK(r.host.durability == Durability::normal);
  REQUIRE(r.steps.size() == 1);
  CHECK(r.steps[0].enabled);
  CHECK(r.steps[0].can_be_bypassed);
  CHECK(r.steps[0].isolation == IsolationMode::none);
  CHECK(r.files == std::vector<std::filesystem::path>{path});
}

TEST_CASE("an empty file is an empty registration") {
  Scratch scratch;
  Registration r = load(scratch.write("stepline.yaml", "# nothing yet\n"));
  CHECK(r.steps.empty());
  CHECK(r.endpoints.empty());
}

TEST_CASE("step ids derived from names are stable and distinct") {
  Scratch scratch;
  auto text = R"(steps:
  - {name: first, message: Create, stage: pre-operation, handler: {plugin: A.B}}
  - {name: second, message: Create, stage: pre-operation, handler: {plugin: A.B}}
)";
  Registration a = load(scratch.write("a.yaml", text));
  Registration b = load(scratch.write("other/b.yaml", text));
  CHECK(a.steps[0].id == b.steps[0].id);
  CHECK(a.steps[1].id == b.steps[1].id);
  CHECK(a.steps[0].id != a.steps[1].id);
  CHECK(a.steps[0].id == step_id_from_name("first"));
  // Pinned: a change to the derivation would silently re-key every deployed step.
  // (SHA-256 of the namespace bytes and "step:first", checked independently with Python's hashlib.)
  CHECK(a.steps[0].id.str() == "ba0f6b5e-5827-8588-9a73-3343cb470c17");
  CHECK(a.steps[0].id.str()[14] == '8');  // RFC 9562 version 8
}

TEST_CASE("included files are read relative to the file that includes them") {
  Scratch scratch;
  scratch.write("endpoints/events.yaml", R"(endpoints:
  - name: account-events
    contract: topic
    path: account-events
    connection: ${file:../secrets/bus.txt}
)");
  scratch.write("secrets/bus.txt",
                "Endpoint=sb://localhost/;SharedAccessKeyName=send;SharedAccessKey=a2V5\n");
  scratch.write("steps/accounts.yaml", R"(include: ../endpoints/events.yaml
steps:
  - name: publish
    message: Update
    entity: account
    stage: post-operation
    mode: async
    handler: {endpoint: account-events}
)");
  auto root = scratch.write("stepline.yaml", R"(include:
  - steps/accounts.yaml
  - endpoints/events.yaml
host:
  plugin_folder: plugins
)");
  LoadResult result = read(root);
  for (const auto& p : result.problems) INFO(p.str());
  REQUIRE(result.problems.empty());
  const Registration& r = result.registration;
  REQUIRE(r.files.size() == 3);
  CHECK(r.files[0] == root);
  CHECK(r.files[1] == scratch.folder() / "steps/accounts.yaml");
  CHECK(r.files[2] == scratch.folder() / "endpoints/events.yaml");
  REQUIRE(r.endpoints.size() == 1);  // included twice, read once
  CHECK(r.endpoints[0].connection ==
        azure::ConnectionString::parse(
            "Endpoint=sb://localhost/;SharedAccessKeyName=send;SharedAccessKey=a2V5"));
  CHECK(r.endpoints[0].where.file == (scratch.folder() / "endpoints/events.yaml").string());
  REQUIRE(r.steps.size() == 1);
  CHECK(r.steps[0].where.file == (scratch.folder() / "steps/accounts.yaml").string());
  CHECK(r.steps[0].where.line == 3);
}

TEST_CASE("problems in included files name the included file") {
  Scratch scratch;
  scratch.write("more.yaml", R"(steps:
  - name: tier
    message: Update
    stage: sometime
    handler: {plugin: A.B}
)");
  auto errors = errors_of(scratch, "include: more.yaml\n");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].str() == (scratch.folder() / "more.yaml").string() +
                               ":4:12: error: stage: 'sometime' is not allowed; use one of "
                               "pre-validation, pre-operation, post-operation, 10, 20, 40");
}

TEST_CASE("an include cycle is reported at the include that closes it") {
  Scratch scratch;
  scratch.write("a.yaml", "include: b.yaml\n");
  scratch.write("b.yaml", "steps: []\ninclude: [stepline.yaml]\n");
  auto errors = errors_of(scratch, "include: a.yaml\n");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].where.file == (scratch.folder() / "b.yaml").string());
  CHECK(errors[0].where.line == 2);
  CHECK(errors[0].where.column == 11);
  CHECK(errors[0].message == "include: " + (scratch.folder() / "stepline.yaml").string() +
                                 " is already being read (stepline.yaml -> a.yaml -> b.yaml -> "
                                 "stepline.yaml); remove one include to break the cycle");
}

TEST_CASE("a missing include is reported where it is named") {
  Scratch scratch;
  auto errors = errors_of(scratch, "steps: []\ninclude: nowhere.yaml\n");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].where.line == 2);
  CHECK(errors[0].where.column == 10);
  CHECK(errors[0].message == "include: " + (scratch.folder() / "nowhere.yaml").string() +
                                 " does not exist or is not a file; check the path (relative to "
                                 "the including file)");
}

TEST_CASE("a second host section is an error naming the first") {
  Scratch scratch;
  scratch.write("more.yaml", "host:\n  max_depth: 3\n");
  auto errors = errors_of(scratch, "host:\n  max_depth: 4\ninclude: more.yaml\n");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].where.file == (scratch.folder() / "more.yaml").string());
  CHECK(errors[0].message == "host is already set at " +
                                 (scratch.folder() / "stepline.yaml").string() +
                                 ":2:3; keep one host section");
}

TEST_CASE("a missing root file is reported, not thrown as something else") {
  Scratch scratch;
  auto missing = scratch.folder() / "absent.yaml";
  LoadResult result = read(missing);
  REQUIRE(result.problems.size() == 1);
  CHECK(result.problems[0].str() == missing.string() + ":1:1: error: " + missing.string() +
                                        " does not exist or is not a file; check the path");
  CHECK_THROWS_AS(load(missing), RegistrationError);
}

TEST_CASE("the sample registration loads when the broker connection is set") {
  testing::ScopedEnv env(
      "STEPLINE_BROKER_CONNECTION",
      "Endpoint=sb://127.0.0.1:5672/;SharedAccessKeyName=RootManageSharedAccessKey;"
      "SharedAccessKey=bG9jYWw=;UseDevelopmentEmulator=true");
  Registration r = load(STEPLINE_SOURCE_DIR "/samples/stepline.yaml");
  CHECK(r.warnings.empty());
  CHECK(r.plugins.size() == 2);
  CHECK(r.endpoints.size() == 4);
  CHECK(r.steps.size() == 9);
  CHECK(r.host.plugin_folder ==
        std::filesystem::path(STEPLINE_SOURCE_DIR "/build/plugins").lexically_normal());
  const Step* publish = r.find_step("Publish account updates");
  REQUIRE(publish);
  CHECK(publish->mode == Mode::asynchronous);
  CHECK(publish->plugin_type == "Samples.PublishAccountChange");
  CHECK(publish->unsecure_configuration == "account-events");
  REQUIRE(publish->images.size() == 1);
  CHECK(publish->images[0].columns == std::vector<std::string>{"name", "revenue"});
  const Step* deletions = r.find_step("Publish account deletions");
  REQUIRE(deletions);
  CHECK(deletions->endpoint == "account-events");
  const ServiceEndpoint* credit = r.find_endpoint("credit-check");
  REQUIRE(credit);
  CHECK(credit->contract == Contract::twoway);
}

}  // namespace stepline::registration

namespace stepline::registration {

TEST_CASE("the complete example in docs/REGISTRATION.md is a valid registration") {
  std::ifstream in(STEPLINE_SOURCE_DIR "/docs/REGISTRATION.md");
  std::stringstream text;
  text << in.rdbuf();
  // The first two YAML blocks are the example's two files, each starting with "# FILE".
  std::vector<std::string> blocks;
  std::string doc = text.str();
  for (std::size_t at = doc.find("```yaml\n"); at != std::string::npos && blocks.size() < 2;
       at = doc.find("```yaml\n", at + 1)) {
    std::size_t start = at + 8;
    blocks.push_back(doc.substr(start, doc.find("```", start) - start));
  }
  REQUIRE(blocks.size() == 2);
  testing::Scratch scratch;
  testing::ScopedEnv env("STEPLINE_BROKER_CONNECTION",
                         "Endpoint=sb://localhost/;SharedAccessKeyName=send;SharedAccessKey=a2V5");
  scratch.write("secrets/validate.txt", "token\n");
  std::filesystem::path root;
  for (const auto& block : blocks) {
    std::string name = block.substr(2, block.find('\n') - 2);  // "# stepline.yaml"
    auto path = scratch.write(name, block);
    if (root.empty()) root = path;
  }
  LoadResult result = read(root);
  for (const auto& p : result.problems) INFO(p.str());
  CHECK(result.problems.empty());
  CHECK(result.registration.steps.size() == 3);
  CHECK(result.registration.endpoints.size() == 1);
  CHECK(result.registration.steps[0].secure_configuration == "token");
}

}  // namespace stepline::registration
