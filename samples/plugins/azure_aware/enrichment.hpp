// What Samples.PublishAccountChange adds to a context before posting it: who enriched it and how
// much the revenue moved (the new revenue against the pre-image), as shared variables that every
// format carries to the listeners.
#pragma once

#include <optional>
#include <string>

#include <stepline/execution_context.hpp>

namespace samples {

inline constexpr const char* enriched_by_variable = "stepline.enriched_by";
inline constexpr const char* revenue_change_variable = "stepline.revenue_change";

/// The revenue difference of an Update (target minus the pre-image `pre`), or nullopt when the
/// update does not touch revenue. A missing old revenue counts as zero.
inline std::optional<double> revenue_change(const stepline::ExecutionContext& context) {
  const stepline::Entity* target = context.target();
  if (!target || !target->contains("revenue")) return std::nullopt;
  auto amount = [](const stepline::Entity& e) {
    auto money = e.get_as<stepline::Money>("revenue");
    return money ? money->value.to_double() : 0.0;
  };
  auto pre = context.pre_entity_images.find("pre");
  const double before = pre == context.pre_entity_images.end() ? 0.0 : amount(pre->second);
  return amount(*target) - before;
}

/// Adds the enrichment shared variables; `by` names the plug-in ("Samples.X 1.0.0").
inline void enrich(stepline::ExecutionContext& context, const std::string& by) {
  context.shared_variables.insert_or_assign(enriched_by_variable, stepline::Value(by));
  if (auto change = revenue_change(context))
    context.shared_variables.insert_or_assign(
        revenue_change_variable,
        stepline::Value(stepline::Money{stepline::Decimal::from_double(*change)}));
}

}  // namespace samples
