#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include <pugixml.hpp>

#include <stepline/format/xml.hpp>

#include "sample_contexts.hpp"
#include "text_checks.hpp"

using namespace stepline;
namespace xml = stepline::format::xml;
using stepline::format::FormatError;
using stepline::test::contains;

TEST_CASE("xml: every value kind reads back as the same value") {
  // References, not a structured binding: CAPTURE's lambda captures the name.
  for (const auto& entry : samples::every_value_kind()) {
    const std::string& name = entry.first;
    const Value& value = entry.second;
    CAPTURE(name);
    ExecutionContext c = samples::holding({{name, value}});
    std::string text = xml::write_context(c);
    CAPTURE(text);
    CHECK(xml::read_context(text) == c);
  }
  ExecutionContext odd =
      samples::holding({{"spaces", Value("  ")},
                        {"empty", Value("")},
                        {"markup", Value("<a & 'b'>")},
                        {"crlf", Value("a\r\nb\tc")},
                        {"inf", Value(-std::numeric_limits<double>::infinity())}});
  CHECK(xml::read_context(xml::write_context(odd)) == odd);
  auto nan = xml::read_context(xml::write_context(
      samples::holding({{"nan", Value(std::numeric_limits<double>::quiet_NaN())}})));
  CHECK(std::isnan(nan.shared_variables.at("nan").as<double>()));
}

TEST_CASE(
    "xml: a full context with a parent, both images and every parameter kind reads back equal") {
  ExecutionContext c = samples::full_context();
  std::string text = xml::write_context(c);
  ExecutionContext back = xml::read_context(text);
  CHECK(back == c);
  REQUIRE(back.parent_context);
  CHECK(back.parent_context->stage == Stage::main_operation);
  CHECK(xml::write_context(back) == text);
}

