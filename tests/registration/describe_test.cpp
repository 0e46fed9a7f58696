// The printed forms of a registration: YAML that loads back to the same registration, JSON with
// the same content, and a diff that says what a deploy would change.
#include <doctest/doctest.h>

#include <rapidjson/document.h>

#include <stepline/registration/describe.hpp>

#include "scratch.hpp"

namespace stepline::registration {
namespace {

using testing::Scratch;

constexpr std::string_view base = R"(host:
  organization: {name: contoso}
plugins:
  - file: account_rules.so
endpoints:
  - name: account-events
    contract: topic
    path: account-events
    connection: Endpoint=sb://localhost/;SharedAccessKeyName=send;SharedAccessKey=a2V5
  - name: audit
    contract: queue
    path: audit
    connection: Endpoint=sb://localhost/;SharedAccessKeyName=send;SharedAccessKey=a2V5
steps:
  - name: tier
    message: Update
    entity: account
    stage: pre-operation
    filtering_attributes: revenue
    handler: {plugin: Samples.SetAccountTier}
  - name: publish
    message: Update
    entity: account
    stage: post-operation
    mode: async
    handler: {endpoint: account-events}
    images:
      - {alias: pre, kind: pre, columns: [name, revenue]}
)";

}  // namespace

TEST_CASE("the YAML form loads back to the same registration") {
  Scratch scratch;
  Registration original = load(scratch.write("stepline.yaml", base));
  std::string yaml = to_yaml(original);
  Registration again = load(scratch.write("shown.yaml", yaml));
  CHECK(to_yaml(again) == yaml);
  // Only the connection strings differ: their keys were masked on the way out.
  auto differences = diff(original, again);
  REQUIRE(differences.size() == 2);
  for (const auto& d : differences)
    CHECK(d.changes == std::vector<std::string>{"connection: changed (secret value not shown)"});
  CHECK(again.steps[1].id == original.steps[1].id);
  CHECK(yaml.find("stage: post-operation") != std::string::npos);
  CHECK(yaml.find("columns: [name, revenue]") != std::string::npos);
}

TEST_CASE("the JSON form carries the same content with typed values") {
  Scratch scratch;
  Registration r = load(scratch.write("stepline.yaml", base));
  rapidjson::Document json;
  json.Parse(to_json(r).c_str());
  REQUIRE_FALSE(json.HasParseError());
  CHECK(std::string(json["host"]["organization"]["name"].GetString()) == "contoso");
  CHECK(json["host"]["max_depth"].GetInt() == 8);
  REQUIRE(json["steps"].Size() == 2);
  const auto& publish = json["steps"][1];
  CHECK(std::string(publish["id"].GetString()) == r.steps[1].id.str());
  CHECK(std::string(publish["mode"].GetString()) == "async");
  CHECK(publish["rank"].GetInt() == 1);
  CHECK(publish["enabled"].GetBool());
  CHECK(std::string(publish["images"][0]["columns"][1].GetString()) == "revenue");
  CHECK(json["endpoints"][0]["retry"]["jitter"].GetDouble() == doctest::Approx(0.2));
  CHECK(std::string(json["endpoints"][0]["connection"].GetString()) ==
        "Endpoint=sb://localhost/;SharedAccessKeyName=send;SharedAccessKey=***");
}

TEST_CASE("diff lists steps and endpoints added, removed and changed") {
  Scratch scratch;
  Registration before = load(scratch.write("before.yaml", base));
  std::string changed(base);
  changed.replace(changed.find("  - name: audit"),
                  changed.find("steps:") - changed.find("  - name: audit"), "");
  changed.replace(changed.find("filtering_attributes: revenue"), 29,
                  "filtering_attributes: revenue, name");
  changed.replace(changed.find("columns: [name, revenue]"), 24, "columns: [name]");
  changed += R"(  - name: validate
    message: Create
    entity: account
    stage: pre-validation
    handler: {plugin: Samples.ValidateAccount}
)";
  Registration after = load(scratch.write("after.yaml", changed));

  auto differences = diff(before, after);
  REQUIRE(differences.size() == 4);
  CHECK(differences[0].kind == Difference::Kind::removed);
  CHECK(differences[0].item == "endpoint 'audit'");
  CHECK(differences[1].kind == Difference::Kind::changed);
  CHECK(differences[1].item == "step 'tier'");
  CHECK(differences[1].changes ==
        std::vector<std::string>{"filtering_attributes: [revenue] -> [revenue, name]"});
  CHECK(differences[2].item == "step 'publish'");
  CHECK(differences[2].changes ==
        std::vector<std::string>{"images[0].columns: [name, revenue] -> [name]"});
  CHECK(differences[3].kind == Difference::Kind::added);
  CHECK(differences[3].item == "step 'validate'");
  CHECK(diff(after, after).empty());
}

}  // namespace stepline::registration
