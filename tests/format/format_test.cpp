#include <doctest/doctest.h>

#include <stepline/format/binary.hpp>
#include <stepline/format/cloudevents.hpp>
#include <stepline/format/dataverse_json.hpp>
#include <stepline/format/format.hpp>
#include <stepline/format/json.hpp>
#include <stepline/format/xml.hpp>

#include "sample_contexts.hpp"

using namespace stepline;
using namespace stepline::format;

TEST_CASE("formats are found by their registration names and labelled with a content type") {
  CHECK(format_names() ==
        std::vector<std::string_view>{"binary", "cloudevents", "dataverse-json", "json", "xml"});
  CHECK(format_named("json").content_type == "application/json");
  CHECK(format_named("dataverse-json").content_type == "application/json");
  CHECK(format_named("xml").content_type == "application/xml");
  CHECK(format_named("cloudevents").content_type == "application/cloudevents+json");
  CHECK(format_named("binary").content_type == "application/x-amqp-map");
  CHECK(&format_named("binary") == &binary::format());
  CHECK_FALSE(find_format("JSON"));
  CHECK_THROWS_WITH_AS(
      format_named("msbin1"),
      doctest::Contains("use one of binary, cloudevents, dataverse-json, json, xml"),
      std::invalid_argument);
  for (std::string_view name : format_names()) CHECK(format_named(name).name == name);
}

TEST_CASE("a format registers once; a second one under its name is refused, naming both") {
  FormatRegistry registry;
  auto upper = [](const ExecutionContext& c) { return c.message_name; };
  auto lower = [](std::string_view body) {
    ExecutionContext c;
    c.message_name = std::string(body);
    return c;
  };
  const Format& added = registry.add({.name = "names",
                                      .content_type = "text/plain",
                                      .write = upper,
                                      .read = lower,
                                      .library = "first-lib"});
  CHECK(registry.find("names") == &added);
  CHECK(registry.names() == std::vector<std::string_view>{"names"});
  ExecutionContext c;
  c.message_name = "Update";
  CHECK(registry.get("names").write(c) == "Update");
  CHECK(registry.get("names").read("Create").message_name == "Create");
  CHECK_THROWS_WITH_AS(
      registry.add({.name = "names", .write = upper, .read = lower, .library = "second-lib"}),
      "the format 'names' is registered by first-lib and again by second-lib; give one of them "
      "another name",
      std::logic_error);
  CHECK_THROWS_AS(registry.add({.name = "no-reader", .write = upper, .library = "third-lib"}),
                  std::invalid_argument);
  CHECK_FALSE(registry.find("json"));  // the process's formats are in global() only
}

TEST_CASE("a full context survives every format exactly, except what dataverse-json cannot type") {
  ExecutionContext c = samples::full_context();
  for (std::string_view f : {"json", "xml", "binary", "cloudevents"}) {
    CAPTURE(f);
    CHECK(parse_any_format(serialize_any_format(c, f), f) == c);
  }
  ExecutionContext back = parse(serialize(c, "dataverse-json"), "dataverse-json");
  CHECK(back.target()->get("money") == c.target()->get("money"));
  CHECK(back.pre_entity_images.at("pre").get("revenue") ==
        c.pre_entity_images.at("pre").get("revenue"));
  CHECK(back.pre_entity_images.at("pre").formatted_values ==
        c.pre_entity_images.at("pre").formatted_values);
  CHECK(back.parent_context->input_parameters == c.parent_context->input_parameters);
}

TEST_CASE("the SDK's entry points and the AMQP library's write and read the same bodies") {
  ExecutionContext c = samples::full_context();
  for (std::string_view f : format_names()) {
    CAPTURE(f);
    CHECK(serialize(c, f) == serialize_any_format(c, f));
  }
  CHECK(binary::read_context(serialize(c, "binary")) == c);
}

TEST_CASE("a message body in every format reads back with read_body") {
  ExecutionContext c = samples::full_context();
  for (std::string_view name : format_names()) {
    CAPTURE(name);
    const Format& f = format_named(name);
    proton::message m;
    std::size_t size = write_body(m, c, f);
    proton::message arrived;
    arrived.decode(m.encode());
    if (name == "binary") {
      CHECK(size == 0);
      CHECK(arrived.body().type() == proton::MAP);
    } else {
      CHECK(size == serialize(c, name).size());
      CHECK(arrived.body().type() == proton::BINARY);
    }
    ExecutionContext back = read_body(arrived, f);
    CHECK(back.operation_id == c.operation_id);
  }
  proton::message text;
  text.body(serialize(c, "json"));  // a string section, as some senders write JSON
  CHECK(read_body(text, format_named("json")) == c);
  proton::message number;
  number.body(42);
  CHECK_THROWS_AS(read_body(number, format_named("json")), FormatError);
}

