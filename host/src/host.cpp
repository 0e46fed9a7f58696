#include <stepline/host/host.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <thread>

#include <stepline/host/log.hpp>

#include <stepline/host/intake/request.hpp>
#include <stepline/host/store/store.hpp>
#include <stepline/thread_name.hpp>

namespace stepline::host {
namespace {

store::Location store_of(const registration::Registration& r, const HostOptions& options) {
  if (!options.database.empty()) return store::Location::sqlite(options.database);
  return store::Location::of(r.host);
}

}  // namespace

Host::Host(registration::Registration registration, pipeline::PluginFactory& factory,
           HostOptions options)
    // The caller owns this factory and keeps it for the host's life.
    : Host(std::move(registration),
           std::shared_ptr<pipeline::PluginFactory>(std::shared_ptr<void>(), &factory),
           std::move(options)) {}

Host::Host(registration::Registration registration,
           std::shared_ptr<pipeline::PluginFactory> factory, HostOptions options)
    : store_(store::open_records(store_of(registration, options),
                                 options.durability.value_or(registration.host.durability))),
      pipeline_(std::make_unique<pipeline::Pipeline>(std::move(registration), std::move(factory),
                                                     *store_, options.notification,
                                                     options.observer)),
      intake_linger_(store_->location().kind == store::Location::Kind::sqlite
                         ? std::max(options.intake_linger, std::chrono::microseconds(0))
                         : std::chrono::microseconds(0)) {}

/// submit()'s queue and the thread that works it off in batches.
class Host::Intake {
 public:
  /// `linger`: HostOptions::intake_linger, 0 where the store does not share commits.
  Intake(pipeline::Pipeline& pipeline, std::chrono::microseconds linger)
      : pipeline_(pipeline), linger_(linger), thread_([this] {
          name_this_thread("sl-intake");
          run();
        }) {}
  ~Intake() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    work_.notify_one();
    thread_.join();
  }
  Intake(const Intake&) = delete;
  Intake& operator=(const Intake&) = delete;

  void submit(pipeline::OperationRequest request,
              std::function<void(pipeline::OperationResponse)> done) {
    std::unique_lock lock(mutex_);
    if (std::this_thread::get_id() != thread_.get_id())
      room_.wait(lock, [&] { return queue_.size() < queue_limit; });
    queue_.push_back({std::move(request), std::move(done)});
    if (executing_) arrived_while_executing_ = true;
    // The thread looks at the queue again before it sleeps: it needs waking only when asleep.
    if (sleeping_) work_.notify_one();
  }

  bool prompt(std::chrono::microseconds patience, std::size_t waiting) {
    const auto since = batch_started_ns_.load(std::memory_order_acquire);
    if (since != 0 &&
        std::chrono::steady_clock::now().time_since_epoch() - std::chrono::nanoseconds(since) >
            patience)
      return false;
    std::lock_guard lock(mutex_);
    return queue_.size() < waiting;
  }

 private:
  static constexpr std::size_t queue_limit = 1024;
  static constexpr std::size_t batch_limit = 64;  // the SQLite store's commit group at most
  struct Queued {
    pipeline::OperationRequest request;
    std::function<void(pipeline::OperationResponse)> done;
  };

  /// With mutex_ held: moves queued operations into the batch, up to its limit.
  void take_queued(std::vector<pipeline::OperationRequest>& requests,
                   std::vector<std::function<void(pipeline::OperationResponse)>>& done) {
    while (!queue_.empty() && requests.size() < batch_limit) {
      requests.push_back(std::move(queue_.front().request));
      done.push_back(std::move(queue_.front().done));
      queue_.pop_front();
    }
  }

