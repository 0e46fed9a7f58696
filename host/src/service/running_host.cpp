#include <stepline/host/service/running_host.hpp>

#include <sys/statvfs.h>
#include <unistd.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <stepline/host/amqp/backend.hpp>
#include <stepline/host/configured_host.hpp>
#include <stepline/host/log.hpp>
#include <stepline/host/metrics/host_metrics.hpp>
#include <stepline/host/service/control_socket.hpp>
#include <stepline/host/store/job_store.hpp>
#include <stepline/host/store/store.hpp>
#include <stepline/http/server.hpp>
#include <stepline/prometheus/process.hpp>
#include <stepline/prometheus/registry.hpp>
#include <stepline/registration/values.hpp>
#include <stepline/thread_name.hpp>

#include "file_watch.hpp"

namespace stepline::host::service {
namespace {

/// Writes need room: below this much free space the store is reported not writable.
constexpr unsigned long long minimum_free_bytes = 16ull << 20;

/// "ok", or why operations could not commit to the store's file.
std::string file_state(const std::filesystem::path& database) {
  auto folder = database.parent_path();
  if (::access(folder.c_str(), W_OK) != 0)
    return "the data folder " + folder.string() + " is not writable";
  if (::access(database.c_str(), W_OK) != 0)
    return "the database " + database.string() + " is not writable";
  struct statvfs fs {};
  if (::statvfs(folder.c_str(), &fs) == 0) {
    unsigned long long free = static_cast<unsigned long long>(fs.f_bavail) * fs.f_frsize;
    if (free < minimum_free_bytes)
      return "only " + std::to_string(free >> 10) + " KiB free beside " + database.string();
  }
  return "ok";
}

}  // namespace

/// A database server as the intake reports it, watched from a thread of its own: whether it
/// answers (a statement every second) and, while scrapes ask for them, the jobs by status.
/// /readyz and /metrics are answered on the HTTP server's network thread, which a database that
/// does not answer (a connection timing out, a network cut holding a statement for minutes) must
/// never hold up: they read what the watch saw last.
class StoreWatch {
 public:
  explicit StoreWatch(store::JobStore& jobs)
      : jobs_(jobs), thread_([this] {
          name_this_thread("sl-store-watch");
          run();
        }) {}
  ~StoreWatch() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  StoreWatch(const StoreWatch&) = delete;
  StoreWatch& operator=(const StoreWatch&) = delete;

  /// "ok", or why the database is not usable: its last error, or how long a statement has gone
  /// unanswered.
  std::string state() const {
    std::lock_guard lock(mutex_);
    const auto waited = std::chrono::steady_clock::now() - asked_at_;
    if (asking_ && waited > patience)
      return "the database has not answered for " +
             std::to_string(std::chrono::duration_cast<std::chrono::seconds>(waited).count()) +
             " s";
    return state_;
  }
  /// The jobs by status as last counted; asks for a new count.
  std::map<store::JobStatus, std::size_t> counts() {
    std::lock_guard lock(mutex_);
    counts_wanted_ = true;
    return counts_;
  }

 private:
  static constexpr std::chrono::seconds every{1};
  static constexpr std::chrono::seconds patience{3};

  void run() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      const bool count = std::exchange(counts_wanted_, false);
      asking_ = true;
      asked_at_ = std::chrono::steady_clock::now();
      lock.unlock();
      std::string state = "ok";
      std::optional<std::map<store::JobStatus, std::size_t>> counted;
      try {
        if (count)
          counted = jobs_.count();
        else
          jobs_.last_sequence();
      } catch (const std::exception& e) {
        state = std::string("the database does not answer: ") + e.what();
      }
      lock.lock();
      asking_ = false;
      state_ = std::move(state);
      if (counted) counts_ = std::move(*counted);
      wake_.wait_for(lock, every, [&] { return stopping_; });
    }
  }

  store::JobStore& jobs_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool asking_ = false;
  std::chrono::steady_clock::time_point asked_at_{};
  std::string state_ = "not asked yet";
  bool counts_wanted_ = true;
  std::map<store::JobStatus, std::size_t> counts_;
  std::thread thread_;  ///< last: started once the rest is set
};

