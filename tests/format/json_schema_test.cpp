// The published JSON Schema (docs/schema/execution-context.schema.json) and the json writer
// must agree: every context the writer produces validates, and the schema catches what it must.
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <sstream>

#include <rapidjson/document.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <stepline/format/json.hpp>

#include "sample_contexts.hpp"

using namespace stepline;

namespace {

// RapidJSON 1.1 resolves a "$ref" only to a schema it has already built, so references forward
// in the document and cycles (a value holds an entity whose attributes hold values) would accept
// anything. The checker therefore inlines every "#/$defs/…" reference before compiling, expanding
// each definition at most `max_nesting` times along one path; deeper levels fall back to the
// root reference "#" (which RapidJSON does resolve) or to an open schema.
constexpr int max_nesting = 5;

rapidjson::Value inline_refs(const rapidjson::Value& node, const rapidjson::Value& defs,
                             std::map<std::string, int>& open,
                             rapidjson::Document::AllocatorType& a) {
  if (node.IsArray()) {
    rapidjson::Value out(rapidjson::kArrayType);
    for (const auto& item : node.GetArray()) out.PushBack(inline_refs(item, defs, open, a), a);
    return out;
  }
  if (!node.IsObject()) return rapidjson::Value(node, a);
  if (auto ref = node.FindMember("$ref"); ref != node.MemberEnd()) {
    std::string target = ref->value.GetString();
    if (target.rfind("#/$defs/", 0) == 0) {
      std::string name = target.substr(8);
      if (open[name] >= max_nesting) return rapidjson::Value(rapidjson::kObjectType);
      ++open[name];
      rapidjson::Value out = inline_refs(defs[name.c_str()], defs, open, a);
      --open[name];
      return out;
    }
  }
  rapidjson::Value out(rapidjson::kObjectType);
  for (auto m = node.MemberBegin(); m != node.MemberEnd(); ++m) {
    if (std::string_view(m->name.GetString()) == "$defs") continue;
    out.AddMember(rapidjson::Value(m->name, a), inline_refs(m->value, defs, open, a), a);
  }
  return out;
}

/// The schema, compiled once.
const rapidjson::SchemaDocument& context_schema() {
  static const rapidjson::SchemaDocument schema = [] {
    std::ifstream in(STEPLINE_SOURCE_DIR "/docs/schema/execution-context.schema.json");
    REQUIRE(in);
    std::stringstream text;
    text << in.rdbuf();
    rapidjson::Document d;
    d.Parse(text.str().c_str());
    REQUIRE_FALSE(d.HasParseError());
    REQUIRE(d.HasMember("$defs"));
    std::map<std::string, int> open;
    rapidjson::Document inlined;
    static_cast<rapidjson::Value&>(inlined) =
        inline_refs(d, d["$defs"], open, inlined.GetAllocator());
    return rapidjson::SchemaDocument(inlined);
  }();
  return schema;
}

/// Empty when `json` validates; else where it fails, which keyword, and the offending part.
std::string schema_violation(const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.c_str());
  if (d.HasParseError()) return "not JSON";
  rapidjson::SchemaValidator validator(context_schema());
  if (d.Accept(validator)) return {};
  rapidjson::StringBuffer where, schema_where;
  validator.GetInvalidDocumentPointer().StringifyUriFragment(where);
  validator.GetInvalidSchemaPointer().StringifyUriFragment(schema_where);
  return std::string(where.GetString()) + " fails " + validator.GetInvalidSchemaKeyword() + " at " +
         schema_where.GetString();
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
  auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("json schema: a full serialized context validates, parent context included") {
  CHECK(schema_violation(format::json::write_context(samples::full_context())) == "");
}

TEST_CASE(
    "json schema: a minimal context (no parent, no request id, empty collections) validates") {
  ExecutionContext c;
  c.message_name = "Create";
  c.primary_entity_name = "contact";
  CHECK(schema_violation(format::json::write_context(c)) == "");
}

TEST_CASE("json schema: every value kind the writer produces is a schema value") {
  ExecutionContext c;
  c.message_name = "Create";
  c.primary_entity_name = "contact";
  c.shared_variables = samples::every_value_kind();
  c.shared_variables.emplace("nan", Value(std::numeric_limits<double>::quiet_NaN()));
  CHECK(schema_violation(format::json::write_context(c)) == "");
}

TEST_CASE("json schema: a missing key, a wrong type or a bad value is caught") {
  std::string good = format::json::write_context(samples::full_context());
  CHECK(schema_violation(replace(good, R"("messageName":"Update",)", "")) != "");
  CHECK(schema_violation(replace(good, R"("stage":40)", R"("stage":"40")")) != "");
  CHECK(schema_violation(replace(good, R"("stage":40)", R"("stage":25)")) != "");
  CHECK(schema_violation(replace(good, R"("isolationMode":2)", R"("isolationMode":2,"extra":1)")) !=
        "");
  CHECK(schema_violation(replace(good, R"({"@type":"money","value":"250000.0000"})",
                                 R"({"@type":"money","value":250000})")) != "");
  CHECK(schema_violation(replace(good, R"("operationCreatedOn":"2024-08-02T07:00:40.000Z")",
                                 R"("operationCreatedOn":"yesterday")")) != "");
  // Inside the parent context too: the schema recurses.
  std::string in_parent = replace(good, R"("stage":30)", R"("stage":31)");
  CHECK(schema_violation(in_parent).starts_with("#/parentContext"));
  // Deep inside a value: an entity's attribute holding an entity holding a reference.
  CHECK(schema_violation(replace(
            good, R"("parentcustomerid":{"@type":"entityreference","logicalName":"account",)",
            R"("parentcustomerid":{"@type":"entityreference","logicalName":7,)")) != "");
}
