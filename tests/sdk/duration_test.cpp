// Durations as the registration, the commands and stepline-broker read them.
#include <doctest/doctest.h>

#include <stepline/duration.hpp>

namespace stepline {

using namespace std::chrono_literals;

TEST_CASE("durations are numbers with ms, s, m, h or d, and may be summed") {
  CHECK(parse_duration("500ms") == 500ms);
  CHECK(parse_duration("30s") == 30s);
  CHECK(parse_duration("10m") == 10min);
  CHECK(parse_duration("1h") == 1h);
  CHECK(parse_duration("7d") == 7 * 24h);
  CHECK(parse_duration("1h30m") == 90min);
  CHECK(parse_duration("1h 30m") == 90min);
  CHECK(parse_duration(" 2 m ") == 2min);
  CHECK(parse_duration("1.5h") == 90min);
  CHECK(parse_duration("0.25s") == 250ms);
  CHECK(parse_duration("0ms") == 0ms);
  for (auto bad : {"", "  ", "30", "s", "-1s", "10 minutes", "5 weeks", "5sec", "1h30", "1.s",
                   ".5s", "1e3s", "soon"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_duration(bad));
  }
}

TEST_CASE("durations may be written in ISO 8601, as Azure writes entity settings") {
  CHECK(parse_duration("PT1M") == 1min);
  CHECK(parse_duration("P1DT2H") == 26h);
  CHECK(parse_duration("PT1M30.5S") == 90500ms);
  CHECK(parse_duration("P1D") == 24h);
  CHECK(parse_duration("PT0S") == 0ms);
  for (auto bad : {"P", "PT", "PT1.5M", "P1H", "P1DT", "PT1S1M", "P-1D"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_duration(bad));
  }
}

TEST_CASE("a duration too long to count in milliseconds is refused, not wrapped") {
  CHECK(parse_duration("106751991167d") == 106751991167 * 24h);
  CHECK_FALSE(parse_duration("106751991168d"));
  CHECK(parse_duration("9223372036854775807ms") == 9223372036854775807ms);
  CHECK_FALSE(parse_duration("9223372036854775807ms 1ms"));
  CHECK_FALSE(parse_duration("99999999999999999999s"));
}

TEST_CASE("formatted durations read back to the same value") {
  CHECK(format_duration(0ms) == "0ms");
  CHECK(format_duration(1500ms) == "1s500ms");
  CHECK(format_duration(90min) == "1h30m");
  CHECK(format_duration(15min) == "15m");
  for (std::chrono::milliseconds d : {1ms, 999ms, 61000ms, 3601000ms, 90000000ms})
    CHECK(parse_duration(format_duration(d)) == d);
}

}  // namespace stepline