namespace {

::stepline::http::ServerOptions server_options(const registration::HttpSettings& h) {
  ::stepline::http::ServerOptions o;
  o.address = h.address;
  o.port = static_cast<unsigned short>(h.port);
  o.body_limit = h.body_limit;
  o.workers = h.workers;
  o.queue_limit = h.queue;
  o.max_connections = h.max_connections;
  o.request_timeout = h.request_timeout;
  o.idle_timeout = h.idle_timeout;
  if (!h.tls_certificate.empty()) o.tls = ::stepline::http::TlsFiles{h.tls_certificate, h.tls_key};
  return o;
}

/// The HTTP server's own counts, read when /metrics is scraped.
void watch_server(prometheus::Registry& registry, ::stepline::http::Server& server) {
  auto& open = registry.gauge("stepline_http_connections", "HTTP connections open now.");
  auto& requests = registry.counter("stepline_http_requests_total", "HTTP requests read whole.");
  auto& saturated = registry.counter(
      "stepline_http_saturated_total",
      "Requests and connections answered 503 because the queue, the body memory or the "
      "connection limit was full.");
  auto& timeouts = registry.counter("stepline_http_timeouts_total",
                                    "Connections closed for sending too slowly or idling.");
  auto& queued = registry.gauge("stepline_http_queued", "Requests waiting for a worker now.");
  auto& in_flight = registry.gauge(
      "stepline_http_in_flight",
      "Requests read whole and not yet answered now: queued, at a worker, or with their "
      "operation in the host's intake.");
  registry.on_scrape([&, server = &server] {
    auto s = server->stats();
    open.get().set(double(s.connections_open));
    requests.get().advance_to(double(s.requests));
    saturated.get().advance_to(double(s.saturated));
    timeouts.get().advance_to(double(s.timeouts));
    queued.get().set(double(s.queued));
    in_flight.get().set(double(s.in_flight));
  });
}

}  // namespace

struct RunningHost::Parts {
  prometheus::Registry registry;
  metrics::HostMetrics metrics{registry};
  std::unique_ptr<ConfiguredHost> configured;
  std::unique_ptr<jobs::AsyncService> service;
  registration::HttpSettings http;
  std::unique_ptr<store::JobStore> operator_jobs;  ///< the jobs page's own connection
  std::unique_ptr<StoreWatch> store_watch;         ///< a database server's, on PostgreSQL
  std::unique_ptr<http::Intake> intake;
  std::unique_ptr<::stepline::http::Server> server;

  std::filesystem::path file;
  RunningHostOptions options;
  // The reloader: requests gather in `next` until its thread takes them all for one reload.
  std::mutex reload_mutex;
  std::condition_variable reload_wake;
  std::shared_ptr<std::promise<ReloadResult>> next;
  std::shared_future<ReloadResult> next_result;
  std::string next_why;
  bool reloads_stop = false;
  std::thread reloader;
  std::atomic<std::uint64_t> reloads_succeeded{0}, reloads_failed{0};
  std::unique_ptr<FileWatch> watch;
  std::unique_ptr<ControlSocket> control;

  /// Watches what the registration in use was read from, and what a failed reload read (the
  /// files an operator is fixing).
  void watch_files(const ReloadResult* failed) {
    if (!watch) return;
    auto r = configured->host().pipeline().registration();
    auto files = r->files;
    if (failed) files.insert(files.end(), failed->files.begin(), failed->files.end());
    auto plugins =
        failed && !failed->plugin_folder.empty() ? failed->plugin_folder : r->host.plugin_folder;
    watch->watch(files, plugins);
  }
};

