// Where a post goes: a namespace and credential (a parsed connection string), an entity on it,
// how to log in, and whether a reply comes back. A plain value, compared whole: the backend
// shares a connection between targets with the same namespace and credential, and a link between
// posts to the same entity. Whoever knows the endpoint builds it (the endpoint poster, from a
// registered endpoint); the backend knows nothing of registrations.
#pragma once

#include <chrono>
#include <string>

#include <stepline/azure/connection_string.hpp>

namespace stepline::host::amqp {

/// How a connection logs in.
enum class Auth {
  cbs,    ///< SASL ANONYMOUS, then a CBS put-token per entity (what Azure expects)
  plain,  ///< SASL PLAIN with the key name and key
};

struct Target {
  std::string name;  ///< endpoint name, for messages and logs
  /// Namespace, port, TLS and credential. A connection string holding only a
  /// SharedAccessSignature always logs in with CBS, whatever `auth` says.
  azure::ConnectionString connection;
  std::string entity;  ///< queue/topic path, hub or hub/Partitions/<id>, two-way address
  Auth auth = Auth::cbs;
  /// Two-way: each post waits for the listener's reply (correlated by message id).
  bool awaits_reply = false;
  std::string reply_to;  ///< with awaits_reply: a fixed reply address; empty = dynamic
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};  ///< accept (and reply) deadline

  bool operator==(const Target&) const = default;
};

}  // namespace stepline::host::amqp