TEST_CASE(
    "xml: the document is DataContract XML: namespaces, ordinal member order, typed values, nil") {
  std::string text = xml::write_context(samples::full_context());
  CHECK(text.starts_with(
      R"(<RemoteExecutionContext xmlns="http://schemas.microsoft.com/xrm/2011/Contracts" )"
      R"(xmlns:i="http://www.w3.org/2001/XMLSchema-instance")"));
  pugi::xml_document doc;
  REQUIRE(doc.load_string(text.c_str()));
  pugi::xml_node root = doc.document_element();
  std::vector<std::string> names;
  for (pugi::xml_node n : root.children()) names.emplace_back(n.name());
  CHECK(std::is_sorted(names.begin(), names.end()));
  CHECK(names.size() == 30);
  CHECK(names.front() == "BusinessUnitId");
  CHECK(names.back() == "UserId");
  CHECK(std::string(root.attribute("xmlns:b").value()) ==
        "http://schemas.datacontract.org/2004/07/System.Collections.Generic");
  CHECK(std::string(root.attribute("xmlns:c").value()) == "http://www.w3.org/2001/XMLSchema");
  pugi::xml_node target = root.child("InputParameters").find_child([](pugi::xml_node pair) {
    return std::string(pair.child_value("b:key")) == "Target";
  });
  REQUIRE(target);
  CHECK(std::string(target.name()) == "KeyValuePairOfstringanyType");
  CHECK(std::string(target.child("b:value").attribute("i:type").value()) == "a:Entity");
  for (const char* type :
       {"c:string", "c:int", "c:long", "c:boolean", "c:double", "c:decimal", "c:dateTime", "s:guid",
        "a:Money", "a:OptionSetValue", "a:EntityReference", "a:Entity", "a:EntityCollection",
        "a:OptionSetValueCollection"}) {
    CAPTURE(type);
    CHECK(contains(text, std::string(" i:type=\"") + type + "\""));
  }
  CHECK(contains(
      text,
      R"(<KeyValuePairOfstringanyType><b:key>null</b:key><b:value i:nil="true"/></KeyValuePairOfstringanyType>)"));
  CHECK(contains(
      text,
      R"(<b:key>money</b:key><b:value i:type="a:Money"><Value>250000.0000</Value></b:value>)"));
  CHECK(contains(
      text,
      R"(<b:key>datetime</b:key><b:value i:type="c:dateTime">2024-08-02T07:00:39.123Z</b:value>)"));
  CHECK(contains(text, R"(<OperationCreatedOn>2024-08-02T07:00:40.000Z</OperationCreatedOn>)"));
  CHECK(contains(
      text,
      R"(<PreEntityImages><KeyValuePairOfstringEntity><b:key>pre</b:key><b:value><Attributes>)"));
  pugi::xml_node parent = root.child("ParentContext");
  CHECK(std::string(parent.child_value("Stage")) == "30");
  CHECK(std::string(parent.child("ParentContext").attribute("i:nil").value()) == "true");
  CHECK(std::string(parent.child("RequestId").attribute("i:nil").value()) == "true");
}

TEST_CASE("xml: a document with other prefixes and layout reads by local name") {
  const char* text = R"(<?xml version="1.0" encoding="utf-8"?>
<RemoteExecutionContext xmlns="http://schemas.microsoft.com/xrm/2011/Contracts"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <Depth>3</Depth>
  <InputParameters xmlns:d="http://schemas.datacontract.org/2004/07/System.Collections.Generic">
    <KeyValuePairOfstringanyType>
      <d:key>Target</d:key>
      <d:value xsi:type="Entity">
        <Attributes>
          <KeyValuePairOfstringanyType>
            <d:key>revenue</d:key>
            <d:value xsi:type="Money"><Value>12.50</Value></d:value>
          </KeyValuePairOfstringanyType>
          <KeyValuePairOfstringanyType>
            <d:key>id</d:key>
            <d:value xmlns:z="http://schemas.microsoft.com/2003/10/Serialization/" xsi:type="z:guid">55555555-0000-0000-0000-0000000000ac</d:value>
          </KeyValuePairOfstringanyType>
        </Attributes>
        <LogicalName>account</LogicalName>
      </d:value>
    </KeyValuePairOfstringanyType>
  </InputParameters>
  <MessageName>Update</MessageName>
  <ParentContext xsi:nil="true"/>
  <PrimaryEntityName>account</PrimaryEntityName>
  <SomethingNewer>ignored</SomethingNewer>
  <Stage>20</Stage>
</RemoteExecutionContext>)";
  ExecutionContext c = xml::read_context(text);
  CHECK(c.depth == 3);
  CHECK(c.message_name == "Update");
  CHECK(c.stage == Stage::pre_operation);
  CHECK_FALSE(c.parent_context);
  REQUIRE(c.target());
  CHECK(c.target()->logical_name == "account");
  CHECK(c.target()->get("revenue") == Value(Money{Decimal("12.50")}));
  CHECK(c.target()->get("id") == Value(samples::guid("55555555-0000-0000-0000-0000000000ac")));
}

TEST_CASE("xml: malformed documents and values are reported with their element path") {
  CHECK_THROWS_WITH_AS(xml::read_context("<RemoteExecutionContext><Depth>1</Dep>"),
                       doctest::Contains("invalid XML at line 1"), FormatError);
  CHECK_THROWS_WITH_AS(xml::read_context("<Context/>"),
                       doctest::Contains("expected <RemoteExecutionContext>"), FormatError);
  CHECK_THROWS_WITH_AS(
      xml::read_context("<RemoteExecutionContext><Stage>41</Stage></RemoteExecutionContext>"),
      doctest::Contains("Stage: 41 is not a stage; use 10"), FormatError);
  CHECK_THROWS_WITH_AS(
      xml::read_context(
          R"(<RemoteExecutionContext xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><SharedVariables>)"
          R"(<KeyValuePairOfstringanyType><key>n</key><value i:type="c:int">x1</value></KeyValuePairOfstringanyType>)"
          R"(</SharedVariables></RemoteExecutionContext>)"),
      doctest::Contains("SharedVariables.n: \"x1\" is not a 32-bit integer"), FormatError);
  CHECK_THROWS_WITH_AS(
      xml::read_context(
          R"(<RemoteExecutionContext><SharedVariables><KeyValuePairOfstringanyType><key>n</key>)"
          R"(<value>7</value></KeyValuePairOfstringanyType></SharedVariables></RemoteExecutionContext>)"),
      doctest::Contains("SharedVariables.n: a value needs an i:type attribute"), FormatError);
  CHECK_THROWS_WITH_AS(
      xml::read_context(
          R"(<RemoteExecutionContext xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><PreEntityImages>)"
          R"(<KeyValuePairOfstringEntity><key>pre</key><value><Id>zz</Id></value></KeyValuePairOfstringEntity>)"
          R"(</PreEntityImages></RemoteExecutionContext>)"),
      doctest::Contains("PreEntityImages.pre.Id: \"zz\" is not a guid"), FormatError);
}
