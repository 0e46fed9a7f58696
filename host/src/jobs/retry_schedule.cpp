#include <stepline/host/jobs/retry_schedule.hpp>

#include <algorithm>
#include <cmath>

namespace stepline::host::jobs {

registration::RetryPolicy default_plugin_retry() noexcept {
  registration::RetryPolicy p;
  p.max_attempts = 4;
  p.base_delay = std::chrono::seconds(5);
  p.max_delay = std::chrono::minutes(5);
  p.jitter = 0.2;
  return p;
}

std::chrono::milliseconds retry_delay(const registration::RetryPolicy& policy, int retry,
                                      std::mt19937_64& random) {
  const double base = static_cast<double>(policy.base_delay.count());
  const double cap = static_cast<double>(policy.max_delay.count());
  // 2^62 ms is far beyond any cap; stop doubling there so large retry numbers cannot overflow.
  double delay = std::min(cap, base * std::ldexp(1.0, std::clamp(retry - 1, 0, 62)));
  if (policy.jitter > 0) {
    std::uniform_real_distribution<double> spread(-policy.jitter, policy.jitter);
    delay += delay * spread(random);
  }
  return std::chrono::milliseconds(static_cast<long long>(std::max(0.0, std::round(delay))));
}

}  // namespace stepline::host::jobs
