// The YAML a registration may use (anchors and aliases, flow and block style), and YAML no
// registration needs that would cost the loader its stack or its memory: each is refused at its
// line and column.
#include <doctest/doctest.h>

#include "scratch.hpp"

namespace stepline::registration {
namespace {

using testing::errors_of;
using testing::Scratch;

}  // namespace

TEST_CASE("an anchored value can be reused with an alias") {
  Scratch scratch;
  Registration r = load(scratch.write("stepline.yaml", R"(endpoints:
  - name: orders
    contract: queue
    path: orders
    connection: Endpoint=sb://localhost/;SharedAccessKeyName=send;SharedAccessKey=a2V5
    retry: &patient {max_attempts: 30, base_delay: 1s, max_delay: 10m}
  - name: invoices
    contract: queue
    path: invoices
    connection: Endpoint=sb://localhost/;SharedAccessKeyName=send;SharedAccessKey=a2V5
    retry: *patient
)"));
  REQUIRE(r.endpoints.size() == 2);
  CHECK(r.endpoints[1].retry.max_attempts == 30);
  CHECK(r.endpoints[1].retry.max_delay == std::chrono::minutes(10));
}

TEST_CASE("a value nested a hundred thousand levels deep is refused where it goes too deep") {
  Scratch scratch;
  auto errors = errors_of(
      scratch, "steps:\n  - name: " + std::string(100000, '[') + std::string(100000, ']') + "\n");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].where.line == 2);
  // The root mapping, the steps list and the step are three levels; the 62nd bracket is the 65th.
  CHECK(errors[0].where.column == 72);
  CHECK(errors[0].message == "YAML syntax error: nested more than 64 levels deep");
}

TEST_CASE("aliases that expand far beyond the file (a billion laughs) are refused") {
  Scratch scratch;
  std::string yaml = "steps:\n  - name: laughs\n    configuration: x\n    a0: &a0 [lol, lol]\n";
  for (int i = 1; i < 30; ++i)
    yaml += "    a" + std::to_string(i) + ": &a" + std::to_string(i) + " [*a" +
            std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + "]\n";
  auto errors = errors_of(scratch, yaml);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].message.starts_with("YAML syntax error: aliases (*name) expand to "));
}

TEST_CASE("an alias to no anchor, a second document and a control character are errors") {
  Scratch scratch;
  auto alias = errors_of(scratch, "steps: *nothing\n");
  REQUIRE(alias.size() == 1);
  CHECK(alias[0].where.line == 1);
  CHECK(alias[0].where.column == 8);
  CHECK(alias[0].message ==
        "YAML syntax error: the alias *nothing names no anchor (&name) written before it in "
        "this file");

  auto documents = errors_of(scratch, "steps: []\n---\nsteps: []\n");
  REQUIRE(documents.size() == 1);
  CHECK(documents[0].where.line == 2);
  CHECK(documents[0].message.starts_with("a second YAML document ('---') in one registration"));

  auto control = errors_of(scratch, "steps: []\n# bell \x07 here\n");
  REQUIRE(control.size() == 1);
  CHECK(control[0].where.line == 2);
  CHECK(control[0].where.column == 8);
  CHECK(control[0].message == "YAML syntax error: control characters are not allowed");
}

}  // namespace stepline::registration
