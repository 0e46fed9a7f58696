// Where a post goes: a namespace (from a connection string), an entity address on it, how to
// authenticate, and the contract's addressing rules (event hub partition key, two-way reply).
#pragma once

#include <chrono>
#include <string>

#include <stepline/azure/connection_string.hpp>
#include <stepline/registration/model.hpp>

namespace stepline::host::amqp {

struct Target {
  std::string name;  ///< endpoint name, for messages and logs
  azure::ConnectionString connection;
  std::string entity;  ///< queue/topic path, hub or hub/Partitions/<id>, two-way address
  registration::Contract contract = registration::Contract::queue;
  registration::AuthMechanism auth = registration::AuthMechanism::cbs;
  std::string partition_key;  ///< event hubs, hub-level sends only
  std::string reply_to;       ///< two-way: a fixed reply address; empty = dynamic
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};  ///< accept (and reply) deadline

  /// Builds a target from a registered endpoint, whose connection string and entity the
  /// registration has read and checked.
  static Target from_endpoint(const registration::ServiceEndpoint& endpoint);
};

}  // namespace stepline::host::amqp
