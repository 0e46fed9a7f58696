#include <stepline/execution_context.hpp>

namespace stepline {

std::string_view to_string(Stage stage) noexcept {
  switch (stage) {
    case Stage::pre_validation: return "pre-validation";
    case Stage::pre_operation: return "pre-operation";
    case Stage::main_operation: return "main-operation";
    case Stage::post_operation: return "post-operation";
  }
  return "unknown";
}

std::string_view to_string(Mode mode) noexcept { return mode == Mode::synchronous ? "sync" : "async"; }

const Entity* ExecutionContext::target() const {
  auto it = input_parameters.find("Target");
  return it == input_parameters.end() ? nullptr : it->second.get_if<Entity>();
}

Entity* ExecutionContext::target() {
  return const_cast<Entity*>(static_cast<const ExecutionContext*>(this)->target());
}

bool operator==(const ExecutionContext& a, const ExecutionContext& b) {
  auto fields = [](const ExecutionContext& c) {
    return std::tie(c.message_name, c.primary_entity_name, c.primary_entity_id, c.secondary_entity_name,
                    c.stage, c.mode, c.depth, c.input_parameters, c.output_parameters, c.shared_variables,
                    c.pre_entity_images, c.post_entity_images, c.user_id, c.initiating_user_id,
                    c.business_unit_id, c.organization_id, c.organization_name,
                    c.user_azure_active_directory_object_id,
                    c.initiating_user_azure_active_directory_object_id, c.initiating_user_agent,
                    c.correlation_id, c.request_id, c.operation_id, c.operation_created_on,
                    c.owning_extension, c.is_in_transaction, c.is_executing_offline,
                    c.is_offline_playback, c.isolation_mode);
  };
  if (fields(a) != fields(b)) return false;
  if (!a.parent_context || !b.parent_context) return !a.parent_context && !b.parent_context;
  return *a.parent_context == *b.parent_context;
}

}  // namespace stepline
