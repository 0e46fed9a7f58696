#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <utility>
#include <vector>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <stepline/format/json.hpp>

#include "sample_contexts.hpp"

using namespace stepline;
namespace json = stepline::format::json;
using stepline::format::FormatError;

TEST_CASE("json: every value kind reads back as the same value") {
  // References, not a structured binding: CAPTURE's lambda captures the name.
  for (const auto& entry : samples::every_value_kind()) {
    const std::string& name = entry.first;
    const Value& value = entry.second;
    CAPTURE(name);
    std::string text = json::write_value(value);
    CAPTURE(text);
    CHECK(json::read_value(text) == value);
  }
}

TEST_CASE("json: strings are escaped only where JSON needs it, in values and in keys") {
  // Text without a quote, a backslash or a control character is written whole; the rest
  // character by character, escaped.
  CHECK(json::write_value(Value(std::string())) == R"("")");
  CHECK(json::write_value(Value("plain text / with a slash")) == R"("plain text / with a slash")");
  CHECK(json::write_value(Value("Zoë ⟶ 東京")) == "\"Zoë ⟶ 東京\"");
  CHECK(json::write_value(Value("say \"hi\"")) == R"("say \"hi\"")");
  CHECK(json::write_value(Value("C:\\temp")) == R"("C:\\temp")");
  CHECK(json::write_value(Value("line\nnext\ttab\x01")) == R"("line\nnext\ttab\u0001")");
  CHECK(json::write_value(Value(std::string("nul\0inside", 10))) == R"("nul\u0000inside")");
  // Wherever the character falls, in texts short and long (the check reads sixteen bytes at a
  // time, then eight, then the last eight again, or a short text's bytes padded to eight).
  for (const std::size_t size : {1, 3, 7, 8, 9, 15, 16, 17, 24, 41})
    for (std::size_t at = 0; at < size; ++at) {
      for (const auto& entry : std::vector<std::pair<char, std::size_t>>{
               {'\x1f', 5}, {'\x01', 5}, {'"', 1}, {'\\', 1}, {'\x7f', 0}, {'!', 0}, {' ', 0}}) {
        // Not a structured binding: CAPTURE's lambda captures the name.
        const char c = entry.first;
        const std::size_t grows = entry.second;
        std::string text(size, 'a');
        text[at] = c;
        CAPTURE(size);
        CAPTURE(at);
        CAPTURE(static_cast<int>(c));
        const std::string written = json::write_value(Value(text));
        CHECK(written.size() == text.size() + 2 + grows);
        CHECK(json::read_value(written) == Value(text));
      }
    }
  ParameterCollection p;
  p.insert_or_assign("plain", Value("a"));
  p.insert_or_assign("quoted \"key\"", Value("b"));
  p.insert_or_assign("back\\slash", Value("c\"d"));
  const std::string text = json::write_parameters(p);
  CHECK(text == R"({"back\\slash":"c\"d","plain":"a","quoted \"key\"":"b"})");
  CHECK(json::read_parameters(text) == p);
}

namespace {

/// `text` parsed and written again by RapidJSON's own writer.
std::string rewritten(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.data(), text.size());
  REQUIRE_FALSE(d.HasParseError());
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  d.Accept(w);
  return {buffer.GetString(), buffer.GetSize()};
}

}  // namespace

