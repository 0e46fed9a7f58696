// The small value syntaxes a registration uses: durations ("500ms", "1h30m"), name-based ids,
// and Azure connection strings (checked and masked here, never echoed).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <stepline/guid.hpp>

namespace stepline::registration {

/// "500ms", "30s", "10m", "1h" or a sum of them ("1h30m"); nullopt for anything else.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
/// The shortest text parse_duration() reads back as `duration` ("90s", "1h30m", "0ms").
std::string format_duration(std::chrono::milliseconds duration);

/// A name-based id (RFC 9562 version 8, SHA-256 of a fixed namespace and `name`): the same name
/// always gives the same id, on every machine.
Guid name_based_id(std::string_view name);
/// The id of a step declared without `id:`.
Guid step_id_from_name(std::string_view step_name);

struct ConnectionStringPart {
  std::string key;
  std::string value;
};

/// Splits a Service Bus / Event Hubs connection string the way the Azure SDKs do: parts
/// separated by ';', each split at its first '=', whitespace trimmed, empty parts skipped.
/// Returns nullopt when a part has no '=' or an empty key.
std::optional<std::vector<ConnectionStringPart>> split_connection_string(std::string_view text);

/// What is wrong with a connection string: malformed parts, a missing Endpoint, unknown or
/// repeated keys, a key without its key name. Messages name keys, never values.
std::vector<std::string> check_connection_string(std::string_view text);

/// The connection string with SharedAccessKey and SharedAccessSignature values replaced by
/// "***"; a malformed string becomes "***" entirely.
std::string mask_connection_string(std::string_view text);

}  // namespace stepline::registration
