// Secrets come from the environment or from files, and never appear in a message, in an
// exception, or in any text the registration prints.
#include <doctest/doctest.h>

#include <stepline/registration/describe.hpp>

#include "scratch.hpp"

namespace stepline::registration {
namespace {

using testing::errors_of;
using testing::problems_of;
using testing::ScopedEnv;
using testing::Scratch;

constexpr std::string_view secret = "TOPSECRET-c2VjcmV0LWtleQ==";

std::string endpoint_with(std::string_view connection) {
  return R"(endpoints:
  - name: events
    contract: queue
    path: events
    connection: ")" +
         std::string(connection) + "\"\n";
}

bool mentions_secret(const std::vector<Problem>& problems) {
  for (const auto& p : problems)
    if (p.str().find("TOPSECRET") != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("a connection string is read from an environment variable") {
  Scratch scratch;
  ScopedEnv env("STEPLINE_TEST_CONNECTION",
                "Endpoint=sb://localhost/;SharedAccessKeyName=send;SharedAccessKey=a2V5");
  Registration r =
      load(scratch.write("stepline.yaml", endpoint_with("${env:STEPLINE_TEST_CONNECTION}")));
  CHECK(r.endpoints[0].connection ==
        azure::ConnectionString::parse(
            "Endpoint=sb://localhost/;SharedAccessKeyName=send;SharedAccessKey=a2V5"));
}

TEST_CASE("references may sit inside a longer value, and $${ writes a literal ${") {
  Scratch scratch;
  ScopedEnv env("STEPLINE_TEST_KEY", "a2V5");
  scratch.write("keys/name.txt", "send\r\n");
  auto path = scratch.write(
      "stepline.yaml",
      endpoint_with("Endpoint=sb://localhost/;SharedAccessKeyName=${file:keys/name.txt};"
                    "SharedAccessKey=${env:STEPLINE_TEST_KEY}") +
          R"(steps:
  - name: tier
    message: Update
    stage: pre-operation
    secure_configuration: "price=$${price}; key=${env:STEPLINE_TEST_KEY}"
    handler: {plugin: A.B}
)");
  Registration r = load(path);
  CHECK(r.endpoints[0].connection ==
        azure::ConnectionString::parse(
            "Endpoint=sb://localhost/;SharedAccessKeyName=send;SharedAccessKey=a2V5"));
  CHECK(r.steps[0].secure_configuration == "price=${price}; key=a2V5");
}

TEST_CASE("an undefined environment variable is named at the field that uses it") {
  Scratch scratch;
  unsetenv("STEPLINE_TEST_UNSET");
  auto errors = errors_of(scratch, endpoint_with("${env:STEPLINE_TEST_UNSET}"));
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].where.line == 5);
  CHECK(errors[0].where.column == 17);
  CHECK(errors[0].message ==
        "connection: environment variable STEPLINE_TEST_UNSET is not set; export it before "
        "running stepline");
}

TEST_CASE("a missing secret file is named, relative to the file that names it") {
  Scratch scratch;
  auto errors = errors_of(scratch, R"(steps:
  - name: tier
    message: Update
    stage: pre-operation
    secure_configuration: ${file:secrets/tier.txt}
    handler: {plugin: A.B}
)");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].where.line == 5);
  CHECK(errors[0].where.column == 27);
  CHECK(errors[0].message == "secure_configuration: secret file " +
                                 (scratch.folder() / "secrets/tier.txt").string() +
                                 " cannot be read (No such file or directory); create it or "
                                 "correct the path");
}

TEST_CASE("unknown and unterminated references are errors that echo no value") {
  Scratch scratch;
  auto errors = errors_of(scratch, R"(steps:
  - name: a
    message: Update
    stage: pre-operation
    secure_configuration: ${vault:TOPSECRET}
    handler: {plugin: A.B}
  - name: b
    message: Update
    stage: pre-operation
    secure_configuration: ${TOPSECRET}
    handler: {plugin: A.B}
  - name: c
    message: Update
    stage: pre-operation
    secure_configuration: ${env:TOPSECRET
    handler: {plugin: A.B}
)");
  REQUIRE(errors.size() == 3);
  CHECK(errors[0].message ==
        "secure_configuration: unknown reference kind 'vault'; use ${env:NAME} or ${file:PATH} "
        "(or $${ for a literal ${)");
  CHECK(errors[1].message ==
        "secure_configuration: a ${...} value is not a reference; use ${env:NAME} or "
        "${file:PATH} (or $${ for a literal ${)");
  CHECK(
      errors[2].message.starts_with("secure_configuration: a reference starting with '${' has "
                                    "no closing '}'"));
  CHECK_FALSE(mentions_secret(errors));
}

TEST_CASE("a malformed connection string is reported without echoing its key") {
  Scratch scratch;
  std::string s(secret);
  struct Case {
    std::string connection;
    std::string message;
  };
  std::vector<Case> cases = {
      {"Endpoint=sb://localhost/;SharedAccessKeyName=send;SharedAccessKey=" + s + ";oops",
       "connection: the connection string is malformed: every part must be Key=Value, parts "
       "separated by ';' (Endpoint=sb://NAMESPACE.servicebus.windows.net/;"
       "SharedAccessKeyName=...;SharedAccessKey=...)"},
      {"SharedAccessKeyName=send;SharedAccessKey=" + s,
       "connection: the connection string has no Endpoint; add "
       "Endpoint=sb://NAMESPACE.servicebus.windows.net/"},
      {"Endpoint=sb://localhost/;SharedAccessKeyName=send;sharedaccesskey=" + s,
       "connection: the connection string has an unknown key 'sharedaccesskey'; keys are "
       "case-sensitive: write SharedAccessKey"},
      {"Endpoint=sb://localhost/;SharedAccessKey=" + s,
       "connection: the connection string has SharedAccessKey without SharedAccessKeyName; add "
       "the key's name"},
      {"Endpoint=sb://localhost/;SharedAccessKeyName=send;SharedAccessKey=" + s +
           ";SharedAccessSignature=SharedAccessSignature sr=x&sig=" + s,
       "connection: the connection string has both SharedAccessSignature and SharedAccessKey/"
       "SharedAccessKeyName; keep one way of authenticating"},
      {"Endpoint=sb://localhost:99999/;SharedAccessKeyName=send;SharedAccessKey=" + s,
       "connection: the connection string's Endpoint has a bad port; use a number 0-65535"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.message);
    auto errors = errors_of(scratch, endpoint_with(c.connection));
    REQUIRE(!errors.empty());
    CHECK(errors[0].message == c.message);
    CHECK(errors[0].where.line == 5);
    CHECK_FALSE(mentions_secret(errors));
  }
}

TEST_CASE("plain authentication needs a key in the connection string") {
  Scratch scratch;
  auto errors = errors_of(scratch, endpoint_with("Endpoint=sb://localhost/;SharedAccessSignature="
                                                 "SharedAccessSignature sr=a&sig=TOPSECRET") +
                                       "    auth: plain\n");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].where.line == 6);
  CHECK(errors[0].message ==
        "auth: plain sends SharedAccessKeyName and SharedAccessKey, which the connection string "
        "does not have; add them or use auth: cbs");
}

TEST_CASE("secrets appear in no exception, no YAML, no JSON and no diff") {
  Scratch scratch;
  std::string s(secret);
  ScopedEnv env("STEPLINE_TEST_SECRET", s.c_str());
  auto text =
      endpoint_with("Endpoint=sb://localhost/;SharedAccessKeyName=send;SharedAccessKey=" + s) +
      R"(steps:
  - name: tier
    message: Update
    stage: pre-operation
    secure_configuration: ${env:STEPLINE_TEST_SECRET}
    handler: {plugin: A.B}
)";
  Registration before = load(scratch.write("before.yaml", text));
  REQUIRE(before.steps[0].secure_configuration == s);
  for (const auto& output : {to_yaml(before), to_json(before)}) {
    CHECK(output.find("TOPSECRET") == std::string::npos);
    CHECK(output.find("SharedAccessKey=***") != std::string::npos);
    CHECK(output.find("secure_configuration") != std::string::npos);
  }

