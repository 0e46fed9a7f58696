// A context of a chosen size: an account Create whose Target carries a long description, as a
// record with a large text column (notes, a serialized document) gives one.
#pragma once

#include <cstddef>
#include <string>

#include "endpoints/endpoint_fixture.hpp"

namespace stepline::test {

inline ExecutionContext large_context(std::size_t bytes) {
  ExecutionContext c = small_context();
  c.message_name = "Create";
  c.mode = Mode::asynchronous;
  Entity target("account", c.primary_entity_id);
  target.set("name", "Contoso Ltd");
  std::string description;
  description.reserve(bytes);
  for (std::size_t i = 0; description.size() < bytes; ++i)
    description += "line " + std::to_string(i) + " of the account's notes\n";
  target.set("description", description);
  c.input_parameters.insert_or_assign("Target", Value(target));
  return c;
}

/// A broker with a 256 KiB limit: the queue `orders` and the topic `big-events` with the
/// subscriptions `cpp` and `js`.
inline std::string broker_config() {
  return R"(max_message_size: 262144
sas_policies:
  - name: RootManageSharedAccessKey
    key: test-root-key
    rights: [manage, send, listen]
queues:
  - name: orders
topics:
  - name: big-events
    subscriptions:
      - name: cpp
      - name: js
)";
}

}  // namespace stepline::test
