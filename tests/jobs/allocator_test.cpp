// tune_allocator(): freed memory stays in malloc's arenas up to 1 MiB instead of going back to
// the kernel at once (stepline/host/process/allocator.hpp). Each measurement runs in a freshly
// started allocator_probe: malloc's settings and state are process-wide, and a child forked from
// this program would start from whatever the tests before it left in malloc.
#include <doctest/doctest.h>

#include <map>
#include <string>

#include "testkit/process.hpp"

namespace {

// Under a sanitizer, malloc is the sanitizer's own and glibc's settings mean nothing.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr bool sanitized = true;
#else
constexpr bool sanitized = false;
#endif

enum class Setup { untouched, tuned, tuned_with_environment };

// Runs the probe's `measure` after `setup`; returns the byte it exits with.
int probe(Setup setup, const std::string& measure) {
  // The environment reaches the probe at its start, where glibc reads it; the other setups clear
  // a GLIBC_TUNABLES this program may have been given.
  const std::map<std::string, std::string> environment{
      {"GLIBC_TUNABLES",
       setup == Setup::tuned_with_environment ? "glibc.malloc.trim_threshold=131072" : ""}};
  const int status = stepline::test::run(
      {ALLOCATOR_PROBE, setup == Setup::untouched ? "untouched" : "tuned", measure}, environment);
  REQUIRE_MESSAGE(status >= 0, "allocator_probe did not exit normally");
  REQUIRE_MESSAGE(status != 255, "allocator_probe refused its command line");
  return status;
}

// How much memory the arenas hold from the system after a new thread's arena allocated 900 KiB
// in 1 KiB blocks and freed them, in KiB.
std::size_t kept_kib(Setup setup) {
  return static_cast<std::size_t>(probe(setup, "kept")) * 8;
}

// Whether a 300 KiB block is mapped on its own (1) or comes from an arena (0).
int mapped_alone(Setup setup) {
  return probe(setup, "mapped");
}

}  // namespace

TEST_CASE("tune_allocator keeps freed memory for the next allocations" * doctest::skip(sanitized)) {
  std::size_t untouched = kept_kib(Setup::untouched), tuned = kept_kib(Setup::tuned);
  CAPTURE(untouched);
  CAPTURE(tuned);
  CHECK(untouched < 600);           // glibc's default gives back all but its 128 KiB pad
  CHECK(tuned >= untouched + 700);  // the 900 KiB freed stay
}

TEST_CASE("tune_allocator takes blocks up to 512 KiB from the arenas" * doctest::skip(sanitized)) {
  CHECK(mapped_alone(Setup::untouched) == 1);  // glibc starts mapping at 128 KiB
  CHECK(mapped_alone(Setup::tuned) == 0);
}

TEST_CASE("tune_allocator leaves a trim threshold set in the environment alone" *
          doctest::skip(sanitized)) {
  // glibc took the 128 KiB threshold from GLIBC_TUNABLES at the probe's start; tune_allocator
  // must not raise it to 1 MiB.
  CHECK(kept_kib(Setup::tuned_with_environment) < 600);
}
