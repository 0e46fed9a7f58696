// The YAML layer: trees with positions, typed readers that report at the value with what to
// write, durations, and a writer whose output reads back as what was written.
#include <doctest/doctest.h>

#include <stepline/yaml/mapping.hpp>
#include <stepline/yaml/stream.hpp>
#include <stepline/yaml/writer.hpp>

namespace stepline::yaml {
namespace {

using std::chrono::milliseconds;

std::string messages(const Problems& problems) {
  std::string all;
  for (const auto& p : problems.list) all += p.where.str() + ": " + p.message + "\n";
  return all;
}

}  // namespace

TEST_CASE("a document reads as one tree with each node's line and column") {
  Node root = read_document("queues:\n  - name: orders\n    filter: \"a = 1\"\n");
  REQUIRE(root.is_map());
  const Node& queue = root.value(0).items.at(0);
  CHECK(queue.line == 2);
  CHECK(queue.column == 5);
  CHECK(queue.value(0).text == "orders");
  CHECK(queue.value(0).plain);
  CHECK(queue.value(0).column == 11);
  CHECK(queue.value(1).text == "a = 1");
  CHECK_FALSE(queue.value(1).plain);
  CHECK(read_document("").is_null());
  CHECK(read_document("# only a comment\n").is_null());
}

TEST_CASE("a syntax error carries the parser's position") {
  try {
    read_document("queues: [\n");
    FAIL("an unclosed list was read");
  } catch (const Error& e) {
    CHECK(e.line == 2);
    CHECK(e.column == 1);
  }
}

TEST_CASE("text that is not UTF-8 is reported where its first bad byte is") {
  const std::string text = "listen: ok\nname: caf\xE9\n";
  try {
    read_document(text);
    FAIL("text that is not UTF-8 was read");
  } catch (const Error& e) {
    Problem p = problem_of(e, "b.yaml", text);
    CHECK(p.where.str() == "b.yaml:2:10");
    CHECK(p.message.find("not UTF-8") != std::string::npos);
  }
}

TEST_CASE("typed readers report each bad value at its position and keep going") {
  Node root = read_document(
      "count: many\nlimit: 99\nwait: soon\nflag: maybe\nitems: one\nnames: [a, {b: c}]\n"
      "colour: red\ncount: 2\n");
  Problems problems;
  Mapping m(root, "f.yaml", "the settings", "",
            {"count", "limit", "wait", "flag", "items", "names", "color"}, problems);
  CHECK_FALSE(m.integer("count", 1, 10));
  CHECK_FALSE(m.integer("limit", 1, 10));
  CHECK_FALSE(m.duration("wait"));
  CHECK_FALSE(m.boolean("flag"));
  CHECK(m.list("items").empty());
  CHECK(m.list("missing").empty());
  CHECK_FALSE(m.names("names"));
  std::string all = messages(problems);
  CHECK(all.find("f.yaml:7:1: unknown key 'colour' in the settings; did you mean 'color'?") !=
        std::string::npos);
  CHECK(all.find("f.yaml:8:1: 'count' appears twice in the settings") != std::string::npos);
  CHECK(all.find("f.yaml:1:8: count: 'many' is not a whole number") != std::string::npos);
  CHECK(all.find("f.yaml:2:8: limit: 99 is out of range; use 1 to 10") != std::string::npos);
  CHECK(all.find("f.yaml:3:7: wait: 'soon' is not a duration") != std::string::npos);
  CHECK(all.find("f.yaml:4:7: flag: 'maybe' is not true or false") != std::string::npos);
  CHECK(all.find("f.yaml:5:8: items: expected a list, found a single value") != std::string::npos);
  CHECK(all.find("f.yaml:6:12: names: every entry must be a name, found a mapping") !=
        std::string::npos);
  CHECK(problems.list.size() == 8);
}

TEST_CASE("a problem is one line, whatever the value it quotes holds") {
  Node root = read_document("wait: \"5\\n\\r\\tx\\x01\"\n");
  Problems problems;
  Mapping m(root, "f.yaml", "the settings", "", {"wait"}, problems);
  CHECK_FALSE(m.duration("wait"));
  REQUIRE(problems.list.size() == 1);
  CHECK(problems.list[0].message.find("wait: '5\\n\\r\\tx\\x01' is not a duration") == 0);
}

TEST_CASE("a bare number is a duration in seconds only where that is asked for") {
  CHECK(duration_of("30", BareNumber::seconds) == milliseconds(30000));
  CHECK(duration_of(" 45 ", BareNumber::seconds) == milliseconds(45000));
  CHECK(duration_of("500ms", BareNumber::seconds) == milliseconds(500));
  CHECK(duration_of("PT1M", BareNumber::seconds) == milliseconds(60000));
  CHECK_FALSE(duration_of("30"));
  CHECK(duration_of("30s") == milliseconds(30000));
  CHECK_FALSE(duration_of("-5", BareNumber::seconds));
  CHECK_FALSE(duration_of("", BareNumber::seconds));
}

TEST_CASE("written text reads back as the same text, whatever it looks like") {
  Writer out;
  out.begin_map();
  for (std::string_view word :
       {"", "~", "null", "yes", "off", "true", "8", "a: b", "- x", "#note", "café", "two\nlines"}) {
    out.text(std::string("key ") + std::string(word));
    out.text(word);
  }
  out.text("count");
  out.plain("8");
  out.text("names");
  out.begin_list(true);
  out.text("name");
  out.text("revenue");
  out.end_list();
  out.text("empty");
  out.begin_list();
  out.end_list();
  out.end_map();
  std::string text = out.finish();
  CHECK(text.find("count: 8\n") != std::string::npos);
  CHECK(text.find("names: [name, revenue]\n") != std::string::npos);
  CHECK(text.find("key café: café\n") != std::string::npos);
  CHECK(text.back() == '\n');

  Node root = read_document(text);
  REQUIRE(root.is_map());
  REQUIRE(root.map_size() == 15);
  for (std::size_t i = 0; i < 12; ++i) {
    CAPTURE(root.key(i).text);
    REQUIRE(root.value(i).is_scalar());
    CHECK("key " + root.value(i).text == root.key(i).text);
  }
  CHECK(root.value(13).items.size() == 2);
  CHECK(root.value(14).is_sequence());
}

}  // namespace stepline::yaml
