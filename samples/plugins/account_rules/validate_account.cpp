// Samples.ValidateAccount (pre-validation): stops an account without a name or with a negative
// revenue before anything is written, with a message the caller can act on.
#include <fmt/format.h>

#include <stepline/plugin.hpp>
#include <stepline/text.hpp>

namespace {

class ValidateAccount : public stepline::Plugin {
 public:
  using Plugin::Plugin;

  void execute(stepline::ExecutionContext& context, stepline::Services& services) override {
    const stepline::Entity* target = context.target();
    if (!target) return;
    if (context.message_name == "Create") {
      const auto name = target->get_as<std::string>("name");
      if (!name || stepline::text::trim(*name).empty()) {
        throw stepline::InvalidPluginExecution("An account needs a name.");
      }
    }
    if (const auto revenue = target->get_as<stepline::Money>("revenue")) {
      const double amount = revenue->value.to_double();
      if (amount < 0) {
        throw stepline::InvalidPluginExecution(
            fmt::format("Revenue cannot be negative (was {:.2f}).", amount));
      }
    }
    services.tracing().trace("account {} passed validation", context.primary_entity_id.str());
  }
};

}  // namespace

STEPLINE_PLUGIN(ValidateAccount, "Samples.ValidateAccount", "1.0.0")
