// Worker threads behind a bounded queue: the server hands them requests whose handling may
// block, and refuses (503) what does not fit instead of queueing without limit.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace stepline::http::detail {

class WorkerPool {
 public:
  WorkerPool(int threads, std::size_t queue_limit);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  /// Queues `job`; false when queue_limit jobs already wait or the pool is stopped.
  bool try_push(std::function<void()> job);
  /// Jobs waiting, not counting those running.
  std::size_t waiting() const;
  /// Drops the jobs still waiting, lets running ones finish and joins. Idempotent.
  void stop();

 private:
  void work();

  std::size_t limit_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace stepline::http::detail
