#include "stepline/host/amqp/outcome.hpp"

#include <stepline/azure/conditions.hpp>

namespace stepline::host::amqp {

Outcome Outcome::accepted(std::string reply) {
  Outcome o;
  o.reply = std::move(reply);
  return o;
}

Outcome Outcome::shutdown(std::string description) {
  return {
      OutcomeStatus::shutdown, std::string(local_condition::shutdown), std::move(description), {}};
}

Outcome Outcome::failure(std::string_view condition, std::string description) {
  bool transient =
      azure::condition::is_transient(condition) || condition == local_condition::network ||
      condition == local_condition::timeout || condition == local_condition::released ||
      condition == local_condition::modified || condition == azure::condition::framing_error;
  return {transient ? OutcomeStatus::transient : OutcomeStatus::permanent,
          std::string(condition),
          std::move(description),
          {}};
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
