#include <stepline/host/jobs/async_service.hpp>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <future>

#include <stepline/format/format_error.hpp>
#include <stepline/format/json.hpp>
#include <stepline/host/host.hpp>
#include <stepline/host/log.hpp>

#include "wal_checkpointer.hpp"

namespace stepline::host::jobs {
namespace {

using Clock = std::chrono::steady_clock;

long long milliseconds_since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "localhost";
  return name;
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += (out.empty() ? "" : "\n") + line;
  return out;
}

bool same_file(const std::filesystem::path& a, const std::filesystem::path& b) {
  std::error_code ec1, ec2;
  auto ca = std::filesystem::weakly_canonical(a, ec1), cb = std::filesystem::weakly_canonical(b, ec2);
  return !ec1 && !ec2 && ca == cb;
}

/// The job's context: the one handed over in memory, else read from its stored text.
std::shared_ptr<const ExecutionContext> frozen_context(const SystemJob& job) {
  if (job.frozen) return job.frozen;
  return std::make_shared<const ExecutionContext>(format::json::read_context(job.context));
}

JobResult base_result(const SystemJob& job) {
  JobResult r;
  r.id = job.id;
  r.retry_count = job.retry_count;
  return r;
}

JobResult released(const SystemJob& job) {
  JobResult r = base_result(job);
  r.status = JobStatus::ready;
  return r;
}

JobResult failed(const SystemJob& job, int code, std::string message, std::string friendly) {
  JobResult r = base_result(job);
  r.status = JobStatus::failed;
  r.error_code = code;
  r.message = std::move(message);
  r.friendly_message = std::move(friendly);
  return r;
}

/// The reason of a result for the log, each part once: the friendly message often holds the
/// technical one whole, or all of it but the step's name in front ("step 'X': <what>" beside
/// "<what>; gave up after ...").
std::string reason_of(const JobResult& r) {
  const std::string &message = r.message, &friendly = r.friendly_message;
  if (message.empty() || friendly.find(message) != std::string::npos) return friendly;
  if (friendly.empty() || message.find(friendly) != std::string::npos) return message;
  for (auto colon = message.find(": "); colon != std::string::npos;
       colon = message.find(": ", colon + 2)) {
    if (friendly.starts_with(std::string_view(message).substr(colon + 2)))
      return message.substr(0, colon + 2) + friendly;
  }
  return friendly + " (" + message + ")";
}

const registration::Step* step_of(const registration::Registration& r, const Guid& id) {
  for (const auto& s : r.steps)
    if (s.id == id) return &s;
  return nullptr;
}

}  // namespace

AsyncService::AsyncService(Pipeline& pipeline, const std::filesystem::path& database,
                           EndpointPoster* poster, AsyncServiceOptions options)
    : pipeline_(pipeline),
      poster_(poster),
      options_(std::move(options)),
      store_(database, options_.durability.value_or(pipeline.store().durability())) {
  std::random_device entropy;
  random_.seed(options_.seed ? options_.seed : (std::uint64_t(entropy()) << 32) ^ entropy());
  // The nonce tells apart services of one process, so it never comes from the seeded generator.
  char nonce[9];
  std::snprintf(nonce, sizeof nonce, "%08x", static_cast<unsigned>(entropy()));
  owner_ = process_owner_prefix() + nonce;
  if (options_.workers <= 0) options_.workers = pipeline_.registration()->host.async_workers;
  options_.workers = std::max(1, options_.workers);
  options_.batch = std::max<std::size_t>(1, options_.batch);
  if (options_.handoff_window == 0)
    options_.handoff_window = 2 * static_cast<std::size_t>(options_.workers) * options_.batch;
}

AsyncService::AsyncService(Host& host, EndpointPoster* poster, AsyncServiceOptions options)
    : AsyncService(host.pipeline(), host.store().file(), poster, std::move(options)) {}

AsyncService::~AsyncService() {
  stop();
}

std::string AsyncService::process_owner_prefix() {
  return host_name() + ":" + std::to_string(::getpid()) + ":";
}

