// How the async service's writes to its job store are going, shared by its threads. A full disk
// makes every write fail, every poll of every worker: the first failure is logged at once, the
// following ones at most once per interval with their count, and the end of the outage once, with
// how long it lasted. drain() asks how long writes have been failing, to give up with the reason.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace stepline::host::jobs {

class StoreOutage {
 public:
  using Clock = std::chrono::steady_clock;

  explicit StoreOutage(std::string file,
                       std::chrono::milliseconds interval = std::chrono::seconds(30))
      : file_(std::move(file)), interval_(interval) {}

  /// A write failed: `what` it was ("take jobs", "record 64 job result(s)"), `error` why.
  void failed(std::string_view what, std::string_view error);
  /// A write that takes or finishes jobs went through: an outage, if any, is over.
  void ended();
  /// How long every write has been failing; zero when the last one went through.
  std::chrono::milliseconds lasted() const;
  /// The last failure's error, for a message to the user.
  std::string last_error() const;

 private:
  const std::string file_;
  const std::chrono::milliseconds interval_;
  mutable std::mutex mutex_;
  bool failing_ = false;
  Clock::time_point since_{};
  Clock::time_point reported_{};
  std::uint64_t failures_ = 0;  ///< since the last report
  std::uint64_t failures_in_outage_ = 0;
  std::string last_error_;
};

/// The pause before trying a failed write again: doubling from `first` to `most`, so that a store
/// that keeps refusing is not asked every poll, and one that is back is found soon.
class Backoff {
 public:
  Backoff(std::chrono::milliseconds first, std::chrono::milliseconds most)
      : first_(first), most_(most), next_(first) {}
  /// The pause to take now; the next one is twice as long.
  std::chrono::milliseconds next() {
    auto now = next_;
    next_ = std::min(most_, next_ * 2);
    return now;
  }
  void reset() { next_ = first_; }

 private:
  std::chrono::milliseconds first_, most_, next_;
};

}  // namespace stepline::host::jobs
