#include "store_outage.hpp"

#include <stepline/host/log.hpp>

namespace stepline::host::jobs {

void StoreOutage::failed(std::string_view what, std::string_view error) {
  std::lock_guard lock(mutex_);
  const auto now = Clock::now();
  last_error_ = error;
  ++failures_;
  ++failures_in_outage_;
  if (!failing_) {
    failing_ = true;
    since_ = reported_ = now;
    failures_ = 0;
    log::warn(
        "async service: cannot {} in {}: {}; trying again (the jobs held keep their results "
        "until they are written), and saying so at most every {} s",
        what, file_, error, interval_.count() / 1000);
    return;
  }
  if (now - reported_ < interval_) return;
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now - since_).count();
  log::warn(
      "async service: {} still refuses writes after {} s ({} failed attempts since the last "
      "report; the last, to {}: {})",
      file_, seconds, failures_, what, error);
  reported_ = now;
  failures_ = 0;
}

void StoreOutage::ended() {
  std::lock_guard lock(mutex_);
  if (!failing_) return;
  const auto seconds =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since_).count() / 1000.0;
  log::info("async service: {} accepts writes again after {:.1f} s ({} failed attempts)", file_,
            seconds, failures_in_outage_);
  failing_ = false;
  failures_in_outage_ = 0;
}

std::chrono::milliseconds StoreOutage::lasted() const {
  std::lock_guard lock(mutex_);
  if (!failing_) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since_);
}

std::string StoreOutage::last_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

}  // namespace stepline::host::jobs