TEST_CASE("a malformed body is a FormatError in every format") {
  for (std::string_view f : format_names()) {
    CAPTURE(f);
    CHECK_THROWS_AS(parse_any_format("{\"truncated", f), FormatError);
  }
}

TEST_CASE("input nested deeper than any real context is refused, not followed down the stack") {
  const std::size_t deep = 100000;
  const std::string too_deep =
      "nested more than " + std::to_string(format::max_nesting) + " levels";
  CHECK_THROWS_WITH_AS(format::json::read_value(std::string(deep, '[') + std::string(deep, ']')),
                       doctest::Contains(too_deep.c_str()), FormatError);
  CHECK_THROWS_WITH_AS(
      format::dataverse_json::read_context(R"({"SharedVariables":[{"key":"x","value":)" +
                                           std::string(deep, '[') + std::string(deep, ']') + "}]}"),
      doctest::Contains(too_deep.c_str()), FormatError);
  std::string xml =
      R"(<RemoteExecutionContext xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><SharedVariables>)";
  for (int i = 0; i < 1000; ++i)
    xml += R"(<KeyValuePairOfstringanyType><key>k</key><value i:type="a:Entity"><Attributes>)";
  for (int i = 0; i < 1000; ++i) xml += "</Attributes></value></KeyValuePairOfstringanyType>";
  xml += "</SharedVariables></RemoteExecutionContext>";
  CHECK_THROWS_WITH_AS(format::xml::read_context(xml), doctest::Contains(too_deep.c_str()),
                       FormatError);
  // A context whose values nest 300 entities deep: every writer copes, every reader refuses.
  Entity nested("account");
  for (int i = 0; i < 300; ++i) {
    Entity outer("account");
    outer.set("child", Value(nested));
    nested = std::move(outer);
  }
  ExecutionContext c = samples::holding({{"deep", Value(nested)}});
  for (std::string_view f : format_names()) {
    CAPTURE(f);
    CHECK_THROWS_WITH_AS(parse_any_format(serialize_any_format(c, f), f),
                         doctest::Contains(too_deep.c_str()), FormatError);
  }
}

/// The message of the FormatError `read` throws, or "" when it throws none.
template <class Read>
std::string format_error_of(Read&& read) {
  try {
    read();
  } catch (const FormatError& e) {
    return e.what();
  }
  return "";
}

TEST_CASE("a value nested too deep is named by its path, the part of it that says where") {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  std::string json = format_error_of(
      [&] { format::json::read_context(R"({"sharedVariables":{"deep":)" + deep + "}}"); });
  CHECK(json.starts_with(
      "sharedVariables.deep[0][0][0][0][0][0][0][0][0][0]…: nested more than 256 levels deep"));
  std::string dataverse = format_error_of([&] {
    format::dataverse_json::read_context(R"({"SharedVariables":[{"key":"x","value":)" + deep +
                                         "}]}");
  });
  CHECK(dataverse.starts_with("SharedVariables[0].value[0][0][0][0][0][0][0][0][0]…: nested"));
  std::string cloudevent = format_error_of([&] {
    format::cloudevents::read_context(
        R"({"specversion":"1.0","id":"1","source":"/x","type":"t","data":{"inputParameters":{"Target":)" +
        deep + "}}}");
  });
  CHECK(cloudevent.starts_with("data.inputParameters.Target[0][0][0][0][0][0][0][0][0]…: nested"));
}

TEST_CASE("the deepest context the host builds reads back in every format") {
  // host.max_depth is at most 100, and a nested operation's context has two parents per level
  // (the main operation's and its caller's): 200 parent contexts, each with a target whose
  // attributes hold entities.
  std::shared_ptr<const ExecutionContext> parent;
  for (int i = 0; i <= 200; ++i) {
    ExecutionContext c = samples::holding({{"n", Value(std::int32_t{i})}});
    Entity inner("contact");
    inner.set("parentcustomerid", EntityReference{"account", Guid::random(), "Contoso"});
    Entity target("account", Guid::random());
    target.set("primarycontact", Value(inner));
    target.set("revenue", Money{Decimal("10.00")});
    c.input_parameters.emplace("Target", Value(target));
    c.depth = i / 2 + 1;
    c.parent_context = parent;
    parent = std::make_shared<const ExecutionContext>(std::move(c));
  }
  for (std::string_view f : format_names()) {
    CAPTURE(f);
    CHECK(parse_any_format(serialize_any_format(*parent, f), f) == *parent);
  }
}

