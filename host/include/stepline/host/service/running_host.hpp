// The running host of `stepline serve`: the configured host (registration, plug-in catalog,
// pipeline, record store, AMQP backend), its async service, and — when the registration has an
// `http:` section — the HTTP intake with health, metrics and the System Jobs page. It owns the
// order things start and stop in: on stop, readiness goes false, the listener stops accepting,
// requests in flight finish, and only then do the jobs stop, so nothing accepted is lost. It
// reloads the registration without a restart (docs/RELOAD.md): when its files or the plug-in
// folder change (inotify), on SIGHUP (serve calls request_reload()) and when `stepline reload`
// asks through the control socket.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <stepline/host/configured_host.hpp>
#include <stepline/host/http/intake.hpp>
#include <stepline/host/jobs/async_service.hpp>

namespace stepline::host::service {

struct RunningHostOptions {
  jobs::AsyncServiceOptions jobs;
  /// ADDRESS:PORT to listen on instead of the registration's http.listen (the intake must be
  /// configured: an `http:` section).
  std::optional<std::string> listen;
  /// Reload when the registration's files or the plug-in folder change.
  bool watch = true;
  /// How long the watched files must stay unchanged before the reload starts.
  std::chrono::milliseconds watch_quiet{500};
  /// Listen on `<data_folder>/control/serve-<pid>.sock` for `stepline reload`.
  bool control_socket = true;
};

class RunningHost {
 public:
  /// Loads the registration and builds the host. Throws registration::RegistrationError or
  /// std::invalid_argument for a registration or option that cannot be used (naming it), and
  /// std::runtime_error for a store or plug-in problem, as ConfiguredHost does.
  explicit RunningHost(const std::filesystem::path& registration_file,
                       RunningHostOptions options = {});
  /// Stops with a 30 s grace if still running.
  ~RunningHost();
  RunningHost(const RunningHost&) = delete;
  RunningHost& operator=(const RunningHost&) = delete;

  /// Starts the async service, then the HTTP intake. Throws std::runtime_error when the intake
  /// cannot listen (address in use, TLS files unusable) or the job store cannot be opened.
  void start();
  /// Readiness false, stop accepting, let in-flight requests finish (up to `grace`), then stop
  /// the jobs as the async service does (attempts under way get `grace`). Idempotent.
  void stop(std::chrono::milliseconds grace);

  /// The intake's address ("http://127.0.0.1:8080"); empty without an `http:` section.
  std::string url() const;
  http::Readiness readiness() const;
  jobs::AsyncServiceStats job_stats() const;

  /// Asks for a reload (`why` is logged: "SIGHUP", the file that changed). Requests that come
  /// while one runs are served together by the next. The result is logged and counted whoever
  /// asked; the future has it too.
  std::shared_future<ReloadResult> request_reload(std::string why);
  /// The registration in use.
  Generation generation() const;

 private:
  struct Parts;
  void reloads();
  ReloadResult reload_now(const std::string& why);
  std::vector<std::string> answer_control(const std::string& request);
  std::string health() const;

  std::unique_ptr<Parts> parts_;
  std::atomic<bool> stopping_{false};
  bool stopped_ = false;
};

}  // namespace stepline::host::service
