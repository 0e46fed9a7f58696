#include "group_commit.hpp"

#include <proton/object.h>

namespace stepline::broker {

int64_t now_ms();

GroupCommit::GroupCommit(Store& store, const BrokerConfig& config, Timers& timers,
                         Counters& counters, Settle settle, Wake wake)
    : store_(store),
      config_(config),
      timers_(timers),
      counters_(counters),
      settle_(std::move(settle)),
      wake_(std::move(wake)) {}

void GroupCommit::hold(HeldDelivery held) {
  pn_incref(held.delivery);
  waiting_.push_back(held);
  if (waiting_.size() >= config_.commit_batch)
    commit();
  else
    schedule();
}

void GroupCommit::schedule() {
  if (scheduled_) return;
  scheduled_ = true;
  timers_.at(now_ms() + config_.commit_interval.count(), [this] {
    scheduled_ = false;
    commit();
  });
}

void GroupCommit::commit() {
  if (running_) {
    again_ = true;
    return;
  }
  if (!store_.dirty() && waiting_.empty()) return;
  running_ = true;
  committing_ = std::move(waiting_);
  waiting_.clear();
  store_.commit_async([this](const std::string& error) {
    {
      std::lock_guard lock(finished_mutex_);
      finished_ = error;
    }
    wake_();
  });
}

void GroupCommit::finished() {
  std::optional<std::string> error;
  {
    std::lock_guard lock(finished_mutex_);
    error.swap(finished_);
  }
  if (!error) return;  // a wake-up for something else
  running_ = false;
  bool stored = error->empty();
  if (!stored) {
    ++counters_.store_write_failures;
    int64_t now = now_ms();
    if (failure_log_.due(now))
      log::error(
          "{} ({} failed writes since the last such line); publishers are refused with "
          "com.microsoft:server-busy until a write succeeds, and the changes are written again",
          *error, failure_log_.take_count());
  } else if (failing_) {
    log::info("the store accepts writes again; publishing resumes");
  }
  failing_ = !stored;
  settle_batch(committing_, stored);
  if (failing_) {
    // Deliveries that came in meanwhile wait for the next write, and fail with it if the disk
    // is still full: no new publish is taken while failing_ holds.
    if (!waiting_.empty()) schedule();
    return;
  }
  if (again_ || waiting_.size() >= config_.commit_batch) {
    again_ = false;
    commit();
  } else if (!waiting_.empty()) {
    schedule();
  }
}

void GroupCommit::settle_batch(std::vector<HeldDelivery>& batch, bool stored) {
  for (auto& held : batch) {
    settle_(held, stored);
    pn_decref(held.delivery);
  }
  batch.clear();
}

void GroupCommit::release_held() {
  for (auto* held : {&waiting_, &committing_}) {
    for (auto& h : *held) pn_decref(h.delivery);
    held->clear();
  }
}

void GroupCommit::tick(int64_t now) {
  if (failing_) {
    if (running_ || now - last_retry_ms_ < 1000) return;
    last_retry_ms_ = now;
    commit();
    return;
  }
  if (store_.dirty() && !scheduled_) commit();
}

}  // namespace stepline::broker
