// The small value syntaxes of a registration's own: listen addresses and name-based ids.
// Durations are read by stepline/duration.hpp, connection strings by
// stepline/azure/connection_string.hpp.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <stepline/guid.hpp>

namespace stepline::registration {

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
