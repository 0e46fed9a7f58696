// Service Bus / Event Hubs connection strings: split the way the Azure SDKs split them
// (`Key=Value;` pairs, split at the first `=`, case-sensitive keys), parsed, checked for every
// problem at once, and printable with their secrets masked. The one place that reads them.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace stepline::azure {

/// A malformed connection string. The message names the offending key and never contains a
/// secret value.
class ConnectionStringError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

struct ConnectionString {
  std::string endpoint;               ///< as written, with a trailing '/' (the audience prefix)
  std::string scheme;                 ///< "sb", "amqps", "amqp"…; empty when Endpoint has none
  std::string host;                   ///< namespace host: SNI, AMQP open hostname, SASL hostname
  std::optional<std::uint16_t> port;  ///< only when Endpoint names one
  std::string shared_access_key_name;
  std::string shared_access_key;        ///< secret
  std::string shared_access_signature;  ///< secret: a whole "SharedAccessSignature sr=…" token
  std::string entity_path;
  bool use_development_emulator = false;

  /// Parses and validates; throws ConnectionStringError naming the key at fault.
  static ConnectionString parse(std::string_view text);

  /// The port to dial: the explicit one, else 5672 for the emulator (plain TCP), else 5671.
  std::uint16_t effective_port() const;
  /// False only for UseDevelopmentEmulator=true, which means plain TCP.
  bool uses_tls() const { return !use_development_emulator; }
  bool has_key() const { return !shared_access_key.empty(); }
  bool has_signature() const { return !shared_access_signature.empty(); }
  /// The CBS/SAS audience of an entity: the endpoint as written followed by the entity path,
  /// e.g. "sb://ns.servicebus.windows.net/orders".
  std::string audience(std::string_view entity) const;
  /// The connection string with SharedAccessKey and SharedAccessSignature replaced by "***",
  /// safe for logs and error messages.
  std::string str() const;

  /// Every field compared: two strings that parse alike are the same namespace and credential.
  bool operator==(const ConnectionString&) const = default;
};

struct ConnectionStringPart {
  std::string key;
  std::string value;
};

/// Splits a connection string the way the Azure SDKs do: parts separated by ';', each split at
/// its first '=', whitespace trimmed, empty parts skipped. Returns nullopt when a part has no '='
/// or an empty key.
std::optional<std::vector<ConnectionStringPart>> split_connection_string(std::string_view text);

/// Everything wrong with a connection string, in the order it is written: malformed parts, a
/// missing Endpoint or one without host or with a bad port, unknown keys (with the right spelling
/// when only the case differs), repeated keys, empty values, a key without its key name, a
/// SharedAccessSignature next to a key. Empty when parse() accepts it and nothing is suspect.
/// Messages name keys, never values.
std::vector<std::string> check_connection_string(std::string_view text);

/// The connection string with every value except Endpoint, SharedAccessKeyName, EntityPath and
/// UseDevelopmentEmulator replaced by "***" (so a misspelt SharedAccessKey is hidden too); a
/// malformed string becomes "***" entirely.
std::string mask_connection_string(std::string_view text);

}  // namespace stepline::azure
