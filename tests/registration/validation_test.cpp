// Each kind of registration mistake is reported at the line and column of the value that causes
// it, with a message that names the field and says what to do.
#include <doctest/doctest.h>

#include <algorithm>

#include <stepline/format/binary.hpp>

#include "scratch.hpp"

namespace stepline::registration {
namespace {

using testing::errors_of;
using testing::problems_of;
using testing::Scratch;

void check_problem(const Problem& p, const Scratch& scratch, int line, int column,
                   const std::string& message, Severity severity = Severity::error) {
  CHECK(p.where.file == (scratch.folder() / "stepline.yaml").string());
  CHECK(p.where.line == line);
  CHECK(p.where.column == column);
  CHECK(p.message == message);
  CHECK(p.severity == severity);
}

constexpr std::string_view endpoint_block = R"(endpoints:
  - name: account-events
    contract: topic
    path: account-events
    connection: Endpoint=sb://localhost/;SharedAccessKeyName=send;SharedAccessKey=c2VjcmV0
)";

}  // namespace

TEST_CASE("a misspelt key is reported with the key it most likely means") {
  Scratch scratch;
  auto errors = errors_of(scratch, R"(steps:
  - name: tier
    message: Update
    stage: pre-operation
    rnak: 2
    handler:
      plugin: Samples.SetAccountTier
)");
  REQUIRE(errors.size() == 1);
  check_problem(errors[0], scratch, 5, 5,
                "unknown key 'rnak' in step 'tier'; did you mean 'rank'?");
}

TEST_CASE("an unknown key like no allowed one lists the keys allowed there") {
  Scratch scratch;
  auto errors = errors_of(scratch, R"(host:
  colour: blue
)");
  REQUIRE(errors.size() == 1);
  check_problem(errors[0], scratch, 2, 3,
                "unknown key 'colour' in host; the keys allowed here are plugin_folder, "
                "data_folder, log_level, log_format, organization, business_unit_id, "
                "default_user_id, max_depth, async_workers, async_crash_limit, durability, "
                "store, tls_ca_file");
}

TEST_CASE("a CA file that is not there is reported at the key, with the path it looked for") {
  Scratch scratch;
  auto errors = errors_of(scratch, R"(host:
  tls_ca_file: certs/missing.pem
)");
  REQUIRE(errors.size() == 1);
  check_problem(errors[0], scratch, 2, 16,
                "host.tls_ca_file: no file " + (scratch.folder() / "certs/missing.pem").string() +
                    "; give the PEM CA bundle amqps endpoints are verified against, or remove "
                    "the key to use the system store");
}

TEST_CASE("a key written twice in one mapping is an error") {
  Scratch scratch;
  auto errors = errors_of(scratch, R"(host:
  max_depth: 4
  max_depth: 5
)");
  REQUIRE(errors.size() == 1);
  check_problem(errors[0], scratch, 3, 3, "'max_depth' appears twice in host; keep one of them");
}

TEST_CASE("values of the wrong type are all reported, each where it is written") {
  Scratch scratch;
  auto errors = errors_of(scratch, R"(steps:
  - name: tier
    message: [Create]
    stage: pre-operation
    rank: high
    enabled: maybe
    handler: {plugin: Samples.SetAccountTier}
)");
  REQUIRE(errors.size() == 3);
  check_problem(errors[0], scratch, 3, 14, "message: expected a single value, found a list");
  check_problem(errors[1], scratch, 5, 11, "rank: 'high' is not a whole number; write e.g. 1");
  check_problem(errors[2], scratch, 6, 14, "enabled: 'maybe' is not true or false");
}

TEST_CASE("an enumerated value outside its set lists the allowed values") {
  Scratch scratch;
  auto errors = errors_of(scratch, R"(steps:
  - name: tier
    message: Update
    stage: post
    handler: {plugin: Samples.SetAccountTier}
)");
  REQUIRE(errors.size() == 1);
  check_problem(errors[0], scratch, 4, 12,
                "stage: 'post' is not allowed; use one of pre-validation, pre-operation, "
                "post-operation, 10, 20, 40");
}

TEST_CASE("a durability other than normal or full is reported with both") {
  Scratch scratch;
  auto errors = errors_of(scratch, R"(host:
  durability: fsync
)");
  REQUIRE(errors.size() == 1);
  check_problem(errors[0], scratch, 2, 15,
                "host.durability: 'fsync' is not allowed; use one of normal, full");
}

