// Building posting targets in tests.
#pragma once

#include <string>

#include <stepline/host/amqp/target.hpp>

namespace stepline::test {

/// Whether a test target waits for the listener's reply.
inline constexpr bool one_way = false, two_way = true;

inline host::amqp::Target make_target(
    const std::string& connection_string, const std::string& entity,
    host::amqp::Auth auth = host::amqp::Auth::cbs, bool awaits_reply = one_way,
    std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  return {.name = "test-" + entity,
          .connection = azure::ConnectionString::parse(connection_string),
          .entity = entity,
          .auth = auth,
          .awaits_reply = awaits_reply,
          .reply_to = {},
          .timeout = timeout};
}

inline proton::message text_message(const std::string& body) {
  proton::message m;
  m.body(body);
  return m;
}

}  // namespace stepline::test
