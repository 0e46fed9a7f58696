#include <stepline/host/jobs/async_service.hpp>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <future>

#include <stepline/format/format_error.hpp>
#include <stepline/format/json.hpp>
#include <stepline/host/log.hpp>
#include <stepline/thread_name.hpp>

#include "attempt_journal.hpp"
#include "store_outage.hpp"

namespace stepline::host::jobs {
namespace {

using Clock = std::chrono::steady_clock;

long long milliseconds_since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

std::int64_t steady_ns(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
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

std::string duration_text(std::chrono::milliseconds d) {
  if (d.count() % 60000 == 0) return std::to_string(d.count() / 60000) + "m";
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count()) + "ms";
}

/// The same store, whatever way its file is named.
bool same_store(store::Location a, store::Location b) {
  for (auto* where : {&a, &b}) {
    std::error_code ec;
    auto file = std::filesystem::weakly_canonical(where->file, ec);
    if (ec) return false;
    where->file = file;
    where->data_folder.clear();
  }
  return a == b;
}

/// The job's context: the one handed over in memory, else read from its stored text.
std::shared_ptr<const ExecutionContext> frozen_context(const store::SystemJob& job) {
  if (job.frozen) return job.frozen;
  if (auto problem = job.context_problem(); !problem.empty())
    throw std::runtime_error(std::string(problem));
  return std::make_shared<const ExecutionContext>(format::json::read_context(job.context));
}

store::JobResult base_result(const store::SystemJob& job) {
  store::JobResult r;
  r.id = job.id;
  r.sequence = job.sequence;
  r.retry_count = job.retry_count;
  return r;
}

store::JobResult released(const store::SystemJob& job) {
  store::JobResult r = base_result(job);
  r.status = store::JobStatus::ready;
  return r;
}

store::JobResult failed(const store::SystemJob& job, int code, std::string message,
                        std::string friendly) {
  store::JobResult r = base_result(job);
  r.status = store::JobStatus::failed;
  r.error_code = code;
  r.message = std::move(message);
  r.friendly_message = std::move(friendly);
  return r;
}

/// The reason of a result for the log, each part once: the friendly message often holds the
/// technical one whole, or all of it but the step's name in front ("step 'X': <what>" beside
/// "<what>; gave up after ...").
std::string reason_of(const store::JobResult& r) {
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

/// Threads of every service of the process left behind in plug-ins and not back yet.
std::atomic<std::size_t> left_behind{0};

/// What a worker thread is doing, as its supervisor sees it.
enum WorkerState : int {
  idle,       ///< not inside a plug-in
  running,    ///< inside an in-process plug-in job, until its deadline
  abandoned,  ///< left behind in a plug-in that passed its deadline; replaced
};

}  // namespace

/// A worker's jobs and what their attempts came to. Shared, so that a worker abandoned in a hung
/// plug-in leaves its batch to the worker that replaces it.
struct AsyncService::Batch {
  std::vector<store::SystemJob> jobs;
  std::vector<store::JobResult> results;
  /// The outcomes of posts started with a callback (EndpointPoster::post_then), by slot. Shared
  /// with the callbacks: one arriving after the worker gave up on it finds it still there.
  struct Arrivals {
    std::mutex mutex;
    std::condition_variable all_arrived;
    std::vector<std::optional<amqp::Outcome>> outcomes;
    std::size_t missing = 0;
  };
  static constexpr std::size_t no_slot = static_cast<std::size_t>(-1);
  struct Pending {
    std::size_t index;
    const registration::ServiceEndpoint* endpoint;
    std::future<amqp::Outcome> outcome;  ///< a post started with post()
    Clock::time_point started;
    std::size_t slot = no_slot;  ///< or its place in `arrivals`
  };
  std::vector<Pending> pending;  ///< posts started, outcomes not yet read
  std::shared_ptr<Arrivals> arrivals;
  std::shared_ptr<const registration::Registration> registration;  ///< the batch's steps
  bool handed = false;  ///< handed over at commits: counted in the hand-off window
  /// Results written already (a hung plug-in's failure, by the supervisor); empty = none.
  std::vector<bool> recorded;
};

/// The journal slots of the worker threads (AttemptJournal), shared with abandoned threads: one
/// whose plug-in returns after all gives its slot back and counts itself out.
struct AsyncService::WorkerSlots {
  std::shared_ptr<AttemptJournal> journal;  ///< null: attempts are not journaled in this run
  std::mutex mutex;
  std::vector<std::size_t> free;  ///< under mutex
  std::size_t out = 0;            ///< abandoned threads still in their plug-in, under mutex

