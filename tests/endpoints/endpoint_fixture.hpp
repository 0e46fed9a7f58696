// What the endpoint tests share: endpoints built in code, contexts of chosen sizes, reading a
// posted message back the way a listener does, and the claim checks.
#pragma once

#include <chrono>
#include <future>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <proton/annotation_key.hpp>
#include <proton/binary.hpp>
#include <proton/message.hpp>
#include <proton/message_id.hpp>
#include <proton/scalar.hpp>
#include <proton/symbol.hpp>

#include <stepline/format/binary.hpp>
#include <stepline/host/amqp/outcome.hpp>
#include <stepline/registration/model.hpp>

#include "format/sample_contexts.hpp"

namespace stepline::test {

inline registration::ServiceEndpoint make_endpoint(
    std::string name, registration::Contract contract, std::string path,
    std::string connection =
        "Endpoint=sb://127.0.0.1:5672/;SharedAccessKeyName=send;"
        "SharedAccessKey=key;UseDevelopmentEmulator=true",
    std::string format = "dataverse-json") {
  registration::ServiceEndpoint e;
  e.name = std::move(name);
  e.contract = contract;
  e.path = std::move(path);
  e.connection = azure::ConnectionString::parse(connection);
  e.format = std::move(format);
  e.where = {"endpoints.yaml", 12, 5};
  e.timeout = std::chrono::seconds(10);
  return e;
}

/// A post's outcome; fails the test when it does not come within `limit`.
inline host::amqp::Outcome outcome_of(std::future<host::amqp::Outcome> f,
                                      std::chrono::seconds limit = std::chrono::seconds(60)) {
  REQUIRE(f.wait_for(limit) == std::future_status::ready);
  return f.get();
}

/// Every registered format's name: the SDK's text formats and binary (stepline_sdk_amqp, which
/// read_body() below keeps loaded).
inline std::vector<std::string> every_format() {
  std::vector<std::string> names;
  for (std::string_view name : format::format_names()) names.emplace_back(name);
  return names;
}

/// The message as it arrives: encoded and decoded again, so sections are what goes on the wire.
inline proton::message on_the_wire(const proton::message& m) {
  proton::message back;
  back.decode(m.encode());
  return back;
}

/// The context a listener reads from the message's body.
inline ExecutionContext read_body(const proton::message& m, const std::string& format) {
  return format::read_body(m, format::format_named(format));
}

/// An application property as text; empty when absent.
inline std::string property(const proton::message& m, std::string_view key) {
  proton::scalar value = m.properties().get(std::string(key));
  if (value.empty()) return {};
  return value.type() == proton::STRING ? proton::get<std::string>(value)
                                        : proton::to_string(value);
}

inline bool has_property(const proton::message& m, std::string_view key) {
  return m.properties().exists(std::string(key));
}

/// A post-operation Update of an account small enough for any limit: no parent, no images.
inline ExecutionContext small_context() {
  ExecutionContext c = samples::full_context();
  c.parent_context.reset();
  c.input_parameters.clear();
  Entity target("account", c.primary_entity_id);
  target.set("name", "Contoso Ltd");
  target.set("revenue", Money{Decimal("250000.0000")});
  c.input_parameters.emplace("Target", Value(target));
  c.output_parameters.clear();
  c.pre_entity_images.clear();
  c.post_entity_images.clear();
  return c;
}

}  // namespace stepline::test
