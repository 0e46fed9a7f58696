// stepline-broker's command line: what a script starting it sees for each mistake.
#include <doctest/doctest.h>

#include <string>

#include "testkit/process.hpp"

namespace {

stepline::test::Captured broker(std::vector<std::string> args) {
  args.insert(args.begin(), STEPLINE_BROKER_EXE);
  return stepline::test::capture(args);
}

}  // namespace

TEST_CASE("stepline-broker names a wrong option, prints its usage and exits 2") {
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  for (const auto& c :
       {Case{{}, "--config FILE is required"}, Case{{"--bogus"}, "unknown option --bogus"},
        Case{{"-c"}, "-c needs a value"},
        Case{{"-c", "broker.yaml", "--listen"}, "--listen needs a value"},
        Case{{"-c", "broker.yaml", "extra"}, "unexpected argument extra"}}) {
    CAPTURE(c.says);
    auto r = broker(c.args);
    CHECK(r.status == 2);
    CHECK(r.output.find("stepline-broker: " + c.says) != std::string::npos);
    CHECK(r.output.find("usage: stepline-broker -c FILE") != std::string::npos);
  }
}

TEST_CASE("stepline-broker --help prints the options and exits 0") {
  auto r = broker({"--help"});
  CHECK(r.status == 0);
  for (const char* option : {"--config FILE", "--listen HOST:PORT", "--log-level LEVEL"}) {
    CHECK(r.output.find(option) != std::string::npos);
  }
}

TEST_CASE("stepline-broker reports a configuration file it cannot read with exit 2") {
  auto r = broker({"--config=/nonexistent/broker.yaml", "--log-level", "warn"});
  CHECK(r.status == 2);
  CHECK(r.output.find("/nonexistent/broker.yaml:1:1: cannot read the file") != std::string::npos);
}

TEST_CASE("stepline-broker rejects an unknown log level with exit 2") {
  auto r = broker({"-c", "/nonexistent/broker.yaml", "--log-level", "loud"});
  CHECK(r.status == 2);
  CHECK(r.output.find("--log-level:") != std::string::npos);
}