  /// A free slot; past the journal's end (not journaled) if none is left, which the bound on
  /// threads left behind keeps from happening.
  std::size_t take() {
    std::lock_guard lock(mutex);
    if (free.empty()) return static_cast<std::size_t>(-1);
    auto slot = free.back();
    free.pop_back();
    return slot;
  }
  /// An abandoned thread came back from its plug-in.
  void came_back(std::size_t slot) {
    if (journal) journal->end(slot);
    std::lock_guard lock(mutex);
    if (slot != static_cast<std::size_t>(-1)) free.push_back(slot);
    --out;
    left_behind.fetch_sub(1, std::memory_order_relaxed);
  }
  /// A thread is left behind; under mutex.
  void leave_behind() {
    ++out;
    left_behind.fetch_add(1, std::memory_order_relaxed);
  }
};

struct AsyncService::Worker {
  explicit Worker(std::shared_ptr<WorkerSlots> s) : slots(std::move(s)), slot(slots->take()) {}

  /// Marks the start of in-process plug-in job `index` of `batch`, due back by `deadline`.
  void enter(const std::shared_ptr<Batch>& b, std::size_t index, Clock::time_point deadline) {
    {
      std::lock_guard lock(mutex);
      batch = b;
      running_index = index;
    }
    deadline_ns.store(steady_ns(deadline), std::memory_order_relaxed);
    if (slots->journal) slots->journal->begin(slot, b->jobs[index].id);
    state.store(WorkerState::running, std::memory_order_release);
  }
  /// Back from the plug-in; false when the supervisor abandoned this worker meanwhile.
  bool leave() {
    int expected = WorkerState::running;
    if (!state.compare_exchange_strong(expected, WorkerState::idle, std::memory_order_acq_rel)) {
      slots->came_back(slot);
      return false;
    }
    if (slots->journal) slots->journal->end(slot);
    return true;
  }

  std::shared_ptr<WorkerSlots> slots;
  const std::size_t slot;
  std::atomic<int> state{WorkerState::idle};
  std::atomic<std::int64_t> deadline_ns{0};
  /// The running job's step name, for the supervisor's log while the worker may move on.
  std::string running_step() {
    std::lock_guard lock(mutex);
    return batch->jobs[running_index].step_name;
  }

