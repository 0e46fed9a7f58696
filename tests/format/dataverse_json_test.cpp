#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include <rapidjson/document.h>

#include <stepline/format/dataverse_json.hpp>

#include "sample_contexts.hpp"
#include "text_checks.hpp"

using namespace stepline;
namespace dvj = stepline::format::dataverse_json;
using stepline::format::FormatError;
using stepline::test::contains;

namespace {

/// What a value becomes after a trip through dataverse-json, where plain JSON cannot tell some
/// kinds apart (docs/FORMATS.md): guids are strings, untyped decimals are numbers.
Value as_read_back(const Value& v);

ParameterCollection as_read_back(const ParameterCollection& p) {
  ParameterCollection out;
  for (const auto& [k, v] : p) out.emplace(k, as_read_back(v));
  return out;
}

Entity as_read_back(Entity e) {
  e.attributes = as_read_back(e.attributes);
  return e;
}

Value as_read_back(const Value& v) {
  switch (v.kind()) {
    case ValueKind::guid:
      return Value(v.as<Guid>().str());
    case ValueKind::decimal: {
      const std::string& text = v.as<Decimal>().str();
      if (text.find('.') == std::string::npos)
        return Value(static_cast<std::int32_t>(std::stol(text)));
      return Value(v.as<Decimal>().to_double());
    }
    case ValueKind::big_integer: {
      auto i = v.as<std::int64_t>();
      if (i >= INT32_MIN && i <= INT32_MAX) return Value(static_cast<std::int32_t>(i));
      return v;
    }
    case ValueKind::entity:
      return Value(as_read_back(v.as<Entity>()));
    case ValueKind::entity_collection: {
      EntityCollection c = v.as<EntityCollection>();
      for (auto& e : c.entities) e = as_read_back(e);
      return Value(c);
    }
    default:
      return v;
  }
}

ExecutionContext as_read_back(ExecutionContext c) {
  c.input_parameters = as_read_back(c.input_parameters);
  c.output_parameters = as_read_back(c.output_parameters);
  c.shared_variables = as_read_back(c.shared_variables);
  for (auto& [alias, e] : c.pre_entity_images) e = as_read_back(e);
  for (auto& [alias, e] : c.post_entity_images) e = as_read_back(e);
  if (c.parent_context)
    c.parent_context = std::make_shared<const ExecutionContext>(as_read_back(*c.parent_context));
  return c;
}

/// Every object's members after "__type" are in ordinal order; returns the first object that is
/// not.
std::string first_unordered_object(const rapidjson::Value& node, const std::string& path) {
  if (node.IsArray()) {
    for (rapidjson::SizeType i = 0; i < node.Size(); ++i)
      if (auto bad = first_unordered_object(node[i], path + "[" + std::to_string(i) + "]");
          !bad.empty())
        return bad;
  } else if (node.IsObject()) {
    std::string previous;
    bool first = true;
    for (auto m = node.MemberBegin(); m != node.MemberEnd(); ++m) {
      std::string name = m->name.GetString();
      if (name == "__type") {
        if (!first) return path + " (__type not first)";
      } else {
        if (!previous.empty() && !(previous < name))
          return path + " (" + previous + " before " + name + ")";
        previous = name;
      }
      first = false;
      if (auto bad = first_unordered_object(m->value, path + "." + name); !bad.empty()) return bad;
    }
  }
  return {};
}

}  // namespace

