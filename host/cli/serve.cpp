// `stepline serve -c FILE`: the async service as a daemon. Workers take due system jobs from the
// registration's database and run them until SIGTERM or SIGINT; then attempts under way get the
// grace period to finish and every job not finished goes back to Ready, so nothing is lost.
// Exit 0 after a clean stop, 2 for a registration that cannot be used, 1 when the service cannot
// run (the database cannot be opened).
#include <signal.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <string>

#include <stepline/host/configured_host.hpp>
#include <stepline/host/jobs/async_service.hpp>
#include <stepline/host/log.hpp>
#include <stepline/registration/values.hpp>

#include "command.hpp"

namespace stepline::cli {
namespace {

struct ServeOptions {
  std::string config;
  int workers = 0;
  std::string grace = "30s";
  std::string lease = "60s";
  std::size_t batch = 64;
};

std::chrono::milliseconds duration_option(const std::string& text, const char* name) {
  if (auto d = registration::parse_duration(text)) return *d;
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
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  host::jobs::AsyncServiceOptions options;
  std::chrono::milliseconds grace;
  std::unique_ptr<host::ConfiguredHost> configured;
  try {
    grace = duration_option(o.grace, "--grace");
    options.lease = duration_option(o.lease, "--lease");
    options.workers = o.workers;
    options.batch = o.batch;
    configured = std::make_unique<host::ConfiguredHost>(o.config);
  } catch (const std::exception& e) {
    std::cerr << e.what() << '\n';
    return 2;
  }

  std::unique_ptr<host::jobs::AsyncService> service;
  try {
    service = std::make_unique<host::jobs::AsyncService>(configured->host(),
                                                         configured->endpoint_poster(), options);
    service->start();
  } catch (const std::exception& e) {
    host::log::error("stepline serve: {}", e.what());
    return 1;
  }
  host::log::info("stepline serve: running jobs of {}; SIGTERM or SIGINT stops it", o.config);

  host::jobs::AsyncServiceStats reported;
  for (;;) {
    timespec every_minute{60, 0};
    int signal = sigtimedwait(&signals, nullptr, &every_minute);
    if (signal == SIGTERM || signal == SIGINT) {
      host::log::info("stepline serve: {} received; stopping (attempts under way get {} ms)",
                      signal == SIGTERM ? "SIGTERM" : "SIGINT", grace.count());
      break;
    }
    auto s = service->stats();
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
  service->stop(grace);
  service.reset();
  configured.reset();
  return 0;
}

}  // namespace

STEPLINE_COMMAND([](CLI::App& app) {
  auto o = std::make_shared<ServeOptions>();
  auto* command = app.add_subcommand(
      "serve", "Run the async service: system jobs of the registration, until SIGTERM");
  command->add_option("-c,--config", o->config, "the registration YAML file")->required();
  command->add_option("--workers", o->workers, "worker threads (default host.async_workers)");
  command->add_option("--batch", o->batch, "jobs one worker takes at once (default 64)");
  command->add_option("--grace", o->grace,
                      "on SIGTERM, how long attempts under way may take to finish (default 30s)");
  command->add_option("--lease", o->lease,
                      "how long a job stays claimed without renewal (default 60s)");
  command->callback([o] { exit_status() = serve(*o); });
});

}  // namespace stepline::cli
