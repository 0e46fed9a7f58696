// Claims-based security ($cbs) put-token messages: the request a client sends to authorize an
// audience on its connection, and the reply a broker sends back.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <proton/message.hpp>
#include <proton/message_id.hpp>
#include <proton/timestamp.hpp>

namespace stepline::azure::cbs {

inline constexpr std::string_view put_token_operation = "put-token";
/// Token type of a SAS token; Entra ID tokens use jwt.
inline constexpr std::string_view sas_token_type = "servicebus.windows.net:sastoken";
inline constexpr std::string_view jwt_token_type = "jwt";

struct PutTokenRequest {
  std::string token;                            ///< body: amqp-value string (secret)
  std::string audience;                         ///< application property `name`
  std::string type{sas_token_type};             ///< application property `type`
  std::optional<proton::timestamp> expiration;  ///< application property `expiration`, if sent
  proton::message_id message_id;                ///< properties.message-id (a string uuid)
  std::string reply_to;                         ///< properties.reply-to: the client's $cbs receiver

  /// Builds the request message: to = $cbs, reply-to, message-id, application properties
  /// operation/type/name[/expiration], body = the token as an amqp-value string.
  proton::message to_message() const;
  /// Reads a request (broker side); throws std::invalid_argument naming what is missing or
  /// wrong (never the token).
  static PutTokenRequest from_message(const proton::message& request);
};

struct PutTokenResponse {
  int status_code = 0;
  std::string status_description;
  std::string error_condition;        ///< explicit, or derived from the status code
  proton::message_id correlation_id;  ///< the request's message-id

  bool ok() const { return status_code >= 200 && status_code < 300; }

  /// The broker's reply to `request`: correlation-id = the request's message-id with the same
  /// AMQP type (clients match on it), to = the request's reply-to, status-code,
  /// status-description, and error-condition when not 2xx.
  static proton::message reply(const proton::message& request, int status_code,
                               std::string_view description, std::string_view error_condition = {});
  /// Reads a reply (client side), accepting both `status-code` and `statusCode` spellings;
  /// throws std::invalid_argument when there is no status code.
  static PutTokenResponse from_message(const proton::message& response);
};

}  // namespace stepline::azure::cbs
