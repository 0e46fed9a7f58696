// The AMQP names Service Bus and Event Hubs use on the wire: node addresses, message-annotation
// keys (symbols), link properties and capabilities, and management/CBS application properties.
#pragma once

#include <string>
#include <string_view>

namespace stepline::azure {

namespace node {
inline constexpr std::string_view cbs = "$cbs";
inline constexpr std::string_view management = "$management";
inline constexpr std::string_view partitions = "Partitions";
inline constexpr std::string_view subscriptions = "Subscriptions";
inline constexpr std::string_view consumer_groups = "ConsumerGroups";
inline constexpr std::string_view dead_letter_queue = "$DeadLetterQueue";
}  // namespace node

/// Message annotations (symbol keys).
namespace annotation {
inline constexpr std::string_view partition_key = "x-opt-partition-key";
inline constexpr std::string_view via_partition_key = "x-opt-via-partition-key";
inline constexpr std::string_view sequence_number = "x-opt-sequence-number";
inline constexpr std::string_view enqueue_sequence_number = "x-opt-enqueue-sequence-number";
inline constexpr std::string_view enqueued_time = "x-opt-enqueued-time";
inline constexpr std::string_view offset = "x-opt-offset";
inline constexpr std::string_view scheduled_enqueue_time = "x-opt-scheduled-enqueue-time";
inline constexpr std::string_view locked_until = "x-opt-locked-until";
inline constexpr std::string_view lock_token = "x-opt-lock-token";
inline constexpr std::string_view deadletter_source = "x-opt-deadletter-source";
inline constexpr std::string_view message_state = "x-opt-message-state";
}  // namespace annotation

/// Link properties and capabilities (symbols).
namespace link_property {
inline constexpr std::string_view receiver_name = "com.microsoft:receiver-name";
inline constexpr std::string_view timeout = "com.microsoft:timeout";
inline constexpr std::string_view session_filter = "com.microsoft:session-filter";
inline constexpr std::string_view locked_until_utc = "com.microsoft:locked-until-utc";
inline constexpr std::string_view epoch = "com.microsoft:epoch";
inline constexpr std::string_view georeplication = "com.microsoft:georeplication";
inline constexpr std::string_view selector_filter = "apache.org:selector-filter:string";
inline constexpr unsigned long long selector_filter_descriptor = 0x0000468C00000004ULL;
}  // namespace link_property

/// Application properties of management and CBS requests and replies (string keys).
namespace app_property {
inline constexpr std::string_view operation = "operation";
inline constexpr std::string_view type = "type";
inline constexpr std::string_view name = "name";
inline constexpr std::string_view expiration = "expiration";
inline constexpr std::string_view status_code = "status-code";
inline constexpr std::string_view status_description = "status-description";
inline constexpr std::string_view error_condition = "error-condition";
/// Service Bus management replies spell these in camel case.
inline constexpr std::string_view status_code_camel = "statusCode";
inline constexpr std::string_view status_description_camel = "statusDescription";
inline constexpr std::string_view error_condition_camel = "errorCondition";
inline constexpr std::string_view dead_letter_reason = "DeadLetterReason";
inline constexpr std::string_view dead_letter_error_description = "DeadLetterErrorDescription";
}  // namespace app_property

/// "<hub>/Partitions/<id>"
std::string partition_address(std::string_view hub, std::string_view partition);
/// "<hub>/ConsumerGroups/<group>/Partitions/<id>"
std::string consumer_address(std::string_view hub, std::string_view group,
                             std::string_view partition);
/// "<topic>/Subscriptions/<subscription>"
std::string subscription_address(std::string_view topic, std::string_view subscription);
/// "<entity>/$DeadLetterQueue"
std::string dead_letter_address(std::string_view entity);

}  // namespace stepline::azure