TEST_CASE("json: the writer writes what RapidJSON's own writer does, byte for byte") {
  std::mt19937_64 random(20261207);
  // Strings of every byte, the escaped ones often: a string that needs no escape is written by
  // a shortcut of the SDK's, the rest by RapidJSON, and both as RapidJSON's String() does.
  for (int round = 0; round < 2000; ++round) {
    std::string text(random() % 40, '\0');
    for (auto& c : text) {
      const auto pick = random() % 4;
      c = static_cast<char>(pick == 0 ? random() % 0x20 : pick == 1 ? "\"\\/a"[random() % 4]
                                                                     : random() % 256);
    }
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
    CAPTURE(round);
    CHECK(json::write_value(Value(text)) == std::string(buffer.GetString(), buffer.GetSize()));
  }
  // Finite doubles of every magnitude, and the integers' edges.
  for (int round = 0; round < 2000; ++round) {
    const std::uint64_t bits = random();
    double d;
    std::memcpy(&d, &bits, sizeof d);
    if (!std::isfinite(d)) continue;
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    w.Double(d);
    CAPTURE(d);
    CHECK(json::write_value(Value(d)) == std::string(buffer.GetString(), buffer.GetSize()));
  }
  for (const double d : {0.0, -0.0, 1.0, 0.1, 1e-7, 1e21, 123456789.125, -2.5e-300}) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    w.Double(d);
    CHECK(json::write_value(Value(d)) == std::string(buffer.GetString(), buffer.GetSize()));
  }
  for (const std::int32_t n : {0, 7, -1, 2147483647, -2147483647 - 1})
    CHECK(json::write_value(Value(n)) == std::to_string(n));
  // Whole documents: objects, arrays and the separators between their members.
  const std::string context = json::write_context(samples::full_context());
  CHECK(rewritten(context) == context);
  const std::string values = json::write_parameters(samples::every_value_kind());
  CHECK(rewritten(values) == values);
}

TEST_CASE("json: values are plain JSON when the JSON type says what they are, tagged otherwise") {
  CHECK(json::write_value(Value()) == "null");
  CHECK(json::write_value(Value("text")) == R"("text")");
  CHECK(json::write_value(Value(std::int32_t{42})) == "42");
  CHECK(json::write_value(Value(true)) == "true");
  CHECK(json::write_value(Value(1.5)) == "1.5");
  CHECK(json::write_value(Value(2.0)) == "2.0");
  CHECK(json::write_value(Value(std::int64_t{9007199254740993})) ==
        R"({"@type":"bigint","value":"9007199254740993"})");
  CHECK(json::write_value(Value(Decimal("12.50"))) == R"({"@type":"decimal","value":"12.50"})");
  CHECK(json::write_value(Value(Money{Decimal("250000.00")})) ==
        R"({"@type":"money","value":"250000.00"})");
  CHECK(json::write_value(Value(OptionSetValue{3})) == R"({"@type":"optionset","value":3})");
  CHECK(json::write_value(Value(OptionSetValueCollection{{1, 2}})) ==
        R"({"@type":"multioptionset","value":[1,2]})");
  CHECK(json::write_value(Value(samples::at_ms(1722582039000))) ==
        R"({"@type":"datetime","value":"2024-08-02T07:00:39.000Z"})");
  CHECK(json::write_value(Value(samples::guid("55555555-0000-0000-0000-0000000000ac"))) ==
        R"({"@type":"guid","value":"55555555-0000-0000-0000-0000000000ac"})");
  CHECK(
      json::write_value(Value(EntityReference{
          "account", samples::guid("55555555-0000-0000-0000-0000000000ac"), "Contoso"})) ==
      R"({"@type":"entityreference","logicalName":"account","id":"55555555-0000-0000-0000-0000000000ac","name":"Contoso"})");
}

TEST_CASE("json: an entity where an entity is expected has no @type, inside a value it has one") {
  Entity e("account", samples::guid("55555555-0000-0000-0000-0000000000ac"));
  e.set("name", "Contoso");
  e.set("revenue", Money{Decimal("100.00")});
  const char* plain =
      R"({"logicalName":"account","id":"55555555-0000-0000-0000-0000000000ac","attributes":{"name":"Contoso","revenue":{"@type":"money","value":"100.00"}}})";
  CHECK(json::write_entity(e) == plain);
  CHECK(json::read_entity(plain) == e);
  CHECK(json::write_value(Value(e)).starts_with(R"({"@type":"entity","logicalName":"account")"));
  CHECK(json::read_entity(json::write_value(Value(e))) == e);
  // A Create target has no id yet.
  Entity created = json::read_entity(R"({"logicalName":"contact","attributes":{}})");
  CHECK(created.id.is_nil());
  CHECK(created.logical_name == "contact");
}

