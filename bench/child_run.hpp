// Running one side of a comparison in a child process, so that its peak RSS and CPU time are its
// own: the child prints one line "result SECONDS DONE PEAK_RSS_KIB CPU_SECONDS [EXTRA...]" last.
// The usual baseline is bench_amqp's plain Proton C++ sender (`bench_amqp --mode baseline`,
// the simple_send pattern: send while there is credit, count the broker's accepts).
#pragma once

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace stepline::bench {

struct ChildResult {
  double seconds = 0;
  long done = 0;  ///< messages accepted, jobs succeeded…
  long rss_kib = 0;
  double cpu = 0;
  std::vector<double> extra;  ///< what the child printed after the four common fields
};

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