TEST_CASE("dataverse-json: values JSON can tell apart read back as the same value") {
  // References, not a structured binding: CAPTURE's lambda captures the name.
  for (const auto& entry : samples::every_value_kind()) {
    const std::string& name = entry.first;
    const Value& value = entry.second;
    CAPTURE(name);
    std::string text = dvj::write_value(value);
    CAPTURE(text);
    CHECK(dvj::read_value(text) == as_read_back(value));
  }
  // The kinds plain JSON cannot tell apart read back as documented.
  CHECK(dvj::read_value(
            dvj::write_value(Value(samples::guid("55555555-0000-0000-0000-0000000000ac")))) ==
        Value("55555555-0000-0000-0000-0000000000ac"));
  CHECK(dvj::read_value(dvj::write_value(Value(Decimal("12.50")))).as<double>() == 12.5);
  CHECK(dvj::read_value(dvj::write_value(Value(std::int64_t{7}))).kind() == ValueKind::integer);
  CHECK(dvj::read_value(dvj::write_value(Value(2.0))).kind() == ValueKind::floating);
}

TEST_CASE("dataverse-json: typed values carry the exact DataContract __type hints") {
  using samples::guid;
  CHECK(
      dvj::write_value(Value(Money{Decimal("250000.0000")})) ==
      R"({"__type":"Money:http:\/\/schemas.microsoft.com\/xrm\/2011\/Contracts","Value":250000.0000})");
  CHECK(
      dvj::write_value(Value(OptionSetValue{7})) ==
      R"({"__type":"OptionSetValue:http:\/\/schemas.microsoft.com\/xrm\/2011\/Contracts","Value":7})");
  CHECK(
      dvj::write_value(
          Value(EntityReference{"systemuser", guid("44444444-0000-0000-0000-000000000001"), ""})) ==
      R"({"__type":"EntityReference:http:\/\/schemas.microsoft.com\/xrm\/2011\/Contracts",)"
      R"("Id":"44444444-0000-0000-0000-000000000001","KeyAttributes":[],"LogicalName":"systemuser","Name":null,"RowVersion":null})");
  Entity e("account", guid("55555555-0000-0000-0000-0000000000ac"));
  e.set("name", "A/B");
  CHECK(
      dvj::write_value(Value(e)) ==
      R"({"__type":"Entity:http:\/\/schemas.microsoft.com\/xrm\/2011\/Contracts","Attributes":[{"key":"name","value":"A\/B"}],)"
      R"("EntityState":null,"FormattedValues":[],"Id":"55555555-0000-0000-0000-0000000000ac","KeyAttributes":[],)"
      R"("LogicalName":"account","RelatedEntities":[],"RowVersion":null})");
  CHECK(
      dvj::write_value(Value(OptionSetValueCollection{{1, 2}})) ==
      R"([{"__type":"OptionSetValue:http:\/\/schemas.microsoft.com\/xrm\/2011\/Contracts","Value":1},)"
      R"({"__type":"OptionSetValue:http:\/\/schemas.microsoft.com\/xrm\/2011\/Contracts","Value":2}])");
  CHECK(
      dvj::write_value(Value(EntityCollection{}))
          .starts_with(
              R"({"__type":"EntityCollection:http:\/\/schemas.microsoft.com\/xrm\/2011\/Contracts","Entities":[],)"));
  CHECK(dvj::write_value(Value(samples::at_ms(1722582039000))) == R"("\/Date(1722582039000)\/")");
  CHECK(dvj::write_value(Value(samples::at_ms(-4861728000000))) == R"("\/Date(-4861728000000)\/")");
  CHECK(dvj::write_value(Value(Decimal("-12.50"))) == "-12.50");
  CHECK(dvj::write_value(Value(0.1)) == "0.1");
  CHECK(dvj::write_value(Value("line\nbreak \"quoted\" \\")) == R"("line\nbreak \"quoted\" \\")");
}