TEST_CASE("a store other than sqlite or a PostgreSQL URL is reported with what to write") {
  Scratch scratch;
  auto errors = errors_of(scratch, R"(host:
  store: mysql
)");
  REQUIRE(errors.size() == 1);
  check_problem(errors[0], scratch, 2, 10,
                "host.store: 'mysql' is not a store; use sqlite, or {postgresql: "
                "${env:STEPLINE_DATABASE_URL}}");
  errors = errors_of(scratch, R"(host:
  store: postgresql
)");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].message ==
        "host.store: postgresql needs the database URL; write store: {postgresql: "
        "${env:STEPLINE_DATABASE_URL}}");
  errors = errors_of(scratch, R"(host:
  store: {postgresql: "mysql://somewhere/db"}
)");
  REQUIRE(errors.size() == 1);
  check_problem(errors[0], scratch, 2, 23,
                "host.store.postgresql: not a PostgreSQL connection string: write "
                "postgresql://USER:PASSWORD@HOST:PORT/DATABASE (or libpq's key=value form)");
  errors = errors_of(scratch, R"(host:
  store: {postgresql: "postgresql://h/db", mongodb: x}
)");
  REQUIRE_FALSE(errors.empty());
  CHECK(errors[0].message.find("unknown key 'mongodb' in host.store") != std::string::npos);
}

TEST_CASE("a missing required field is reported at the item that lacks it") {
  Scratch scratch;
  auto errors = errors_of(scratch, R"(steps:
  - name: tier
    stage: pre-operation
    handler: {plugin: Samples.SetAccountTier}
)");
  REQUIRE(errors.size() == 1);
  check_problem(errors[0], scratch, 2, 5,
                "step 'tier' needs 'message'; add message: Create, Update, Delete or a custom "
                "message name");
}

TEST_CASE("a required field written empty is reported at the empty value") {
  Scratch scratch;
  auto errors = errors_of(scratch, R"(steps:
  - name: ""
    message: Update
    stage: pre-operation
    handler: {plugin: A.B}
)");
  REQUIRE(errors.size() == 1);
  check_problem(errors[0], scratch, 2, 11,
                "name: must not be empty; add name: a unique name for the step (its id is "
                "derived from it)");
}

TEST_CASE("two steps with one name are reported at the second, naming the first") {
  Scratch scratch;
  auto errors = errors_of(scratch, R"(steps:
  - name: tier
    message: Create
    stage: pre-operation
    handler: {plugin: Samples.SetAccountTier}
  - name: tier
    message: Update
    stage: pre-operation
    handler: {plugin: Samples.SetAccountTier}
)");
  REQUIRE(errors.size() == 1);
  auto first = (scratch.folder() / "stepline.yaml").string() + ":2:11";
  check_problem(
      errors[0], scratch, 6, 11,
      "name: there is already a step named 'tier' at " + first + "; give each step its own name");
}

TEST_CASE("two endpoints with one name are reported") {
  Scratch scratch;
  std::string text(endpoint_block);
  text += R"(  - name: account-events
    contract: queue
    path: accounts
    connection: Endpoint=sb://localhost/;SharedAccessKeyName=send;SharedAccessKey=c2VjcmV0
)";
  auto errors = errors_of(scratch, text);
  REQUIRE(errors.size() == 1);
  auto first = (scratch.folder() / "stepline.yaml").string() + ":2:11";
  check_problem(errors[0], scratch, 6, 11,
                "name: there is already an endpoint named 'account-events' at " + first +
                    "; give each endpoint its own name");
}

TEST_CASE("an explicit step id used twice is reported") {
  Scratch scratch;
  auto errors = errors_of(scratch, R"(steps:
  - id: 6f1c0a52-1d2e-4f4b-9a8e-0c1d2e3f4a5b
    name: one
    message: Create
    stage: pre-operation
    handler: {plugin: A.B}
  - id: 6F1C0A52-1D2E-4F4B-9A8E-0C1D2E3F4A5B
    name: two
    message: Create
    stage: pre-operation
    handler: {plugin: A.B}
)");
  REQUIRE(errors.size() == 1);
  auto first = (scratch.folder() / "stepline.yaml").string() + ":2:9";
  check_problem(errors[0], scratch, 7, 9,
                "id: 6f1c0a52-1d2e-4f4b-9a8e-0c1d2e3f4a5b is already the id of the step at " +
                    first + "; give each step its own id");
}

