// The process's own metrics (CPU, memory, descriptors, start time, threads) and the CPU time of
// its threads by name, read from /proc/self at each scrape, checked against what this test does.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <optional>
#include <string>
#include <thread>

#include <stepline/prometheus/process.hpp>
#include <stepline/prometheus/registry.hpp>

#include "testkit/promtool.hpp"

using namespace stepline::prometheus;
using stepline::test::promtool_check;

namespace {

/// The value of the series written exactly as `series` (name and labels), if there is one.
std::optional<double> value_of(const std::string& text, const std::string& series) {
  const auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return std::nullopt;
  return std::stod(text.substr(at + series.size() + 2));
}

double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

/// Keeps the calling thread on the CPU until it has spent `seconds` more.
void burn(double seconds) {
  const double until = thread_cpu_seconds() + seconds;
  volatile unsigned long sink = 0;
  while (thread_cpu_seconds() < until)
    for (int i = 0; i < 10000; ++i) sink = sink + static_cast<unsigned long>(i);
}

/// A thread named `name` that burns `seconds` of CPU, then waits until told to end.
class Burner {
 public:
  Burner(const char* name, double seconds)
      : thread_([this, name, seconds] {
          pthread_setname_np(pthread_self(), name);
          burn(seconds);
          burned_ = true;
          while (!end_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }) {
    while (!burned_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~Burner() { end(); }
  void end() {
    end_ = true;
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::atomic<bool> burned_{false}, end_{false};
  std::thread thread_;
};

}  // namespace

TEST_CASE("the process metrics say what this process spent, holds and has open") {
  Registry registry;
  add_process_metrics(registry);
  burn(0.2);
  const auto text = registry.text();

  const auto cpu = value_of(text, "process_cpu_seconds_total");
  REQUIRE(cpu);
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const double total = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                       static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  CHECK(*cpu >= 0.15);
  CHECK(*cpu <= total);

  const auto resident = value_of(text, "process_resident_memory_bytes");
  const auto virtual_memory = value_of(text, "process_virtual_memory_bytes");
  REQUIRE(resident);
  REQUIRE(virtual_memory);
  CHECK(*resident > 1 << 20);
  CHECK(*virtual_memory > *resident);

  rlimit limit{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &limit) == 0);
  CHECK(value_of(text, "process_max_fds") == static_cast<double>(limit.rlim_cur));

  // The start is after the machine's and not after now; this test process began at most the
  // test's timeout ago.
  const auto started = value_of(text, "process_start_time_seconds");
  REQUIRE(started);
  const double now = static_cast<double>(std::time(nullptr));
  CHECK(*started <= now + 1);
  CHECK(*started >= now - 600);

  SUBCASE("one more open file is one more descriptor") {
    const auto before = value_of(registry.text(), "process_open_fds");
    REQUIRE(before);
    CHECK(*before >= 3);
    const int fd = open("/proc/self/stat", O_RDONLY);
    REQUIRE(fd >= 0);
    const auto after = value_of(registry.text(), "process_open_fds");
    close(fd);
    CHECK(after == *before + 1);
    CHECK(value_of(registry.text(), "process_open_fds") == *before);
  }

  SUBCASE("a thread started is a thread more") {
    const auto before = value_of(registry.text(), "process_threads");
    REQUIRE(before);
    CHECK(*before >= 1);
    Burner waiting("waiting", 0);
    CHECK(value_of(registry.text(), "process_threads") == *before + 1);
  }

  auto check = promtool_check(text);
  CHECK_MESSAGE(check.status == 0, check.output);
}

TEST_CASE("thread CPU is counted by thread name and stays counted after a thread ends") {
  Registry registry;
  add_thread_cpu_metrics(registry, "test_thread_cpu_seconds_total", "CPU time by thread.");
  const std::string series = R"(test_thread_cpu_seconds_total{thread="burner"})";

  Burner first("burner", 0.3);
  const auto burned = value_of(registry.text(), series);
  REQUIRE(burned);
  CHECK(*burned >= 0.25);
  CHECK(*burned <= 0.6);

  // Ended: what it spent up to the last scrape is kept, not dropped with the thread.
  first.end();
  const auto after_end = value_of(registry.text(), series);
  REQUIRE(after_end);
  CHECK(*after_end >= *burned);

  // Another thread of the same name adds to the same series.
  Burner second("burner", 0.2);
  const auto both = value_of(registry.text(), series);
  REQUIRE(both);
  CHECK(*both >= *after_end + 0.15);
  CHECK(*both <= *after_end + 0.5);

  // A scrape counts only what was spent since the last one.
  const auto again = value_of(registry.text(), series);
  REQUIRE(again);
  CHECK(*again - *both < 0.05);

  // Any name a thread may give itself is a valid label value.
  Burner odd("odd\"name\\\n", 0.02);
  const auto text = registry.text();
  CHECK(text.find(R"(test_thread_cpu_seconds_total{thread="odd\"name\\\n"})") != std::string::npos);
  auto check = promtool_check(text);
  CHECK_MESSAGE(check.status == 0, check.output);
}
