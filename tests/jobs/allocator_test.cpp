// tune_allocator(): freed memory stays in malloc's arenas up to 1 MiB instead of going back to
// the kernel at once (stepline/host/process.hpp).
#include <doctest/doctest.h>

#include <malloc.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <thread>
#include <vector>

#include <stepline/host/process.hpp>

namespace {

// Under a sanitizer, malloc is the sanitizer's own and glibc's settings mean nothing.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr bool sanitized = true;
#else
constexpr bool sanitized = false;
#endif

enum class Setup { untouched, tuned, tuned_with_environment };

// Runs `probe` in a child process (malloc settings are process-wide) after `setup`; returns the
// byte it exits with.
int in_child(Setup setup, int (*probe)()) {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (setup == Setup::tuned_with_environment)
      ::setenv("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=131072", 1);
    if (setup != Setup::untouched) stepline::host::tune_allocator();
    ::_exit(probe());
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

// A new thread, and so a new arena, allocates 900 KiB in 1 KiB blocks and frees them; how much
// memory the arenas then hold from the system, in KiB.
std::size_t kept_kib(Setup setup) {
  return static_cast<std::size_t>(in_child(
             setup,
             [] {
               std::thread([] {
                 std::vector<void*> blocks(900);
                 for (auto& b : blocks) b = std::malloc(1024);
                 for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) std::free(*it);
               }).join();
               return static_cast<int>(std::min<std::size_t>(mallinfo2().arena / 1024 / 8, 255));
             })) *
         8;
}

// Whether a 300 KiB block is mapped on its own (1) or comes from an arena (0).
int mapped_alone(Setup setup) {
  return in_child(setup, [] {
    void* block = std::malloc(300 << 10);
    const int mapped = mallinfo2().hblks > 0 ? 1 : 0;
    std::free(block);
    return mapped;
  });
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
  // The environment variable only takes effect at start; the child inherits the parent's
  // defaults, so the default behaviour shows that tune_allocator did not override it.
  CHECK(kept_kib(Setup::tuned_with_environment) < 600);
}
