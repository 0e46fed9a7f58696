// One-shot timers for the AMQP thread: work to run after a delay. The server runs what is due
// and arms the proactor's single timeout for the earliest one left.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>

namespace stepline::broker {

class Timers {
 public:
  /// Runs `work` on the AMQP thread at or after `due_ms` (milliseconds since the epoch).
  void at(int64_t due_ms, std::function<void()> work) { due_.emplace(due_ms, std::move(work)); }
  /// The earliest due time, if any work waits.
  std::optional<int64_t> next_due() const {
    if (due_.empty()) return std::nullopt;
    return due_.begin()->first;
  }
  /// Runs every piece of work due at `now_ms`, including work those schedule for now or earlier.
  void run_due(int64_t now_ms) {
    while (!due_.empty() && due_.begin()->first <= now_ms) {
      auto work = std::move(due_.begin()->second);
      due_.erase(due_.begin());
      work();
    }
  }
  void clear() { due_.clear(); }

 private:
  std::multimap<int64_t, std::function<void()>> due_;
};

}  // namespace stepline::broker