TEST_CASE("text that is not UTF-8 is refused by every format, where JSON requires it too") {
  ExecutionContext c = samples::holding({{"name", Value("caf\xc3\xa9")}});
  for (std::string_view f : format_names()) {
    CAPTURE(f);
    std::string body = serialize_any_format(c, f);
    // The é's two bytes become a lone continuation byte and a byte UTF-8 never has.
    auto at = body.find("caf\xc3\xa9");
    REQUIRE(at != std::string::npos);
    body[at + 3] = '\xff';
    body[at + 4] = '\xfe';
    CHECK_THROWS_WITH_AS(parse_any_format(body, f), doctest::Contains("UTF-8"), FormatError);
  }
}

TEST_CASE("an escape or reference to no character is refused: a lone surrogate, a NUL") {
  // JSON's \udc00 and XML's &#xDC00; would decode to bytes that are not UTF-8, XML's &#0; to a
  // NUL that cuts the value short.
  CHECK_THROWS_WITH_AS(
      format::json::read_context(R"({"messageName":"a\udc00b"})"),
      doctest::Contains("invalid JSON at line 1, column 26: a \\u escape of a lone surrogate"),
      FormatError);
  CHECK_THROWS_WITH_AS(format::dataverse_json::read_context(R"({"MessageName":"a\udc00b"})"),
                       doctest::Contains("a \\u escape of a lone surrogate"), FormatError);
  CHECK(format::json::read_context(R"({"messageName":"a\ud83d\ude00b","primaryEntityName":"x"})")
            .message_name ==
        "a\xf0\x9f\x98\x80"
        "b");
  const std::string open =
      R"(<RemoteExecutionContext xmlns="http://schemas.microsoft.com/xrm/2011/Contracts">)";
  for (const char* reference : {"&#xDC00;", "&#0;", "&#x0;", "&#1114112;"}) {
    CAPTURE(reference);
    CHECK_THROWS_WITH_AS(
        format::xml::read_context(open + "<MessageName>a" + reference + "b</MessageName>" +
                                  "</RemoteExecutionContext>"),
        doctest::Contains("invalid XML at line 1, column 95: a character reference to no "
                          "character of text"),
        FormatError);
  }
  // In an attribute value "<?" and "<!--" are text to pugixml, not the start of something to
  // skip: the references after them are still looked at, in the value and past it.
  for (std::string value : {"x<?y", "x<!--y", "x<![CDATA[y"}) {
    CAPTURE(value);
    CHECK_THROWS_WITH_AS(format::xml::read_context("<RemoteExecutionContext xmlns=\"" + value +
                                                   "\"><MessageName>a&#xDC00;b</MessageName>" +
                                                   "</RemoteExecutionContext>"),
                         doctest::Contains("a character reference to no character of text"),
                         FormatError);
    CHECK_THROWS_WITH_AS(format::xml::read_context(std::string("<RemoteExecutionContext xmlns=\"") +
                                                   value + "&#0;\"></RemoteExecutionContext>"),
                         doctest::Contains("a character reference to no character of text"),
                         FormatError);
  }
  // Nor does an opener without its closer hide what follows it.
  for (std::string opener : {"<?", "<!--", "<![CDATA["}) {
    CAPTURE(opener);
    CHECK_THROWS_WITH_AS(
        format::xml::read_context(open + "<MessageName>a" + opener +
                                  "&#xDC00;b</MessageName></RemoteExecutionContext>"),
        doctest::Contains("a character reference to no character of text"), FormatError);
  }
  // In a CDATA section "&#0;" is text, as in a comment.
  ExecutionContext c = format::xml::read_context(
      open + "<!-- &#0; --><MessageName><![CDATA[&#0;]]></MessageName>" +
      "<PrimaryEntityName>&#x1F600;</PrimaryEntityName></RemoteExecutionContext>");
  CHECK(c.message_name == "&#0;");
  CHECK(c.primary_entity_name == "\xf0\x9f\x98\x80");
  // A control character is text, which the writer spells as a reference: it reads back.
  ExecutionContext control = samples::holding({{"bell", Value("a\x07"
                                                              "b")}});
  CHECK(format::xml::read_context(format::xml::write_context(control)) == control);
}