TEST_CASE("json: plain numbers read as int, bigint or double by their shape") {
  CHECK(json::read_value("2147483647").kind() == ValueKind::integer);
  CHECK(json::read_value("2147483648").as<std::int64_t>() == 2147483648);
  CHECK(json::read_value("-9223372036854775808").as<std::int64_t>() ==
        std::numeric_limits<std::int64_t>::min());
  CHECK(json::read_value("1.0").kind() == ValueKind::floating);
  CHECK(json::read_value("1e3").as<double>() == 1000.0);
  CHECK_THROWS_AS(json::read_value("18446744073709551615"), FormatError);
}

TEST_CASE("json: doubles JSON cannot spell survive as tagged text") {
  std::string nan_text = json::write_value(Value(std::numeric_limits<double>::quiet_NaN()));
  CHECK(nan_text == R"({"@type":"double","value":"NaN"})");
  CHECK(std::isnan(json::read_value(nan_text).as<double>()));
  CHECK(json::read_value(json::write_value(Value(-std::numeric_limits<double>::infinity())))
            .as<double>() == -std::numeric_limits<double>::infinity());
}

TEST_CASE("json: a parameter collection is an object of name to value") {
  ParameterCollection p = samples::every_value_kind();
  CHECK(json::read_parameters(json::write_parameters(p)) == p);
  CHECK(json::write_parameters({}) == "{}");
}

TEST_CASE("json: a bad value is reported with the path of the offending member") {
  const char* request =
      R"({"target":{"logicalName":"account","attributes":{"revenue":{"@type":"money","value":12}}}})";
  // The target is an untyped object, so it is not a value; read it as an entity inside parameters.
  try {
    json::read_parameters(
        R"({"target":{"@type":"entity","logicalName":"account","attributes":{"revenue":{"@type":"money","value":12}}}})");
    FAIL("expected a FormatError");
  } catch (const FormatError& e) {
    CHECK(e.path() == "target.attributes.revenue");
    CHECK(
        std::string(e.what()) ==
        R"(target.attributes.revenue: "@type" "money" needs "value" as a decimal string like "12.50")");
  }
  CHECK_THROWS_WITH_AS(json::read_parameters(request),
                       doctest::Contains("target: an object value needs \"@type\""), FormatError);
  CHECK_THROWS_WITH_AS(json::read_value(R"({"@type":"guid","value":"nope"})"),
                       doctest::Contains("needs \"value\" as a guid string"), FormatError);
  CHECK_THROWS_WITH_AS(json::read_value(R"({"@type":"currency","value":"1"})"),
                       doctest::Contains("@type: unknown type \"currency\""), FormatError);
  CHECK_THROWS_WITH_AS(json::read_value(R"({"@type":"optionset","value":3,"label":"x"})"),
                       doctest::Contains("label: unknown member"), FormatError);
  CHECK_THROWS_WITH_AS(
      json::read_entity(R"({"logicalName":"account","attributes":{"tags":[1,2]}})"),
      doctest::Contains("attributes.tags: a value cannot be a bare array"), FormatError);
  CHECK_THROWS_WITH_AS(json::read_entity(R"({"attributes":{}})"),
                       doctest::Contains("missing member \"logicalName\""), FormatError);
  CHECK_THROWS_WITH_AS(
      json::read_value(
          R"({"@type":"entitycollection","entities":[{"logicalName":"a"},{"logicalName":1}]})"),
      doctest::Contains("entities[1].logicalName: expected a string, found a number"), FormatError);
}

