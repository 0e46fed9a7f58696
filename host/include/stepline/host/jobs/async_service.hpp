// The asynchronous service: a pool of workers that take due system jobs from the store under a
// lease and run them — a plug-in step with its frozen context through the pipeline, an endpoint
// step through the EndpointPoster — then record Succeeded, Failed (with the reason) or Waiting
// (with the next attempt's time) under the step's retry policy. `stepline serve` runs one;
// `stepline run --drain` runs one in-process until its requests' jobs are done.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <stepline/host/endpoints/endpoint_poster.hpp>
#include <stepline/host/jobs/retry_schedule.hpp>
#include <stepline/host/pipeline/pipeline.hpp>
#include <stepline/host/store/job_store.hpp>
#include <stepline/host/store/store.hpp>
#include <stepline/registration/model.hpp>

namespace stepline::host::jobs {

class StoreOutage;
class Backoff;

struct AsyncServiceOptions {
  int workers = 0;         ///< worker threads; 0 = the registration's host.async_workers
  std::size_t batch = 64;  ///< jobs one worker takes at once (their posts overlap)
  std::chrono::milliseconds lease{std::chrono::seconds(60)};      ///< renewed every third of it
  std::chrono::milliseconds poll{std::chrono::milliseconds(20)};  ///< idle workers look this often
  /// How often idle workers look when the store announces the jobs other processes queue
  /// (PostgreSQL): only for what nobody announces, retries coming due and expired leases.
  std::chrono::milliseconds announced_poll{std::chrono::seconds(1)};
  /// For plug-ins that ask for a retry (endpoints have their own policy in the YAML).
  registration::RetryPolicy plugin_retry = default_plugin_retry();
  std::uint64_t seed = 0;  ///< jitter's random seed; 0 = a random one
  /// Take the jobs of this process's operations at their commit instead of finding them in the
  /// database (when the pipeline's record store is this service's database file).
  bool handoff = true;
  /// Jobs taken that way and not yet finished, at most; 0 = 2 x workers x batch. Beyond it jobs
  /// wait in the database as Ready, so memory stays bounded whatever the backlog.
  std::size_t handoff_window = 0;
  /// A worker keeps taking the jobs handed over for this long after its batch's first ones, up
  /// to `batch`, posting each as it comes, so that one commit records many results even when
  /// operations arrive one at a time, and no post waits for the others to be gathered.
  std::chrono::microseconds linger{std::chrono::milliseconds(2)};
  /// The job store's (and its companion's); nullopt = the pipeline's record store's (which is
  /// the registration's host.durability unless the host was opened with another).
  std::optional<store::Durability> durability;
  /// A job whose attempts took the host down this many times fails; 0 = the registration's
  /// host.async_crash_limit.
  int crash_limit = 0;
  /// Worker threads left behind in plug-ins that did not return within their step's timeout, at
  /// most; a worker that hangs beyond that is not replaced. 0 = as many as workers.
  std::size_t max_abandoned = 0;
};

/// Counts since start, for the drain summary, logs and benchmarks.
struct AsyncServiceStats {
  std::uint64_t succeeded = 0;
  std::uint64_t failed = 0;
  std::uint64_t retries = 0;    ///< attempts that ended Waiting for another
  std::uint64_t canceled = 0;   ///< attempts that ended with the job canceled
  std::uint64_t released = 0;   ///< jobs handed back to Ready without an attempt (shutdown)
  std::uint64_t lost = 0;       ///< results not written because another process took the job
  std::uint64_t timed_out = 0;  ///< in-process plug-in jobs failed for not returning in time
  std::uint64_t abandoned = 0;  ///< worker threads left behind in such plug-ins (and replaced)
  std::uint64_t crashed = 0;    ///< jobs failed because the host died while they ran
};

class AsyncService : private store::JobHandoff {
 public:
  /// Runs jobs of `pipeline`'s registration from the store at `store`. Without a poster only
  /// plug-in jobs are taken; endpoint jobs wait for a service that has one.
  AsyncService(pipeline::Pipeline& pipeline, const store::Location& store,
               endpoints::EndpointPoster* poster, AsyncServiceOptions options = {});
  /// Stops with stop()'s default grace.
  ~AsyncService();
  AsyncService(const AsyncService&) = delete;
  AsyncService& operator=(const AsyncService&) = delete;

