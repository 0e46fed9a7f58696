#include "worker_pool.hpp"

#include <algorithm>
#include <stepline/thread_name.hpp>

namespace stepline::http::detail {

WorkerPool::WorkerPool(int threads, std::size_t queue_limit) : limit_(queue_limit) {
  for (int i = 0; i < std::max(threads, 1); ++i)
    threads_.emplace_back([this] {
      name_this_thread("sl-http-work");
      work();
    });
}

WorkerPool::~WorkerPool() {
  stop();
}

bool WorkerPool::try_push(std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || jobs_.size() >= limit_) return false;
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
  return true;
}

std::size_t WorkerPool::waiting() const {
  std::lock_guard lock(mutex_);
  return jobs_.size();
}

void WorkerPool::stop() {
  std::deque<std::function<void()>> dropped;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    dropped.swap(jobs_);
  }
  wake_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  // Destroyed here, outside the lock: a job's captures may hold what the caller is tearing down.
  dropped.clear();
}

void WorkerPool::work() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

}  // namespace stepline::http::detail
