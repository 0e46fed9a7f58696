#include "stepline/host/amqp/outcome.hpp"

#include <stepline/azure/conditions.hpp>

namespace stepline::host::amqp {

Outcome Outcome::accepted(std::string reply) {
  Outcome o;
  o.reply = std::move(reply);
  return o;
}

Outcome Outcome::shutdown(std::string description) {
  Outcome o;
  o.status = OutcomeStatus::shutdown;
  o.condition = std::string(local_condition::shutdown);
  o.description = std::move(description);
  return o;
}

Outcome Outcome::failure(std::string_view condition, std::string description) {
  bool transient =
      azure::condition::is_transient(condition) || condition == local_condition::network ||
      condition == local_condition::timeout || condition == local_condition::released ||
      condition == local_condition::modified || condition == local_condition::claim_check ||
      condition == azure::condition::framing_error;
  Outcome o;
  o.status = transient ? OutcomeStatus::transient : OutcomeStatus::permanent;
  o.condition = std::string(condition);
  o.description = std::move(description);
  return o;
}

std::string_view to_string(OutcomeStatus status) {
  switch (status) {
    case OutcomeStatus::accepted:
      return "accepted";
    case OutcomeStatus::transient:
      return "transient";
    case OutcomeStatus::permanent:
      return "permanent";
    case OutcomeStatus::shutdown:
      return "shutdown";
  }
  return "unknown";
}

}  // namespace stepline::host::amqp