  /// Hands back jobs left In progress by processes that died or whose lease expired, then
  /// starts the workers. Returns how many jobs were handed back.
  std::size_t start();
  /// Stops taking jobs; attempts under way get until `grace` to finish and be recorded, the
  /// rest go back to Ready. Joins the workers (a plug-in that never returns blocks here).
  /// Idempotent.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(30));
  /// Waits until every job created after `sequence` (see JobStore::last_sequence) that this
  /// service can run is completed; false when `timeout` passed first, or when the job store has
  /// refused every write for `outage_limit` (outage() says why). Waiting jobs count as
  /// unfinished; without a poster, endpoint jobs are not waited for.
  bool drain(long long sequence,
             std::chrono::milliseconds timeout = std::chrono::milliseconds::max(),
             std::chrono::milliseconds outage_limit = std::chrono::milliseconds::max());
  /// While the job store refuses writes (a full disk): for how long, and SQLite's reason;
  /// empty when it does not.
  std::string outage() const;

  AsyncServiceStats stats() const;
  store::JobStore& store() noexcept { return *store_; }
  /// "host:pid:nonce", the lease owner written on the jobs this service holds.
  const std::string& owner() const noexcept { return owner_; }
  /// What the job store's commits and the checkpointer sync for.
  store::Durability durability() const noexcept { return store_->durability(); }

  /// Worker threads of every service of this process still inside a plug-in that did not
  /// return in time. While there are any, the process must not run its static destructors (they
  /// could unload what such a thread still runs): `stepline` ends with std::_Exit then.
  static std::size_t threads_left_behind() noexcept;

  /// The lease owner this process would write, without the nonce ("host:pid:").
  static std::string process_owner_prefix();
  /// True when `owner` names a process on this machine that no longer exists.
  static bool owner_is_dead(std::string_view owner);

 private:
  struct Batch;
  struct Worker;
  struct WorkerSlots;
  void start_worker(std::shared_ptr<Batch> resumed, std::size_t from);
  void work(std::shared_ptr<Worker> self, std::shared_ptr<Batch> resumed, std::size_t from);
  std::shared_ptr<Batch> next_batch(Backoff& backoff);
  std::vector<store::SystemJob> take_due(Backoff& backoff);
  /// Runs the batch from plug-in job `from` on; false when the worker was abandoned meanwhile
  /// (it must then return at once, touching nothing of the service).
  bool run(Worker& self, const std::shared_ptr<Batch>& batch, std::size_t from);
  /// Starts the posts of the batch's endpoint jobs from `from` on.
  void start_posts(Batch& batch, std::size_t from = 0);
  /// Adds the jobs handed over during options_.linger to a batch of handed-over jobs, up to
  /// options_.batch, starting their posts as they come.
  void gather(Batch& batch);
  bool run_plugins(Worker& self, const std::shared_ptr<Batch>& batch, std::size_t from);
  void settle_posts(Batch& batch);
  void supervise();
  void abandon_hung();
  void join_workers();
  std::size_t recover();
  bool stopping() const noexcept { return stopping_.load(std::memory_order_acquire); }
  bool past_deadline() const;
  void record(std::vector<store::JobResult>& results);
  // JobHandoff, called by the pipeline's record store in and after operations' commits.
  bool claim(store::SystemJob& job) override;
  void committed(std::vector<store::SystemJob> jobs) override;
  void abandoned(std::size_t count) override;
  store::HandoffRoom room() const noexcept override;

  pipeline::Pipeline& pipeline_;
  endpoints::EndpointPoster* poster_;
  AsyncServiceOptions options_;
  std::unique_ptr<store::JobStore> store_;
  std::string owner_;

  std::atomic<bool> stopping_{false};
  std::atomic<std::int64_t> deadline_ns_{0};  ///< steady clock; set by stop()
  std::mutex wake_mutex_;
  std::condition_variable wake_;     ///< jobs were handed over or announced (or stopping)
  std::uint64_t announcements_ = 0;  ///< the store announced jobs this often, under wake_mutex_
  std::condition_variable pause_;    ///< only stopping: for the supervisor and backoffs, so that
                                     ///< they never take a wake-up meant for an idle worker
  std::mutex workers_mutex_;
  std::vector<std::shared_ptr<Worker>> workers_;  ///< under workers_mutex_
  std::shared_ptr<WorkerSlots> slots_;
  std::thread supervisor_;
  std::unique_ptr<store::JobStore::Companion> companion_;  ///< the store's, while the service runs
  std::unique_ptr<StoreOutage> outage_;
  bool started_ = false;

  // The hand-off: jobs taken from commits (under wake_mutex_), and how many are taken and not
  // yet finished (the window).
  std::deque<store::SystemJob> handed_;
  std::atomic<std::size_t> in_hand_{0};
  std::atomic<bool> overflowed_{false};  ///< a job did not fit the window: look in the database
  std::atomic<std::uint64_t> finished_{0};  ///< jobs whose results are written, for room()

  mutable std::mutex stats_mutex_;
  AsyncServiceStats stats_;
  std::mutex random_mutex_;
  std::mt19937_64 random_;
};

}  // namespace stepline::host::jobs
