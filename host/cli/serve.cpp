// `stepline serve -c FILE`: the running host. Workers take due system jobs from the
// registration's database and run them; with an `http:` section the HTTP intake takes operations
// too (docs/HTTP.md). It reloads the registration when its files or the plug-in folder change, on
// SIGHUP and on `stepline reload` (docs/RELOAD.md). It runs until SIGTERM or SIGINT; then
// readiness goes false, the listener stops, requests in flight finish, attempts under way get the
// grace period and every job not finished goes back to Ready, so nothing accepted is lost. Exit 0
// after a clean stop, 2 for a registration or option that cannot be used, 1 when the host cannot
// run (the database cannot be opened, the address is in use).
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include <stepline/duration.hpp>
#include <stepline/host/log.hpp>
#include <stepline/host/service/running_host.hpp>

#include "command.hpp"

namespace stepline::cli {
namespace {

struct ServeOptions {
  std::string config;
  int workers = 0;
  std::string grace = "30s";
  std::string lease = "60s";
  std::size_t batch = 64;
  std::string listen;
  bool no_watch = false;
  std::string watch_quiet = "500ms";
};

std::chrono::milliseconds duration_option(const std::string& text, const char* name) {
  if (auto d = stepline::parse_duration(text)) return *d;
  throw std::invalid_argument(std::string(name) + ": '" + text +
                              "' is not a duration; write it like 500ms, 30s or 2m");
}

int serve(const ServeOptions& o) {
  // Every thread started from here on (the AMQP thread, the workers) inherits the blocked set,
  // so the signals reach only the sigwait below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  host::service::RunningHostOptions options;
  std::chrono::milliseconds grace;
  std::unique_ptr<host::service::RunningHost> running;
  try {
    grace = duration_option(o.grace, "--grace");
    options.jobs.lease = duration_option(o.lease, "--lease");
    options.jobs.workers = o.workers;
    options.jobs.batch = o.batch;
    if (!o.listen.empty()) options.listen = o.listen;
    options.watch = !o.no_watch;
    options.watch_quiet = duration_option(o.watch_quiet, "--watch-quiet");
    running = std::make_unique<host::service::RunningHost>(o.config, options);
  } catch (const std::exception& e) {
    std::cerr << e.what() << '\n';
    return 2;
  }

  try {
    running->start();
  } catch (const std::exception& e) {
    host::log::error("stepline serve: {}", e.what());
    return 1;
  }
  host::log::info(
      "stepline serve: running jobs of {} (pid {}, registration generation {}); SIGHUP or "
      "stepline reload reloads it{}, SIGTERM or SIGINT stops it",
      o.config, ::getpid(), running->generation().number,
      o.no_watch ? "" : ", and so does a change of its files or plug-in folder");
  if (auto url = running->url(); !url.empty()) {
    // On stdout whatever the log level: scripts and tests read the address (port 0 = any).
    std::cout << "stepline serve: listening on " << url << " (system jobs: " << url << "/jobs)"
              << std::endl;
  }

  host::jobs::AsyncServiceStats reported;
  for (;;) {
    timespec every_minute{60, 0};
    int signal = sigtimedwait(&signals, nullptr, &every_minute);
    if (signal == SIGTERM || signal == SIGINT) {
      host::log::info(
          "stepline serve: {} received; stopping (requests and attempts under way get {} ms)",
          signal == SIGTERM ? "SIGTERM" : "SIGINT", grace.count());
      break;
    }
    if (signal == SIGHUP) {
      // Answered on the reloader's thread; this one keeps waiting for SIGTERM.
      running->request_reload("SIGHUP");
      continue;
    }
    auto s = running->job_stats();
    if (s.succeeded != reported.succeeded || s.failed != reported.failed ||
        s.retries != reported.retries)
      host::log::info("stepline serve: {} succeeded, {} failed, {} retries scheduled so far",
                      s.succeeded, s.failed, s.retries);
    if (s.timed_out != reported.timed_out || s.crashed != reported.crashed)
      host::log::warn(
          "stepline serve: {} job(s) failed for not returning within their step's timeout ({} "
          "worker thread(s) left behind), {} for taking the host down, so far: their steps should "
          "run with `isolation: process`",
          s.timed_out, s.abandoned, s.crashed);
    reported = s;
  }
  running->stop(grace);
  running.reset();
  return 0;
}

}  // namespace

STEPLINE_COMMAND([](CLI::App& app) {
  auto o = std::make_shared<ServeOptions>();
  auto* command = app.add_subcommand(
      "serve",
      "Run the host: system jobs of the registration and, with an http: section, the HTTP "
      "intake, until SIGTERM");
  command->add_option("-c,--config", o->config, "the registration YAML file")->required();
  command->add_option("--workers", o->workers, "worker threads (default host.async_workers)");
  command->add_option("--batch", o->batch, "jobs one worker takes at once (default 64)");
  command->add_option("--grace", o->grace,
                      "on SIGTERM, how long requests and attempts under way may take to finish "
                      "(default 30s)");
  command->add_option("--lease", o->lease,
                      "how long a job stays claimed without renewal (default 60s)");
  command->add_option("--listen", o->listen,
                      "ADDRESS:PORT for the HTTP intake instead of http.listen (port 0 = any)");
  command->add_flag("--no-watch", o->no_watch,
                    "do not reload when the registration's files or the plug-in folder change "
                    "(SIGHUP and stepline reload still do)");
  command->add_option("--watch-quiet", o->watch_quiet,
                      "how long changed files must stay unchanged before the reload (default "
                      "500ms)");
  command->callback([o] { exit_status() = serve(*o); });
});

}  // namespace stepline::cli