TEST_CASE(
    "dataverse-json: a context is written with ordinal member order, images untyped, dates with "
    "offset") {
  std::string text = dvj::write_context(samples::full_context());
  rapidjson::Document d;
  d.Parse(text.c_str());
  REQUIRE_FALSE(d.HasParseError());
  CHECK(first_unordered_object(d, "") == "");
  std::vector<std::string> keys;
  for (auto m = d.MemberBegin(); m != d.MemberEnd(); ++m) keys.emplace_back(m->name.GetString());
  CHECK(keys == std::vector<std::string>{"BusinessUnitId",
                                         "CorrelationId",
                                         "Depth",
                                         "InitiatingUserAgent",
                                         "InitiatingUserAzureActiveDirectoryObjectId",
                                         "InitiatingUserId",
                                         "InputParameters",
                                         "IsExecutingOffline",
                                         "IsInTransaction",
                                         "IsOfflinePlayback",
                                         "IsolationMode",
                                         "MessageName",
                                         "Mode",
                                         "OperationCreatedOn",
                                         "OperationId",
                                         "OrganizationId",
                                         "OrganizationName",
                                         "OutputParameters",
                                         "OwningExtension",
                                         "ParentContext",
                                         "PostEntityImages",
                                         "PreEntityImages",
                                         "PrimaryEntityId",
                                         "PrimaryEntityName",
                                         "RequestId",
                                         "SecondaryEntityName",
                                         "SharedVariables",
                                         "Stage",
                                         "UserAzureActiveDirectoryObjectId",
                                         "UserId"});
  CHECK(contains(text, R"("OperationCreatedOn":"\/Date(1722582040000+0000)\/")"));
  CHECK(contains(text, R"("PreEntityImages":[{"key":"pre","value":{"Attributes":[)"));
  CHECK(contains(
      text,
      R"("OwningExtension":{"Id":"88888888-0000-0000-0000-0000000000e1","KeyAttributes":[],)"
      R"("LogicalName":"sdkmessageprocessingstep","Name":"Contoso.Sync: Update of account","RowVersion":null})"));
  CHECK(contains(text, R"x("InitiatingUserAgent":"Mozilla\/5.0 (X11; Linux x86_64)")x"));
  CHECK(contains(text, R"("IsolationMode":2,"MessageName":"Update","Mode":1,)"));
  CHECK(contains(
      text, R"("RequestId":"99999999-0000-0000-0000-0000000000d2","SecondaryEntityName":"none",)"));
  CHECK(contains(
      text,
      R"("SharedVariables":[{"key":"AcceptLang","value":""},{"key":"IsAutoTransact","value":true},)"));
  CHECK(contains(text, R"("Stage":40,)"));
  CHECK(d["ParentContext"]["Stage"].GetInt() == 30);
  CHECK(d["ParentContext"]["ParentContext"].IsNull());
  CHECK(d["ParentContext"]["RequestId"].IsNull());
}

TEST_CASE(
    "dataverse-json: a full context reads back equal, up to the kinds JSON cannot tell apart") {
  ExecutionContext c = samples::full_context();
  ExecutionContext back = dvj::read_context(dvj::write_context(c));
  CHECK(back == as_read_back(c));
  REQUIRE(back.parent_context);
  CHECK(*back.parent_context == as_read_back(*c.parent_context));
  CHECK(back.target()->get("money") == Value(Money{Decimal("250000.0000")}));
  // A context holding only kinds JSON can tell apart reads back exactly.
  ExecutionContext exact = as_read_back(c);
  CHECK(dvj::read_context(dvj::write_context(exact)) == exact);
}