  ScopedEnv other("STEPLINE_TEST_SECRET", "TOPSECRET-rotated");
  std::string rotated = text;
  rotated.replace(rotated.find(s), s.size(), "TOPSECRET-rotated-key");
  Registration after = load(scratch.write("after.yaml", rotated));
  auto differences = diff(before, after);
  REQUIRE(differences.size() == 2);
  CHECK(differences[0].changes ==
        std::vector<std::string>{"connection: changed (secret value not shown)"});
  CHECK(differences[1].changes ==
        std::vector<std::string>{"secure_configuration: changed (secret value not shown)"});

  // An invalid file's exception text holds only messages, never the resolved values.
  std::string broken = rotated + "    rank: first\n";
  try {
    load(scratch.write("broken.yaml", broken));
    FAIL("an invalid registration loaded");
  } catch (const RegistrationError& e) {
    CHECK(std::string(e.what()).find("TOPSECRET") == std::string::npos);
  }
}

TEST_CASE("the PostgreSQL store's URL comes from the environment, and is never shown") {
  Scratch scratch;
  const std::string url =
      "postgresql://stepline:" + std::string(secret) + "@db.internal:5432/stepline";
  ScopedEnv env("STEPLINE_TEST_DATABASE_URL", url.c_str());
  Registration r = load(scratch.write("stepline.yaml", R"(host:
  store:
    postgresql: ${env:STEPLINE_TEST_DATABASE_URL}
)"));
  CHECK(r.host.store.kind == StoreKind::postgresql);
  CHECK(r.host.store.url.find(secret) != std::string::npos);
  CHECK(r.host.store.where.line == 3);
  auto shown = to_yaml(r);
  CHECK(shown.find("TOPSECRET") == std::string::npos);
  CHECK(shown.find("postgresql: '***'") != std::string::npos);

  unsetenv("STEPLINE_TEST_UNSET");
  auto errors = errors_of(scratch, R"(host:
  store: {postgresql: "${env:STEPLINE_TEST_UNSET}"}
)");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].message ==
        "host.store.postgresql: environment variable STEPLINE_TEST_UNSET is not set; export it "
        "before running stepline");
}

TEST_CASE("a database password written into the registration is warned about, not shown") {
  Scratch scratch;
  auto problems =
      problems_of(scratch, "host:\n  store: {postgresql: \"postgresql://u:" + std::string(secret) +
                               "@h/db\"}\n");
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].severity == Severity::warning);
  CHECK(problems[0].message.find("password is written in the registration file") !=
        std::string::npos);
  CHECK_FALSE(mentions_secret(problems));
  auto sqlite = load(scratch.write("plain.yaml", "host:\n  store: sqlite\n"));
  CHECK(sqlite.host.store.kind == StoreKind::sqlite);
}

}  // namespace stepline::registration
