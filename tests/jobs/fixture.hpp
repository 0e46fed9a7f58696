// Shared pieces of the async-service tests: an endpoint poster whose outcomes the test scripts
// (and can hold back), a pipeline rig with endpoints and async steps, and small waits.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include <stepline/host/endpoints/endpoint_poster.hpp>
#include <stepline/host/jobs/async_service.hpp>

#include "pipeline/fixture.hpp"

namespace stepline::test {

/// Posts nothing: each post's outcome comes from `decide` (accepted by default), optionally
/// after the test opens the gate. Remembers every post and how many were in flight at once.
class ScriptedPoster : public host::endpoints::EndpointPoster {
 public:
  struct Post {
    std::string endpoint;
    Guid operation_id;
    Guid record_id;
    std::string ordering_key;
    Mode mode;
    bool in_transaction;
  };
  using Decide = std::function<host::amqp::Outcome(const Post&, int attempt)>;

  std::future<host::amqp::Outcome> post(const registration::ServiceEndpoint& endpoint,
                                        const ExecutionContext& context,
                                        const host::endpoints::PostOptions& options) override {
    auto promise = std::make_shared<std::promise<host::amqp::Outcome>>();
    auto future = promise->get_future();
    start(endpoint, context, options,
          [promise](const host::amqp::Outcome& outcome) { promise->set_value(outcome); });
    return future;
  }
  /// As the host's AMQP poster does, unless `with_callbacks` is false (a poster with only
  /// post(), as the webhook poster is).
  bool post_then(const registration::ServiceEndpoint& endpoint, const ExecutionContext& context,
                 const host::endpoints::PostOptions& options, Completion done) override {
    if (!with_callbacks) return false;
    start(endpoint, context, options, std::move(done));
    return true;
  }

  /// Posts from now on wait until release().
  void hold() {
    std::lock_guard lock(mutex_);
    held_ = true;
  }
  /// Completes every held post, and stops holding.
  void release() {
    std::vector<std::function<void()>> now;
    {
      std::lock_guard lock(mutex_);
      held_ = false;
      now.swap(waiting_);
    }
    for (auto& f : now) f();
  }
  /// Waits until `n` posts are held.
  bool wait_held(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return waiting_.size() >= n; });
  }
  std::vector<Post> all_posts() {
    std::lock_guard lock(mutex_);
    return posts;
  }

  Decide decide;  ///< may throw: the post then throws, as a post refused for misuse does
  std::chrono::milliseconds delay{0};  ///< each post completes this long after it was made
  bool with_callbacks = true;
  int max_in_flight_per_key = 0;

 private:
  void start(const registration::ServiceEndpoint& endpoint, const ExecutionContext& context,
             const host::endpoints::PostOptions& options, Completion done) {
    Post p{endpoint.name,        context.operation_id, context.primary_entity_id,
           options.ordering_key, context.mode,         context.is_in_transaction};
    std::unique_lock lock(mutex_);
    posts.push_back(p);
    int attempt = ++attempts_[p.operation_id.str()];
    auto key = p.ordering_key.empty() ? p.record_id.str() : p.ordering_key;
    int now_in_flight = ++in_flight_[key];
    max_in_flight_per_key = std::max(max_in_flight_per_key, now_in_flight);
    host::amqp::Outcome outcome;
    try {
      outcome = decide ? decide(p, attempt) : host::amqp::Outcome::accepted();
    } catch (...) {
      --in_flight_[key];
      throw;
    }
    auto finish = [this, key, done = std::move(done), outcome] {
      {
        std::lock_guard l(mutex_);
        --in_flight_[key];
      }
      done(outcome);
    };
    if (held_) {
      waiting_.push_back(finish);
      changed_.notify_all();
    } else {
      lock.unlock();
      if (delay.count() > 0)
        std::thread([finish, d = delay] {
          std::this_thread::sleep_for(d);
          finish();
        }).detach();
      else
        finish();
    }
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Post> posts;
  std::map<std::string, int> attempts_;
  std::map<std::string, int> in_flight_;
  bool held_ = false;
  std::vector<std::function<void()>> waiting_;
};

inline registration::ServiceEndpoint make_endpoint(
    std::string name, registration::RetryPolicy retry,
    registration::Ordering order = registration::Ordering::none) {
  registration::ServiceEndpoint e;
  e.name = std::move(name);
  e.path = e.name;
  e.connection =
      azure::ConnectionString::parse("Endpoint=sb://localhost/;UseDevelopmentEmulator=true");
  e.retry = retry;
  e.order = order;
  e.where = {"test.yaml", 1, 1};
  return e;
}

/// A fast retry policy: `attempts` in all, `base` apart and doubling, no jitter.
inline registration::RetryPolicy quick_retry(
    int attempts, std::chrono::milliseconds base = std::chrono::milliseconds(50)) {
  registration::RetryPolicy p;
  p.max_attempts = attempts;
  p.base_delay = base;
  p.max_delay = std::chrono::seconds(2);
  p.jitter = 0;
  return p;
}

inline registration::Step async_endpoint_step(std::string name, std::string endpoint,
                                              std::string message = "Update") {
  auto s = make_step(std::move(name), std::move(message), "account", Stage::post_operation, "");
  s.mode = Mode::asynchronous;
  s.endpoint = std::move(endpoint);
  return s;
}

inline registration::Step async_plugin_step(std::string name, std::string type,
                                            std::string message = "Update") {
  auto s = make_step(std::move(name), std::move(message), "account", Stage::post_operation,
                     std::move(type));
  s.mode = Mode::asynchronous;
  return s;
}

/// Options for tests: two workers, quick polling, no jitter.
inline host::jobs::AsyncServiceOptions test_options() {
  host::jobs::AsyncServiceOptions o;
  o.workers = 2;
  o.batch = 16;
  o.poll = std::chrono::milliseconds(5);
  o.seed = 42;
  o.plugin_retry = quick_retry(4);
  return o;
}

/// Polls `done` until it holds or `timeout` passes.
template <class F>
bool eventually(F done, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return done();
}

/// The job with this id, read afresh.
inline std::optional<host::store::SystemJob> job_named(host::store::RecordStore& store,
                                                       const Guid& id) {
  for (auto& j : store.system_jobs())
    if (j.id == id) return j;
  return std::nullopt;
}

}  // namespace stepline::test
