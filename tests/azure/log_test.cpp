// The process log formats a line only when its level is on: below it no argument's formatter runs
// and no lazy argument is computed, so debug lines cost a level check when debug is off.
#include <doctest/doctest.h>

#include <stdio.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include <stepline/azure/log.hpp>

namespace {

// Counts how often fmt formats it.
struct Counted {
  int* formatted;
};

// Puts the level back for the tests after these: it is the process's.
struct LevelRestored {
  ~LevelRestored() { stepline::azure::log::configure("info"); }
};

}  // namespace

template <>
struct fmt::formatter<Counted> {
  constexpr auto parse(fmt::format_parse_context& ctx) { return ctx.begin(); }
  template <class FormatContext>
  auto format(const Counted& c, FormatContext& ctx) const {
    ++*c.formatted;
    return fmt::format_to(ctx.out(), "counted");
  }
};

namespace stepline::azure::log {

TEST_CASE("a line below the level is not formatted: its arguments' formatters do not run") {
  LevelRestored restored;
  int formatted = 0;
  configure("info");
  CHECK_FALSE(enabled(Level::debug));
  debug("job {} done", Counted{&formatted});
  trace("job {} done", Counted{&formatted});
  CHECK(formatted == 0);
  info("job {} done", Counted{&formatted});
  CHECK(formatted == 1);

  configure("debug");
  debug("job {} done", Counted{&formatted});
  CHECK(formatted == 2);
  trace("job {} done", Counted{&formatted});
  CHECK(formatted == 2);

  configure("off");
  error("job {} failed", Counted{&formatted});
  CHECK(formatted == 2);
}

TEST_CASE("a lazy argument is computed only for a line that is written") {
  LevelRestored restored;
  int made = 0;
  auto id = [&made] {
    ++made;
    return std::string("4f2a");
  };
  configure("info");
  debug("system job {} succeeded", lazy(id));
  CHECK(made == 0);
  configure("debug");
  debug("system job {} succeeded", lazy(id));
  CHECK(made == 1);
  // It formats as what it returns, with that type's format spec.
  CHECK(fmt::format("[{:>6}]", lazy(id)) == "[  4f2a]");
  CHECK(fmt::format("{:04}", lazy([] { return 7; })) == "0007");
}

TEST_CASE("a level or format that is not one of the names is refused, naming it") {
  LevelRestored restored;
  CHECK_THROWS_WITH_AS(configure("verbose"),
                       "log level 'verbose' is not one of trace, debug, info, warn, error, off",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(configure("info", "xml"), "log format 'xml' is not one of text, json",
                       std::invalid_argument);
}

TEST_CASE("a text line shows a message's control characters escaped: no forged line, no escape") {
  LevelRestored restored;
  configure("info", "text");
  char path[] = "/tmp/stepline-log-test-XXXXXX";
  const int file = mkstemp(path);
  REQUIRE(file >= 0);
  std::fflush(stderr);
  const int saved = dup(2);
  dup2(file, 2);
  info("from a peer: {}", std::string("a\nforged line\x1b[2J\r\tend"));
  std::fflush(stderr);
  dup2(saved, 2);
  close(saved);
  close(file);
  std::ifstream in(path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::remove(path);
  CAPTURE(text);
  CHECK(text.find("from a peer: a\\u000aforged line\\u001b[2J\\u000d\\u0009end\n") !=
        std::string::npos);
  CHECK(text.find('\x1b') == std::string::npos);
  CHECK(text.find('\n') == text.size() - 1);  // one line
}

}  // namespace stepline::azure::log
