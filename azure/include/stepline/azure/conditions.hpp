// AMQP error conditions Service Bus and Event Hubs report, and which of them are worth retrying
// (the Azure SDKs' classification, with unauthorized left to the caller's one token refresh).
#pragma once

#include <string_view>

namespace stepline::azure::condition {

// Standard AMQP conditions.
inline constexpr std::string_view internal_error = "amqp:internal-error";
inline constexpr std::string_view not_found = "amqp:not-found";
inline constexpr std::string_view unauthorized_access = "amqp:unauthorized-access";
inline constexpr std::string_view decode_error = "amqp:decode-error";
inline constexpr std::string_view resource_limit_exceeded = "amqp:resource-limit-exceeded";
inline constexpr std::string_view not_allowed = "amqp:not-allowed";
inline constexpr std::string_view invalid_field = "amqp:invalid-field";
inline constexpr std::string_view not_implemented = "amqp:not-implemented";
inline constexpr std::string_view resource_locked = "amqp:resource-locked";
inline constexpr std::string_view precondition_failed = "amqp:precondition-failed";
inline constexpr std::string_view resource_deleted = "amqp:resource-deleted";
inline constexpr std::string_view illegal_state = "amqp:illegal-state";
inline constexpr std::string_view connection_forced = "amqp:connection:forced";
inline constexpr std::string_view framing_error = "amqp:connection:framing-error";
inline constexpr std::string_view detach_forced = "amqp:link:detach-forced";
inline constexpr std::string_view transfer_limit_exceeded = "amqp:link:transfer-limit-exceeded";
inline constexpr std::string_view message_size_exceeded = "amqp:link:message-size-exceeded";
inline constexpr std::string_view link_redirect = "amqp:link:redirect";
inline constexpr std::string_view link_stolen = "amqp:link:stolen";

// Microsoft conditions.
inline constexpr std::string_view server_busy = "com.microsoft:server-busy";
inline constexpr std::string_view timeout = "com.microsoft:timeout";
inline constexpr std::string_view auth_failed = "com.microsoft:auth-failed";
inline constexpr std::string_view operation_cancelled = "com.microsoft:operation-cancelled";
inline constexpr std::string_view argument_error = "com.microsoft:argument-error";
inline constexpr std::string_view argument_out_of_range = "com.microsoft:argument-out-of-range";
inline constexpr std::string_view entity_disabled = "com.microsoft:entity-disabled";
inline constexpr std::string_view entity_already_exists = "com.microsoft:entity-already-exists";
inline constexpr std::string_view publisher_revoked = "com.microsoft:publisher-revoked";
inline constexpr std::string_view no_matching_subscription =
    "com.microsoft:no-matching-subscription";
inline constexpr std::string_view partition_not_owned = "com.microsoft:partition-not-owned";
inline constexpr std::string_view message_lock_lost = "com.microsoft:message-lock-lost";
inline constexpr std::string_view session_lock_lost = "com.microsoft:session-lock-lost";
inline constexpr std::string_view message_not_found = "com.microsoft:message-not-found";
inline constexpr std::string_view dead_letter = "com.microsoft:dead-letter";

/// True for conditions a sender should retry after a delay: server-busy, timeout, internal
/// error, forced detach/close, transfer limit, cancelled. Unauthorized is not included: it is
/// worth exactly one retry after refreshing the token, which only the caller can do.
bool is_transient(std::string_view condition);
/// True for the unauthorized family (amqp:unauthorized-access, com.microsoft:auth-failed).
bool is_unauthorized(std::string_view condition);

/// The condition a management or CBS reply without `error-condition` means, from its status code
/// (400 not-allowed, 401 unauthorized-access, 403 resource-limit-exceeded, 404 not-found,
/// 408 timeout, 409 entity-already-exists, 410 link stolen, 500 internal-error,
/// 501 not-implemented, 503 server-busy); empty for 2xx and unknown codes.
std::string_view for_status(int status_code);

/// The status code a broker puts in a management or CBS reply for a condition (the reverse of
/// for_status); 500 for anything unknown.
int status_for(std::string_view condition);

}  // namespace stepline::azure::condition