// A realistic Dataverse post (queue, async post-operation Update of account); its abbreviated
// ParentContext is spelled out.
constexpr const char* section_6_3_example = R"json({
 "BusinessUnitId":"11111111-0000-0000-0000-00000000000b",
 "CorrelationId":"22222222-0000-0000-0000-00000000000c",
 "Depth":1,
 "InitiatingUserAgent":"Mozilla\/5.0 (Windows NT 10.0; Win64; x64) ...",
 "InitiatingUserAzureActiveDirectoryObjectId":"33333333-0000-0000-0000-0000000000aa",
 "InitiatingUserId":"44444444-0000-0000-0000-000000000001",
 "InputParameters":[
  {"key":"Target","value":{
    "__type":"Entity:http:\/\/schemas.microsoft.com\/xrm\/2011\/Contracts",
    "Attributes":[
      {"key":"revenue","value":{"__type":"Money:http:\/\/schemas.microsoft.com\/xrm\/2011\/Contracts","Value":250000.0000}},
      {"key":"industrycode","value":{"__type":"OptionSetValue:http:\/\/schemas.microsoft.com\/xrm\/2011\/Contracts","Value":7}},
      {"key":"accountid","value":"55555555-0000-0000-0000-0000000000ac"},
      {"key":"modifiedon","value":"\/Date(1722582039000)\/"},
      {"key":"modifiedby","value":{"__type":"EntityReference:http:\/\/schemas.microsoft.com\/xrm\/2011\/Contracts",
        "Id":"44444444-0000-0000-0000-000000000001","KeyAttributes":[],"LogicalName":"systemuser","Name":null,"RowVersion":null}},
      {"key":"modifiedonbehalfby","value":null}],
    "EntityState":null,"FormattedValues":[],"Id":"55555555-0000-0000-0000-0000000000ac","KeyAttributes":[],
    "LogicalName":"account","RelatedEntities":[],"RowVersion":"9120001"}}],
 "IsExecutingOffline":false,"IsInTransaction":false,"IsOfflinePlayback":false,"IsolationMode":1,
 "MessageName":"Update","Mode":1,
 "OperationCreatedOn":"\/Date(1722582040000+0000)\/",
 "OperationId":"66666666-0000-0000-0000-0000000000a0",
 "OrganizationId":"77777777-0000-0000-0000-0000000000f0","OrganizationName":"unq77777777000000000000000000f0",
 "OutputParameters":[],
 "OwningExtension":{"Id":"88888888-0000-0000-0000-0000000000e1","KeyAttributes":[],"LogicalName":"sdkmessageprocessingstep",
   "Name":"Contoso.Sync: Update of account","RowVersion":null},
 "ParentContext":{"BusinessUnitId":"11111111-0000-0000-0000-00000000000b",
   "CorrelationId":"22222222-0000-0000-0000-00000000000c","Depth":1,
   "InputParameters":[{"key":"Target","value":{"__type":"Entity:http:\/\/schemas.microsoft.com\/xrm\/2011\/Contracts",
      "Attributes":[{"key":"revenue","value":{"__type":"Money:http:\/\/schemas.microsoft.com\/xrm\/2011\/Contracts","Value":250000.0000}}],
      "EntityState":null,"FormattedValues":[],"Id":"55555555-0000-0000-0000-0000000000ac","KeyAttributes":[],
      "LogicalName":"account","RelatedEntities":[],"RowVersion":null}},
     {"key":"SuppressDuplicateDetection","value":false}],
   "IsExecutingOffline":false,"IsInTransaction":true,"IsOfflinePlayback":false,"IsolationMode":1,
   "MessageName":"Update","Mode":1,"OperationCreatedOn":"\/Date(1722582039000-0700)\/",
   "OperationId":"66666666-0000-0000-0000-0000000000a0","OutputParameters":[],"ParentContext":null,
   "PostEntityImages":[],"PreEntityImages":[],"PrimaryEntityId":"55555555-0000-0000-0000-0000000000ac",
   "PrimaryEntityName":"account","RequestId":null,"SecondaryEntityName":"none","SharedVariables":[],"Stage":30,
   "UserId":"44444444-0000-0000-0000-000000000001"},
 "PostEntityImages":[{"key":"AsynchronousStepPrimaryName","value":{
    "Attributes":[{"key":"name","value":"Contoso Ltd"},{"key":"accountid","value":"55555555-0000-0000-0000-0000000000ac"}],
    "EntityState":null,"FormattedValues":[],"Id":"55555555-0000-0000-0000-0000000000ac","KeyAttributes":[],
    "LogicalName":"account","RelatedEntities":[],"RowVersion":null}}],
 "PreEntityImages":[{"key":"pre","value":{
    "Attributes":[{"key":"name","value":"Contoso Ltd"},
                  {"key":"revenue","value":{"__type":"Money:http:\/\/schemas.microsoft.com\/xrm\/2011\/Contracts","Value":180000.0000}},
                  {"key":"accountid","value":"55555555-0000-0000-0000-0000000000ac"}],
    "EntityState":null,"FormattedValues":[{"key":"revenue","value":"$180,000.00"}],"Id":"55555555-0000-0000-0000-0000000000ac",
    "KeyAttributes":[],"LogicalName":"account","RelatedEntities":[],"RowVersion":null}}],
 "PrimaryEntityId":"55555555-0000-0000-0000-0000000000ac","PrimaryEntityName":"account",
 "RequestId":"99999999-0000-0000-0000-0000000000d2","SecondaryEntityName":"none",
 "SharedVariables":[{"key":"IsAutoTransact","value":true},{"key":"AcceptLang","value":""}],
 "Stage":40,
 "UserAzureActiveDirectoryObjectId":"33333333-0000-0000-0000-0000000000aa",
 "UserId":"44444444-0000-0000-0000-000000000001"
})json";

