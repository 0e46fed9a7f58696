// Samples.CheckCredit: a synchronous pre-operation plug-in that asks a two-way service endpoint
// (named in the step's unsecure configuration) for a credit decision on a new order and stops
// the order, with the responder's reason, when the answer is no.
#include <stdexcept>

#include <stepline/plugin.hpp>

#include "credit_decision.hpp"

namespace {

class CheckCredit : public stepline::Plugin {
 public:
  CheckCredit(std::string unsecure, std::string secure)
      : Plugin(std::move(unsecure), std::move(secure)) {
    if (unsecure_configuration().empty())
      throw stepline::InvalidPluginExecution(
          "Samples.CheckCredit needs the two-way service endpoint's name as the step's "
          "configuration (e.g. configuration: credit-check)");
  }

  void execute(stepline::ExecutionContext& context, stepline::Services& services) override {
    // The reply travels back on the same call; a failed post throws and stops the order too.
    const std::string reply = services.notification().post(unsecure_configuration(), context);
    samples::CreditDecision decision;
    try {
      decision = samples::parse_credit_decision(reply);
    } catch (const std::invalid_argument& e) {
      throw stepline::InvalidPluginExecution(e.what());
    }
    if (!decision.approved)
      throw stepline::InvalidPluginExecution("The order was not placed: credit check declined (" +
                                             decision.reason + ").");
    if (stepline::Entity* order = context.target()) order->set("creditstatus", "approved");
    services.tracing().trace("credit approved for order {}", context.primary_entity_id.str());
  }
};

}  // namespace

STEPLINE_PLUGIN(CheckCredit, "Samples.CheckCredit", "1.0.0")