RunningHost::RunningHost(const std::filesystem::path& registration_file, RunningHostOptions options)
    : parts_(std::make_unique<Parts>()) {
  auto& p = *parts_;
  p.file = registration_file;
  p.options = options;
  HostOptions host_options;
  host_options.observer = &p.metrics;
  p.configured = std::make_unique<ConfiguredHost>(registration_file, host_options,
                                                  ConfiguredHost::Options{true});
  p.metrics.plugins_loaded(*p.configured->catalog());
  auto generation = p.configured->generation();
  p.metrics.registration_in_use(generation.number, generation.sha256);
  p.metrics.watch_generations([c = p.configured.get()] { return c->generations_alive(); });
  p.http = p.configured->host().pipeline().registration()->http;
  if (options.listen) {
    if (!p.http.enabled)
      throw std::invalid_argument("--listen: " + registration_file.string() +
                                  " has no http: section; add one (http: {} takes the defaults)");
    auto listen = registration::parse_listen_address(*options.listen);
    if (!listen)
      throw std::invalid_argument("--listen: '" + *options.listen +
                                  "' is not an address to listen on; write ADDRESS:PORT, e.g. "
                                  "127.0.0.1:8080");
    if (p.http.api_keys.empty() && !registration::is_loopback(listen->first))
      throw std::invalid_argument("--listen: " + listen->first +
                                  " can be reached from other machines and the registration has "
                                  "no http.api_keys; add api_keys, or listen on 127.0.0.1");
    p.http.address = listen->first;
    p.http.port = listen->second;
  }
  p.service = std::make_unique<jobs::AsyncService>(p.configured->host().pipeline(),
                                                   p.configured->host().store().location(),
                                                   p.configured->endpoint_poster(), options.jobs);
}

RunningHost::~RunningHost() {
  stop(std::chrono::seconds(30));
}

void RunningHost::start() {
  auto& p = *parts_;
  p.service->start();
  if (p.options.watch) {
    try {
      p.watch = std::make_unique<FileWatch>(p.options.watch_quiet, [this](const std::string& name) {
        request_reload(name + " changed");
      });
      p.watch_files(nullptr);
    } catch (const std::exception& e) {
      log::warn("stepline serve: {}; reload with SIGHUP or stepline reload", e.what());
    }
  }
  // After the watch exists: the reloader re-arms it after each reload.
  p.reloader = std::thread([this] {
    name_this_thread("sl-reload");
    reloads();
  });
  if (p.options.control_socket) {
    auto data_folder = p.configured->host().pipeline().registration()->host.data_folder;
    auto path = control_socket_path(data_folder, long(::getpid()));
    try {
      p.control = std::make_unique<ControlSocket>(
          path, [this](const std::string& request) { return answer_control(request); });
    } catch (const std::exception& e) {
      log::warn("stepline serve: stepline reload cannot reach this host: {}", e.what());
    }
  }
  if (!p.http.enabled) return;
  auto& host = p.configured->host();
  p.operator_jobs = store::open_jobs(host.store().location(), host.store().durability());
  std::function<amqp::BackendStats()> backend_stats;
  if (auto* backend = p.configured->backend())
    backend_stats = [backend] { return backend->stats(); };
  std::function<std::map<store::JobStatus, std::size_t>()> jobs_by_status;
  if (host.store().location().kind == store::Location::Kind::postgresql) {
    p.store_watch = std::make_unique<StoreWatch>(*p.operator_jobs);
    jobs_by_status = [watch = p.store_watch.get()] { return watch->counts(); };
  } else {
    jobs_by_status = [store = p.operator_jobs.get()] { return store->count(); };
  }
  p.metrics.watch(
      std::move(jobs_by_status), [service = p.service.get()] { return service->stats(); },
      backend_stats);
  http::IntakeServices services{host, [this] { return readiness(); }, &p.registry,
                                p.operator_jobs.get(), [this] { return health(); }};
  p.intake = std::make_unique<http::Intake>(std::move(services));
  p.server = std::make_unique<::stepline::http::Server>(server_options(p.http), *p.intake);
  watch_server(p.registry, *p.server);
  prometheus::add_process_metrics(p.registry);
  // Which thread is busy: sl-intake runs the operations handed to the host (the HTTP intake's)
  // one batch after another, so its rate near 1 is the host's ceiling for them (docs/HTTP.md).
  prometheus::add_thread_cpu_metrics(
      p.registry, "stepline_thread_cpu_seconds_total",
      "CPU time, user and system, of the host's threads by name (sl-intake: the operations and "
      "their commits; sl-job-worker: the async service; sl-amqp: the AMQP connections; "
      "sl-checkpoint: the SQLite checkpoints; sl-http-io, sl-http-work: the HTTP server).");
  auto& commits = p.registry.counter(
      "stepline_store_commits_total",
      "Commits of operations' transactions to the record store; operations that share one "
      "commit count once.");
  p.registry.on_scrape(
      [&commits, store = &host.store()] { commits.get().advance_to(double(store->commits())); });
  if (host.store().location().kind == store::Location::Kind::sqlite) {
    // The context log beside the database (docs/JOBS.md "The context log"): its room on the disk.
    auto& bytes = p.registry.gauge(
        "stepline_context_log_bytes",
        "Bytes in the segments of the context log, where the jobs' frozen contexts are kept.");
    auto& segments =
        p.registry.gauge("stepline_context_log_segments", "Segment files of the context log.");
    p.registry.on_scrape([&bytes, &segments, where = host.store().location()] {
      const auto usage = store::context_log_usage(where);
      bytes.get().set(double(usage.bytes));
      segments.get().set(double(usage.segments));
    });
  }
  p.server->start();
}

