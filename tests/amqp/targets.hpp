// Building posting targets in tests.
#pragma once

#include <string>

#include <stepline/host/amqp/target.hpp>

namespace stepline::test {

inline host::amqp::Target make_target(
    const std::string& connection_string, const std::string& entity,
    registration::AuthMechanism auth = registration::AuthMechanism::cbs,
    registration::Contract contract = registration::Contract::queue,
    std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  host::amqp::Target t;
  t.name = "test-" + entity;
  t.connection = azure::ConnectionString::parse(connection_string);
  t.entity = entity;
  t.auth = auth;
  t.contract = contract;
  t.timeout = timeout;
  return t;
}

inline proton::message text_message(const std::string& body) {
  proton::message m;
  m.body(body);
  return m;
}

}  // namespace stepline::test
