// Samples.SetAccountTier (pre-operation): derives the account's tier from its revenue, so the
// tier is written in the same transaction as the revenue that decides it.
#include <stepline/plugin.hpp>

namespace {

class SetAccountTier : public stepline::Plugin {
 public:
  using Plugin::Plugin;

  void execute(stepline::ExecutionContext& context, stepline::Services& services) override {
    stepline::Entity* target = context.target();
    // An update that leaves revenue alone leaves the tier alone too.
    if (!target || (context.message_name != "Create" && !target->contains("revenue"))) return;
    const auto revenue = target->get_as<stepline::Money>("revenue");
    const double amount = revenue ? revenue->value.to_double() : 0.0;
    const char* tier = amount >= 1'000'000 ? "gold" : amount >= 100'000 ? "silver" : "bronze";
    target->set("tier", tier);
    services.tracing().trace("tier {} for revenue {}", tier, amount);
  }
};

}  // namespace

STEPLINE_PLUGIN(SetAccountTier, "Samples.SetAccountTier", "1.0.0")