void RunningHost::stop(std::chrono::milliseconds grace) {
  if (stopped_) return;
  stopped_ = true;
  stopping_ = true;
  auto& p = *parts_;
  auto deadline = std::chrono::steady_clock::now() + grace;
  // No reload from here on: a reload under way finishes first.
  p.control.reset();
  p.watch.reset();
  {
    std::lock_guard lock(p.reload_mutex);
    p.reloads_stop = true;
  }
  p.reload_wake.notify_all();
  if (p.reloader.joinable()) p.reloader.join();
  if (p.server) {
    p.server->stop_accepting();
    if (!p.server->wait_idle(grace))
      log::warn("stepline serve: HTTP requests still running after {} ms are dropped",
                grace.count());
    p.server->stop();
  }
  // The jobs the last requests queued are in the store; the async service finishes what it can.
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (p.service) p.service->stop(std::max(left, std::chrono::milliseconds(0)));
  p.server.reset();
  p.intake.reset();
  p.service.reset();
  p.store_watch.reset();
  p.operator_jobs.reset();
  p.configured.reset();
}

std::string RunningHost::url() const {
  return parts_->server ? parts_->server->url() : std::string();
}

http::Readiness RunningHost::readiness() const {
  http::Readiness r;
  if (stopping_.load()) {
    r.checks.emplace_back("intake", "stopping");
    return r;
  }
  auto& host = parts_->configured->host();
  auto registration = host.pipeline().registration();
  r.checks.emplace_back("registration", registration ? "ok" : "not loaded");
  const auto& where = host.store().location();
  std::string store_check = "ok";
  if (parts_->store_watch)
    store_check = parts_->store_watch->state();
  else if (where.kind == store::Location::Kind::sqlite)
    store_check = file_state(where.file);
  r.checks.emplace_back("store", std::move(store_check));
  // Each endpoint by its last post: one never posted to yet counts as fine.
  auto posted = parts_->metrics.endpoints();
  for (const auto& endpoint : registration->endpoints) {
    auto it = posted.find(endpoint.name);
    std::string state = "ok";
    if (it != posted.end() && !it->second.ok)
      state = "the last post failed at " + to_iso8601(it->second.at) + ": " + it->second.problem;
    r.checks.emplace_back("endpoint " + endpoint.name, std::move(state));
  }
  return r;
}

std::shared_future<ReloadResult> RunningHost::request_reload(std::string why) {
  auto& p = *parts_;
  std::lock_guard lock(p.reload_mutex);
  // Before the reloader runs, a request waits for it (start() starts it).
  if (p.reloads_stop) {
    std::promise<ReloadResult> refused;
    ReloadResult result;
    result.generation = p.configured->generation();
    result.errors.push_back("stepline serve is stopping");
    refused.set_value(std::move(result));
    return refused.get_future().share();
  }
  if (!p.next) {
    p.next = std::make_shared<std::promise<ReloadResult>>();
    p.next_result = p.next->get_future().share();
    p.next_why.clear();
  }
  if (p.next_why.find(why) == std::string::npos)
    p.next_why += (p.next_why.empty() ? "" : ", ") + why;
  p.reload_wake.notify_all();
  return p.next_result;
}