bool AsyncService::owner_is_dead(std::string_view owner) {
  auto nonce = owner.rfind(':');
  if (nonce == std::string_view::npos || nonce == 0) return false;
  auto pid_start = owner.rfind(':', nonce - 1);
  if (pid_start == std::string_view::npos) return false;
  if (owner.substr(0, pid_start) != host_name()) return false;
  long pid = 0;
  auto digits = owner.substr(pid_start + 1, nonce - pid_start - 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
  if (ec != std::errc() || end != digits.data() + digits.size() || pid <= 0) return false;
  if (pid == ::getpid()) return false;  // another service in this very process is alive
  return ::kill(static_cast<pid_t>(pid), 0) == -1 && errno == ESRCH;
}

std::size_t AsyncService::start() {
  if (started_) return 0;
  std::size_t recovered = 0;
  try {
    recovered = store_.recover(now_utc(), owner_is_dead);
  } catch (const std::exception& e) {
    log::warn("async service: cannot hand back abandoned jobs in {}: {}", store_.file().string(),
              e.what());
  }
  if (recovered)
    log::info("async service: {} job(s) left in progress by a stopped host are ready again",
              recovered);
  started_ = true;
  log::info("async service: {} worker(s), lease owner {}, {} (durability {}; {})",
            options_.workers, owner_, store_.file().string(),
            registration::to_string(store_.durability()),
            poster_ ? "plug-in and endpoint jobs" : "plug-in jobs only: no endpoint poster");
  try {
    checkpointer_ = std::make_unique<WalCheckpointer>(store_.file(), store_.durability(),
                                                      std::chrono::milliseconds(50));
  } catch (const std::exception& e) {
    log::warn("async service: commits will checkpoint the WAL themselves: {}", e.what());
  }
  for (int i = 0; i < options_.workers; ++i) threads_.emplace_back([this] { work(); });
  threads_.emplace_back([this] { keep_leases(); });
  // Another service of this process may be the store's taker already; this one then polls.
  if (options_.handoff && same_file(pipeline_.store().file(), store_.file()))
    pipeline_.store().attach_handoff(*this);
  return recovered;
}

bool AsyncService::claim(SystemJob& job) {
  // Ordered jobs wait for their predecessors, which only the database query knows of.
  if (!job.ordering_key.empty()) return false;
  if (job.endpoint && !poster_) return false;
  if (in_hand_.fetch_add(1, std::memory_order_acq_rel) >= options_.handoff_window) {
    in_hand_.fetch_sub(1, std::memory_order_acq_rel);
    overflowed_.store(true, std::memory_order_release);
    return false;
  }
  auto now = now_utc();
  job.state_code = 2;
  job.status_code = 20;
  job.lease_owner = owner_;
  job.lease_until = now + options_.lease;
  job.started_on = now;
  return true;
}

void AsyncService::committed(std::vector<SystemJob> jobs) {
  {
    std::lock_guard lock(wake_mutex_);
    for (auto& job : jobs) handed_.push_back(std::move(job));
  }
  wake_.notify_one();
}

void AsyncService::abandoned(std::size_t count) {
  in_hand_.fetch_sub(count, std::memory_order_acq_rel);
}

void AsyncService::stop(std::chrono::milliseconds grace) {
  if (!started_ || stopping()) return;
  // No job is taken from a commit from here on; the ones taken and not yet run stay In progress
  // under this service's lease until the release below hands them back.
  pipeline_.store().detach_handoff(*this);
  auto deadline = Clock::now() + std::min<std::chrono::milliseconds>(grace, std::chrono::hours(24));
  deadline_ns_.store(
      std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count(),
      std::memory_order_release);
  stopping_.store(true, std::memory_order_release);
  { std::lock_guard lock(wake_mutex_); }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
  {
    std::lock_guard lock(wake_mutex_);
    handed_.clear();
  }
  in_hand_.store(0, std::memory_order_release);
  checkpointer_.reset();
  std::size_t handed_back = 0;
  for (int attempt = 0; attempt < 10; ++attempt) {
    try {
      handed_back = store_.release(owner_);
      break;
    } catch (const std::exception& e) {
      log::warn("async service: cannot hand back held jobs yet: {}", e.what());
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  {
    std::lock_guard lock(stats_mutex_);
    stats_.released += handed_back;
  }
  auto s = stats();
  log::info(
      "async service stopped: {} succeeded, {} failed, {} retries scheduled, {} canceled, {} "
      "handed back to Ready",
      s.succeeded, s.failed, s.retries, s.canceled, s.released);
}

bool AsyncService::past_deadline() const {
  if (!stopping()) return false;
  auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch());
  return now.count() >= deadline_ns_.load(std::memory_order_acquire);
}

bool AsyncService::drain(long long sequence, std::chrono::milliseconds timeout) {
  auto until = timeout == std::chrono::milliseconds::max() ? Clock::time_point::max()
                                                           : Clock::now() + timeout;
  for (;;) {
    try {
      if (!store_.unfinished_after(sequence, poster_ != nullptr)) return true;
    } catch (const std::exception& e) {
      log::debug("async service: drain check failed, trying again: {}", e.what());
    }
    if (Clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

AsyncServiceStats AsyncService::stats() const {
  std::lock_guard lock(stats_mutex_);
  return stats_;
}

void AsyncService::keep_leases() {
  const auto renew_every =
      std::max<std::chrono::milliseconds>(options_.lease / 3, std::chrono::milliseconds(10));
  while (!stopping()) {
    {
      std::unique_lock lock(wake_mutex_);
      wake_.wait_for(lock, renew_every, [&] { return stopping(); });
    }
    if (stopping()) break;
    try {
      auto now = now_utc();
      store_.renew(owner_, now + options_.lease);
      if (auto n = store_.recover(now, owner_is_dead))
        log::info("async service: {} abandoned job(s) are ready again", n);
    } catch (const std::exception& e) {
      log::warn("async service: cannot renew leases: {}", e.what());
    }
  }
}

void AsyncService::work() {
  const bool with_endpoints = poster_ != nullptr;
  auto take_due = [&] {
    std::vector<SystemJob> due;
    try {
      auto now = now_utc();
      // The read-only check keeps idle workers off SQLite's write lock.
      if (store_.has_due(now, with_endpoints))
        due = store_.take(owner_, now, now + options_.lease, options_.batch, with_endpoints);
    } catch (const std::exception& e) {
      log::warn("async service: cannot take jobs from {}: {}", store_.file().string(), e.what());
    }
    return due;
  };
  while (!stopping()) {
    std::vector<SystemJob> jobs;
    // Jobs that did not fit the hand-off window wait in the database and are older than the
    // ones handed over since: they go first.
    if (overflowed_.exchange(false, std::memory_order_acq_rel)) {
      jobs = take_due();
      if (jobs.size() == options_.batch) overflowed_.store(true, std::memory_order_release);
    }
    bool handed = false;
    if (jobs.empty()) {
      std::unique_lock lock(wake_mutex_);
      if (!handed_.empty() && handed_.size() < options_.batch)
        wake_.wait_for(lock, options_.linger,
                       [&] { return stopping() || handed_.size() >= options_.batch; });
      while (!handed_.empty() && jobs.size() < options_.batch) {
        jobs.push_back(std::move(handed_.front()));
        handed_.pop_front();
      }
      handed = !jobs.empty();
    }
    if (jobs.empty()) jobs = take_due();
    if (jobs.empty()) {
      std::unique_lock lock(wake_mutex_);
      wake_.wait_for(lock, options_.poll, [&] { return stopping() || !handed_.empty(); });
      continue;
    }
    auto results = run_batch(jobs);
    record(results);
    if (handed) in_hand_.fetch_sub(jobs.size(), std::memory_order_acq_rel);
  }
}

namespace {

/// What one attempt of one job did, before it is turned into a JobResult.
class Attempt {
 public:
  Attempt(const SystemJob& job, const registration::RetryPolicy& policy, std::mt19937_64& random,
          std::mutex& random_mutex)
      : job_(job), policy_(policy), random_(random), random_mutex_(random_mutex) {}

  /// A failure that may pass: Waiting for the next attempt, or Failed when none is left.
  JobResult retry_or_fail(int code, const std::string& message, const std::string& what) {
    const int attempt = job_.retry_count + 1;
    if (!may_retry(policy_, attempt)) {
      return failed(job_, code, message,
                    what + "; gave up after " + std::to_string(attempt) +
                        (attempt == 1 ? " attempt" : " attempts") +
                        ". The job keeps its context: fix the cause, then run `stepline jobs "
                        "retry " +
                        job_.id.str() + "`");
    }
    std::chrono::milliseconds delay;
    {
      std::lock_guard lock(random_mutex_);
      delay = retry_delay(policy_, attempt, random_);
    }
    JobResult r = base_result(job_);
    r.status = JobStatus::waiting;
    r.retry_count = attempt;
    r.postpone_until = now_utc() + delay;
    r.error_code = code;
    r.message = message;
    r.friendly_message = what + "; attempt " + std::to_string(attempt) + " of " +
                         std::to_string(policy_.max_attempts) + ", the next at " +
                         to_iso8601(*r.postpone_until);
    return r;
  }

 private:
  const SystemJob& job_;
  const registration::RetryPolicy& policy_;
  std::mt19937_64& random_;
  std::mutex& random_mutex_;
};

}  // namespace

std::vector<JobResult> AsyncService::run_batch(std::vector<SystemJob>& jobs) {
  auto registration = pipeline_.registration();
  std::vector<JobResult> results(jobs.size());
  struct Pending {
    std::size_t index;
    const registration::ServiceEndpoint* endpoint;
    std::future<amqp::Outcome> outcome;
    Clock::time_point started;
  };
  std::vector<Pending> pending;

  // Posts go out first, so their round trips overlap with each other and with plug-in work.
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const auto& job = jobs[i];
    if (!job.endpoint) continue;
    const auto* endpoint = registration->find_endpoint(*job.endpoint);
    if (!endpoint) {
      results[i] = failed(
          job, error_code::configuration,
          "service endpoint '" + *job.endpoint + "' is not registered",
          "Service endpoint '" + *job.endpoint + "' of step '" + job.step_name +
              "' is no longer registered: register it again and retry the job, or cancel it");
      continue;
    }
    try {
      auto context = frozen_context(job);
      PostOptions options;
      options.ordering_key = job.ordering_key;
      options.json_body = job.context;  // the frozen context's own text: not written again
      pending.push_back({i, endpoint, poster_->post(*endpoint, *context, options), Clock::now()});
    } catch (const std::exception& e) {
      results[i] = failed(job, error_code::unexpected, e.what(),
                          "The job's context could not be posted to service endpoint '" +
                              endpoint->name + "': " + e.what());
    }
  }

  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const auto& job = jobs[i];
    if (job.endpoint) continue;
    if (stopping()) {
      results[i] = released(job);
      continue;
    }
    auto started = Clock::now();
    std::vector<std::string> traces;
    Attempt attempt(job, options_.plugin_retry, random_, random_mutex_);
    try {
      ExecutionContext context = *frozen_context(job);  // the plug-in may change its copy
      pipeline_.run_job(context, job.step_id, traces);
      results[i] = base_result(job);
      results[i].status = JobStatus::succeeded;
      results[i].error_code.reset();
    } catch (const OperationFailed& e) {
      results[i] =
          failed(job, e.error_code(), "step '" + job.step_name + "': " + e.what(), e.what());
    } catch (const InvalidPluginExecution& e) {
      auto message = "step '" + job.step_name + "': " + e.what();
      results[i] = e.status() == OperationStatus::retry
                       ? attempt.retry_or_fail(e.error_code(), message, e.what())
                       : failed(job, e.error_code(), message, e.what());
    } catch (const std::exception& e) {
      // The frozen context could not be read: retrying would read the same text.
      results[i] = failed(job, error_code::unexpected, e.what(),
                          "The job's context could not be read: " + std::string(e.what()));
    }
    results[i].execution_time_ms = milliseconds_since(started);
    results[i].trace = join_lines(traces);
  }

  for (auto& p : pending) {
    const auto& job = jobs[p.index];
    auto& result = results[p.index];
    while (p.outcome.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready)
      if (past_deadline()) break;
    if (p.outcome.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
      result = released(job);
      continue;
    }
    amqp::Outcome outcome;
    try {
      outcome = p.outcome.get();
    } catch (const std::exception& e) {
      outcome = amqp::Outcome::failure(amqp::local_condition::configuration, e.what());
    }
    const std::string& name = p.endpoint->name;
    const std::string detail = outcome.condition + ": " + outcome.description;
    switch (outcome.status) {
      case amqp::OutcomeStatus::accepted:
        result = base_result(job);
        result.status = JobStatus::succeeded;
        break;
      case amqp::OutcomeStatus::shutdown:
        result = released(job);
        break;
      case amqp::OutcomeStatus::transient: {
        Attempt attempt(job, p.endpoint->retry, random_, random_mutex_);
        result = attempt.retry_or_fail(
            job_error::endpoint_post, detail,
            "Posting to service endpoint '" + name + "' failed (" + outcome.condition + ")");
        break;
      }
      case amqp::OutcomeStatus::permanent:
        result = failed(job, job_error::endpoint_post, detail,
                        "Service endpoint '" + name + "' refused the post (" + outcome.condition +
                            "), and retrying cannot help: fix the endpoint or its entity, then "
                            "run `stepline jobs retry " +
                            job.id.str() + "`");
        break;
    }
    result.execution_time_ms = milliseconds_since(p.started);
  }

  for (std::size_t i = 0; i < jobs.size(); ++i) {
    if (results[i].status != JobStatus::succeeded) continue;
    const auto* step = step_of(*registration, jobs[i].step_id);
    results[i].remove = step && step->auto_delete;
  }
  return results;
}

void AsyncService::record(std::vector<JobResult>& results) {
  std::vector<std::optional<JobStatus>> written;
  for (int attempt = 0;; ++attempt) {
    try {
      written = store_.finish(results, owner_, now_utc());
      break;
    } catch (const std::exception& e) {
      // Keep the results until they are written: losing them would run the jobs again.
      log::warn("async service: cannot record {} job result(s) yet: {}", results.size(), e.what());
      if (past_deadline() || attempt >= 50) {
        log::error(
            "async service: giving up recording {} job result(s); their jobs run again when "
            "their lease expires",
            results.size());
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  AsyncServiceStats delta;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    if (!written[i]) {
      ++delta.lost;
      log::warn("system job {}: its lease was lost to another host; that host's result stands",
                r.id.str());
      continue;
    }
    switch (*written[i]) {
      case JobStatus::succeeded:
        ++delta.succeeded;
        log::debug("system job {} succeeded in {} ms", r.id.str(), r.execution_time_ms.value_or(0));
        break;
      case JobStatus::failed:
        ++delta.failed;
        log::warn("system job {} failed: {}", r.id.str(), reason_of(r));
        break;
      case JobStatus::waiting:
        ++delta.retries;
        log::info("system job {} waits: {}", r.id.str(), reason_of(r));
        break;
      case JobStatus::canceled:
        ++delta.canceled;
        log::info("system job {} canceled", r.id.str());
        break;
      default:
        ++delta.released;
        break;
    }
  }
  std::lock_guard lock(stats_mutex_);
  stats_.succeeded += delta.succeeded;
  stats_.failed += delta.failed;
  stats_.retries += delta.retries;
  stats_.canceled += delta.canceled;
  stats_.released += delta.released;
  stats_.lost += delta.lost;
}

}  // namespace stepline::host::jobs
