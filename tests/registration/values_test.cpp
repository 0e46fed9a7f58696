// Durations and name-based ids, the small syntaxes inside registrations.
#include <doctest/doctest.h>

#include <stepline/registration/values.hpp>

namespace stepline::registration {

using namespace std::chrono_literals;

TEST_CASE("durations are numbers with ms, s, m or h, and may be summed") {
  CHECK(parse_duration("500ms") == 500ms);
  CHECK(parse_duration("30s") == 30s);
  CHECK(parse_duration("10m") == 10min);
  CHECK(parse_duration("1h") == 1h);
  CHECK(parse_duration("1h30m") == 90min);
  CHECK(parse_duration(" 2s ") == 2s);
  CHECK(parse_duration("0ms") == 0ms);
  for (auto bad : {"", "30", "s", "1.5s", "-1s", "10 minutes", "1d", "5sec", "1h30"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_duration(bad));
  }
}

TEST_CASE("formatted durations read back to the same value") {
  CHECK(format_duration(0ms) == "0ms");
  CHECK(format_duration(1500ms) == "1s500ms");
  CHECK(format_duration(90min) == "1h30m");
  CHECK(format_duration(15min) == "15m");
  for (std::chrono::milliseconds d : {1ms, 999ms, 61000ms, 3601000ms, 90000000ms})
    CHECK(parse_duration(format_duration(d)) == d);
}

TEST_CASE("name-based ids depend only on the name") {
  CHECK(name_based_id("a") == name_based_id("a"));
  CHECK(name_based_id("a") != name_based_id("b"));
  CHECK(step_id_from_name("a") != name_based_id("a"));
  CHECK(step_id_from_name("tier").str()[19] >= '8');  // RFC 9562 variant bits 10xx
}

}  // namespace stepline::registration