TEST_CASE("json: numbers read exactly, zeros with an exponent and the last digit included") {
  auto number = [](const char* text) { return json::read_value(text).as<double>(); };
  // RapidJSON's own conversion read these as 1.01e31, -1.01e31 and -1.08e-283.
  CHECK(number("0e57") == 0.0);
  CHECK(number("-0e0057") == 0.0);
  CHECK(std::signbit(number("-0e0057")));
  CHECK(number("0.0000e300") == 0.0);
  // Correctly rounded: the nearest double, as std::from_chars and every JSON writer read it.
  CHECK(number("123456789.12345678901") == 123456789.12345679);
  CHECK(number("2.2250738585072011e-308") == 2.2250738585072009e-308);
  CHECK(number("1e-400") == 0.0);
  CHECK(number("-5e-9223372036854775807") == 0.0);
  CHECK(number("0.5e-99999999999999999999999") == 0.0);
  CHECK(number("0.00000000000000000000001e330") == 1e307);
  CHECK_THROWS_WITH_AS(json::read_value("1.8e308"),
                       doctest::Contains("the number 1.8e308 is too big for a double"),
                       FormatError);
  CHECK(json::read_value("2147483647") == Value(std::int32_t{2147483647}));
  CHECK(json::read_value("-9223372036854775808") ==
        Value(std::int64_t{-9223372036854775807LL - 1}));
}

TEST_CASE("json: a syntax error names its line and column") {
  CHECK_THROWS_WITH_AS(json::read_value("{\n  \"a\": 1,\n  oops\n}"),
                       doctest::Contains("invalid JSON at line 3, column 3"), FormatError);
  CHECK_THROWS_AS(json::read_value(""), FormatError);
}

TEST_CASE(
    "json: a full context with a parent, both images and every parameter kind reads back equal") {
  ExecutionContext c = samples::full_context();
  std::string text = json::write_context(c);
  ExecutionContext back = json::read_context(text);
  CHECK(back == c);
  REQUIRE(back.parent_context);
  CHECK(back.parent_context->stage == Stage::main_operation);
  CHECK(json::write_context(back) == text);
}

TEST_CASE("json: a context without parent or request id writes nulls and reads them back") {
  ExecutionContext c;
  c.message_name = "Create";
  c.primary_entity_name = "contact";
  std::string text = json::write_context(c);
  CHECK(text.find(R"("requestId":null)") != std::string::npos);
  CHECK(text.find(R"("parentContext":null)") != std::string::npos);
  CHECK(
      text.find(
          R"("owningExtension":{"logicalName":"","id":"00000000-0000-0000-0000-000000000000","name":null})") !=
      std::string::npos);
  CHECK(text.find(R"("stage":20)") != std::string::npos);
  CHECK(json::read_context(text) == c);
}

TEST_CASE("json: a context with an impossible stage or a misspelt key is refused with its path") {
  CHECK_THROWS_WITH_AS(
      json::read_context(R"({"messageName":"Create","primaryEntityName":"a","stage":25})"),
      doctest::Contains("stage: 25 is not a stage; use 10 (pre-validation)"), FormatError);
  CHECK_THROWS_WITH_AS(
      json::read_context(
          R"({"messageName":"Create","primaryEntityName":"a","parentContext":{"mesageName":"x"}})"),
      doctest::Contains("parentContext.mesageName: unknown context member"), FormatError);
  CHECK_THROWS_WITH_AS(json::read_context(R"({"primaryEntityName":"a"})"),
                       doctest::Contains("missing member \"messageName\""), FormatError);
}

TEST_CASE("json: text that is not UTF-8 is refused with its position, all of UTF-8 is read") {
  CHECK(json::read_value("\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e\"") ==
        Value("caf\u00e9 \u20ac \U0001D11E"));
  for (const char* bad : {"\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"",
                          "\"\xe2\x82\"", "\"\xff\"", "\"\x80\""}) {
    CAPTURE(bad);
    CHECK_THROWS_WITH_AS(json::read_value(bad),
                         doctest::Contains("invalid UTF-8 at line 1, column 2"), FormatError);
  }
  CHECK_THROWS_WITH_AS(json::read_value("[\"abcdefghijkl\",\n \"\xe2\x28\xa1\"]"),
                       doctest::Contains("invalid UTF-8 at line 2, column 3"), FormatError);
}