TEST_CASE("an async step at a pre stage is rejected at its mode") {
  Scratch scratch;
  for (std::string stage : {"pre-validation", "pre-operation", "10", "20"}) {
    CAPTURE(stage);
    auto errors = errors_of(scratch, R"(steps:
  - name: later
    message: Update
    stage: )" + stage + R"(
    mode: async
    handler: {plugin: A.B}
)");
    REQUIRE(errors.size() == 1);
    check_problem(errors[0], scratch, 5, 11,
                  "mode: async steps can run only at post-operation; set stage: post-operation "
                  "or mode: sync");
  }
  CHECK(errors_of(scratch, R"(steps:
  - name: later
    message: Update
    stage: 40
    mode: async
    handler: {plugin: A.B}
)")
            .empty());
}

TEST_CASE("a Create step cannot have a pre-image") {
  Scratch scratch;
  for (std::string kind : {"pre", "both"}) {
    CAPTURE(kind);
    auto errors = errors_of(scratch, R"(steps:
  - name: created
    message: Create
    stage: post-operation
    handler: {plugin: A.B}
    images:
      - alias: image
        kind: )" + kind + "\n");
    REQUIRE(errors.size() == 1);
    check_problem(errors[0], scratch, 8, 15,
                  "images[0].kind: a Create step cannot have a pre-image (the record does not "
                  "exist yet); use kind: post at post-operation");
  }
}

TEST_CASE("a Delete step cannot have a post-image") {
  Scratch scratch;
  auto errors = errors_of(scratch, R"(steps:
  - name: deleted
    message: Delete
    stage: post-operation
    handler: {plugin: A.B}
    images:
      - alias: pre
        kind: pre
      - alias: post
        kind: post
)");
  REQUIRE(errors.size() == 1);
  check_problem(errors[0], scratch, 10, 15,
                "images[1].kind: a Delete step cannot have a post-image (the record is gone); "
                "use kind: pre");
}

TEST_CASE("post-images exist only at post-operation") {
  Scratch scratch;
  auto errors = errors_of(scratch, R"(steps:
  - name: updated
    message: Update
    stage: pre-operation
    handler: {plugin: A.B}
    images:
      - alias: image
        kind: both
)");
  REQUIRE(errors.size() == 1);
  check_problem(errors[0], scratch, 8, 15,
                "images[0].kind: post-images exist only at post-operation; use kind: pre or "
                "stage: post-operation");
  CHECK(errors_of(scratch, R"(steps:
  - name: updated
    message: Update
    stage: post-operation
    handler: {plugin: A.B}
    images:
      - {alias: image, kind: both}
)")
            .empty());
}

TEST_CASE("two images of one step cannot share an alias") {
  Scratch scratch;
  auto errors = errors_of(scratch, R"(steps:
  - name: updated
    message: Update
    stage: post-operation
    handler: {plugin: A.B}
    images:
      - {alias: image, kind: pre}
      - {alias: image, kind: post}
)");
  REQUIRE(errors.size() == 1);
  auto first = (scratch.folder() / "stepline.yaml").string() + ":7:9";
  check_problem(errors[0], scratch, 8, 17,
                "images[1].alias: 'image' is already used by the image at " + first +
                    "; give each image its own alias");
}

TEST_CASE("filtering attributes on a message other than Update are an error") {
  Scratch scratch;
  auto errors = errors_of(scratch, R"(steps:
  - name: tier
    message: Create
    stage: pre-operation
    filtering_attributes: revenue, name
    handler: {plugin: A.B}
)");
  REQUIRE(errors.size() == 1);
  check_problem(errors[0], scratch, 5, 27,
                "filtering_attributes: only Update steps can be filtered and this step is on "
                "Create; remove the list or register the step on Update");
}

TEST_CASE("a step whose handler names an undeclared endpoint is reported with a suggestion") {
  Scratch scratch;
  std::string text(endpoint_block);
  text += R"(steps:
  - name: publish
    message: Update
    stage: post-operation
    mode: async
    handler:
      endpoint: acount-events
)";
  auto errors = errors_of(scratch, text);
  REQUIRE(errors.size() == 1);
  check_problem(errors[0], scratch, 12, 17,
                "handler.endpoint: no endpoint named 'acount-events' is declared; did you mean "
                "'account-events'?");
}