  void run() {
    std::vector<pipeline::OperationRequest> requests;
    std::vector<std::function<void(pipeline::OperationResponse)>> done;
    std::unique_lock lock(mutex_);
    for (;;) {
      if (queue_.empty()) {
        if (stopping_) return;
        sleeping_ = true;
        work_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        sleeping_ = false;
        continue;
      }
      const bool was_full = queue_.size() >= queue_limit;
      take_queued(requests, done);
      // Operations that arrived while the last batch ran came from other callers than the ones
      // it answered (a caller of one operation at a time waits for its answer): more are on their
      // way. Waiting for them a moment, at most as long as that batch took, lets one commit serve
      // several, instead of each paying a commit and a wake-up of every thread after it. A caller
      // with one operation in flight is never made to wait so.
      if (linger_.count() > 0 && arrived_while_executing_ && requests.size() < batch_limit) {
        const auto until = std::chrono::steady_clock::now() + std::min(linger_, last_batch_);
        while (requests.size() < batch_limit && !stopping_) {
          sleeping_ = true;
          const bool more =
              work_.wait_until(lock, until, [&] { return stopping_ || !queue_.empty(); });
          sleeping_ = false;
          if (!more) break;
          take_queued(requests, done);
        }
      }
      arrived_while_executing_ = false;
      executing_ = true;
      lock.unlock();
      if (was_full) room_.notify_all();
      const auto started = std::chrono::steady_clock::now();
      batch_started_ns_.store(std::chrono::nanoseconds(started.time_since_epoch()).count(),
                              std::memory_order_release);
      auto responses = pipeline_.execute_batch(requests);
      last_batch_ = std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::steady_clock::now() - started);
      {
        std::lock_guard executed(mutex_);
        executing_ = false;
      }
      batch_started_ns_.store(0, std::memory_order_release);
      for (std::size_t i = 0; i < done.size(); ++i) {
        try {
          done[i](std::move(responses[i]));
        } catch (const std::exception& e) {
          log::error("a submitted operation's completion handler threw: {}", e.what());
        } catch (...) {
          log::error("a submitted operation's completion handler threw");
        }
      }
      requests.clear();
      done.clear();
      lock.lock();
    }
  }

  pipeline::Pipeline& pipeline_;
  const std::chrono::microseconds linger_;
  std::mutex mutex_;
  std::condition_variable work_, room_;
  std::deque<Queued> queue_;
  bool stopping_ = false;
  bool sleeping_ = false;
  bool executing_ = false;                   ///< a batch is running (set under mutex_)
  bool arrived_while_executing_ = false;     ///< an operation was queued while it ran
  std::chrono::microseconds last_batch_{0};  ///< how long the last batch took (the thread's own)
  std::atomic<std::int64_t> batch_started_ns_{0};  ///< steady clock; 0 between batches
  std::thread thread_;                             // last: starts once the rest is ready
};

Host::~Host() {
  intake_.reset();
}

void Host::submit(pipeline::OperationRequest request,
                  std::function<void(pipeline::OperationResponse)> done) {
  Intake* intake;
  {
    std::lock_guard lock(intake_start_);
    if (!intake_) intake_ = std::make_unique<Intake>(*pipeline_, intake_linger_);
    intake = intake_.get();
  }
  intake->submit(std::move(request), std::move(done));
}

bool Host::submit_is_prompt(std::chrono::microseconds patience, std::size_t waiting) {
  Intake* intake;
  {
    std::lock_guard lock(intake_start_);
    intake = intake_.get();
  }
  return !intake || intake->prompt(patience, waiting);
}

pipeline::OperationResponse Host::execute(const pipeline::OperationRequest& request) {
  return pipeline_->execute(request);
}

pipeline::OperationResponse Host::execute(std::string_view request_json) {
  pipeline::OperationRequest request;
  try {
    request = intake::parse_request(request_json);
  } catch (const intake::RequestError& e) {
    pipeline::OperationResponse response;
    response.outcome = pipeline::Outcome::invalid_request;
    response.error_message = e.what();
    response.error_code = pipeline::error_code::invalid_argument;
    return response;
  }
  return pipeline_->execute(request);
}

}  // namespace stepline::host
