// When a job that failed for a passing reason runs again: exponential backoff with jitter under
// a RetryPolicy (an endpoint's `retry:` block, or the host's policy for plug-in retries).
#pragma once

#include <chrono>
#include <random>

#include <stepline/registration/model.hpp>

namespace stepline::host::jobs {

/// The policy for plug-ins that throw InvalidPluginExecution with OperationStatus::retry:
/// 4 attempts in all (as Dataverse), 5 s, 10 s, 20 s apart (±20 %).
registration::RetryPolicy default_plugin_retry() noexcept;

/// The wait before retry number `retry` (1 = the second attempt): base_delay × 2^(retry-1),
/// capped at max_delay, then spread by ±jitter × that delay. Deterministic for a seeded
/// generator; exact when jitter is 0.
std::chrono::milliseconds retry_delay(const registration::RetryPolicy& policy, int retry,
                                      std::mt19937_64& random);

/// True when an attempt numbered `attempt` (1-based) may be followed by another.
inline bool may_retry(const registration::RetryPolicy& policy, int attempt) noexcept {
  return attempt < policy.max_attempts;
}

}  // namespace stepline::host::jobs
