#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include <proton/codec/decoder.hpp>
#include <proton/codec/map.hpp>
#include <proton/timestamp.hpp>
#include <proton/uuid.hpp>
#include <proton/value.hpp>

#include <stepline/format/binary.hpp>

#include "sample_contexts.hpp"

using namespace stepline;
namespace binary = stepline::format::binary;
using stepline::format::FormatError;
using AmqpMap = std::map<std::string, proton::value>;

namespace {

std::string run(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe);
  char buf[4096];
  while (std::size_t n = fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  pclose(pipe);
  return out;
}

}  // namespace

TEST_CASE("binary: every value kind reads back as the same value") {
  // References, not a structured binding: CAPTURE's lambda captures the name.
  for (const auto& entry : samples::every_value_kind()) {
    const std::string& name = entry.first;
    const Value& value = entry.second;
    CAPTURE(name);
    ExecutionContext c = samples::holding({{name, value}});
    CHECK(binary::read_context(binary::write_context(c)) == c);
  }
}

TEST_CASE("binary: a full context reads back equal, from bytes and from the AMQP value") {
  ExecutionContext c = samples::full_context();
  CHECK(binary::read_context(binary::write_context(c)) == c);
  CHECK(binary::from_amqp_value(binary::to_amqp_value(c)) == c);
}

TEST_CASE("binary: the body is an AMQP map with native uuid, timestamp, int and long values") {
  ExecutionContext c = samples::full_context();
  proton::value body = binary::to_amqp_value(c);
  REQUIRE(body.type() == proton::MAP);
  auto top = proton::get<AmqpMap>(body);
  CHECK(top.at("primaryEntityId").type() == proton::UUID);
  CHECK(proton::get<proton::uuid>(top.at("primaryEntityId")).str() == c.primary_entity_id.str());
  CHECK(proton::get<proton::timestamp>(top.at("operationCreatedOn")).milliseconds() ==
        1722582040000);
  CHECK(proton::get<std::int32_t>(top.at("stage")) == 40);
  CHECK(top.at("requestId").type() == proton::UUID);
  CHECK(top.at("parentContext").type() == proton::MAP);
  auto target = proton::get<AmqpMap>(proton::get<AmqpMap>(top.at("inputParameters")).at("Target"));
  CHECK(proton::get<std::string>(target.at("@type")) == "entity");
  auto attributes = proton::get<AmqpMap>(target.at("attributes"));
  CHECK(attributes.at("bigint").type() == proton::LONG);
  CHECK(attributes.at("datetime").type() == proton::TIMESTAMP);
  CHECK(attributes.at("guid").type() == proton::UUID);
  CHECK(attributes.at("null").type() == proton::NULL_TYPE);
  auto money = proton::get<AmqpMap>(attributes.at("money"));
  CHECK(proton::get<std::string>(money.at("@type")) == "money");
  CHECK(proton::get<std::string>(money.at("value")) == "250000.0000");
  auto parent = proton::get<AmqpMap>(top.at("parentContext"));
  CHECK(parent.at("requestId").type() == proton::NULL_TYPE);
  CHECK(parent.at("parentContext").type() == proton::NULL_TYPE);
}

// CTest runs this suite as its own test, format_python_proton_tests, which needs the module.
TEST_CASE("binary: another AMQP client (Python Proton) decodes the body into a plain map" *
          doctest::test_suite("python-proton")) {
  REQUIRE_MESSAGE(std::system("/usr/bin/python3 -c 'import proton' 2>/dev/null") == 0,
                  "/usr/bin/python3 has no proton module: ./dev setup --tests installs "
                  "python3-qpid-proton");
  std::filesystem::path dir = std::filesystem::path(STEPLINE_BINARY_DIR) / "tests" / "format";
  std::filesystem::create_directories(dir);
  std::filesystem::path file = dir / "full-context.amqp";
  {
    std::ofstream out(file, std::ios::binary);
    out << binary::write_context(samples::full_context());
  }
  const char* script =
      "import sys, proton\n"
      "d = proton.Data(); d.decode(open(sys.argv[1], 'rb').read()); d.rewind(); d.next()\n"
      "m = d.get_object()\n"
      "t = m['inputParameters']['Target']['attributes']\n"
      "print(m['messageName'], type(m['stage']).__name__, int(m['stage']), "
      "type(m['primaryEntityId']).__name__,\n"
      "      m['primaryEntityId'], type(m['operationCreatedOn']).__name__, "
      "int(m['operationCreatedOn']),\n"
      "      type(t['bigint']).__name__, t['bigint'], t['money']['value'],\n"
      "      [int(x) for x in t['multioptionset']['value']], int(m['parentContext']['stage']), "
      "m['requestId'])\n";
  std::string output = run("/usr/bin/python3 -c \"$(cat <<'PY'\n" + std::string(script) +
                           "PY\n)\" " + file.string());
  CHECK(output ==
        "Update int32 40 UUID 55555555-0000-0000-0000-0000000000ac timestamp 1722582040000 int "
        "9007199254740993 "
        "250000.0000 [1, 2, 100000000] 30 99999999-0000-0000-0000-0000000000d2\n");
}

TEST_CASE("binary: malformed bodies are reported with the path of the entry") {
  CHECK_THROWS_AS(binary::read_context(std::string("\x00\x53", 2)), FormatError);
  proton::value not_a_map = std::string("hello");
  CHECK_THROWS_WITH_AS(binary::from_amqp_value(not_a_map),
                       doctest::Contains("expected a map, found a string"), FormatError);
  AmqpMap bad_stage{{"stage", proton::value(std::int32_t{45})}};
  CHECK_THROWS_WITH_AS(binary::from_amqp_value(proton::value(bad_stage)),
                       doctest::Contains("stage: 45 is not a stage"), FormatError);
  AmqpMap bad_money{{"@type", proton::value(std::string("money"))},
                    {"value", proton::value(std::string("12,50"))}};
  AmqpMap shared{{"price", proton::value(bad_money)}};
  AmqpMap context{{"sharedVariables", proton::value(shared)}};
  CHECK_THROWS_WITH_AS(binary::from_amqp_value(proton::value(context)),
                       doctest::Contains("sharedVariables.price.value: \"12,50\" is not a decimal"),
                       FormatError);
  AmqpMap wrong_id{
      {"primaryEntityId", proton::value(std::string("55555555-0000-0000-0000-0000000000ac"))}};
  CHECK_THROWS_WITH_AS(binary::from_amqp_value(proton::value(wrong_id)),
                       doctest::Contains("primaryEntityId: expected a uuid, found a string"),
                       FormatError);
}