TEST_CASE("a handler names exactly one of plugin and endpoint") {
  Scratch scratch;
  std::string text(endpoint_block);
  text += R"(steps:
  - name: both
    message: Update
    stage: post-operation
    handler: {plugin: A.B, endpoint: account-events}
  - name: neither
    message: Update
    stage: post-operation
    handler: {}
)";
  auto errors = errors_of(scratch, text);
  REQUIRE(errors.size() == 2);
  check_problem(errors[0], scratch, 10, 38,
                "handler: name either plugin: or endpoint:, not both; register two steps to do "
                "both");
  check_problem(errors[1], scratch, 14, 14,
                "handler: add plugin: TYPE (a plug-in type) or endpoint: NAME (a declared "
                "endpoint)");
}

TEST_CASE("a message name in the wrong case is reported") {
  Scratch scratch;
  auto errors = errors_of(scratch, R"(steps:
  - name: tier
    message: update
    stage: pre-operation
    handler: {plugin: A.B}
)");
  REQUIRE(errors.size() == 1);
  check_problem(errors[0], scratch, 3, 14,
                "message: names are case-sensitive; write Update instead of update");
}

TEST_CASE("plug-in types the catalog does not know are reported at the handler") {
  Scratch scratch;
  auto path = scratch.write("stepline.yaml", R"(steps:
  - name: validate
    message: Create
    stage: pre-validation
    handler: {plugin: Samples.ValidateAccount}
  - name: tier
    message: Create
    stage: pre-operation
    handler:
      plugin: Samples.SetAcountTier
)");
  Registration r = load(path);
  auto problems = check_plugin_types(r, {"Samples.ValidateAccount"});
  REQUIRE(problems.size() == 1);
  check_problem(problems[0], scratch, 10, 15,
                "handler.plugin: no plug-in library exports the type 'Samples.SetAcountTier'; "
                "correct the type name or list the library that has it under plugins:");
  CHECK(check_plugin_types(r, {"Samples.ValidateAccount", "Samples.SetAcountTier"}).empty());
}

TEST_CASE("an unknown plug-in type gets the exported type it most likely misspells") {
  Scratch scratch;
  auto path = scratch.write("stepline.yaml", R"(steps:
  - name: publish
    message: Update
    entity: contact
    stage: post-operation
    mode: async
    handler:
      plugin: Contoso.PublishContactChanges
)");
  Registration r = load(path);
  auto problems = check_plugin_types(
      r, {"Contoso.PublishAccountChange", "Contoso.PublishContactChange", "Samples.Hello"});
  REQUIRE(problems.size() == 1);
  check_problem(problems[0], scratch, 8, 15,
                "handler.plugin: no plug-in library exports the type "
                "'Contoso.PublishContactChanges'; did you mean 'Contoso.PublishContactChange'?");
}

TEST_CASE("a retry policy whose first delay exceeds its longest is rejected") {
  Scratch scratch;
  std::string text(endpoint_block);
  text += R"(    retry:
      base_delay: 10m
      max_delay: 1m
)";
  auto errors = errors_of(scratch, text);
  REQUIRE(errors.size() == 1);
  check_problem(errors[0], scratch, 7, 19,
                "retry.base_delay (10m) is longer than retry.max_delay (1m); make base_delay the "
                "shorter one");
}

TEST_CASE("an endpoint without a path or EntityPath is told to add one") {
  Scratch scratch;
  auto errors = errors_of(scratch, R"(endpoints:
  - name: hub
    contract: eventhub
    connection: Endpoint=sb://localhost/;SharedAccessKeyName=send;SharedAccessKey=c2VjcmV0
)");
  REQUIRE(errors.size() == 1);
  check_problem(errors[0], scratch, 2, 5,
                "endpoint 'hub' needs 'path'; add path: followed by the event hub name");
  CHECK(errors_of(scratch, R"(endpoints:
  - name: hub
    contract: eventhub
    connection: Endpoint=sb://localhost/;SharedAccessKeyName=send;SharedAccessKey=c2VjcmV0;EntityPath=events
)")
            .empty());
}

