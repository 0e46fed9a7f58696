// Samples.PublishAccountChange: an Azure-aware plug-in. It enriches the context (who published
// it, how much the revenue moved) and posts it to the service endpoint named in the step's
// unsecure configuration. Register it asynchronous: a failed post then retries as a system job,
// and the whole body re-runs, so it does nothing but "enrich and post".
#include <stepline/plugin.hpp>

#include "enrichment.hpp"

namespace {

class PublishAccountChange : public stepline::Plugin {
 public:
  PublishAccountChange(std::string unsecure, std::string secure)
      : Plugin(std::move(unsecure), std::move(secure)) {
    if (unsecure_configuration().empty())
      throw stepline::InvalidPluginExecution(
          "Samples.PublishAccountChange needs the service endpoint's name as the step's "
          "configuration (e.g. configuration: account-events)");
  }

  void execute(stepline::ExecutionContext& context, stepline::Services& services) override {
    samples::enrich(context, "Samples.PublishAccountChange 1.0.0");
    services.notification().post(unsecure_configuration(), context);
    services.tracing().trace("posted {} of {} {} to {}", context.message_name,
                             context.primary_entity_name, context.primary_entity_id.str(),
                             unsecure_configuration());
  }
};

}  // namespace

STEPLINE_PLUGIN(PublishAccountChange, "Samples.PublishAccountChange", "1.0.0")
