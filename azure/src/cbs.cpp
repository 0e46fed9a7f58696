#include "stepline/azure/cbs.hpp"

#include <charconv>
#include <stdexcept>

#include <proton/scalar.hpp>
#include <proton/value.hpp>

#include "stepline/azure/conditions.hpp"
#include "stepline/azure/names.hpp"

namespace stepline::azure::cbs {
namespace {

std::string key(std::string_view name) {
  return std::string(name);
}

std::string string_property(const proton::message& m, std::string_view name) {
  auto& props = m.properties();
  if (!props.exists(key(name))) return {};
  proton::scalar value = props.get(key(name));
  if (value.type() == proton::STRING) return proton::get<std::string>(value);
  if (value.type() == proton::SYMBOL) return proton::get<proton::symbol>(value);
  return proton::to_string(value);
}

std::optional<int> status_property(const proton::message& m, std::string_view name) {
  auto& props = m.properties();
  if (!props.exists(key(name))) return std::nullopt;
  proton::scalar value = props.get(key(name));
  if (value.type() == proton::STRING) {
    std::string text = proton::get<std::string>(value);
    int code = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), code);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return code;
  }
  try {
    return static_cast<int>(proton::coerce<std::int64_t>(value));
  } catch (const proton::conversion_error&) {
    return std::nullopt;
  }
}

}  // namespace

proton::message PutTokenRequest::to_message() const {
  proton::message m;
  m.id(message_id);
  m.to(std::string(node::cbs));
  m.reply_to(reply_to);
  auto& props = m.properties();
  props.put(key(app_property::operation), std::string(put_token_operation));
  props.put(key(app_property::type), type);
  props.put(key(app_property::name), audience);
  if (expiration) props.put(key(app_property::expiration), *expiration);
  m.body(token);
  return m;
}

PutTokenRequest PutTokenRequest::from_message(const proton::message& request) {
  std::string operation = string_property(request, app_property::operation);
  if (operation != put_token_operation) {
    throw std::invalid_argument("$cbs request operation is '" + operation +
                                "', expected 'put-token'");
  }
  PutTokenRequest out;
  out.audience = string_property(request, app_property::name);
  if (out.audience.empty()) throw std::invalid_argument("$cbs put-token has no 'name' (audience)");
  out.type = string_property(request, app_property::type);
  if (out.type.empty()) throw std::invalid_argument("$cbs put-token has no 'type'");
  if (request.properties().exists(key(app_property::expiration))) {
    proton::scalar e = request.properties().get(key(app_property::expiration));
    if (e.type() == proton::TIMESTAMP) out.expiration = proton::get<proton::timestamp>(e);
  }
  proton::value body = request.body();
  if (body.type() == proton::STRING) {
    out.token = proton::get<std::string>(body);
  } else if (body.type() == proton::BINARY) {
    auto bytes = proton::get<proton::binary>(body);
    out.token.assign(bytes.begin(), bytes.end());
  } else {
    throw std::invalid_argument("$cbs put-token body is not a string token");
  }
  out.message_id = request.id();
  out.reply_to = request.reply_to();
  return out;
}

proton::message PutTokenResponse::reply(const proton::message& request, int status_code,
                                        std::string_view description,
                                        std::string_view error_condition) {
  proton::message m;
  m.correlation_id(request.id());
  m.to(request.reply_to());
  auto& props = m.properties();
  props.put(key(app_property::status_code), status_code);
  props.put(key(app_property::status_description), std::string(description));
  bool success = status_code >= 200 && status_code < 300;
  if (!success) {
    std::string_view c =
        error_condition.empty() ? condition::for_status(status_code) : error_condition;
    if (c.empty()) c = condition::internal_error;
    props.put(key(app_property::error_condition), std::string(c));
  }
  return m;
}

PutTokenResponse PutTokenResponse::from_message(const proton::message& response) {
  PutTokenResponse out;
  auto code = status_property(response, app_property::status_code);
  if (!code) code = status_property(response, app_property::status_code_camel);
  if (!code) throw std::invalid_argument("$cbs reply has no status-code");
  out.status_code = *code;
  out.status_description = string_property(response, app_property::status_description);
  if (out.status_description.empty()) {
    out.status_description = string_property(response, app_property::status_description_camel);
  }
  out.error_condition = string_property(response, app_property::error_condition);
  if (out.error_condition.empty()) {
    out.error_condition = string_property(response, app_property::error_condition_camel);
  }
  if (out.error_condition.empty() && !out.ok()) {
    out.error_condition = std::string(condition::for_status(out.status_code));
  }
  out.correlation_id = response.correlation_id();
  return out;
}

}  // namespace stepline::azure::cbs