TEST_CASE("dataverse-json: the posted Dataverse example reads into the context it describes") {
  using samples::guid;
  ExecutionContext c = dvj::read_context(section_6_3_example);
  CHECK(c.message_name == "Update");
  CHECK(c.primary_entity_name == "account");
  CHECK(c.primary_entity_id == guid("55555555-0000-0000-0000-0000000000ac"));
  CHECK(c.stage == Stage::post_operation);
  CHECK(c.mode == Mode::asynchronous);
  CHECK(c.isolation_mode == IsolationMode::none);
  CHECK(c.initiating_user_agent == "Mozilla/5.0 (Windows NT 10.0; Win64; x64) ...");
  CHECK(c.operation_created_on == samples::at_ms(1722582040000));
  CHECK(c.request_id == guid("99999999-0000-0000-0000-0000000000d2"));
  CHECK(c.owning_extension == EntityReference{"sdkmessageprocessingstep",
                                              guid("88888888-0000-0000-0000-0000000000e1"),
                                              "Contoso.Sync: Update of account"});
  const Entity* target = c.target();
  REQUIRE(target);
  CHECK(target->row_version == "9120001");
  CHECK(target->get("revenue") == Value(Money{Decimal("250000.0000")}));
  CHECK(target->get("industrycode") == Value(OptionSetValue{7}));
  CHECK(target->get("accountid") == Value("55555555-0000-0000-0000-0000000000ac"));
  CHECK(target->get("modifiedon") == Value(samples::at_ms(1722582039000)));
  CHECK(target->get("modifiedby") ==
        Value(EntityReference{"systemuser", guid("44444444-0000-0000-0000-000000000001"), ""}));
  CHECK(target->contains("modifiedonbehalfby"));
  CHECK(target->get("modifiedonbehalfby").is_null());
  const Entity& pre = c.pre_entity_images.at("pre");
  CHECK(pre.get("revenue") == Value(Money{Decimal("180000.0000")}));
  CHECK(pre.formatted_values.at("revenue") == "$180,000.00");
  CHECK(c.post_entity_images.at("AsynchronousStepPrimaryName").get("name") == Value("Contoso Ltd"));
  CHECK(c.shared_variables.at("IsAutoTransact") == Value(true));
  CHECK(c.shared_variables.at("AcceptLang") == Value(""));
  REQUIRE(c.parent_context);
  CHECK(c.parent_context->stage == Stage::main_operation);
  CHECK(c.parent_context->is_in_transaction);
  CHECK(c.parent_context->operation_created_on == samples::at_ms(1722582039000));
  CHECK(c.parent_context->input_parameters.at("SuppressDuplicateDetection") == Value(false));
  CHECK(c.parent_context->request_id == std::nullopt);
  // Writing it again and reading that gives the same context.
  CHECK(dvj::read_context(dvj::write_context(c)) == c);
}

