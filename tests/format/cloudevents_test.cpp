#include <doctest/doctest.h>

#include <rapidjson/document.h>

#include <stepline/format/cloudevents.hpp>
#include <stepline/format/json.hpp>

#include "sample_contexts.hpp"

using namespace stepline;
namespace ce = stepline::format::cloudevents;
using stepline::format::FormatError;

TEST_CASE("cloudevents: the envelope names the operation, the record and the organization") {
  ExecutionContext c = samples::full_context();
  std::string text = ce::write_context(c);
  rapidjson::Document d;
  d.Parse(text.c_str());
  REQUIRE(d.IsObject());
  CHECK(std::string(d["specversion"].GetString()) == "1.0");
  CHECK(std::string(d["id"].GetString()) == "66666666-0000-0000-0000-0000000000a0");
  CHECK(std::string(d["type"].GetString()) == "stepline.update.account");
  CHECK(std::string(d["source"].GetString()) == "/organizations/unq77777777000000000000000000f0");
  CHECK(std::string(d["subject"].GetString()) == "55555555-0000-0000-0000-0000000000ac");
  CHECK(std::string(d["time"].GetString()) == "2024-08-02T07:00:40.000Z");
  CHECK(std::string(d["datacontenttype"].GetString()) == "application/json");
  REQUIRE(d["data"].IsObject());
  // The data is exactly the json format of the context.
  CHECK(format::json::read_context(text.substr(text.find("\"data\":") + 7,
                                               text.size() - text.find("\"data\":") - 8)) == c);
}

TEST_CASE("cloudevents: a full context reads back equal") {
  ExecutionContext c = samples::full_context();
  CHECK(ce::read_context(ce::write_context(c)) == c);
}

TEST_CASE(
    "cloudevents: type is lower case, source is URI-safe, id falls back when there is no "
    "operation") {
  ExecutionContext c;
  c.message_name = "contoso_ShipOrder";
  c.primary_entity_name = "SalesOrder";
  c.organization_name = "Contoso Europe/West";
  c.request_id = samples::guid("99999999-0000-0000-0000-0000000000d2");
  CHECK(ce::event_type(c) == "stepline.contoso_shiporder.salesorder");
  CHECK(ce::event_source(c) == "/organizations/Contoso%20Europe%2FWest");
  rapidjson::Document d;
  d.Parse(ce::write_context(c).c_str());
  CHECK(std::string(d["id"].GetString()) == "99999999-0000-0000-0000-0000000000d2");
  c.organization_name.clear();
  c.organization_id = samples::guid("77777777-0000-0000-0000-0000000000f0");
  CHECK(ce::event_source(c) == "/organizations/77777777-0000-0000-0000-0000000000f0");
}

TEST_CASE("cloudevents: a wrong envelope or a bad context is reported with its path") {
  CHECK_THROWS_WITH_AS(
      ce::read_context(R"({"specversion":"0.3","id":"1","source":"/x","type":"t","data":{}})"),
      doctest::Contains("specversion: only CloudEvents 1.0"), FormatError);
  CHECK_THROWS_WITH_AS(
      ce::read_context(R"({"specversion":"1.0","source":"/x","type":"t","data":{}})"),
      doctest::Contains("id: a CloudEvent needs the \"id\" attribute"), FormatError);
  CHECK_THROWS_WITH_AS(
      ce::read_context(R"({"specversion":"1.0","id":"1","source":"/x","type":"t"})"),
      doctest::Contains("needs \"data\""), FormatError);
  CHECK_THROWS_WITH_AS(
      ce::read_context(
          R"({"specversion":"1.0","id":"1","source":"/x","type":"t","datacontenttype":"text/xml","data":{}})"),
      doctest::Contains("datacontenttype: the data must be application/json"), FormatError);
  CHECK_THROWS_WITH_AS(
      ce::read_context(
          R"({"specversion":"1.0","id":"1","source":"/x","type":"t","data":{"messageName":"Create","primaryEntityName":"a","depth":"2"}})"),
      doctest::Contains("data.depth: expected a depth number, found a string"), FormatError);
}