  // Written by the worker before it marks itself running, under `mutex` for a supervisor that
  // looks without abandoning it; one that abandoned it owns them (the state orders that).
  std::mutex mutex;
  std::shared_ptr<Batch> batch;
  std::size_t running_index = 0;
  bool limit_reported = false;  ///< supervisor only
  std::thread thread;
  std::promise<void> finished_promise;
  std::future<void> finished = finished_promise.get_future();
};

AsyncService::AsyncService(pipeline::Pipeline& pipeline, const store::Location& where,
                           endpoints::EndpointPoster* poster, AsyncServiceOptions options)
    : pipeline_(pipeline),
      poster_(poster),
      options_(std::move(options)),
      store_(store::open_jobs(where, options_.durability.value_or(pipeline.store().durability()))),
      slots_(std::make_shared<WorkerSlots>()),
      outage_(std::make_unique<StoreOutage>(where.describe())) {
  std::random_device entropy;
  random_.seed(options_.seed ? options_.seed : (std::uint64_t(entropy()) << 32) ^ entropy());
  // The nonce tells apart services of one process, so it never comes from the seeded generator.
  char nonce[9];
  std::snprintf(nonce, sizeof nonce, "%08x", static_cast<unsigned>(entropy()));
  owner_ = process_owner_prefix() + nonce;
  const auto& host = pipeline_.registration()->host;
  if (options_.workers <= 0) options_.workers = host.async_workers;
  options_.workers = std::max(1, options_.workers);
  options_.batch = std::max<std::size_t>(1, options_.batch);
  if (options_.handoff_window == 0)
    options_.handoff_window = 2 * static_cast<std::size_t>(options_.workers) * options_.batch;
  if (options_.crash_limit <= 0) options_.crash_limit = host.async_crash_limit;
  if (options_.max_abandoned == 0) options_.max_abandoned = options_.workers;
}

AsyncService::~AsyncService() {
  stop();
}

std::size_t AsyncService::threads_left_behind() noexcept {
  return left_behind.load(std::memory_order_relaxed);
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
  const std::size_t slot_count =
      static_cast<std::size_t>(options_.workers) + options_.max_abandoned;
  for (std::size_t slot = slot_count; slot-- > 0;) slots_->free.push_back(slot);
  try {
    slots_->journal =
        std::make_shared<AttemptJournal>(store_->location().attempts_folder(), owner_, slot_count);
  } catch (const std::exception& e) {
    log::warn(
        "async service: a plug-in that takes the host down is not counted against its job in "
        "this run: {}",
        e.what());
  }
  std::size_t recovered = recover();
  if (recovered)
    log::info("async service: {} job(s) left in progress by a stopped host are ready again",
              recovered);
  started_ = true;
  log::info("async service: {} worker(s), lease owner {}, {} (durability {}; {})", options_.workers,
            owner_, store_->location().describe(), registration::to_string(store_->durability()),
            poster_ ? "plug-in and endpoint jobs" : "plug-in jobs only: no endpoint poster");
  try {
    companion_ = store_->accompany([this] {
      {
        std::lock_guard lock(wake_mutex_);
        ++announcements_;
      }
      wake_.notify_all();
    });
  } catch (const std::exception& e) {
    log::warn("async service: the store's work beside the service is left to its commits: {}",
              e.what());
  }
  for (int i = 0; i < options_.workers; ++i) start_worker(nullptr, 0);
  supervisor_ = std::thread([this] {
    name_this_thread("sl-jobs-watch");
    supervise();
  });
  // Another service of this process may be the store's taker already; this one then polls.
  if (options_.handoff && same_store(pipeline_.store().location(), store_->location()))
    pipeline_.store().attach_handoff(*this);
  return recovered;
}

std::size_t AsyncService::recover() {
  // The jobs a dead service's threads were running never returned: count them first, so that
  // a job that took the host down is not simply handed back to run (and crash) again.
  try {
    auto left =
        AttemptJournal::claim_left(store_->location().attempts_folder(), owner_, owner_is_dead);
    for (auto& journal : left) {
      auto crashed = store_->count_crashes(journal.jobs, options_.crash_limit, now_utc());
      std::error_code ec;
      std::filesystem::remove(journal.claimed, ec);
      for (const auto& job : crashed) {
        if (!job.failed) {
          log::warn(
              "system job {}: the host ({}) died while it ran step '{}' ({} of {} such attempts "
              "before it fails); it runs again",
              job.id.str(), journal.owner, job.step_name, job.crash_count, options_.crash_limit);
          continue;
        }
        log::error(
            "system job {} failed: the host died while running step '{}' {} times; the step "
            "should run with `isolation: process`, so that a crash fails only the step",
            job.id.str(), job.step_name, job.crash_count);
        std::lock_guard lock(stats_mutex_);
        ++stats_.crashed;
      }
    }
  } catch (const std::exception& e) {
    // The journals stay claimed; the next round counts them.
    outage_->failed("count the jobs a stopped host was running", e.what());
  }
  try {
    return store_->recover(now_utc(), owner_is_dead);
  } catch (const std::exception& e) {
    outage_->failed("hand back the jobs of stopped hosts", e.what());
    return 0;
  }
}

bool AsyncService::claim(store::SystemJob& job) {
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

void AsyncService::committed(std::vector<store::SystemJob> jobs) {
  {
    std::lock_guard lock(wake_mutex_);
    for (auto& job : jobs) handed_.push_back(std::move(job));
  }
  wake_.notify_one();
}

void AsyncService::abandoned(std::size_t count) {
  in_hand_.fetch_sub(count, std::memory_order_acq_rel);
}

store::HandoffRoom AsyncService::room() const noexcept {
  // Jobs that did not fit the window wait in the database and go first: while there are any,
  // the service has no room for more, though it is working (its finished count grows).
  const auto in_hand = in_hand_.load(std::memory_order_acquire);
  const bool behind = overflowed_.load(std::memory_order_acquire);
  return {
      .free = behind || in_hand >= options_.handoff_window ? 0 : options_.handoff_window - in_hand,
      .finished = finished_.load(std::memory_order_acquire)};
}

void AsyncService::stop(std::chrono::milliseconds grace) {
  if (!started_ || stopping()) return;
  // No job is taken from a commit from here on; the ones taken and not yet run stay In progress
  // under this service's lease until the release below hands them back.
  pipeline_.store().detach_handoff(*this);
  auto deadline = Clock::now() + std::min<std::chrono::milliseconds>(grace, std::chrono::hours(24));
  deadline_ns_.store(steady_ns(deadline), std::memory_order_release);
  stopping_.store(true, std::memory_order_release);
  { std::lock_guard lock(wake_mutex_); }
  wake_.notify_all();
  pause_.notify_all();
  if (supervisor_.joinable()) supervisor_.join();
  join_workers();
  {
    std::lock_guard lock(wake_mutex_);
    handed_.clear();
  }
  in_hand_.store(0, std::memory_order_release);
  companion_.reset();
  std::size_t handed_back = 0;
  for (int attempt = 0; attempt < 10; ++attempt) {
    try {
      handed_back = store_->release(owner_);
      break;
    } catch (const std::exception& e) {
      log::warn("async service: cannot hand back held jobs yet: {}", e.what());
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  // Nothing of this service runs a job any more (abandoned threads are counted out of it).
  if (slots_->journal) slots_->journal->close();
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

void AsyncService::join_workers() {
  std::vector<std::shared_ptr<Worker>> workers;
  {
    std::lock_guard lock(workers_mutex_);
    workers.swap(workers_);
  }
  const auto deadline = Clock::time_point(std::chrono::nanoseconds(deadline_ns_.load()));
  for (auto& w : workers) {
    // A worker inside a plug-in that outlasts the grace period is left there: its jobs are
    // handed back below like every other held job.
    while (
        w->finished.wait_until(std::max(deadline, Clock::now() + std::chrono::milliseconds(50))) !=
        std::future_status::ready) {
      int expected = WorkerState::running;
      if (Clock::now() >= deadline &&
          w->state.compare_exchange_strong(expected, WorkerState::abandoned)) {
        log::error(
            "async service: a worker is still inside step '{}' after the grace period; it is "
            "left behind and its job runs again at the next start",
            w->batch->jobs[w->running_index].step_name);
        {
          std::lock_guard lock(w->slots->mutex);
          w->slots->leave_behind();
        }
        w->thread.detach();
        break;
      }
    }
    if (w->thread.joinable()) w->thread.join();
  }
}

bool AsyncService::past_deadline() const {
  if (!stopping()) return false;
  return steady_ns(Clock::now()) >= deadline_ns_.load(std::memory_order_acquire);
}

bool AsyncService::drain(long long sequence, std::chrono::milliseconds timeout,
                         std::chrono::milliseconds outage_limit) {
  auto until = timeout == std::chrono::milliseconds::max() ? Clock::time_point::max()
                                                           : Clock::now() + timeout;
  for (;;) {
    try {
      if (!store_->unfinished_after(sequence, poster_ != nullptr)) return true;
    } catch (const std::exception& e) {
      log::debug("async service: drain check failed, trying again: {}", e.what());
    }
    if (Clock::now() >= until) return false;
    if (outage_->lasted() >= outage_limit) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string AsyncService::outage() const {
  auto lasted = outage_->lasted();
  if (lasted.count() == 0) return {};
  return "the job store " + store_->location().describe() + " has refused writes for " +
         std::to_string(lasted.count() / 1000) + " s (" + outage_->last_error() + ")";
}

AsyncServiceStats AsyncService::stats() const {
  std::lock_guard lock(stats_mutex_);
  return stats_;
}

void AsyncService::supervise() {
  const auto renew_every =
      std::max<std::chrono::milliseconds>(options_.lease / 3, std::chrono::milliseconds(10));
  // Hung plug-ins are looked for this often; a step's timeout is met to within it.
  const auto watch_every =
      std::min<std::chrono::milliseconds>(renew_every, std::chrono::milliseconds(100));
  auto next_renewal = Clock::now() + renew_every;
  while (!stopping()) {
    {
      std::unique_lock lock(wake_mutex_);
      pause_.wait_for(lock, watch_every, [&] { return stopping(); });
    }
    if (stopping()) break;
    abandon_hung();
    if (Clock::now() < next_renewal) continue;
    next_renewal = Clock::now() + renew_every;
    try {
      store_->renew(owner_, now_utc() + options_.lease);
    } catch (const std::exception& e) {
      outage_->failed("renew the leases of held jobs", e.what());
    }
    if (auto n = recover()) log::info("async service: {} abandoned job(s) are ready again", n);
  }
}

void AsyncService::abandon_hung() {
  const auto now = steady_ns(Clock::now());
  std::vector<std::pair<std::shared_ptr<Batch>, std::size_t>> resumed;
  {
    std::lock_guard lock(workers_mutex_);
    for (auto it = workers_.begin(); it != workers_.end();) {
      Worker& w = **it;
      if (w.state.load(std::memory_order_acquire) != WorkerState::running ||
          now < w.deadline_ns.load(std::memory_order_relaxed)) {
        ++it;
        continue;
      }
      {
        std::lock_guard slots(slots_->mutex);
        if (slots_->out >= options_.max_abandoned) {
          if (!w.limit_reported)
            log::error(
                "async service: a worker is stuck in step '{}' past its timeout, and {} worker "
                "thread(s) are already left behind in plug-ins, the most this service leaves: "
                "it keeps waiting. Run the step with `isolation: process`, and restart the host "
                "to get the threads back",
                w.running_step(), slots_->out);
          w.limit_reported = true;
          ++it;
          continue;
        }
        int expected = WorkerState::running;
        if (!w.state.compare_exchange_strong(expected, WorkerState::abandoned,
                                             std::memory_order_acq_rel)) {
          ++it;  // it came back just now
          continue;
        }
        slots_->leave_behind();
      }
      // The batch is this thread's now: the hung job fails, the rest goes on in a new worker.
      Batch& batch = *w.batch;
      const auto& job = batch.jobs[w.running_index];
      const auto* step = step_of(*batch.registration, job.step_id);
      const auto timeout = step ? step->timeout : std::chrono::milliseconds(0);
      auto& result = batch.results[w.running_index];
      result = failed(
          job, store::job_error::plugin_lost,
          "step '" + job.step_name + "' did not return within its timeout of " +
              duration_text(timeout) + "; its worker thread was left behind and replaced",
          "The plug-in of step '" + job.step_name + "' did not return within " +
              duration_text(timeout) +
              " (the step's timeout). A plug-in in the host process cannot be stopped: register "
              "the step with `isolation: process` so that a hung plug-in is killed, or raise its "
              "timeout if the work takes longer; then run `stepline jobs retry " +
              job.id.str() + "`");
      result.execution_time_ms = timeout.count();
      // Written now, not with the batch: the batch may be held up by another hung plug-in.
      try {
        if (store_->finish(std::span(&result, 1), owner_, now_utc()).front()) {
          batch.recorded.resize(batch.jobs.size());
          batch.recorded[w.running_index] = true;
          std::lock_guard stats(stats_mutex_);
          ++stats_.failed;
        }
      } catch (const std::exception& e) {
        outage_->failed("record a job result", e.what());  // the batch records it later
      }
      log::error(
          "system job {} failed: step '{}' did not return within {}; its worker thread is left "
          "behind in the plug-in ({} such thread(s) now) and a new one takes its place. The "
          "step should run with `isolation: process`",
          job.id.str(), job.step_name, duration_text(timeout), slots_->out);
      {
        std::lock_guard stats(stats_mutex_);
        ++stats_.timed_out;
        ++stats_.abandoned;
      }
      resumed.emplace_back(w.batch, w.running_index + 1);
      w.thread.detach();
      it = workers_.erase(it);
    }
  }
  for (auto& [batch, from] : resumed) start_worker(std::move(batch), from);
}

void AsyncService::start_worker(std::shared_ptr<Batch> resumed, std::size_t from) {
  auto worker = std::make_shared<Worker>(slots_);
  std::lock_guard lock(workers_mutex_);
  worker->thread = std::thread([this, worker, resumed = std::move(resumed), from]() mutable {
    name_this_thread("sl-job-worker");
    work(worker, std::move(resumed), from);
    worker->finished_promise.set_value();
  });
  workers_.push_back(std::move(worker));
}

std::vector<store::SystemJob> AsyncService::take_due(Backoff& backoff) {
  std::vector<store::SystemJob> due;
  try {
    auto now = now_utc();
    // The read-only check keeps idle workers off SQLite's write lock.
    if (store_->has_due(now, poster_ != nullptr)) {
      due = store_->take(owner_, now, now + options_.lease, options_.batch, poster_ != nullptr);
      outage_->ended();
    }
    backoff.reset();
  } catch (const std::exception& e) {
    outage_->failed("take jobs", e.what());
    // A store that refuses writes is asked again later, not at every poll.
    std::unique_lock lock(wake_mutex_);
    pause_.wait_for(lock, backoff.next(), [&] { return stopping(); });
  }
  return due;
}

std::shared_ptr<AsyncService::Batch> AsyncService::next_batch(Backoff& backoff) {
  std::uint64_t announced;
  {
    std::lock_guard lock(wake_mutex_);
    announced = announcements_;
  }
  auto batch = std::make_shared<Batch>();
  auto& jobs = batch->jobs;
  // Jobs that did not fit the hand-off window wait in the database and are older than the
  // ones handed over since: they go first.
  if (overflowed_.exchange(false, std::memory_order_acq_rel)) {
    jobs = take_due(backoff);
    if (jobs.size() == options_.batch) overflowed_.store(true, std::memory_order_release);
  }
  if (jobs.empty()) {
    // Whatever is there now: the batch goes on gathering after its posts have started (gather).
    std::unique_lock lock(wake_mutex_);
    jobs.reserve(options_.batch);
    while (!handed_.empty() && jobs.size() < options_.batch) {
      jobs.push_back(std::move(handed_.front()));
      handed_.pop_front();
    }
    batch->handed = !jobs.empty();
  }
  if (jobs.empty()) jobs = take_due(backoff);
  if (jobs.empty()) {
    // A store that announces other processes' jobs wakes this wait for them; polling then only
    // finds what nobody announces.
    const auto poll = companion_ && store_->announces_jobs()
                          ? std::max(options_.poll, options_.announced_poll)
                          : options_.poll;
    std::unique_lock lock(wake_mutex_);
    wake_.wait_for(lock, poll,
                   [&] { return stopping() || !handed_.empty() || announcements_ != announced; });
    return nullptr;
  }
  return batch;
}

void AsyncService::work(std::shared_ptr<Worker> self, std::shared_ptr<Batch> resumed,
                        std::size_t from) {
  if (resumed && !run(*self, resumed, from)) return;
  Backoff backoff(options_.poll, std::chrono::seconds(2));
  while (!stopping()) {
    auto batch = next_batch(backoff);
    if (!batch) continue;
    batch->registration = pipeline_.registration();
    batch->results.resize(batch->jobs.size());
    // Abandoned: this thread is no longer the service's, which may even be gone.
    if (!run(*self, batch, 0)) return;
  }
}

bool AsyncService::run(Worker& self, const std::shared_ptr<Batch>& batch, std::size_t from) {
  if (from == 0) {
    start_posts(*batch);
    if (batch->handed) gather(*batch);
  }
  if (!run_plugins(self, batch, from)) return false;
  settle_posts(*batch);
  for (std::size_t i = 0; i < batch->jobs.size(); ++i) {
    if (batch->results[i].status != store::JobStatus::succeeded) continue;
    const auto* step = step_of(*batch->registration, batch->jobs[i].step_id);
    batch->results[i].remove = step && step->auto_delete;
  }
  if (batch->recorded.empty()) {
    record(batch->results);
  } else {
    std::vector<store::JobResult> rest;
    for (std::size_t i = 0; i < batch->results.size(); ++i)
      if (!batch->recorded[i]) rest.push_back(std::move(batch->results[i]));
    record(rest);
  }
  if (batch->handed) in_hand_.fetch_sub(batch->jobs.size(), std::memory_order_acq_rel);
  return true;
}

namespace {

/// What one attempt of one job did, before it is turned into a JobResult.
class Attempt {
 public:
  Attempt(const store::SystemJob& job, const registration::RetryPolicy& policy,
          std::mt19937_64& random, std::mutex& random_mutex)
      : job_(job), policy_(policy), random_(random), random_mutex_(random_mutex) {}

  /// A failure that may pass: Waiting for the next attempt, or Failed when none is left. The
  /// wait is at least `at_least` (a receiver's Retry-After), up to the policy's max_delay.
  store::JobResult retry_or_fail(int code, const std::string& message, const std::string& what,
                                 std::optional<std::chrono::milliseconds> at_least = std::nullopt) {
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
    if (at_least) delay = std::max(delay, std::min(*at_least, policy_.max_delay));
    store::JobResult r = base_result(job_);
    r.status = store::JobStatus::waiting;
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
  const store::SystemJob& job_;
  const registration::RetryPolicy& policy_;
  std::mt19937_64& random_;
  std::mutex& random_mutex_;
};

}  // namespace

void AsyncService::gather(Batch& batch) {
  const auto until = Clock::now() + options_.linger;
  std::unique_lock lock(wake_mutex_);
  while (batch.jobs.size() < options_.batch && !stopping()) {
    if (!wake_.wait_until(lock, until, [&] { return stopping() || !handed_.empty(); })) break;
    if (stopping()) break;
    const std::size_t first = batch.jobs.size();
    // Within the capacity reserved in next_batch: the jobs already posted do not move.
    while (!handed_.empty() && batch.jobs.size() < options_.batch) {
      batch.jobs.push_back(std::move(handed_.front()));
      handed_.pop_front();
    }
    batch.results.resize(batch.jobs.size());
    lock.unlock();
    start_posts(batch, first);
    lock.lock();
  }
}

void AsyncService::start_posts(Batch& batch, std::size_t from) {
  // Posts go out first, so their round trips overlap with each other and with plug-in work.
  for (std::size_t i = from; i < batch.jobs.size(); ++i) {
    const auto& job = batch.jobs[i];
    if (!job.endpoint) continue;
    const auto* endpoint = batch.registration->find_endpoint(*job.endpoint);
    if (!endpoint) {
      batch.results[i] = failed(
          job, pipeline::error_code::configuration,
          "service endpoint '" + *job.endpoint + "' is not registered",
          "Service endpoint '" + *job.endpoint + "' of step '" + job.step_name +
              "' is no longer registered: register it again and retry the job, or cancel it");
      continue;
    }
    try {
      auto context = frozen_context(job);
      endpoints::PostOptions options;
      options.ordering_key = job.ordering_key;
      options.json_body = job.context;  // the frozen context's own text: not written again
      if (!batch.arrivals) batch.arrivals = std::make_shared<Batch::Arrivals>();
      auto arrivals = batch.arrivals;
      std::size_t slot;
      {
        std::lock_guard lock(arrivals->mutex);
        slot = arrivals->outcomes.size();
        arrivals->outcomes.emplace_back();
        ++arrivals->missing;
      }
      const auto started = Clock::now();
      // The slot takes one outcome: the poster's, or the failure of a post that never started
      // (a poster without callbacks, or one that threw), so `missing` counts each slot once.
      auto settle = [arrivals, slot](amqp::Outcome outcome) {
        std::unique_lock lock(arrivals->mutex);
        if (arrivals->outcomes[slot]) return;
        arrivals->outcomes[slot] = std::move(outcome);
        if (--arrivals->missing > 0) return;
        lock.unlock();
        arrivals->all_arrived.notify_one();
      };
      bool called_back = false;
      try {
        called_back = poster_->post_then(*endpoint, *context, options, settle);
      } catch (const std::exception& e) {
        settle(amqp::Outcome::failure(amqp::local_condition::configuration, e.what()));
        throw;
      }
      if (called_back) {
        batch.pending.push_back({i, endpoint, {}, started, slot});
      } else {
        settle(amqp::Outcome::failure(amqp::local_condition::configuration, "not posted"));
        batch.pending.push_back(
            {i, endpoint, poster_->post(*endpoint, *context, options), started});
      }
    } catch (const std::exception& e) {
      batch.results[i] = failed(job, pipeline::error_code::unexpected, e.what(),
                                "The job's context could not be posted to service endpoint '" +
                                    endpoint->name + "': " + e.what());
    }
  }
}

bool AsyncService::run_plugins(Worker& self, const std::shared_ptr<Batch>& shared,
                               std::size_t from) {
  // A worker abandoned in a plug-in keeps `shared` (and the batch) alive on its stack, however
  // long it stays there.
  Batch& batch = *shared;
  for (std::size_t i = from; i < batch.jobs.size(); ++i) {
    const auto& job = batch.jobs[i];
    if (job.endpoint) continue;
    if (stopping()) {
      batch.results[i] = released(job);
      continue;
    }
    const auto* step = step_of(*batch.registration, job.step_id);
    // An isolated step's own timeout kills its worker process; only a plug-in in this process
    // can take the host down or hold a thread for ever.
    const bool in_process = step && step->isolation != IsolationMode::process;
    auto started = Clock::now();
    std::vector<std::string> traces;
    ExecutionContext context;
    std::exception_ptr thrown;
    try {
      context = *frozen_context(job);  // the plug-in may change its copy
    } catch (...) {
      thrown = std::current_exception();
    }
    if (!thrown) {
      if (in_process) self.enter(shared, i, started + step->timeout);
      try {
        pipeline_.run_job(context, job.step_id, traces);
      } catch (...) {
        thrown = std::current_exception();
      }
      // Nothing of the service is touched before this: an abandoned worker returns at once.
      if (in_process && !self.leave()) return false;
    }
    store::JobResult& result = batch.results[i];
    Attempt attempt(job, options_.plugin_retry, random_, random_mutex_);
    try {
      if (thrown) std::rethrow_exception(thrown);
      result = base_result(job);
      result.status = store::JobStatus::succeeded;
      result.error_code.reset();
    } catch (const pipeline::OperationFailed& e) {
      result = failed(job, e.error_code(), "step '" + job.step_name + "': " + e.what(), e.what());
    } catch (const InvalidPluginExecution& e) {
      auto message = "step '" + job.step_name + "': " + e.what();
      result = e.status() == OperationStatus::retry
                   ? attempt.retry_or_fail(e.error_code(), message, e.what())
                   : failed(job, e.error_code(), message, e.what());
    } catch (const store::StorageFull& e) {
      // A nested request could not be saved: a full disk passes, so the job is retried.
      result = attempt.retry_or_fail(
          pipeline::error_code::unexpected, "step '" + job.step_name + "': " + e.what(),
          "A request of the plug-in could not be saved: the disk is full");
    } catch (const std::exception& e) {
      // The frozen context could not be read: retrying would read the same text.
      result = failed(job, pipeline::error_code::unexpected, e.what(),
                      "The job's context could not be read: " + std::string(e.what()));
    }
    result.execution_time_ms = milliseconds_since(started);
    result.trace = join_lines(traces);
  }
  return true;
}

void AsyncService::settle_posts(Batch& batch) {
  // A link settles its posts in about the order they went out: waiting for the batch's last
  // post first puts the worker to sleep once a batch, not once a post (each wake-up of a thread
  // costs about as much as a post's encoding).
  // Posts with callbacks wake the worker once, when the last of them arrives.
  if (auto arrivals = batch.arrivals) {
    std::unique_lock lock(arrivals->mutex);
    while (arrivals->missing > 0)
      if (arrivals->all_arrived.wait_for(lock, std::chrono::milliseconds(50)) ==
              std::cv_status::timeout &&
          past_deadline())
        break;
  }
  for (auto it = batch.pending.rbegin(); it != batch.pending.rend(); ++it) {
    if (it->slot != Batch::no_slot) continue;
    while (it->outcome.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready)
      if (past_deadline()) break;
    break;
  }
  for (auto& p : batch.pending) {
    const auto& job = batch.jobs[p.index];
    auto& result = batch.results[p.index];
    std::optional<amqp::Outcome> arrived;
    if (p.slot != Batch::no_slot) {
      std::lock_guard lock(batch.arrivals->mutex);
      arrived = std::move(batch.arrivals->outcomes[p.slot]);
    } else {
      while (p.outcome.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready)
        if (past_deadline()) break;
      if (p.outcome.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
        try {
          arrived = p.outcome.get();
        } catch (const std::exception& e) {
          arrived = amqp::Outcome::failure(amqp::local_condition::configuration, e.what());
        }
      }
    }
    if (!arrived) {
      result = released(job);
      continue;
    }
    amqp::Outcome outcome = std::move(*arrived);
    const std::string& name = p.endpoint->name;
    const std::string detail = outcome.condition + ": " + outcome.description;
    switch (outcome.status) {
      case amqp::OutcomeStatus::accepted:
        result = base_result(job);
        result.status = store::JobStatus::succeeded;
        break;
      case amqp::OutcomeStatus::shutdown:
        result = released(job);
        break;
      case amqp::OutcomeStatus::transient: {
        Attempt attempt(job, p.endpoint->retry, random_, random_mutex_);
        result = attempt.retry_or_fail(
            store::job_error::endpoint_post, detail,
            "Posting to service endpoint '" + name + "' failed (" + outcome.condition + ")",
            outcome.retry_after);
        break;
      }
      case amqp::OutcomeStatus::permanent:
        result = failed(job, store::job_error::endpoint_post, detail,
                        "Service endpoint '" + name + "' refused the post (" + outcome.condition +
                            "), and retrying cannot help: fix the endpoint or its entity, then "
                            "run `stepline jobs retry " +
                            job.id.str() + "`");
        break;
    }
    result.execution_time_ms = milliseconds_since(p.started);
  }
  batch.pending.clear();
  batch.arrivals.reset();  // a callback still to come keeps its own
}

void AsyncService::record(std::vector<store::JobResult>& results) {
  std::vector<std::optional<store::JobStatus>> written;
  Backoff backoff(std::chrono::milliseconds(100), std::chrono::seconds(5));
  for (;;) {
    try {
      written = store_->finish(results, owner_, now_utc());
      outage_->ended();
      finished_.fetch_add(results.size(), std::memory_order_acq_rel);
      break;
    } catch (const std::exception& e) {
      // The results are kept until they are written, however long the store refuses: dropped,
      // their jobs would stay In progress under leases this service keeps renewing.
      outage_->failed("record " + std::to_string(results.size()) + " job result(s)", e.what());
      if (past_deadline()) {
        log::error(
            "async service: stopping without recording {} job result(s) ({}); their jobs run "
            "again when a service next starts",
            results.size(), e.what());
        return;
      }
      std::unique_lock lock(wake_mutex_);
      auto pause = backoff.next();
      pause_.wait_for(lock, pause, [&] { return past_deadline(); });
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
      case store::JobStatus::succeeded:
        ++delta.succeeded;
        log::debug("system job {} succeeded in {} ms", log::lazy([&r] { return r.id.str(); }),
                   r.execution_time_ms.value_or(0));
        break;
      case store::JobStatus::failed:
        ++delta.failed;
        log::warn("system job {} failed: {}", r.id.str(), reason_of(r));
        break;
      case store::JobStatus::waiting:
        ++delta.retries;
        log::info("system job {} waits: {}", r.id.str(), reason_of(r));
        break;
      case store::JobStatus::canceled:
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
