#include "stepline/azure/conditions.hpp"

#include <array>
#include <utility>

namespace stepline::azure::condition {
namespace {

constexpr std::array<std::pair<int, std::string_view>, 10> status_conditions{{
    {400, not_allowed},
    {401, unauthorized_access},
    {403, resource_limit_exceeded},
    {404, not_found},
    {408, timeout},
    {409, entity_already_exists},
    {410, link_stolen},
    {500, internal_error},
    {501, not_implemented},
    {503, server_busy},
}};

}  // namespace

bool is_transient(std::string_view c) {
  return c == server_busy || c == timeout || c == internal_error || c == detach_forced ||
         c == connection_forced || c == transfer_limit_exceeded || c == operation_cancelled;
}

bool is_unauthorized(std::string_view c) {
  return c == unauthorized_access || c == auth_failed;
}

std::string_view for_status(int status_code) {
  for (auto [status, c] : status_conditions) {
    if (status == status_code) return c;
  }
  return {};
}

int status_for(std::string_view c) {
  if (c == auth_failed) return 401;
  if (c == argument_error || c == argument_out_of_range) return 400;
  if (c == message_lock_lost || c == session_lock_lost) return 410;
  if (c == message_not_found) return 404;
  for (auto [status, known] : status_conditions) {
    if (known == c) return status;
  }
  return 500;
}

}  // namespace stepline::azure::condition
