// Process and thread figures from /proc/self (stepline/prometheus/process.hpp).
#include <stepline/prometheus/process.hpp>

#include <sys/resource.h>
#include <sys/types.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <string_view>
#include <system_error>
#include <vector>

namespace stepline::prometheus {
namespace {

std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// A /proc stat line: the name between the first '(' and the last ')' (a name may hold both),
/// then the fields, read as numbers (the state letter reads as 0).
struct Stat {
  std::string name;
  std::vector<unsigned long long> fields;  // from field 3 of proc(5) on, counting the pid as 1

  static std::optional<Stat> read(const std::filesystem::path& file) {
    const std::string text = read_file(file);
    const auto open = text.find('('), close = text.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close < open) return {};
    Stat s;
    s.name = text.substr(open + 1, close - open - 1);
    std::string_view rest(text);
    rest.remove_prefix(close + 1);
    while (!rest.empty()) {
      const auto start = rest.find_first_not_of(" \n");
      if (start == std::string_view::npos) break;
      rest.remove_prefix(start);
      const auto end = std::min(rest.find_first_of(" \n"), rest.size());
      unsigned long long value = 0;
      std::from_chars(rest.data(), rest.data() + end, value);
      s.fields.push_back(value);
      rest.remove_prefix(end);
    }
    return s;
  }

  /// Field `n` of proc(5) (3 and up); 0 when absent.
  unsigned long long number(std::size_t n) const {
    return n >= 3 && n - 3 < fields.size() ? fields[n - 3] : 0;
  }
};

// proc(5): utime 14, stime 15 (clock ticks), num_threads 20, starttime 22 (ticks after boot),
// vsize 23 (bytes), rss 24 (pages).
constexpr std::size_t utime = 14, stime = 15, num_threads = 20, starttime = 22, vsize = 23,
                      rss = 24;

double ticks_per_second() {
  static const double ticks = [] {
    const long t = sysconf(_SC_CLK_TCK);
    return t > 0 ? static_cast<double>(t) : 100.0;
  }();
  return ticks;
}

/// When the process started, in seconds since the epoch; 0 when it cannot be read.
double start_time() {
  const auto self = Stat::read("/proc/self/stat");
  if (!self) return 0;
  const std::string stat = read_file("/proc/stat");
  const auto at = stat.find("\nbtime ");
  if (at == std::string::npos) return 0;
  unsigned long long boot = 0;
  const char* first = stat.data() + at + 7;
  std::from_chars(first, stat.data() + stat.size(), boot);
  return static_cast<double>(boot) +
         static_cast<double>(self->number(starttime)) / ticks_per_second();
}

double open_fds() {
  std::error_code error;
  double count = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", error), end; !error && it != end;
       it.increment(error))
    ++count;
  // The iterator's own descriptor is among them.
  return count > 0 ? count - 1 : 0;
}

}  // namespace

void add_process_metrics(Registry& registry) {
  auto& cpu = registry.counter("process_cpu_seconds_total",
                               "Total user and system CPU time spent in seconds.");
  auto& resident =
      registry.gauge("process_resident_memory_bytes", "Resident memory size in bytes.");
  auto& virtual_memory =
      registry.gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.");
  auto& fds = registry.gauge("process_open_fds", "Number of open file descriptors.");
  auto& max_fds = registry.gauge("process_max_fds", "Maximum number of open file descriptors.");
  auto& started = registry.gauge("process_start_time_seconds",
                                 "Start time of the process since unix epoch in seconds.");
  auto& threads = registry.gauge("process_threads", "Number of OS threads in the process.");
  started.get().set(start_time());
  registry.on_scrape([&cpu, &resident, &virtual_memory, &fds, &max_fds, &threads] {
    rusage usage{};
    if (getrusage(RUSAGE_SELF, &usage) == 0) {
      auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
      cpu.get().advance_to(seconds(usage.ru_utime) + seconds(usage.ru_stime));
    }
    if (const auto self = Stat::read("/proc/self/stat")) {
      resident.get().set(static_cast<double>(self->number(rss)) *
                         static_cast<double>(sysconf(_SC_PAGESIZE)));
      virtual_memory.get().set(static_cast<double>(self->number(vsize)));
      threads.get().set(static_cast<double>(self->number(num_threads)));
    }
    fds.get().set(open_fds());
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0)
      max_fds.get().set(limit.rlim_cur == RLIM_INFINITY ? 0 : static_cast<double>(limit.rlim_cur));
  });
}

void add_thread_cpu_metrics(Registry& registry, const std::string& name, const std::string& help,
                            std::size_t series_limit) {
  auto& family = registry.counter(name, help, {"thread"}, series_limit);
  // Each live thread's CPU time at the last scrape, by thread id: a scrape adds what each has
  // spent since. A thread id seen again with less time is a new thread that reused the id.
  auto last = std::make_shared<std::map<pid_t, double>>();
  registry.on_scrape([&family, last] {
    std::map<pid_t, double> now;
    std::error_code error;
    for (std::filesystem::directory_iterator it("/proc/self/task", error), end; !error && it != end;
         it.increment(error)) {
      const auto file = it->path().filename().string();
      pid_t tid = 0;
      if (std::from_chars(file.data(), file.data() + file.size(), tid).ec != std::errc()) continue;
      const auto stat = Stat::read(it->path() / "stat");
      if (!stat) continue;  // it ended meanwhile
      const double spent =
          static_cast<double>(stat->number(utime) + stat->number(stime)) / ticks_per_second();
      const auto before = last->find(tid);
      const double since =
          before != last->end() && spent >= before->second ? spent - before->second : spent;
      family.labels({stat->name}).inc(since);
      now.emplace(tid, spent);
    }
    last->swap(now);
  });
}

}  // namespace stepline::prometheus
