// The small value syntaxes a registration uses: durations ("500ms", "1h30m") and name-based ids.
// Connection strings are read by stepline/azure/connection_string.hpp.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <stepline/guid.hpp>

namespace stepline::registration {

/// "500ms", "30s", "10m", "1h" or a sum of them ("1h30m"); nullopt for anything else.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
/// The shortest text parse_duration() reads back as `duration` ("90s", "1h30m", "0ms").
std::string format_duration(std::chrono::milliseconds duration);

/// An address to listen on: "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:443" or "localhost:8080"
/// (= 127.0.0.1); nullopt for anything else. The port may be 0 (any free port).
std::optional<std::pair<std::string, int>> parse_listen_address(std::string_view text);
/// True for 127.0.0.0/8 and ::1: only this machine can connect.
bool is_loopback(std::string_view address);

/// A name-based id (RFC 9562 version 8, SHA-256 of a fixed namespace and `name`): the same name
/// always gives the same id, on every machine.
Guid name_based_id(std::string_view name);
/// The id of a step declared without `id:`.
Guid step_id_from_name(std::string_view step_name);

}  // namespace stepline::registration