void RunningHost::reloads() {
  auto& p = *parts_;
  for (;;) {
    std::shared_ptr<std::promise<ReloadResult>> promise;
    std::string why;
    {
      std::unique_lock lock(p.reload_mutex);
      p.reload_wake.wait(lock, [&] { return p.reloads_stop || p.next; });
      promise = std::move(p.next);
      why = std::move(p.next_why);
      p.next.reset();
      if (p.reloads_stop) {
        if (promise) {
          ReloadResult result;
          result.generation = p.configured->generation();
          result.errors.push_back("stepline serve is stopping");
          promise->set_value(std::move(result));
        }
        return;
      }
    }
    promise->set_value(reload_now(why));
  }
}

ReloadResult RunningHost::reload_now(const std::string& why) {
  auto& p = *parts_;
  log::info("stepline serve: reloading the registration ({})", why);
  ReloadResult result;
  try {
    result = p.configured->reload([&p](const registration::Registration& r) {
      // The listener stays where it is: one that other machines can reach (--listen may have
      // put it there) keeps needing API keys.
      std::vector<std::string> errors;
      if (p.http.enabled && r.http.api_keys.empty() && !registration::is_loopback(p.http.address))
        errors.push_back((r.http.where.file.empty() ? p.file.string() : r.http.where.str()) +
                         ": error: http.api_keys: the intake listens on " + p.http.address +
                         ", which other machines can reach; a registration without API keys "
                         "is refused while it does (keep the keys, or restart on 127.0.0.1)");
      return errors;
    });
  } catch (const std::exception& e) {
    result.generation = p.configured->generation();
    result.errors.push_back(p.file.string() + ": error: " + e.what());
  }
  p.metrics.registration_reloaded(result.ok);
  p.metrics.plugins_loaded(result.changed_libraries);
  for (const auto& line : result.warnings) log::warn("{}", line);
  if (result.ok) {
    ++p.reloads_succeeded;
    p.metrics.registration_in_use(result.generation.number, result.generation.sha256);
    log::info(
        "stepline serve: registration generation {} in use (sha256 {}); operations under "
        "way finish on the previous one",
        result.generation.number, result.generation.sha256);
    p.watch_files(nullptr);
  } else {
    ++p.reloads_failed;
    log::error("stepline serve: the registration was not reloaded; generation {} stays in use:",
               result.generation.number);
    for (const auto& line : result.errors) log::error("{}", line);
    p.watch_files(&result);
  }
  return result;
}

std::vector<std::string> RunningHost::answer_control(const std::string& request) {
  auto& p = *parts_;
  const std::string verb = "reload ";
  if (request.rfind(verb, 0) != 0)
    return {"refused unknown request '" + request.substr(0, 80) +
            "'; this host takes: reload FILE"};
  std::error_code ec;
  auto asked = std::filesystem::weakly_canonical(request.substr(verb.size()), ec);
  auto mine = std::filesystem::weakly_canonical(p.file, ec);
  if (asked != mine)
    return {"refused stepline serve (pid " + std::to_string(::getpid()) + ") runs " +
            mine.string() + ", not " + asked.string()};
  auto result = request_reload("stepline reload").get();
  std::vector<std::string> lines;
  lines.push_back(std::string(result.ok ? "reloaded " : "failed ") +
                  std::to_string(result.generation.number) + " " + result.generation.sha256);
  for (const auto& e : result.errors) lines.push_back("error " + e);
  for (const auto& w : result.warnings) lines.push_back("warning " + w);
  for (const auto& library : result.changed_libraries)
    if (library.status == catalog::LibraryStatus::refused)
      lines.push_back("warning plug-in library refused: " + library.reason);
  return lines;
}

Generation RunningHost::generation() const {
  return parts_->configured->generation();
}

std::string RunningHost::health() const {
  auto& p = *parts_;
  auto g = p.configured->generation();
  return "\"registration\":{\"generation\":" + std::to_string(g.number) + ",\"sha256\":\"" +
         g.sha256 + "\",\"reloads\":{\"succeeded\":" + std::to_string(p.reloads_succeeded.load()) +
         ",\"failed\":" + std::to_string(p.reloads_failed.load()) + "}}";
}

jobs::AsyncServiceStats RunningHost::job_stats() const {
  return parts_->service ? parts_->service->stats() : jobs::AsyncServiceStats{};
}

}  // namespace stepline::host::service
