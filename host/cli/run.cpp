// `stepline run -c FILE --requests FILE.jsonl [--fail-on-error] [--drain] [--parallel N]`: runs
// many requests, one JSON object per line (in order; with N > 1, up to N in flight sharing
// commits on SQLite, N at a time on PostgreSQL), shows progress on a
// terminal, reports every request that did not succeed with its line number and the reason, then
// a summary with the rate. With --drain the async jobs
// they queue run in this process too, and it waits for them (docs/JOBS.md). Exit 0 when every
// line was run (rejections included), 1 with --fail-on-error when any operation was rejected or
// failed (or, with --drain, any of its jobs), 2 when a line could not be read as a request or
// the registration is unusable.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include <stepline/host/configured_host.hpp>
#include <stepline/host/intake/request.hpp>
#include <stepline/text.hpp>

#include "command.hpp"
#include "drain.hpp"
#include "terminal.hpp"

namespace stepline::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct RunOptions {
  std::string config;
  std::string requests;
  bool fail_on_error = false;
  bool drain = false;
  int parallel = 1;
};

struct Tally {
  std::size_t succeeded = 0, rejected = 0, failed = 0, invalid = 0;
  std::size_t done() const { return succeeded + rejected + failed + invalid; }
  void add(host::pipeline::Outcome outcome) {
    ++(outcome == host::pipeline::Outcome::succeeded  ? succeeded
       : outcome == host::pipeline::Outcome::rejected ? rejected
       : outcome == host::pipeline::Outcome::failed   ? failed
                                                      : invalid);
  }
};

/// A one-line bar on stderr, redrawn at most ten times a second.
class ProgressBar {
 public:
  ProgressBar(std::size_t total, bool enabled) : total_(total), enabled_(enabled) {}
  void update(std::size_t done, double rate, bool force = false) {
    if (!enabled_) return;
    auto now = Clock::now();
    if (!force && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    constexpr int width = 30;
    int filled = total_ ? static_cast<int>(width * done / total_) : width;
    std::fprintf(stderr, "\r[%s%s] %zu/%zu  %.0f ops/s", std::string(filled, '#').c_str(),
                 std::string(width - filled, ' ').c_str(), done, total_, rate);
    std::fflush(stderr);
    drawn_ = true;
  }
  /// Removes the bar so that a report line can be printed in its place.
  void clear() {
    if (!enabled_ || !drawn_) return;
    std::fputs("\r\033[K", stderr);
    drawn_ = false;
  }

 private:
  std::size_t total_;
  bool enabled_;
  bool drawn_ = false;
  Clock::time_point last_{};
};

int run(const RunOptions& o) {
  std::ifstream in(o.requests);
  if (!in) {
    std::cerr << "stepline run: cannot read the requests file " << o.requests << '\n';
    return 2;
  }
  std::vector<std::pair<std::size_t, std::string>> lines;  // (line number, text)
  std::string line;
  for (std::size_t n = 1; std::getline(in, line); ++n)
    if (!text::trim(line).empty()) lines.emplace_back(n, line);

  std::unique_ptr<host::ConfiguredHost> configured;
  try {
    configured = std::make_unique<host::ConfiguredHost>(o.config);
  } catch (const std::exception& e) {
    std::cerr << e.what() << '\n';
    return 2;
  }
  auto& host = configured->host();
  Drain drain(*configured, o.drain);

  Tally tally;
  ProgressBar bar(lines.size(), ::isatty(STDERR_FILENO) == 1);
  const auto start = Clock::now();
  auto rate = [&] {
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return seconds > 0 ? tally.done() / seconds : 0.0;
  };
  std::mutex report;
  auto note = [&](std::size_t number, const host::pipeline::OperationResponse& response) {
    std::lock_guard lock(report);
    tally.add(response.outcome);
    if (!response.ok()) {
      bar.clear();
      std::cout << o.requests << ":" << number << ": " << to_string(response.outcome) << ": "
                << for_terminal(response.error_message) << std::endl;
    }
    bar.update(tally.done(), rate());
  };
  if (o.parallel == 1) {
    for (const auto& [number, text] : lines) note(number, host.execute(std::string_view(text)));
  } else if (host.store().location().kind != host::store::Location::Kind::sqlite) {
    // A database server runs each operation's transaction beside the others: N threads take the
    // lines in order, and lines may complete in any order.
    std::atomic<std::size_t> next{0};
    auto work = [&] {
      for (std::size_t i; (i = next.fetch_add(1)) < lines.size();)
        note(lines[i].first, host.execute(std::string_view(lines[i].second)));
    };
    std::vector<std::thread> threads;
    for (int t = 1; t < o.parallel; ++t) threads.emplace_back(work);
    work();
    for (auto& t : threads) t.join();
  } else {
    // Up to N lines in flight through the host's intake thread, which runs them in order into
    // shared commits and answers them in order once committed (Host::submit).
    std::size_t in_flight = 0;
    std::condition_variable room;
    const auto window = static_cast<std::size_t>(o.parallel);
    for (const auto& [number, text] : lines) {
      host::pipeline::OperationRequest request;
      try {
        request = host::intake::parse_request(text);
      } catch (const host::intake::RequestError& e) {
        host::pipeline::OperationResponse invalid;
        invalid.outcome = host::pipeline::Outcome::invalid_request;
        invalid.error_message = e.what();
        note(number, invalid);
        continue;
      }
      {
        // Refilled half a window at a time: one wake-up per N/2 answers, not one per answer.
        std::unique_lock lock(report);
        room.wait(lock, [&] { return in_flight < window; });
        ++in_flight;
      }
      host.submit(std::move(request), [&, number = number](host::pipeline::OperationResponse r) {
        note(number, r);
        std::lock_guard lock(report);
        if (--in_flight <= window / 2) room.notify_one();
      });
    }
    std::unique_lock lock(report);
    room.wait(lock, [&] { return in_flight == 0; });
  }
  bar.update(tally.done(), rate(), true);
  bar.clear();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::cout << fmt::format(
                   "{} requests in {:.3f} s: {} succeeded, {} rejected by a plug-in, {} failed, {} "
                   "invalid; "
                   "{:.0f} operations/s",
                   tally.done(), seconds, tally.succeeded, tally.rejected, tally.failed,
                   tally.invalid, seconds > 0 ? tally.done() / seconds : 0.0)
            << std::endl;
  const std::size_t unfinished_jobs = drain.finish(std::cout);
  if (tally.invalid) return 2;
  if (o.fail_on_error && (tally.rejected || tally.failed || unfinished_jobs)) return 1;
  return 0;
}

}  // namespace

STEPLINE_COMMAND([](CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  auto* command =
      app.add_subcommand("run", "Run every request of a JSONL file (one request per line)");
  command->add_option("-c,--config", o->config, "the registration YAML file")->required();
  command->add_option("--requests", o->requests, "the JSONL file of requests (docs/REQUESTS.md)")
      ->required();
  command->add_flag("--fail-on-error", o->fail_on_error,
                    "exit 1 when any operation is rejected or fails");
  command->add_flag("--drain", o->drain,
                    "run the async jobs these requests queue in this process and wait for them");
  command
      ->add_option("--parallel", o->parallel,
                   "keep up to this many requests in flight (on SQLite they run in order and "
                   "share commits; on PostgreSQL this many run at once, completing in any order)")
      ->check(CLI::Range(1, 256));
  command->callback([o] { exit_status() = run(*o); });
});

}  // namespace stepline::cli
