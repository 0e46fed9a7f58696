// What became of one post: accepted by the service, or a failure classified as transient (retry
// later) or permanent (retrying cannot help), or cut short by the backend shutting down.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace stepline::host::amqp {

enum class OutcomeStatus { accepted, transient, permanent, shutdown };

/// Conditions for failures the client detects itself; service conditions keep their AMQP names
/// (amqp:not-found, com.microsoft:server-busy, …).
namespace local_condition {
inline constexpr std::string_view network = "stepline:network";
inline constexpr std::string_view timeout = "stepline:timeout";
inline constexpr std::string_view released = "stepline:released";
inline constexpr std::string_view modified = "stepline:modified";
inline constexpr std::string_view shutdown = "stepline:shutdown";
inline constexpr std::string_view configuration = "stepline:configuration";
inline constexpr std::string_view tls = "stepline:tls";  ///< certificate or handshake failure
/// A claim-checked body could not be uploaded to Blob Storage (transient: the job waits).
inline constexpr std::string_view claim_check = "stepline:claim-check";
}  // namespace local_condition

struct Outcome {
  OutcomeStatus status = OutcomeStatus::accepted;
  std::string condition;    ///< empty when accepted
  std::string description;  ///< names the endpoint and entity; never a secret
  std::string reply;        ///< two-way: the reply body; webhook: the response body
  /// The service asked to be left alone this long (HTTP Retry-After): the next attempt waits at
  /// least this, up to the retry policy's max_delay.
  std::optional<std::chrono::milliseconds> retry_after;

  bool ok() const { return status == OutcomeStatus::accepted; }
  bool retryable() const { return status == OutcomeStatus::transient; }

  static Outcome accepted(std::string reply = {});
  static Outcome shutdown(std::string description);
  /// Classifies an AMQP or local condition: transient for network, timeout, released, modified,
  /// server-busy, internal error, forced detach/close and the like; permanent otherwise
  /// (not-found, message-size-exceeded, quota, not-allowed, unauthorized, unknown conditions).
  static Outcome failure(std::string_view condition, std::string description);
};

std::string_view to_string(OutcomeStatus status);

}  // namespace stepline::host::amqp
