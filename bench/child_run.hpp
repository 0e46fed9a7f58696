// Running one side of a comparison in a child process, so that its peak RSS and CPU time are its
// own: the child prints one line "result SECONDS DONE PEAK_RSS_KIB CPU_SECONDS [EXTRA...]" last.
// The usual baseline is bench_amqp's plain Proton C++ sender (`bench_amqp --mode baseline`,
// the simple_send pattern: send while there is credit, count the broker's accepts).
#pragma once

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "testkit/process.hpp"

namespace stepline::bench {

struct ChildResult {
  double seconds = 0;
  long done = 0;  ///< messages accepted, jobs succeeded…
  long rss_kib = 0;
  double cpu = 0;
  std::vector<double> extra;  ///< what the child printed after the four common fields
};

/// The child's own peak resident memory: VmHWM, because getrusage's ru_maxrss is carried over
/// exec from the driver and could report the driver's peak.
inline long child_peak_rss_kib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

/// User plus system CPU time of this process so far.
inline double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

/// Prints the line run_child() reads, last: the time, what got done, this process's peak RSS and
/// CPU time (less `cpu_before`, spent on set-up), then `extra`.
inline void print_result(double seconds, long done, const std::vector<double>& extra = {},
                         double cpu_before = 0) {
  std::printf("result %.6f %ld %ld %.6f", seconds, done, child_peak_rss_kib(),
              cpu_seconds() - cpu_before);
  for (double x : extra) std::printf(" %.6f", x);
  std::printf("\n");
  std::fflush(stdout);
}

/// Runs `argv` to completion with its output in `dir`/`name`.out and reads its result line;
/// throws std::runtime_error with the output's tail when it failed or printed no result.
inline ChildResult run_child(const std::vector<std::string>& argv, const std::string& name,
                             const std::filesystem::path& dir) {
  auto log = dir / (name + ".out");
  int status = test::run(argv, {}, log);
  std::string out = test::tail(log, 100000);
  auto at = out.rfind("result ");
  ChildResult r;
  bool read = false;
  if (at != std::string::npos) {
    std::istringstream line(out.substr(at + 7, out.find('\n', at) - at - 7));
    read = static_cast<bool>(line >> r.seconds >> r.done >> r.rss_kib >> r.cpu);
    for (double x; line >> x;) r.extra.push_back(x);
  }
  if (status != 0 || !read)
    throw std::runtime_error(name + " run failed (exit " + std::to_string(status) + "):\n" +
                             test::tail(log));
  return r;
}

/// The middle value (the mean of the middle two for an even count): what a benchmark that ran
/// several rounds on a shared machine reports.
inline double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  std::size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

/// One side of a comparison: its label in the report and how to run it once.
struct Side {
  std::string label;
  std::function<ChildResult()> run;
};

/// Runs the baseline and the measured side in turns for `rounds` rounds, the first side
/// alternating so neither always runs on a machine the other just warmed; prints each round's
/// rows and ratio, then the median ratio measured/baseline and the median CPU per item. Returns
/// the median ratio.
inline double compare_in_rounds(int rounds, long items, const Side& baseline,
                                const Side& measured) {
  const int width = static_cast<int>(std::max(baseline.label.size(), measured.label.size()));
  auto row = [&](const std::string& label, const ChildResult& r) {
    std::printf("  %-*s %9.0f msg/s  %7.2f s  CPU %5.2f s (%5.1f us/msg)  peak RSS %6.1f MiB\n",
                width, label.c_str(), r.done / r.seconds, r.seconds, r.cpu, r.cpu * 1e6 / items,
                r.rss_kib / 1024.0);
  };
  std::vector<double> ratios, base_cpu, measured_cpu;
  for (int round = 1; round <= rounds; ++round) {
    ChildResult base, other;
    if (round % 2) {
      base = baseline.run();
      other = measured.run();
    } else {
      other = measured.run();
      base = baseline.run();
    }
    std::printf(" round %d\n", round);
    row(baseline.label, base);
    row(measured.label, other);
    ratios.push_back((other.done / other.seconds) / (base.done / base.seconds));
    base_cpu.push_back(base.cpu * 1e6 / items);
    measured_cpu.push_back(other.cpu * 1e6 / items);
    std::printf("  ratio: %.2f\n", ratios.back());
    std::fflush(stdout);
  }
  double ratio = median(ratios);
  std::printf("median ratio %s / %s: %.2f (CPU per message %.1f us vs %.1f us)\n",
              measured.label.c_str(), baseline.label.c_str(), ratio, median(measured_cpu),
              median(base_cpu));
  return ratio;
}

/// The command line of bench_amqp's baseline sender (found next to `self`), logging in with SASL
/// PLAIN and sending `messages` bodies of `size` bytes to `entity`.
inline std::vector<std::string> baseline_sender(const std::filesystem::path& self,
                                                const std::string& connection_string,
                                                const std::string& entity, long messages,
                                                std::size_t size) {
  return {(self.parent_path() / "bench_amqp").string(),
          "--mode",
          "baseline",
          "--connection-string",
          connection_string,
          "--auth",
          "plain",
          "--entity",
          entity,
          "--messages",
          std::to_string(messages),
          "--size",
          std::to_string(size)};
}

}  // namespace stepline::bench