TEST_CASE(
    "dataverse-json: values outside the value model keep their JSON text, aliased values unwrap") {
  auto c = dvj::read_context(
      R"({"SharedVariables":[)"
      R"({"key":"ChangedEntityTypes","value":[{"__type":"KeyValuePairOfstringstring:#System.Collections.Generic",)"
      R"("key":"account","value":"Update"}]},)"
      R"({"key":"columns","value":{"__type":"ColumnSet:http:\/\/schemas.microsoft.com\/xrm\/2011\/Contracts",)"
      R"("AllColumns":false,"Columns":["name"],"Limit":-1.50}},)"
      R"({"key":"alias","value":{"__type":"AliasedValue:http:\/\/schemas.microsoft.com\/xrm\/2011\/Contracts",)"
      R"("AttributeLogicalName":"revenue","EntityLogicalName":"account","NeedFormatting":false,"ReturnType":null,)"
      R"("Value":{"__type":"Money:http:\/\/schemas.microsoft.com\/xrm\/2011\/Contracts","Value":12.50}}}]})");
  CHECK(
      c.shared_variables.at("ChangedEntityTypes") ==
      Value(
          R"([{"__type":"KeyValuePairOfstringstring:#System.Collections.Generic","key":"account","value":"Update"}])"));
  CHECK(
      c.shared_variables.at("columns") ==
      Value(
          R"({"__type":"ColumnSet:http://schemas.microsoft.com/xrm/2011/Contracts","AllColumns":false,"Columns":["name"],"Limit":-1.50})"));
  CHECK(c.shared_variables.at("alias") == Value(Money{Decimal("12.50")}));
}

TEST_CASE(
    "dataverse-json: members a newer sender adds are skipped, malformed ones are named by path") {
  auto c = dvj::read_context(
      R"({"MessageName":"Create","PrimaryEntityName":"contact","TenantId":"x","IsApplicationUser":false})");
  CHECK(c.message_name == "Create");
  CHECK_THROWS_WITH_AS(dvj::read_context(R"({"Stage":"40"})"),
                       doctest::Contains("Stage: expected a 32-bit integer, found a string"),
                       FormatError);
  CHECK_THROWS_WITH_AS(
      dvj::read_context(
          R"({"InputParameters":[{"key":"Target","value":{"__type":"Entity:http:\/\/schemas.microsoft.com\/xrm\/2011\/Contracts",)"
          R"("Attributes":[{"key":"revenue","value":{"__type":"Money:http:\/\/schemas.microsoft.com\/xrm\/2011\/Contracts","Value":"lots"}}]}}]})"),
      doctest::Contains(
          "InputParameters.Target.Attributes.revenue.Value: expected a decimal number"),
      FormatError);
  CHECK_THROWS_WITH_AS(
      dvj::read_context(R"({"PreEntityImages":[{"key":"pre","value":{"Id":"nope"}}]})"),
      doctest::Contains("PreEntityImages.pre.Id: expected a guid string"), FormatError);
  CHECK_THROWS_WITH_AS(
      dvj::read_context(R"({"SharedVariables":[{"key":"x","value":{"Value":1}}]})"),
      doctest::Contains("SharedVariables.x: an object value needs a \"__type\" hint"), FormatError);
  CHECK_THROWS_WITH_AS(dvj::read_context(R"({"SharedVariables":{"x":1}})"),
                       doctest::Contains("SharedVariables: expected an array of {\"key\""),
                       FormatError);
  CHECK_THROWS_WITH_AS(dvj::read_context("{\"Depth\":1,}"),
                       doctest::Contains("invalid JSON at line 1, column 12"), FormatError);
  CHECK_THROWS_AS(dvj::read_context(R"({"OperationCreatedOn":"\/Date(12x)\/"})"), FormatError);
}