TEST_CASE("a path beside EntityPath names the same entity, or one partition of that hub") {
  Scratch scratch;
  auto endpoint = [](std::string_view contract, std::string_view path) {
    return std::string(R"(endpoints:
  - name: events
    contract: )") +
           std::string(contract) + "\n    path: " + std::string(path) + R"(
    connection: Endpoint=sb://localhost/;SharedAccessKeyName=send;SharedAccessKey=c2VjcmV0;EntityPath=events
)";
  };
  CHECK(errors_of(scratch, endpoint("eventhub", "events")).empty());
  CHECK(errors_of(scratch, endpoint("eventhub", "events/Partitions/2")).empty());
  auto errors = errors_of(scratch, endpoint("eventhub", "events/ConsumerGroups/x"));
  REQUIRE(errors.size() == 1);
  check_problem(errors[0], scratch, 4, 11,
                "path: 'events/ConsumerGroups/x' differs from the connection string's "
                "EntityPath; make them the same or drop one (or name a partition of the hub, "
                "EntityPath/Partitions/<id>)");
  errors = errors_of(scratch, endpoint("eventhub", "events/Partitions/"));
  CHECK(errors.size() == 1);
  errors = errors_of(scratch, endpoint("queue", "events/Partitions/2"));
  REQUIRE(errors.size() == 1);
  check_problem(errors[0], scratch, 4, 11,
                "path: 'events/Partitions/2' differs from the connection string's EntityPath; "
                "make them the same or drop one");
}

TEST_CASE("format: names a registered format, binary once the AMQP library is loaded") {
  Scratch scratch;
  REQUIRE(&format::binary::format() == format::find_format("binary"));
  auto endpoint = [](std::string_view format) {
    return std::string(endpoint_block) + "    format: " + std::string(format) + "\n";
  };
  for (std::string_view name : format::format_names()) {
    CAPTURE(name);
    CHECK(errors_of(scratch, endpoint(name)).empty());
  }
  auto errors = errors_of(scratch, endpoint("protobuf"));
  REQUIRE(errors.size() == 1);
  check_problem(errors[0], scratch, 6, 13,
                "format: 'protobuf' is not allowed; use one of binary, cloudevents, "
                "dataverse-json, json, xml");
}

TEST_CASE("YAML syntax errors point at the broken line") {
  Scratch scratch;
  auto errors = errors_of(scratch, "steps:\n  - name: [unclosed\n");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].where.line == 3);
  CHECK(errors[0].message.starts_with("YAML syntax error: "));
}

TEST_CASE("doubtful settings are warnings, which do not stop loading") {
  Scratch scratch;
  auto path = scratch.write("stepline.yaml", R"(steps:
  - name: tier
    message: Update
    stage: pre-operation
    auto_delete: true
    handler: {plugin: A.B}
)");
  Registration r = load(path);
  REQUIRE(r.warnings.size() == 1);
  check_problem(r.warnings[0], scratch, 5, 18,
                "auto_delete: only async steps leave system jobs to delete; remove it or set "
                "mode: async",
                Severity::warning);
}

TEST_CASE("load throws one error carrying every problem") {
  Scratch scratch;
  auto path = scratch.write("stepline.yaml", R"(steps:
  - name: tier
    message: Update
    stage: later
    rank: first
    handler: {plugin: A.B}
)");
  try {
    load(path);
    FAIL("load accepted an invalid registration");
  } catch (const RegistrationError& e) {
    REQUIRE(e.problems().size() == 2);
    CHECK(std::string(e.what()).find(":4:12: error: stage:") != std::string::npos);
    CHECK(std::string(e.what()).find(":5:11: error: rank:") != std::string::npos);
  }
}

TEST_CASE("the invalid sample reports at least three errors") {
  auto result = read(STEPLINE_SOURCE_DIR "/samples/invalid.yaml");
  auto errors = std::count_if(result.problems.begin(), result.problems.end(),
                              [](const Problem& p) { return p.severity == Severity::error; });
  CHECK(errors >= 3);
  auto mentions = [&](std::string_view text) {
    return std::any_of(result.problems.begin(), result.problems.end(),
                       [&](const Problem& p) { return p.message.find(text) != std::string::npos; });
  };
  CHECK(mentions("mode: async steps can run only at post-operation"));
  CHECK(mentions("did you mean 'log_level'?"));
  CHECK(mentions("environment variable STEPLINE_SAMPLE_UNSET_CONNECTION is not set"));
}

}  // namespace stepline::registration
